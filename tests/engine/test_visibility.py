"""Item visibility has one source: the kiosk shows exactly the items whose answers the scoring counts.

For every shipped instrument with gates or applicability rules, hypothesis draws answer vectors (some items
unanswered) and respondent sexes (every accepted spelling, refused values, none); the kiosk's
``shown_items`` must equal the engine's ``visible_items``, and ``score()`` on the store's answers frame must
count exactly the shown answered items (plus the skip values of closed gates) and report every answer to a
hidden item as ignored.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoring
from scoring.definitions.respondent import SEX_WORDS
from scoring.engine.visibility import visible_items, visible_matrix
from scoring.store.administration import shown_items
from scoring.store.results import answers_frame
from tests.support.shipped import shipped_library

LIB = shipped_library()
GATED = sorted(i for i in LIB if LIB[i].plan.gates or LIB[i].plan.applicability)
SEXES = [None, *SEX_WORDS, "FEMALE", " m ", "1", "weiblich"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_shipped_instruments_have_gates_and_applicability() -> None:
    assert {"audit", "phq15"} <= set(GATED)


@st.composite
def administrations(draw: st.DrawFn, instrument: str) -> tuple[dict[str, float | None], str | None]:
    plan = LIB[instrument].plan
    answers = {item: draw(st.one_of(st.none(), st.sampled_from([float(v) for v in plan.allowed[k]])))
               for k, item in enumerate(plan.item_ids)}
    return answers, draw(st.sampled_from(SEXES))


@pytest.mark.parametrize("instrument", GATED)
@SETTINGS
@given(data=st.data())
def test_kiosk_shows_exactly_the_items_the_engine_scores(instrument: str, data: st.DataObject) -> None:
    d = LIB[instrument]
    plan = d.plan
    answers, sex = data.draw(administrations(instrument))
    shown = [i.id for i in shown_items(d, answers, sex)]
    assert tuple(shown) == visible_items(d, answers, {"sex": sex})
    hidden = set(plan.item_ids) - set(shown)
    answered = {i for i, v in answers.items() if v is not None}

    res = scoring.score(d, answers_frame(d, [answers], [sex]))
    ignored = set(res.failures.loc[res.failures["code"].isin(["not_shown", "not_applicable"]), "item"])
    skip = {plan.item_ids[g.item]: g.value_if_not_shown for g in plan.gates}
    # every answer to a hidden item is reported as ignored, unless it is the item's skip value itself
    assert ignored == {i for i in hidden & answered if answers[i] != skip.get(i)}
    # and the scales count exactly the shown answered items, plus hidden items scored with their skip value
    for sp in plan.scales:
        items = [plan.item_ids[k] for k in sp.index]
        expected = sum((i in answered and i not in hidden) or (i in hidden and skip.get(i) is not None)
                       for i in items)
        assert int(res.scores[f"{sp.id}_n_answered"].iloc[0]) == expected, (sp.id, shown)


@pytest.mark.parametrize("instrument", GATED)
def test_visible_matrix_is_vectorised_and_agrees_row_by_row(instrument: str) -> None:
    """The vectorised mask over many respondents equals the one-respondent answer, row by row."""
    d = LIB[instrument]
    plan = d.plan
    rows = []
    for k in range(60):
        rows.append({item: float(plan.allowed[j][(k * (j + 3)) % len(plan.allowed[j])]) if (k + j) % 5 else None
                     for j, item in enumerate(plan.item_ids)})
    sexes = [SEXES[k % len(SEXES)] for k in range(len(rows))]
    frame = answers_frame(d, rows, sexes)
    checked = scoring.engine.responses.check_responses(plan, frame)
    mask = visible_matrix(plan, checked.matrix, frame[["sex"]])
    for r, (answers, sex) in enumerate(zip(rows, sexes, strict=True)):
        got = tuple(item for item, s in zip(plan.item_ids, mask[r], strict=True) if s)
        assert got == visible_items(d, answers, {"sex": sex})


def test_any_respondent_column_counts() -> None:
    """A respondent attribute other than sex (here one named like a clinic's ``age`` rule) is passed through."""
    d = LIB["phq15"]
    assert "phq15_4" not in visible_items(d, {}, {"sex": "man"})
    assert "phq15_4" in visible_items(d, {}, {"sex": None, "age": 40})
    assert "phq15_4" in visible_items(d, {}, None)

"""One list of sex codes and one age rule: every consumer accepts and refuses exactly the same values."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from scoring.definitions.respondent import (
    SEX_CODES,
    SEX_WORDS,
    Sex,
    SexValueError,
    age_in_completed_years,
    completed_years,
    parse_sex,
    sex_codes,
)
from scoring.engine.compute import sex_codes as engine_sex_codes
from scoring.export.anonymizer import SEX_CODES as EXPORT_SEX_CODES
from scoring.export.anonymizer import normalise_sex
from scoring.store.administration import age_on
from scoring.store.errors import StoreError
from scoring.store.patients import _sex as store_sex
from tests.support.shipped import shipped_library

#: each accepted word, also as a user might type it (upper case, surrounding spaces)
ACCEPTED = [*SEX_WORDS, *(f"  {w.upper()} " for w in SEX_WORDS)]
REFUSED: list[object] = ["1", "2", 1, 2, 0.0, True, "femal", "weiblich", "?", "f m", "mf", "female/male"]


def _expected(word: str) -> Sex | None:
    return SEX_WORDS[word.strip().lower()]


@pytest.mark.parametrize("word", ACCEPTED)
def test_every_consumer_reads_an_accepted_word_the_same_way(word: str) -> None:
    sex = _expected(word)
    code = 0 if sex is None else SEX_CODES[sex]
    assert parse_sex(word) is sex
    assert store_sex(word) == (None if sex is None else sex.value)
    codes, bad = normalise_sex(pd.Series([word], dtype=object))
    assert (codes.tolist(), bad.tolist()) == ([code], [False])
    assert sex_codes([word])[0].tolist() == [code]
    # the engine and the norms know female and male; other and not recorded are unknown to sex-specific rules
    engine = engine_sex_codes(pd.DataFrame({"sex": [word]}), 1).tolist()
    assert engine == [{Sex.FEMALE: 1, Sex.MALE: 2}.get(sex, 0)]  # type: ignore[arg-type]


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_every_consumer_refuses_the_same_values(value: object) -> None:
    with pytest.raises(SexValueError, match="not a recognised value"):
        parse_sex(value)
    if isinstance(value, str):  # the store's API takes text
        with pytest.raises(StoreError, match="not a recognised value"):
            store_sex(value)
    codes, bad = normalise_sex(pd.Series([value], dtype=object))
    assert (codes.tolist(), bad.tolist()) == ([0], [True])
    # the engine never guesses: a refused value leaves sex unknown (sex-specific rules are then unknown)
    assert engine_sex_codes(pd.DataFrame({"sex": pd.Series([value], dtype=object)}), 1).tolist() == [0]


@pytest.mark.parametrize("blank", [None, np.nan, pd.NA, ""])
def test_not_recorded(blank: object) -> None:
    assert parse_sex(blank) is None
    codes, bad = sex_codes(pd.Series([blank], dtype=object))
    assert (codes.tolist(), bad.tolist()) == ([0], [False])


def test_export_codes_are_the_respondent_codes() -> None:
    assert {s.value: c for s, c in SEX_CODES.items()} == EXPORT_SEX_CODES
    assert set(SEX_WORDS.values()) == {*Sex, None}


def test_engine_applicability_uses_the_one_list() -> None:
    """PHQ-15 item 4 (menstrual problems) applies to women only: every spelling of female/male decides it."""
    import scoring

    d = shipped_library()["phq15"]
    words = [w for w, s in SEX_WORDS.items() if s is not None]
    data = pd.DataFrame({i: [1] * len(words) for i in d.plan.item_ids})
    data["sex"] = words
    res = scoring.score(d, data)
    not_applicable = set(res.failures.loc[res.failures["code"] == "not_applicable", "row"])
    assert not_applicable == {k for k, w in enumerate(words) if SEX_WORDS[w] is Sex.MALE}



def test_score_reports_exactly_the_refused_values() -> None:
    """score() lists a refused sex value as a located failure (row, value) and scores the row with sex unknown;
    every accepted spelling passes without a failure."""
    import scoring

    d = shipped_library()["phq15"]
    values: list[object] = [*ACCEPTED, *REFUSED, None]
    data = pd.DataFrame({i: [1] * len(values) for i in d.plan.item_ids})
    data["sex"] = pd.Series(values, dtype=object)
    res = scoring.score(d, data)
    refused = res.failures[res.failures["code"] == "unrecognised_sex"]
    assert list(refused["row"]) == list(range(len(ACCEPTED), len(ACCEPTED) + len(REFUSED)))
    assert set(refused["item"]) == {"sex"}
    assert res.scores["total_valid"].all()
    # gad7 has no sex-specific rule: a sex column is passed through and never judged
    g = shipped_library()["gad7"]
    frame = pd.DataFrame({i: [1] for i in g.plan.item_ids}).assign(sex="1")
    assert scoring.score(g, frame).failures.empty



@pytest.mark.parametrize("word", [*ACCEPTED, *(v for v in REFUSED if isinstance(v, str))])
def test_cli_sex_option_uses_the_one_list(word: str) -> None:
    """``psyscore patient add/edit --sex`` reads the option with the same list (a refused code is a usage error)."""
    import argparse

    from scoring.cli.store_cmds import _sex_arg

    if word.strip().lower() in SEX_WORDS:
        sex = _expected(word)
        assert _sex_arg(word) == ("" if sex is None else sex.value)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="not a recognised value"):
            _sex_arg(word)


AGE_CASES = [
    (date(2000, 2, 29), date(2023, 2, 28), 22),
    (date(2000, 2, 29), date(2023, 3, 1), 23),
    (date(2000, 2, 29), date(2024, 2, 29), 24),
    (date(1990, 6, 15), date(2024, 6, 14), 33),
    (date(1990, 6, 15), date(2024, 6, 15), 34),
    (date(1990, 12, 31), date(1991, 1, 1), 0),
    (date(2024, 5, 1), date(2024, 5, 1), 0),
]


@pytest.mark.parametrize(("birth", "on", "years"), AGE_CASES)
def test_every_age_copy_agrees(birth: date, on: date, years: int) -> None:
    assert age_in_completed_years(birth, on) == years
    assert age_in_completed_years(birth.isoformat(), pd.Timestamp(on)) == years
    assert completed_years(pd.Series([birth.isoformat()]), pd.Series([on.isoformat()])).tolist() == [years]
    assert age_on(birth, on) == years


def test_age_before_birth() -> None:
    with pytest.raises(ValueError, match="before the date of birth"):
        age_in_completed_years(date(2020, 1, 2), date(2020, 1, 1))
    assert age_on(date(2020, 1, 2), date(2020, 1, 1)) is None
    assert np.isnan(completed_years(pd.Series(["2020-01-02"]), pd.Series(["2020-01-01"]))).all()
    with pytest.raises(ValueError, match="is not a date"):
        age_in_completed_years("yesterday", date(2020, 1, 1))

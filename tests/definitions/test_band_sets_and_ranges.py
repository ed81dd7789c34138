"""Alternative band sets, cut-offs declared as a published range, and a deployment's choice within it (issue 14).

PCL-5 2.0.0: ``probable_ptsd`` has the published range 31-33 (Bovin et al. 2016: "PCL-5 scores of 31 to 33 were
optimally efficient") and the chosen value 33; a deployment chooses another value with
``PSYSCORE_CUTOFFS=pcl5.total.probable_ptsd=31`` (or ``Definition.with_cutoffs``), validated within the range.
"""

from __future__ import annotations

import pandas as pd
import pytest

import scoring
from scoring.definitions.library import (
    CutoffChoiceError,
    Settings,
    load_library,
    parse_cutoff_choices,
)
from tests.support.shipped import shipped_library

LIB = shipped_library()


def _pcl5_frame(total_at_2: int) -> pd.DataFrame:
    items = [i.id for i in LIB["pcl5"].instrument.items]
    return pd.DataFrame([[2] * total_at_2 + [0] * (20 - total_at_2)], columns=items)


def test_the_chosen_value_is_a_column_of_every_row_and_the_hash_does_not_change() -> None:
    d = LIB["pcl5"]
    chosen = d.with_cutoffs({"total.probable_ptsd": 31})
    assert chosen.hash == d.hash and chosen.version == d.version
    assert d.cutoff_values == {"total.probable_ptsd": 33.0}
    assert chosen.cutoff_values == {"total.probable_ptsd": 31.0}
    a = scoring.score(d, _pcl5_frame(16)).scores
    b = scoring.score(chosen, _pcl5_frame(16)).scores
    assert list(a.columns) == list(b.columns)  # an option never changes the columns
    assert (a.loc[0, "total"], bool(a.loc[0, "total_probable_ptsd"]), a.loc[0, "total_probable_ptsd_value"]) == (
        32.0, False, 33.0)
    assert (bool(b.loc[0, "total_probable_ptsd"]), b.loc[0, "total_probable_ptsd_value"]) == (True, 31.0)


def test_unscored_rows_still_say_which_cut_point_applied() -> None:
    frame = _pcl5_frame(16).astype(float)
    frame.iloc[0, 0] = float("nan")
    out = scoring.score(LIB["pcl5"], frame).scores
    assert out.loc[0, "total_probable_ptsd"] is pd.NA and out.loc[0, "total_probable_ptsd_value"] == 33.0


@pytest.mark.parametrize(("choices", "fragment"), [
    ({"total.probable_ptsd": 34}, "pcl5.total.probable_ptsd=34 is outside the published range 31-33"),
    ({"total.probable_ptsd": 30.5}, "outside the published range 31-33"),
    ({"total.probable_ptsd": float("nan")}, "outside the published range 31-33"),
    ({"total.probable": 32}, "has no cut-off 'total.probable' — cut-offs with a published range: total.probable_ptsd"),
    ({"cluster_b.probable_ptsd": 32}, "has no cut-off 'cluster_b.probable_ptsd'"),
])
def test_a_choice_outside_the_range_or_of_no_such_cut_off_is_refused(choices: dict, fragment: str) -> None:
    with pytest.raises(CutoffChoiceError, match=None) as err:
        LIB["pcl5"].with_cutoffs(choices)
    assert fragment in str(err.value)


def test_a_single_published_cut_point_cannot_be_chosen() -> None:
    with pytest.raises(CutoffChoiceError, match="a single published value \\(10\\), not a range"):
        LIB["gad7"].with_cutoffs({"total.probable_gad": 11})


@pytest.mark.parametrize(("text", "fragment"), [
    ("pcl5.probable_ptsd=32", "is not INSTRUMENT.SCALE.CUTOFF=VALUE"),
    ("pcl5.total.probable_ptsd", "is not INSTRUMENT.SCALE.CUTOFF=VALUE"),
    ("pcl5.total.probable_ptsd=thirty", "the value 'thirty' is not a number"),
    ("pcl5.total.probable_ptsd=31, pcl5.total.probable_ptsd=32", "is chosen twice"),
])
def test_a_malformed_setting_is_an_error_naming_the_variable(text: str, fragment: str) -> None:
    with pytest.raises(CutoffChoiceError) as err:
        Settings.from_env({"PSYSCORE_CUTOFFS": text})
    assert "PSYSCORE_CUTOFFS" in str(err.value) and fragment in str(err.value)


def test_parse_cutoff_choices() -> None:
    assert parse_cutoff_choices(" pcl5.total.probable_ptsd = 32 , ") == {"pcl5": {"total.probable_ptsd": 32.0}}
    assert parse_cutoff_choices("") == {}


def test_a_deployment_setting_reaches_every_version_that_has_the_cut_off() -> None:
    lib = load_library(settings=Settings.from_env({"PSYSCORE_CUTOFFS": "pcl5.total.probable_ptsd=32"}))
    assert lib.report.ok, str(lib.report)
    assert lib["pcl5"].cutoff_values == {"total.probable_ptsd": 32.0}
    assert lib.get_version("pcl5", "1.0.0").cutoff_values == {}  # 1.0.0 has fixed cut-offs at 31 and 33
    out = scoring.score(lib["pcl5"], _pcl5_frame(16)).scores
    assert bool(out.loc[0, "total_probable_ptsd"]) and out.loc[0, "total_probable_ptsd_value"] == 32.0


def test_an_invalid_deployment_choice_leaves_every_version_of_the_instrument_out() -> None:
    """An older version must not stand in for the one refused: lib['pcl5'] fails loudly instead."""
    lib = load_library(settings=Settings.from_env({"PSYSCORE_CUTOFFS": "pcl5.total.probable_ptsd=30"}))
    issues = [i for i in lib.report.issues if i.code == "E230"]
    assert len(issues) == 1 and "outside the published range 31-33" in issues[0].message
    assert lib.versions("pcl5") == []
    with pytest.raises(scoring.UnknownInstrumentError):
        lib["pcl5"]
    assert "phq9" in lib  # other instruments are untouched


def test_a_choice_no_version_has_is_reported() -> None:
    lib = load_library(settings=Settings.from_env({"PSYSCORE_CUTOFFS": "pcl5.total.probable=32"}))
    assert [i.code for i in lib.report.issues if i.severity == "error"] == ["E230"]
    assert lib.versions("pcl5") == ["1.0.0", "2.0.0"]


def test_band_set_columns_follow_the_plan_and_are_ordered_categoricals() -> None:
    d = LIB["k10"]
    frame = pd.DataFrame([[2] * 10, [1] * 10], columns=[i.id for i in d.instrument.items])
    out = scoring.score(d, frame).scores
    sp = d.plan.scales[0]
    assert [c for c in out.columns if c.startswith("total")] == list(sp.columns)
    col = out["total_band_crufad"]
    assert col.cat.ordered and list(col.cat.categories) == [
        "Likely to be well", "Likely mild disorder", "Likely moderate disorder", "Likely severe disorder"]
    assert list(col) == ["Likely mild disorder", "Likely to be well"]
    assert list(out["total_band"]) == ["Moderate", "Low"]


def test_unused_new_fields_leave_the_canonical_json_unchanged() -> None:
    """The 1.0.0 hashes (test_immutable) hold because a field added later is not dumped while unused."""
    dump = LIB["phq9"].instrument.model_dump(mode="json")
    scale = dump["scales"][0]
    assert "band_sets" not in scale and "id" not in scale["bands"] and "by_sex" not in scale["change"]
    assert all("range" not in c for c in scale["cutoffs"])
    sd = LIB.get_version("gad7", "1.0.0").instrument.model_dump(mode="json")
    assert "population" not in sd["scales"][0]["change"]["sd"]
    used = LIB["pcl5"].instrument.model_dump(mode="json")["scales"][0]["cutoffs"][0]
    assert used["range"] == [31, 33] and used["value"] == 33


def test_the_receipt_names_each_band_set_and_the_cut_point_chosen() -> None:
    text = str(scoring.explain(LIB["k10"], [2] * 10))
    assert "20 lies in 16–21 → Moderate (band set abs: ABS survey groupings" in text
    assert "band in set crufad (CRUfAD / GPcare primary-care groupings" in text
    assert "20 lies in 20–24 → Likely mild disorder" in text
    pcl5 = [2] * 16 + [0] * 4
    own = str(scoring.explain(LIB["pcl5"], pcl5))
    assert "cut-off probable_ptsd (>= 33, within the published range 31–33: the definition's choice): not met" in own
    chosen = str(scoring.explain(LIB["pcl5"].with_cutoffs({"total.probable_ptsd": 31}), pcl5))
    assert ("cut-off probable_ptsd (>= 31, within the published range 31–33: chosen by this deployment; the "
            "definition's is 33): met") in chosen


def test_the_cli_shows_the_sets_and_honours_or_refuses_the_deployments_choice(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from scoring.cli import main

    assert main(["show", "k10"]) == 0
    out = capsys.readouterr().out
    assert "band set abs (total_band): ABS survey groupings" in out
    assert "band set crufad (total_band_crufad): CRUfAD / GPcare" in out
    monkeypatch.setenv("PSYSCORE_CUTOFFS", "pcl5.total.probable_ptsd=31")
    assert main(["show", "pcl5"]) == 0
    assert "total >= 31 (this deployment's choice; the definition's is 33; published range 31–33" in (
        capsys.readouterr().out)
    monkeypatch.setenv("PSYSCORE_CUTOFFS", "pcl5.total.probable_ptsd=40")
    assert main(["show", "pcl5"]) == 2
    assert "pcl5.total.probable_ptsd=40 is outside the published range 31-33" in capsys.readouterr().err

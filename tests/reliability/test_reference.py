"""Agreement with R psych (values committed in tests/reference/reliability/expected.json) to 1e-6.

expected.json was written by make_reference.R from likert8.csv; R is not needed to run these tests.
"raw" is the file as entered (item i6 mis-keyed), "keyed" the same data with i6 reversed as 4 − i6.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.reliability import analyze, cronbach_alpha, item_statistics, omega_total, scale_reliability

REF = Path(__file__).parents[1] / "reference" / "reliability"
EXPECTED = json.loads((REF / "expected.json").read_text(encoding="utf-8"))
DATA = pd.read_csv(REF / "likert8.csv")
DEFINITIONS = Path(__file__).parent / "definitions"
TOL = 1e-6

ALPHA_FIELDS = {  # ours -> psych's
    "alpha": "raw_alpha",
    "alpha_std": "std_alpha",
    "average_r": "average_r",
    "se": "ase",
    "feldt_lower": "feldt_lower",
    "feldt_upper": "feldt_upper",
    "duhachek_lower": "duhachek_lower",
    "duhachek_upper": "duhachek_upper",
}
ITEM_FIELDS = ("n", "mean", "sd", "r_drop", "alpha_if_deleted", "alpha_if_deleted_std", "pc1_loading")
CASES = [(version, missing) for version in ("raw", "keyed") for missing in ("pairwise", "listwise")]


def frame(version: str) -> pd.DataFrame:
    data = DATA.copy()
    if version == "keyed":
        data["i6"] = 4 - data["i6"]
    return data


def test_reference_provenance_is_recorded() -> None:
    prov = EXPECTED["provenance"]
    assert prov["psych_version"] and prov["r_version"].startswith("R version")
    assert (REF / "make_reference.R").is_file() and (REF / "make_data.py").is_file()
    assert DATA.shape == (300, 8) and DATA.isna().any().any()


@pytest.mark.parametrize(("version", "missing"), CASES)
def test_alpha_matches_psych(version: str, missing: str) -> None:
    expected = EXPECTED[version][missing]
    result = cronbach_alpha(frame(version), missing=missing)
    assert result.n_obs == expected["n_obs"] and result.n_items == expected["n_items"]
    for ours, theirs in ALPHA_FIELDS.items():
        assert getattr(result, ours) == pytest.approx(expected[theirs], abs=TOL), ours


@pytest.mark.parametrize(("version", "missing"), CASES)
def test_item_statistics_match_psych(version: str, missing: str) -> None:
    expected = EXPECTED[version][missing]["items"]
    items = item_statistics(frame(version), missing=missing)
    assert items["item"].tolist() == expected["item"]
    for field in ITEM_FIELDS:
        np.testing.assert_allclose(items[field].to_numpy(dtype=float), np.array(expected[field], dtype=float),
                                   rtol=0, atol=TOL, err_msg=field)


@pytest.mark.parametrize(("version", "missing"), CASES)
def test_miskeying_flag_agrees_with_psych_warning(version: str, missing: str) -> None:
    expected = EXPECTED[version][missing]
    items = item_statistics(frame(version), missing=missing)
    assert bool(items["miskeyed"].any()) == expected["psych_flags_reversal"]
    assert items.loc[items["miskeyed"], "item"].tolist() == (["i6"] if version == "raw" else [])


@pytest.mark.parametrize(("version", "missing"), CASES)
def test_omega_total_matches_psych(version: str, missing: str) -> None:
    expected = EXPECTED[version][missing]
    result = omega_total(frame(version), missing=missing)
    assert result.converged and not result.heywood
    assert result.omega_total == pytest.approx(expected["omega_total"], abs=TOL)
    # psych stops its L-BFGS-B search a little before the optimum: communalities agree to ~1e-6 only,
    # while omega total (a sum over items) agrees to ~1e-8.
    np.testing.assert_allclose(result.communalities, expected["h2"], rtol=0, atol=1e-5)


def test_scale_reliability_equals_the_parts_on_reference_data() -> None:
    for version, missing in CASES:
        res = scale_reliability(frame(version), missing=missing, item_range=(0, 4))
        expected = EXPECTED[version][missing]
        assert res.alpha.alpha == pytest.approx(expected["raw_alpha"], abs=TOL)
        assert res.omega.omega_total == pytest.approx(expected["omega_total"], abs=TOL)
        codes = res.warnings["code"].tolist()
        assert codes == (["miskeyed"] if version == "raw" else [])


@pytest.fixture(scope="module")
def library() -> scoring.Library:
    return scoring.load_library([DEFINITIONS])


@pytest.mark.parametrize(("given", "as_psych"), [("raw", "keyed"), ("keyed", "raw")])
def test_analyze_applies_reverse_keying(library: scoring.Library, given: str, as_psych: str) -> None:
    """The definition reverses i6: the raw file analyses like psych on the keyed data, and vice versa."""
    report = analyze(library["likert8"], frame(given))
    assert report.failures.empty
    for missing in ("pairwise", "listwise"):
        expected = EXPECTED[as_psych][missing]
        row = report.scales.query("scale_id == 'total' and missing == @missing").iloc[0]
        for ours, theirs in [("alpha", "raw_alpha"), ("alpha_std", "std_alpha"), ("alpha_se", "ase"),
                             ("alpha_feldt_lower", "feldt_lower"), ("alpha_feldt_upper", "feldt_upper"),
                             ("alpha_duhachek_lower", "duhachek_lower"),
                             ("alpha_duhachek_upper", "duhachek_upper"), ("average_r", "average_r"),
                             ("omega_total", "omega_total")]:
            assert row[ours] == pytest.approx(expected[theirs], abs=TOL), (missing, ours)
        items = report.items.query("scale_id == 'total' and missing == @missing")
        for field in ("r_drop", "alpha_if_deleted", "mean", "sd"):
            np.testing.assert_allclose(items[field].to_numpy(dtype=float), expected["items"][field], atol=TOL)
        flagged = report.warnings.query("scale_id == 'total' and missing == @missing and code == 'miskeyed'")
        assert flagged["item"].tolist() == (["i6"] if as_psych == "raw" else [])

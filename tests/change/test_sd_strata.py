"""Which SD each RCI uses, and sex-specific reliability/SD (issue 14 item 3).

GAD-7 1.1.0: general-population SD 3.4 (Löwe et al. 2008, total sample), and the SDs the same paper's
abstract gives per sex: women 3.5, men 3.2; alpha 0.89 "identical across all subgroups". The Jacobson–Truax
minimum reliable difference is z·SD·√(2(1 − r)): 1.96 × 3.5 × √0.22 = 3.2176 (women), 1.96 × 3.2 × √0.22 =
2.9418 (men), 1.96 × 3.4 × √0.22 = 3.1257 (sex not known) — arithmetic by hand from the published values.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import scoring
from scoring.change.rci import PARAMETER_COLUMNS, ChangeParameters, change_parameters, compare
from tests.support.shipped import shipped_library

LIB = shipped_library()
ROOT = math.sqrt(2 * (1 - 0.89))


@pytest.mark.parametrize(("sex", "sd", "stratum", "whose"), [
    (None, 3.4, "all", ""), ("female", 3.5, "female", "; women"), ("male", 3.2, "male", "; men"),
])
def test_gad7_rci_uses_the_sd_of_the_respondents_sex(sex: str | None, sd: float, stratum: str, whose: str) -> None:
    p = change_parameters(LIB["gad7"], sex=sex)
    assert (p.sd, p.reliability, p.stratum, p.sd_population) == (sd, 0.89, stratum, "general_population")
    assert math.isclose(p.threshold_jt, 1.96 * sd * ROOT)
    assert p.sd_used.startswith(f"SD {sd:g} (general-population sample{whose}): Löwe et al. 2008")
    out = compare([12], [7], p)
    assert out["sd"].iloc[0] == sd and out["stratum"].iloc[0] == stratum
    assert out["sd_used"].iloc[0] == p.sd_used
    assert math.isclose(out["rci"].iloc[0], -5 / (sd * ROOT))


def test_sd_used_is_a_parameter_column_and_names_an_undeclared_sample() -> None:
    assert {"sd_population", "stratum", "sd_used"} <= set(PARAMETER_COLUMNS)
    p = ChangeParameters.from_values(higher_is="worse", reliability=0.84, sd=5.0)
    assert p.sd_used == "SD 5 (sample not stated)"
    assert ChangeParameters.from_values(higher_is="worse", reliability=0.84).sd_used == ""


def test_an_instrument_without_sex_strata_ignores_the_sex() -> None:
    assert change_parameters(LIB["phq9"], sex="female") == change_parameters(LIB["phq9"])
    assert change_parameters(LIB["phq9"], sex="female").stratum == "all"


def test_history_takes_each_patients_sex_for_the_rci() -> None:
    visits = pd.DataFrame({
        "patient": ["w", "w", "m", "m", "u", "u"], "date": ["2024-01-08", "2024-02-05"] * 3,
        "instrument": "gad7", "sex": ["female", "female", "M", "M", None, None], "total": [12, 9, 12, 9, 12, 9],
    })
    frame = scoring.history(LIB, visits).frame.set_index("patient")
    last = frame[frame["administration"] == 2]
    assert last.loc["w", "stratum"] == "female" and last.loc["w", "sd"] == 3.5
    assert last.loc["m", "stratum"] == "male" and last.loc["m", "sd"] == 3.2
    assert last.loc["u", "stratum"] == "all" and last.loc["u", "sd"] == 3.4
    # a 3-point fall: reliable for men by the RCI (3 > 2.94), not for women (3 < 3.22)
    assert bool(last.loc["m", "baseline_rci_reliable"]) and not bool(last.loc["w", "baseline_rci_reliable"])
    assert last.loc["w", "sd_used"].startswith("SD 3.5 (general-population sample; women)")

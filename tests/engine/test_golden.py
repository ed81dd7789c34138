"""Golden tests: every bundled instrument scores published and constructed vectors as its sources say.

Each ``tests/golden/<id>.yaml`` holds cases (responses → expected values) with the source of each case.
Besides checking every case, the tests below hold the library to the project's rules: at least three
cases per instrument, a case at both ends of every band, and a case exercising the missing-data rule.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import scoring
from tests.support.shipped import shipped_library

GOLDEN = Path(__file__).parents[1] / "golden"
LIB = shipped_library()


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


FILES = sorted(GOLDEN.glob("*.yaml"))
CASES = [(f.stem, i, case) for f in FILES for i, case in enumerate(_load(f)["cases"])]


def responses_frame(definition: scoring.Definition, cases: list[dict]) -> pd.DataFrame:
    item_ids = [i.id for i in definition.instrument.items]
    rows = []
    for case in cases:
        resp = case["responses"]
        if isinstance(resp, list):
            if len(resp) > len(item_ids):
                raise ValueError(f"{case['name']}: {len(resp)} responses for {len(item_ids)} items")
            row = dict(zip(item_ids, resp, strict=False))
        else:
            row = dict(resp)
        row.update(case.get("respondent", {}))
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in frame.columns:
        if col in item_ids:
            frame[col] = pd.to_numeric(frame[col]).astype(float)
    return frame


def _matches(actual: object, expected: object) -> bool:
    if expected is None:
        return actual is None or actual is pd.NA or (isinstance(actual, float) and math.isnan(actual))
    if isinstance(expected, bool):
        return actual is not pd.NA and bool(actual) is expected
    if isinstance(expected, (int, float)):
        return actual is not pd.NA and actual is not None and math.isclose(float(actual), expected, abs_tol=1e-9)
    return actual is not pd.NA and str(actual) == str(expected)


@pytest.mark.parametrize(("instrument", "index", "case"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_golden_case(instrument: str, index: int, case: dict) -> None:
    """A case may pin a definition ``version`` (an archived one, kept for rescoring) and choose ``cutoffs``
    within their published ranges (``{"total.probable_ptsd": 31}``), as a deployment does."""
    definition = LIB.get_version(instrument, case.get("version"))
    if case.get("cutoffs"):
        definition = definition.with_cutoffs(case["cutoffs"])
    data = _load(GOLDEN / f"{instrument}.yaml")
    assert case["source"] in data["sources"], f"case cites unknown source {case['source']!r}"
    result = scoring.score(definition, responses_frame(definition, [case]))
    row = result.scores.iloc[0]
    assert result.failures.empty, result.failures.to_string()
    problems = []
    for column, expected in case["expected"].items():
        assert column in result.scores.columns, f"unknown output column {column!r}"
        actual = row[column]
        if not _matches(actual, expected):
            problems.append(f"{column}: expected {expected!r}, got {actual!r}")
    assert not problems, f"{case['name']}: " + "; ".join(problems)


def test_every_instrument_has_golden_cases() -> None:
    missing = sorted(set(LIB) - {f.stem for f in FILES})
    assert not missing, f"instruments without tests/golden/<id>.yaml: {missing}"
    for f in FILES:
        data = _load(f)
        assert data["instrument"] == f.stem
        assert len(data["cases"]) >= 3, f"{f.name}: at least 3 golden cases needed"
        assert data["sources"], f"{f.name}: sources are required"


def attainable(definition: scoring.Definition, scale) -> np.ndarray | None:
    """Every score a complete response can produce, for integer raw sums and counts; None otherwise."""
    from scoring.definitions.rules.facts import raw_range

    if scale.method not in ("sum", "count", "max"):
        return None
    rng = raw_range(definition.instrument, scale)
    if rng is None or not (float(rng[0]).is_integer() and float(rng[1]).is_integer()):
        return None
    raw = np.arange(int(rng[0]), int(rng[1]) + 1, dtype=float) * scale.multiplier
    if scale.transform is not None:
        raw = np.array([scale.transform.table[int(r)] for r in raw if int(r) in scale.transform.table], dtype=float)
    return raw


@pytest.mark.parametrize("instrument", sorted({f.stem for f in FILES}))
def test_band_boundaries_covered(instrument: str) -> None:
    """Both ends of every band of every scale are an expected score in some case.

    Where a published bound cannot occur (a doubled DASS-21 score is always even, so "Normal 0–9" ends at 8
    in practice), the nearest attainable score inside the band stands for it.
    """
    definition = LIB[instrument]
    cases = _load(GOLDEN / f"{instrument}.yaml")["cases"]
    missing = []
    for scale in definition.instrument.scales:
        if scale.bands is None:
            continue
        expected = {
            float(c["expected"][scale.id]) for c in cases if c["expected"].get(scale.id) is not None
        }
        grid = attainable(definition, scale)
        for band in scale.bands.ranges:
            bounds = [band.min, band.max]
            if grid is not None:
                inside = grid[(grid >= band.min) & (grid <= band.max)]
                assert len(inside), f"{scale.id} band {band.label} contains no attainable score"
                bounds = [inside.min(), inside.max()]
            for bound in bounds:
                if not any(math.isclose(bound, e) for e in expected):
                    missing.append(f"{scale.id} {band.label} {bound:g}")
    assert not missing, f"{instrument}: no golden case at band boundaries: {missing}"


@pytest.mark.parametrize("instrument", sorted({f.stem for f in FILES}))
def test_missing_data_rule_exercised(instrument: str) -> None:
    """Some case leaves an item of a scale unanswered and states what the rule makes of it."""
    definition = LIB[instrument]
    cases = _load(GOLDEN / f"{instrument}.yaml")["cases"]
    frame = responses_frame(definition, cases)
    for scale in definition.instrument.scales:
        cols = [c for c in scale.items if c in frame.columns]
        some_missing = frame.reindex(columns=scale.items).isna().any(axis=1).to_numpy()
        checked = np.array([
            any(k.startswith(scale.id) for k in c["expected"]) for c in cases
        ])
        if (some_missing & checked).any() and cols:
            return
    pytest.fail(f"{instrument}: no golden case with a missing item checks a scale's result")


@pytest.mark.parametrize("instrument", sorted({f.stem for f in FILES}))
def test_every_band_set_boundary_covered(instrument: str) -> None:
    """Both (attainable) ends of every band of every other published band set are a case that expects the
    set's column ``<scale>_band_<id>`` — not just the score — so each set is checked at its own cut-points."""
    definition = LIB[instrument]
    cases = _load(GOLDEN / f"{instrument}.yaml")["cases"]
    missing = []
    for scale in definition.instrument.scales:
        for band_set in scale.band_sets:
            column = f"{scale.id}_band_{band_set.id}"
            seen = {(float(c["expected"][scale.id]), str(c["expected"][column])) for c in cases
                    if c["expected"].get(scale.id) is not None and column in c["expected"]
                    and c.get("version") is None}
            grid = attainable(definition, scale)
            for band in band_set.ranges:
                bounds = [band.min, band.max]
                if grid is not None:
                    inside = grid[(grid >= band.min) & (grid <= band.max)]
                    assert len(inside), f"{column} band {band.label} contains no attainable score"
                    bounds = [inside.min(), inside.max()]
                for bound in bounds:
                    if not any(math.isclose(bound, s) and label == band.label for s, label in seen):
                        missing.append(f"{column} {band.label} {bound:g}")
    assert not missing, f"{instrument}: no golden case at band-set boundaries: {missing}"

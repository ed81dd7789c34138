"""Research exports carry ``<instrument>_<scale>_reason_code`` (1-based codes of the closed set), in the codebook."""

from __future__ import annotations

import pandas as pd

import scoring
import scoring.export as ex
from scoring.engine.reasons import REASON_CODE_NAMES, REASON_CODES


def test_exported_reason_codes_equal_the_engine(extract: pd.DataFrame, library: scoring.Library) -> None:
    prep = ex.prepare_export(extract, profile="safe_harbor", k=1, library=library)
    rows = prep.data[prep.data["instrument_id"] == "phq9"]
    items = rows[[f"phq9_{i}" for i in range(1, 11)]].astype("float64").reset_index(drop=True)
    expected = scoring.score(library["phq9"], items).scores["total_reason_code"]
    got = [None if pd.isna(c) else REASON_CODE_NAMES[int(c) - 1] for c in rows["phq9_total_reason_code"]]
    assert got == [None if pd.isna(c) else c for c in expected]
    book = prep.codebook.set_index("variable").loc["phq9_total_reason_code"]
    for k, (code, _) in enumerate(REASON_CODES, start=1):
        assert f"{k} = {code}: " in book["value_labels"]

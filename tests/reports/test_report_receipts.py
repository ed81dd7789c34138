"""Report receipts agree with the history for every shipped instrument, in both shapes a history comes in.

Issue 9 item 7: a WHO-5 history built from stored scores has one source row per scale, and the report printed
each administration's receipt twice and warned "the receipt differs from the history" (raw = 7, history —).
Here every shipped instrument gets a report from (a) a history of item answers and (b) a history of stored
scores, one row per scale as ``Patients.change_history`` builds it; neither may warn. A history whose number
truly differs from the answers must still warn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import scoring
from scoring.reports import patient_report
from scoring.reports.pdf import layout
from tests.support.shipped import shipped_library

LIB = shipped_library()
GOLDEN = Path(__file__).parents[1] / "golden"
DATES = ["2024-01-08", "2024-02-05", "2024-03-04"]


def _answers(instrument: str) -> list[dict]:
    """Three administrations from the instrument's golden cases (answers and respondent data)."""
    d = LIB[instrument]
    items = [i.id for i in d.instrument.items]
    out = []
    for case in yaml.safe_load((GOLDEN / f"{instrument}.yaml").read_text(encoding="utf-8"))["cases"][:3]:
        resp = case["responses"]
        row = dict(zip(items, resp, strict=False)) if isinstance(resp, list) else dict(resp)
        row = {k: (np.nan if v is None else float(v)) for k, v in row.items()}
        row.update(case.get("respondent", {}))
        out.append(row)
    return out


def _item_history(instrument: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [{"patient": "p1", "date": day, "instrument": instrument, **a}
            for day, a in zip(DATES, _answers(instrument), strict=True)]
    data = pd.DataFrame(rows)
    data.index = [f"adm-{k}" for k in range(len(data))]
    return scoring.history(LIB, data).frame, data


def _stored_history(instrument: str) -> tuple[pd.DataFrame, dict]:
    """As the app builds it: stored scores, one row (and source row) per administration × scale."""
    d = LIB[instrument]
    answers = _answers(instrument)
    scores = scoring.score(d, pd.DataFrame(answers)).scores
    rows, owner = [], []
    for k, day in enumerate(DATES):
        for sp in d.plan.scales:
            rows.append({"patient": "p1", "date": day, "instrument": instrument, "instrument_version": d.version,
                         "scale": sp.id, "score": scores[sp.id].iloc[k]})
            owner.append(k)
    h = scoring.history(LIB, pd.DataFrame(rows)).frame
    source = {int(r): {c: v for c, v in answers[owner[int(r)]].items() if not pd.isna(v)}
              for r in h["source_row"].unique()}
    return h, source


def _receipt_warnings(report) -> list[str]:
    found = [w for w in report.warnings if "differs" in w]
    found += [text for b in layout(report) for _, text in b.lines if text.startswith("WARNING")]
    return found


@pytest.mark.parametrize("instrument", sorted(LIB))
@pytest.mark.parametrize("shape", ["items", "stored scores"])
def test_no_false_receipt_warning(instrument: str, shape: str) -> None:
    if shape == "items":
        history, adm = _item_history(instrument)
    else:
        history, adm = _stored_history(instrument)
    report = patient_report(history, LIB, administrations=adm, patient_label="Test patient", charts=False)
    assert _receipt_warnings(report) == []
    (section,) = report.sections
    assert len(section.receipts) == len(DATES)  # one receipt per administration, never one per scale
    assert all(r.explanation is not None for r in section.receipts)


@pytest.mark.parametrize("shape", ["items", "stored scores"])
def test_a_history_that_truly_differs_still_warns(shape: str) -> None:
    history, adm = _item_history("who5") if shape == "items" else _stored_history("who5")
    history = history.copy()
    row = history.index[(history["scale"] == "raw") & (history["administration"] == 2)][0]
    history.loc[row, "score"] = history.loc[row, "score"] + 1
    report = patient_report(history, LIB, administrations=adm, patient_label="Test patient", charts=False)
    assert report.warnings == ("who5 administration 2: the receipt differs from the history",)
    receipt = next(r for r in report.sections[0].receipts if r.administration == 2)
    assert list(receipt.mismatch) == ["raw"]

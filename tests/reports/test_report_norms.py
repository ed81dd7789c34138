"""Norms and unanswered critical items in the patient report (issue 9 item 7, issue 10 item 7)."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pypdf
import pytest

import scoring
from scoring.change.timeline import default_norms, normed_history, with_norms
from scoring.reports import patient_report
from tests.support.shipped import shipped_library

LIB = shipped_library()
NORMS = scoring.load_norms()
GENERATED = dt.datetime(2024, 3, 5, 9, 30, tzinfo=dt.UTC)


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())


def _stored_phq9() -> tuple[pd.DataFrame, dict]:
    """A PHQ-9 history of stored scores (one row per scale, as the app builds it) and the answers."""
    answers = [[3, 2, 3, 2, 2, 2, 2, 2, 1], [1, 1, 1, 1, 0, 1, 0, 0, None]]
    scores = scoring.score(LIB["phq9"], pd.DataFrame(answers, columns=[f"phq9_{i}" for i in range(1, 10)],
                                                     dtype=float)).scores
    data = pd.DataFrame({"patient": "p1", "date": ["2024-01-08", "2024-03-04"], "instrument": "phq9",
                         "instrument_version": "1.0.0", "scale": "total", "score": scores["total"]})
    source = {k: {f"phq9_{i}": v for i, v in enumerate(a, start=1) if v is not None} for k, a in enumerate(answers)}
    return scoring.history(LIB, data).frame, source


def test_default_norms_follow_what_is_known_about_the_patient() -> None:
    h, _ = _stored_phq9()
    assert [t.id for t in default_norms(NORMS, h)] == ["phq9_kliem2024_de_total"]  # no sex: the whole sample
    sexed = default_norms(NORMS, h, sex_known=True)
    assert len(sexed) == 1 and sexed[0].needs_sex
    assert default_norms(NORMS, h.assign(instrument="gad2")) == []  # no table for GAD-2: no norms


def test_with_norms_equals_history_with_norms() -> None:
    """Filling a stored-score history afterwards gives the numbers history(norms=...) gives."""
    table = NORMS.get("phq9_kliem2024_de_sex")
    h, _ = _stored_phq9()
    filled = with_norms(h, LIB, [table], sex="female")
    data = pd.DataFrame({"patient": "p1", "date": ["2024-01-08", "2024-03-04"], "instrument": "phq9",
                         "total": h["score"].to_numpy(), "sex": "female"})
    direct = scoring.history(LIB, data, norms=table).frame
    for col in ("norm_percentile", "norm_z", "norm_t"):
        assert filled[col].tolist() == pytest.approx(direct[col].tolist(), nan_ok=True)
    assert filled["norm_stratum"].tolist() == direct["norm_stratum"].tolist() == ["female", "female"]
    assert filled["score"].tolist() == h["score"].tolist()  # nothing else changes


def test_report_shows_percentiles_and_t_scores() -> None:
    h, source = _stored_phq9()
    normed, tables = normed_history(h, LIB, NORMS)
    assert [t.id for t in tables] == ["phq9_kliem2024_de_total"]
    percentiles = normed["norm_percentile"].tolist()
    assert all(0 < p <= 100 for p in percentiles)
    report = patient_report(normed, LIB, administrations=source, patient_label="P", charts=False,
                            generated_at=GENERATED, norms=tables)
    text = _text(report.to_pdf(font="vera"))
    assert "Pctl" in text  # the column of the administrations table
    latest = f"percentile {percentiles[-1]:.1f}"
    assert latest in text  # at a glance
    assert "norms phq9_kliem2024_de_total" in text  # the receipt's norm line
    assert report.summary()["latest_percentile"].tolist() == [pytest.approx(percentiles[-1])]
    wb = openpyxl.load_workbook(io.BytesIO(report.to_xlsx()))
    head = next(r for r in wb["Summary"].iter_rows(values_only=True) if r and r[0] == "Instrument")
    assert "Latest percentile" in head


def test_report_says_when_a_critical_item_was_not_answered() -> None:
    h, source = _stored_phq9()
    report = patient_report(h, LIB, administrations=source, patient_label="P", charts=False, generated_at=GENERATED)
    text = _text(report.to_pdf(font="vera"))
    assert "Critical items not answered, so not checked: 2024-03-04 PHQ-9 9. Thoughts that you would be" in text
    assert "Critical items: none endorsed; phq9_9 not answered" in text  # the receipt

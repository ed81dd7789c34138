"""The patient page shows percentiles and T scores where a norm table applies, and item wording (issue 9 item 7)."""

from __future__ import annotations

from scoring.reports.text import item_labels
from tests.support.shipped import shipped_library

from .conftest import Seeded
from .helpers import new_app, open_patient, page_text, sign_in


def test_patient_page_shows_norms_and_item_text(seeded: Seeded) -> None:
    at = sign_in(new_app(), "theo")
    open_patient(at, seeded.patient_a)
    assert not at.exception, at.exception
    text = page_text(at)
    # Alice is a woman born 1980: the sex-stratified PHQ-9 table is the default, and it is named with its source
    assert "Norms for PHQ-9 total: " in text and "Kocalevent" in text
    summary = next(df.value for df in at.dataframe if "Classification" in df.value.columns)
    assert {"Percentile", "T score"} <= set(summary.columns)
    phq9 = summary[summary["Instrument"].str.startswith("PHQ-9")]
    assert phq9["T score"].notna().all()
    # the items table is labelled with the wording, not the ids
    items = next(df.value for df in at.dataframe if "Classification" not in df.value.columns)
    labels = item_labels(shipped_library()[str(at.selectbox(key="w_items_instrument").value)])
    assert set(items.index) <= set(labels.values()) and not any(str(i).startswith("phq9_") for i in items.index)

"""Patient reports: PDF and XLSX built from a real history of synthetic answers (PHQ-9 and WHO-5).

Hand-summed totals of the synthetic answers:
  PHQ-9  2024-01-08  3+2+3+2+2+2+2+2+1 = 19  Moderately severe  (item 9 = 1: critical)
         2024-02-05  2+2+2+1+_+1+2+1+0 = 11 from 8 items → 11 × 9/8 = 12.375 → 12 (prorated)  Moderate
         2024-03-04  1+1+1+1+0+1+0+0+0 = 5   Mild
  WHO-5  2024-01-08  1+1+2+1+1 = 6  (percentage 24)  Likely depression
         2024-02-05  2+2+2+2+2 = 10 (percentage 40)  Poor well-being
         2024-03-04  3+3+3+4+3 = 16 (percentage 64)  Not below the poor well-being cut-off
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import openpyxl
import pandas as pd
import pypdf
import pytest

import scoring
from scoring.reports import Report, ReportInputError, patient_report
from scoring.reports import fonts as report_fonts
from tests.support.shipped import shipped_library

LIB = shipped_library()
INJECTION = '=HYPERLINK("http://evil.example","click")'
GENERATED = datetime(2024, 3, 5, 9, 30, tzinfo=timezone(timedelta(hours=1)))


def administrations() -> pd.DataFrame:
    rows = []
    phq9 = [[3, 2, 3, 2, 2, 2, 2, 2, 1], [2, 2, 2, 1, None, 1, 2, 1, 0], [1, 1, 1, 1, 0, 1, 0, 0, 0]]
    who5 = [[1, 1, 2, 1, 1], [2, 2, 2, 2, 2], [3, 3, 3, 4, 3]]
    dates = ["2024-01-08", "2024-02-05", "2024-03-04"]
    for date, answers in zip(dates, phq9, strict=True):
        rows.append({"patient": "p-17", "date": date, "instrument": "phq9",
                     **{f"phq9_{i}": v for i, v in enumerate(answers, start=1)}})
    for date, answers in zip(dates, who5, strict=True):
        rows.append({"patient": "p-17", "date": date, "instrument": "who5",
                     **{f"who5_{i}": v for i, v in enumerate(answers, start=1)}})
    frame = pd.DataFrame(rows)
    frame.index = [f"adm-{k}" for k in range(100, 100 + len(frame))]  # the store's administration ids
    return frame


DATA = administrations()
HISTORY = scoring.history(LIB, DATA).frame
EVENTS = pd.DataFrame({"date": ["2024-02-01", "2024-02-20"], "label": ["Sertraline 50 mg started", INJECTION]})
ALERTS = [
    {"instrument_id": "phq9", "item_id": "phq9_9", "message": "Item 9 endorsed: assess risk", "status": "open",
     "raised_at": "2024-01-08 10:12"},
    {"instrument_id": "phq9", "item_id": "phq9_9", "message": "an old resolved alert", "status": "resolved",
     "raised_at": "2023-06-01"},
]


def build(**kwargs) -> Report:
    args = {"administrations": DATA, "patient_label": "Jana Müller (record 4711)",
            "clinic_name": "Praxis Süd – Team ≥ 2", "events": EVENTS, "alerts": ALERTS, "generated_at": GENERATED}
    args.update(kwargs)
    return patient_report(HISTORY, LIB, **args)


@pytest.fixture(scope="module")
def report() -> Report:
    return build()


@pytest.fixture(scope="module")
def pdf(report: Report) -> bytes:
    return report.to_pdf(font="vera")


@pytest.fixture(scope="module")
def pdf_text(pdf: bytes) -> str:
    return flat(pdf_pages(pdf))


@pytest.fixture(scope="module")
def xlsx(report: Report) -> bytes:
    return report.to_xlsx()


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def flat(pages: list[str]) -> str:
    """All pages as one line: line breaks of wrapped paragraphs and table cells become single spaces."""
    return " ".join(" ".join(pages).split())


def pdf_fonts(data: bytes) -> set[str]:
    names = set()
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


# -- the history the tests rest on ------------------------------------------------------------------------
def test_synthetic_history_is_what_the_docstring_says() -> None:
    phq = HISTORY[HISTORY["instrument"] == "phq9"]
    assert phq["score"].tolist() == [19, 12, 5]
    assert phq["band"].tolist() == ["Moderately severe", "Moderate", "Mild"]
    raw = HISTORY[(HISTORY["instrument"] == "who5") & (HISTORY["scale"] == "raw")]
    assert raw["score"].tolist() == [6, 10, 16]
    pct = HISTORY[(HISTORY["instrument"] == "who5") & (HISTORY["scale"] == "percentage")]
    assert pct["score"].tolist() == [24, 40, 64]
    assert pct["baseline_classification"].tolist()[1:] == ["reliably_improved", "recovered"]


# -- PDF --------------------------------------------------------------------------------------------------
def test_pdf_is_a_valid_multi_page_pdf(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-1.")
    assert pdf.rstrip().endswith(b"%%EOF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 1
    assert reader.metadata.title == "psyscore outcome report"  # the patient label stays out of the metadata


def test_pdf_header(pdf_text: str) -> None:
    assert "Patient Jana Müller (record 4711)" in pdf_text
    assert "Clinic Praxis Süd – Team ≥ 2" in pdf_text
    assert "Period 2024-01-08 – 2024-03-04 (6 administrations)" in pdf_text
    assert "Generated 2024-03-05 09:30 (UTC+01:00)" in pdf_text
    assert f"psyscore engine {scoring.__version__}" in pdf_text
    assert "p-17" not in pdf_text  # the history's internal patient id is never printed


def test_pdf_at_a_glance_and_tables(pdf_text: str) -> None:
    glance = pdf_text.split("At a glance", 1)[1].split("Open alerts", 1)[0]
    assert ("PHQ-9 · Depression severity 2024-01-08: 19 (Moderately severe) 2024-03-04: 5 (Mild) −14 Recovered "
            "3 of 3") in glance
    assert "WHO-5 · Well-being percentage score 2024-01-08: 24 2024-03-04: 64 +40 Recovered 3 of 3" in glance
    # administrations table of PHQ-9: score, band, change vs previous and baseline with classification, note
    assert ("2024-02-05 12 Moderate −7 Reliably improved −7 Reliably improved prorated from 8 answered items"
            in pdf_text)
    assert "2024-03-04 5 Mild −7 Recovered −14 Recovered" in pdf_text
    assert "2024-01-08 19 Moderately severe — — — — critical item phq9_9 endorsed" in pdf_text
    # WHO-5 (higher is better): a rise is an improvement
    assert "2024-03-04 64 — +24 Recovered +40 Recovered" in pdf_text


def test_pdf_change_summary_names_criterion_and_sources(pdf_text: str) -> None:
    assert ("Baseline 2024-01-08: 19 (Moderately severe) -> latest 2024-03-04: 5 (Mild); change −14 points "
            "(higher is worse).") in pdf_text  # Vera has no arrow
    assert ("Reliable change: a change of 6 or more points (published threshold; source: NHS Talking Therapies"
            in pdf_text)
    assert "Clinical cut-off 10 (published; source: NHS Talking Therapies manual" in pdf_text
    assert "baseline on the clinical side: yes; latest: no." in pdf_text
    assert "Minimal clinically important difference 5 points (source: Löwe B" in pdf_text
    assert "Reliable change: a change of 10 or more points (published threshold; source: WHO-5 scoring" in pdf_text
    assert "No reliable-change criterion is declared for this scale" in pdf_text  # WHO-5 raw scale


def test_pdf_alerts_critical_items_and_events(pdf_text: str) -> None:
    assert "2024-01-08 10:12 phq9 phq9_9 open Item 9 endorsed: assess risk" in pdf_text
    assert "an old resolved alert" not in pdf_text
    assert "phq9_9 = 1 (> 0): Item 9 (thoughts of being better off dead or of self-harm) endorsed" in pdf_text
    assert "2024-02-01 Sertraline 50 mg started" in pdf_text
    assert f"2024-02-20 {INJECTION}" in pdf_text  # shown as typed in the PDF


def test_pdf_receipts(pdf_text: str) -> None:
    receipts = pdf_text.split("Appendix A — Score receipts", 1)[1].split("Appendix B", 1)[0]
    for k, date in enumerate(["2024-01-08", "2024-02-05", "2024-03-04"], start=1):
        assert f"PHQ-9 administration {k} — {date}" in receipts
        assert f"WHO-5 administration {k} — {date}" in receipts
    assert "Scale total (Depression severity): 12 — Moderate" in receipts
    assert "unanswered: phq9_5" in receipts
    # Vera has no arrow: written as "->"; × and the en dash are in the font
    assert "prorated: 11 × 9/8 = 12.375 -> rounded half-up to 12" in receipts
    assert "band: 12 lies in 10–14 -> Moderate (source: Kroenke, Spitzer & Williams 2001" in receipts
    assert "missing-data rule: prorate when at most 2 missing (source: NHS Data Dictionary" in receipts
    assert "cut-off probable_depression (>= 10): met" in receipts
    assert "! phq9_9 = 1 (> 0)" in receipts
    assert ("Scale percentage (Well-being percentage score): 64 sum of 5 item(s): who5_1=3 + who5_2=3"
            in receipts)
    assert "multiplied by 4" in receipts
    assert "score): 64 —" not in receipts and " nan" not in receipts  # a band that does not exist is left out


def test_pdf_copyright_citations_licence_and_hashes(pdf_text: str) -> None:
    for inst in ("phq9", "who5"):
        ins = LIB[inst].instrument
        assert " ".join(ins.copyright.split()) in pdf_text
        for citation in ins.citations:
            assert " ".join(citation.split()) in pdf_text
        assert LIB[inst].hash in pdf_text
        assert f"{ins.licence.redistribution.replace('_', ' ')}:" in pdf_text


def test_item_wording_is_shown_where_the_instrument_ships_it(pdf_text: str, xlsx: bytes) -> None:
    """Issue 9 item 7: clinicians read item text, not ids, in the answers-by-item table (PDF and XLSX)."""
    texts = [f"{k}. {' '.join(it.text.split())}" for inst in ("phq9", "who5")
             for k, it in enumerate(LIB[inst].instrument.items, start=1) if it.text]
    assert texts  # these instruments carry their wording
    cells = " ".join(" ".join(str(c) for c in row if c is not None)
                     for ws in openpyxl.load_workbook(io.BytesIO(xlsx)) for row in ws.iter_rows(values_only=True))
    for text in texts:
        assert text[:40] in pdf_text
        assert text in cells
    # the table's values are the answers: PHQ-9 item 5 was left out at the second administration
    assert "Answers by item" in pdf_text
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    rows = sheet_rows(wb["PHQ-9"])
    head = next(i for i, r in enumerate(rows) if r[0] == "Item")
    assert rows[head][1:4] == ("2024-01-08", "2024-02-05", "2024-03-04")
    item5 = next(r for r in rows[head:] if str(r[0]).startswith("5. "))
    assert item5[1:4] == (2, None, 0)


def test_no_item_text_instrument_receipts_use_ids_only() -> None:
    epds = LIB["epds"]
    assert epds.instrument.licence.redistribution == "no_item_text"
    data = pd.DataFrame({"patient": "p", "date": ["2024-01-01", "2024-02-01"], "instrument": "epds",
                         **{f"epds_{i}": [1, 3] for i in range(1, 11)}})
    rep = patient_report(scoring.history(LIB, data).frame, LIB, administrations=data, patient_label="P", charts=False,
                         generated_at=GENERATED)
    text = flat(pdf_pages(rep.to_pdf(font="vera")))
    assert "epds_1=1" in text and "epds_10=1" in text
    assert " ".join(epds.instrument.copyright.split()) in text
    for opt in epds.instrument.option_sets[0].options:
        assert opt.label not in text
    assert "Item 10 (thoughts of self-harm)" in text  # the definition's own alert message, not the item wording
    # the answers-by-item table names the items by their descriptors (the licence ships no wording)
    descriptors = [it.descriptor for it in epds.instrument.items]
    assert all(descriptors) and all(it.text is None for it in epds.instrument.items)
    for k, d in enumerate(descriptors, start=1):
        assert f"{k}. {' '.join(d.split())}"[:30] in text


# -- XLSX -------------------------------------------------------------------------------------------------
def sheet_rows(ws) -> list[tuple]:
    return [row for row in ws.iter_rows(values_only=True)]


def table_of(ws, scale: str) -> pd.DataFrame:
    rows = sheet_rows(ws)
    head = next(i for i, r in enumerate(rows) if r[0] == "Scale" and r[1] == "Date")
    header = [c for c in rows[head] if c is not None]
    body = [r[:len(header)] for r in rows[head + 1:] if r[0] is not None and r[1] is not None]
    frame = pd.DataFrame(body, columns=header, dtype=object)
    return frame[frame["Scale"] == scale].reset_index(drop=True)


def test_xlsx_opens_with_the_sheets(xlsx: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert wb.sheetnames == ["Summary", "PHQ-9", "WHO-5", "Receipts", "About"]


@pytest.mark.parametrize(("inst", "sheet", "scale"), [("phq9", "PHQ-9", "total"), ("who5", "WHO-5", "raw"),
                                                      ("who5", "WHO-5", "percentage")])
def test_xlsx_numbers_equal_the_history(xlsx: bytes, inst: str, sheet: str, scale: str) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    got = table_of(wb[sheet], scale)
    want = HISTORY[(HISTORY["instrument"] == inst) & (HISTORY["scale"] == scale)].reset_index(drop=True)
    assert len(got) == len(want) == 3
    assert [pd.Timestamp(d) for d in got["Date"]] == list(want["date"])
    assert got["Administration"].tolist() == want["administration"].tolist()
    for col, hist in (("Score", "score"), ("Change vs previous", "previous_difference"),
                      ("Change vs baseline", "baseline_difference"), ("RCI vs baseline", "baseline_rci")):
        expected = [None if pd.isna(v) else float(v) for v in want[hist]]
        actual = [None if v is None else float(v) for v in got[col]]
        assert actual == pytest.approx(expected, nan_ok=True), col
        assert all(v is None or isinstance(v, int | float) for v in got[col])  # numbers, not text
    bands = [None if pd.isna(v) else v for v in want["band"]]
    assert got["Band"].tolist() == bands


def test_xlsx_summary_and_classifications(xlsx: bytes, report: Report) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    phq = table_of(wb["PHQ-9"], "total")
    assert phq["vs baseline"].tolist() == [None, "Reliably improved", "Recovered"]
    assert phq["Notes"].tolist()[1] == "prorated from 8 answered items"
    rows = sheet_rows(wb["Summary"])
    head = next(i for i, r in enumerate(rows) if r[0] == "Instrument" and r[1] == "Scale")
    first = rows[head + 1]
    assert first[:9] == ("PHQ-9", "Depression severity", datetime(2024, 1, 8), 19, "Moderately severe",
                         datetime(2024, 3, 4), 5, "Mild", -14)
    assert first[9] == "Recovered"
    summary = report.summary()
    assert summary["latest_score"].tolist() == [5.0, 16.0, 64.0]


def test_xlsx_images_are_embedded(xlsx: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert len(wb["PHQ-9"]._images) == 1
    assert len(wb["WHO-5"]._images) == 2
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        media = [n for n in z.namelist() if n.startswith("xl/media/")]
        assert len(media) == 3
        assert all(z.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in media)


def test_xlsx_receipts_and_about(xlsx: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    lines = [r[5] for r in sheet_rows(wb["Receipts"])[1:]]
    assert any("prorated: 11 × 9/8 = 12.375 → rounded half-up to 12" in line for line in lines)
    assert sum(1 for line in lines if line.startswith("phq9 1.1.0 (hash")) == 3
    about = " ".join(str(c) for r in sheet_rows(wb["About"]) for c in r if c is not None)
    for inst in ("phq9", "who5"):
        assert LIB[inst].hash in about
        assert " ".join(LIB[inst].instrument.copyright.split()) in " ".join(about.split())
    assert scoring.__version__ in about


def test_xlsx_formula_injection_is_neutralised() -> None:
    rep = build(patient_label=INJECTION, clinic_name="+SUM(A1:A9)", charts=False,
                alerts=[{"instrument_id": "phq9", "item_id": "phq9_9", "message": "@cmd", "status": "open"}])
    data = rep.to_xlsx()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    values = {c.value for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert "'" + INJECTION in values
    assert "'+SUM(A1:A9)" in values
    assert "'@cmd" in values
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in values)
    assert all(c.data_type != "f" for ws in wb for row in ws.iter_rows() for c in row)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name)
    # numbers stay numbers: a negative change is not text with an apostrophe
    phq = table_of(wb["PHQ-9"], "total")
    assert phq["Change vs baseline"].tolist()[2] == -14


# -- fonts and text safety --------------------------------------------------------------------------------
def test_markup_in_labels_prints_as_typed() -> None:
    rep = build(patient_label="<b>Kim & Lee</b>", clinic_name="A <i>B</i> & C", charts=False)
    text = flat(pdf_pages(rep.to_pdf(font="vera")))
    assert "Patient <b>Kim & Lee</b>" in text
    assert "Clinic A <i>B</i> & C" in text


def test_vera_font_shipped_with_reportlab_renders_umlauts_dashes_and_geq(pdf: bytes, pdf_text: str) -> None:
    assert any("Vera" in name for name in pdf_fonts(pdf))
    assert "Müller" in pdf_text and "Süd – Team ≥ 2" in pdf_text and "12.375" in pdf_text


def test_auto_font_keeps_vera_when_it_has_every_letter(report: Report) -> None:
    assert any("Vera" in name for name in pdf_fonts(report.to_pdf()))


@pytest.mark.skipif(report_fonts.dejavu_paths() is None, reason="DejaVu Sans is not installed (fonts-dejavu-core)")
def test_auto_font_uses_dejavu_for_letters_vera_lacks() -> None:
    rep = build(patient_label="Zażółć gęślą jaźń Ωμέγα", charts=False)
    data = rep.to_pdf()
    assert any("DejaVuSans" in name for name in pdf_fonts(data))
    text = flat(pdf_pages(data))
    assert "Zażółć gęślą jaźń Ωμέγα" in text
    assert "12.375 → rounded half-up" in text  # DejaVu has the arrow


@pytest.mark.skipif(report_fonts.dejavu_paths() is None, reason="DejaVu Sans is not installed (fonts-dejavu-core)")
def test_dejavu_font_on_request() -> None:
    data = build(charts=False).to_pdf(font="dejavu")
    assert any("DejaVuSans" in name for name in pdf_fonts(data))
    assert "Praxis Süd – Team ≥ 2" in flat(pdf_pages(data))


def test_without_dejavu_letters_fall_back_gracefully(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_fonts, "dejavu_paths", lambda: None)
    rep = build(patient_label="Zażółć Ωμέγα", charts=False)
    data = rep.to_pdf()
    assert any("Vera" in name for name in pdf_fonts(data))
    text = flat(pdf_pages(data))
    assert "Patient Zazółć Ω???? " in text  # Vera has ó, ł, ć and Ω; ż loses its dot; other Greek becomes ?
    with pytest.raises(FileNotFoundError, match="fonts-dejavu-core"):
        rep.to_pdf(font="dejavu")


def test_clean_text_spells_symbols_in_ascii() -> None:
    cov = frozenset(map(ord, "abc ->=<"))
    assert report_fonts.clean_text("a → b ≥ c ≤ a", cov) == "a -> b >= c <= a"
    assert report_fonts.clean_text("ą", cov) == "a"
    assert report_fonts.clean_text("Ω", cov) == "?"


# -- inputs -----------------------------------------------------------------------------------------------
def test_outputs_go_to_paths_and_buffers(tmp_path, report: Report) -> None:
    pdf_bytes = report.to_pdf(tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes() == pdf_bytes
    buffer = io.BytesIO()
    xlsx_bytes = report.to_xlsx(buffer)
    assert buffer.getvalue() == xlsx_bytes and xlsx_bytes[:2] == b"PK"
    report.to_xlsx(str(tmp_path / "r.xlsx"))
    assert (tmp_path / "r.xlsx").read_bytes()[:2] == b"PK"


def test_answers_as_a_mapping_give_the_same_receipts(report: Report) -> None:
    mapping = {label: {k: v for k, v in row.items() if k.startswith(("phq9_", "who5_"))}
               for label, row in DATA.iterrows()}
    other = build(administrations=mapping, charts=False)
    assert [r.lines() for s in other for r in s.receipts] == [r.lines() for s in report for r in s.receipts]


def test_without_answers_the_report_says_so() -> None:
    rep = build(administrations=None, charts=False)
    text = flat(pdf_pages(rep.to_pdf(font="vera")))
    assert "No receipt: raw answers were not supplied for this report." in text
    assert "Not known: the raw answers were not supplied" in text
    assert "prorated from" not in text


def test_answers_that_disagree_with_the_history_are_flagged() -> None:
    wrong = DATA.copy()
    wrong.loc["adm-102", "phq9_1"] = 3  # total 5 → 7
    rep = build(administrations=wrong, charts=False)
    assert any("receipt differs from the history" in w for w in rep.warnings)
    text = flat(pdf_pages(rep.to_pdf(font="vera")))
    assert "WARNING: the answers supplied give total = 7, the history has 5" in text
    assert "receipt differs (see appendix)" in text


def test_norms_show_percentile_and_receipt_line() -> None:
    table = scoring.load_norms().get("phq9_kliem2024_de_sex")
    data = DATA[DATA["instrument"] == "phq9"].assign(sex="female")
    hist = scoring.history(LIB, data, norms=table).frame
    rep = patient_report(hist, LIB, administrations=data, patient_label="P", charts=False, generated_at=GENERATED)
    text = flat(pdf_pages(rep.to_pdf(font="vera")))
    pct = hist["norm_percentile"].tolist()
    assert all(v == v for v in pct)
    assert f"2024-01-08 19 Moderately severe — — — — {pct[0]:g} —" in text
    assert "norms phq9_kliem2024_de_sex" in text and "stratum female" in text
    wb = openpyxl.load_workbook(io.BytesIO(rep.to_xlsx()))
    assert table_of(wb["PHQ-9"], "total")["Percentile"].tolist() == pytest.approx(pct)


def test_alert_objects_are_accepted() -> None:
    @dataclass(frozen=True)
    class Info:  # the shape of scoring.store.alerts.AlertInfo
        instrument_id: str
        item_id: str
        message: str
        status: str
        still_critical: bool
        raised_at: datetime

    rep = build(alerts=[Info("phq9", "phq9_9", "assess risk today", "acknowledged", False, datetime(2024, 1, 8))],
                charts=False)
    assert [a.status for a in rep.alerts] == ["acknowledged"]
    assert "acknowledged (answer since changed) assess risk today" in flat(pdf_pages(rep.to_pdf(font="vera")))


def test_bad_inputs_are_refused() -> None:
    two = pd.concat([DATA, DATA.assign(patient="p-18").set_axis([f"b{k}" for k in range(len(DATA))])])
    hist = scoring.history(LIB, two).frame
    with pytest.raises(ReportInputError, match="several patients"):
        patient_report(hist, LIB, administrations=two, patient_label="X", charts=False)
    rep = patient_report(hist, LIB, administrations=two, patient_label="X", patient="p-18", charts=False)
    assert rep.summary()["latest_score"].tolist() == [5.0, 16.0, 64.0]
    with pytest.raises(ReportInputError, match="patient_label"):
        patient_report(HISTORY, LIB, administrations=DATA, patient_label="  ")
    with pytest.raises(ReportInputError, match="no column"):
        patient_report(HISTORY.drop(columns=["band"]), LIB, administrations=DATA, patient_label="X")
    with pytest.raises(ReportInputError, match="repeats the index label"):
        patient_report(HISTORY, LIB, administrations=pd.concat([DATA, DATA]), patient_label="X")
    with pytest.raises(ReportInputError, match="not a date"):
        patient_report(HISTORY, LIB, administrations=DATA, patient_label="X",
                       events=[{"date": "soon", "label": "x"}])
    with pytest.raises(ReportInputError, match="no rows"):
        patient_report(HISTORY, LIB, administrations=DATA, patient_label="X", instruments=["gad7"])


def test_only_named_instruments() -> None:
    rep = build(instruments=["who5"], charts=False)
    assert [s.instrument_id for s in rep] == ["who5"]
    assert openpyxl.load_workbook(io.BytesIO(rep.to_xlsx())).sheetnames == ["Summary", "WHO-5", "Receipts", "About"]


def test_import_scoring_and_reports_do_not_import_reportlab_or_altair() -> None:
    code = ("import sys, scoring, scoring.reports; "
            "bad = [m for m in ('reportlab', 'altair', 'vl_convert', 'streamlit') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_unscorable_administration_and_long_label() -> None:
    data = DATA[DATA["instrument"] == "phq9"].copy()
    data.loc["adm-101", ["phq9_1", "phq9_2", "phq9_3"]] = None  # 4 missing: more than the 2 PHQ-9 allows
    hist = scoring.history(LIB, data).frame
    assert hist["valid"].tolist() == [True, False, True]
    label = "Patientin mit einem sehr langen Namen " * 6
    rep = patient_report(hist, LIB, administrations=data, patient_label=label, generated_at=GENERATED)
    pages = pdf_pages(rep.to_pdf(font="vera"))
    text = flat(pages)
    reason = hist["score_reason"].iloc[1]
    assert reason and f"2024-02-05 — — — — — — not scored: {reason}" in text
    assert "Baseline 2024-01-08: 19 (Moderately severe) -> latest 2024-03-04: 5 (Mild)" in text
    assert "Scale total (Depression severity): not scorable" in text
    footer = pages[1].strip().splitlines()[-2:]
    assert any(line.endswith("…") or "… " in line for line in footer)  # the long label is cut in the footer
    assert rep.chart_png("phq9", "total")[:4] == b"\x89PNG"


def test_single_scored_administration() -> None:
    data = DATA[DATA["instrument"] == "who5"].iloc[:1]
    rep = patient_report(scoring.history(LIB, data).frame, LIB, administrations=data, patient_label="P", charts=False)
    text = flat(pdf_pages(rep.to_pdf(font="vera")))
    assert "Only one scored administration: 2024-01-08, 6 (Likely depression); no change to report." in text
    assert rep.summary()["change"].isna().all()

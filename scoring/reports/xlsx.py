"""Render a :class:`~scoring.reports.model.Report` as an XLSX workbook with openpyxl.

Sheets: ``Summary`` (header, at a glance, alerts, critical items, events), one sheet per instrument (the table
of administrations with the history's numbers as numbers, the change summary and the chart images),
``Receipts`` (one row per receipt line) and ``About`` (citations, copyright, licence, versions, content
hashes, change-parameter sources, norm tables, software). Every text cell that a spreadsheet would run as a
formula (starting with ``= + - @``, tab or carriage return) is prefixed with an apostrophe (OWASP CSV
injection); numbers and dates are written as numbers and dates.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scoring.engine.files import FORMULA_START, neutralise
from scoring.reports.pdf import HOW_TO_READ, header_rows, parameter_rows, png_size
from scoring.reports.text import CLASSIFICATION_LABELS, is_missing

if TYPE_CHECKING:  # the model imports the renderers
    from scoring.reports.model import InstrumentSection, Report

__all__ = ["FORMULA_START", "render_xlsx", "safe_text"]

_SHEET_FORBIDDEN = set('[]:*?/\\')
_TABLE_COLUMNS = (
    ("date", "Date"), ("administration", "Administration"), ("score", "Score"), ("band", "Band"),
    ("previous_difference", "Change vs previous"), ("previous_classification", "vs previous"),
    ("baseline_difference", "Change vs baseline"), ("baseline_rci", "RCI vs baseline"),
    ("baseline_classification", "vs baseline"), ("norm_percentile", "Percentile"), ("norm_t", "T score"),
    ("note", "Notes"),
)


def safe_text(text: str) -> str:
    """Text that a spreadsheet shows as typed: a leading apostrophe where it would start a formula.

    >>> safe_text('=HYPERLINK("http://x")'), safe_text("-3"), safe_text("Mild")
    ('\\'=HYPERLINK("http://x")', "'-3", 'Mild')
    """
    return neutralise(text)


def _value(v: Any) -> Any:
    """A cell value: None for missing, datetimes without time zone, numbers as numbers, text neutralised."""
    if is_missing(v):
        return None
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None) if v.tzinfo is None else v.astimezone().replace(tzinfo=None)
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | float) or hasattr(v, "dtype"):
        try:
            x = float(v)
        except (TypeError, ValueError):
            return safe_text(str(v))
        return None if math.isnan(x) else (int(x) if x.is_integer() and not isinstance(v, float) else x)
    return safe_text(str(v))


def render_xlsx(report: Report) -> bytes:
    """The report as XLSX bytes."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.properties.creator = "psyscore"
    wb.properties.title = "psyscore outcome report"
    ws = wb.worksheets[0]  # a new workbook's one (active) sheet
    ws.title = "Summary"
    _summary(ws, report)
    used = {"Summary", "Receipts", "About"}
    for sec in report.sections:
        name = _sheet_name(sec.abbreviation, used)
        used.add(name)
        _instrument(wb.create_sheet(name), report, sec)
    _receipts(wb.create_sheet("Receipts"), report)
    _about(wb.create_sheet("About"), report)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _sheet_name(wanted: str, used: set[str]) -> str:
    base = "".join("-" if c in _SHEET_FORBIDDEN else c for c in wanted).strip("'") or "Instrument"
    base = base[:28]
    name, k = base, 2
    while name in used:
        name, k = f"{base}~{k}", k + 1
    return name


class _Writer:
    """Writes rows downwards from row 1, with a bold style for headings and table heads."""

    def __init__(self, ws: Any) -> None:
        from openpyxl.styles import Font, PatternFill

        self.ws, self.row = ws, 1
        self.bold = Font(bold=True)
        self.title = Font(bold=True, size=14)
        self.fill = PatternFill("solid", fgColor="E8EEF4")

    def put(self, col: int, value: Any, *, bold: bool = False, date: bool = False) -> Any:
        cell = self.ws.cell(row=self.row, column=col, value=_value(value))
        if bold:
            cell.font = self.bold
        if isinstance(cell.value, dt.datetime):
            cell.number_format = "yyyy-mm-dd" if date or cell.value.time() == dt.time(0) else "yyyy-mm-dd hh:mm"
        return cell

    def line(self, values: Sequence[Any], *, bold: bool = False, head: bool = False) -> None:
        for j, v in enumerate(values, start=1):
            cell = self.put(j, v, bold=bold or head)
            if head:
                cell.fill = self.fill
        self.row += 1

    def heading(self, text: str, *, big: bool = False) -> None:
        if self.row > 1:
            self.row += 1
        cell = self.put(1, text)
        cell.font = self.title if big else self.bold
        self.row += 1

    def widths(self, widths: Sequence[float]) -> None:
        from openpyxl.utils import get_column_letter

        for j, w in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(j)].width = w


def _summary(ws: Any, report: Report) -> None:
    w = _Writer(ws)
    w.heading("Outcome report", big=True)
    for key, value in header_rows(report):
        w.line([key, value])
    w.heading("At a glance")
    summary = report.summary()
    w.line(["Instrument", "Scale", "Baseline date", "Baseline score", "Baseline band", "Latest date", "Latest score",
            "Latest band", "Change", "Baseline → latest", "Criterion", "Threshold", "Scored", "Administrations",
            "Latest percentile", "Latest T score"], head=True)
    for _, s in summary.iterrows():
        w.line([s["instrument"], s["scale_name"], s["baseline_date"], s["baseline_score"], s["baseline_band"],
                s["latest_date"], s["latest_score"], s["latest_band"], s["change"],
                CLASSIFICATION_LABELS.get(s["classification"], s["classification"]), s["criterion"], s["threshold"],
                s["scored"], s["administrations"], s["latest_percentile"], s["latest_t"]])
    w.heading("Open alerts")
    if report.alerts:
        w.line(["Raised", "Instrument", "Item", "Status", "Still critical", "Message"], head=True)
        for a in report.alerts:
            w.line([a.raised_at, a.instrument_id, a.item_id, a.status, a.still_critical, a.message])
    else:
        w.line(["none given"])
    w.heading("Critical items endorsed")
    critical = [(d, sec.abbreviation, c) for sec in report.sections for d, c in sec.critical]
    if critical:
        w.line(["Date", "Instrument", "Answer and message"], head=True)
        for row in critical:
            w.line(list(row))
    else:
        w.line(["none" if report.receipts_supplied else "not known: raw answers not supplied"])
    if len(report.events):
        w.heading("Events")
        w.line(["Date", "Event"], head=True)
        for _, e in report.events.iterrows():
            w.line([e["date"], e["label"]])
    if report.warnings:
        w.heading("Notes on this report")
        for text in report.warnings:
            w.line([text])
    w.row += 1
    w.line([HOW_TO_READ])
    w.widths([22, 30, 14, 12, 22, 14, 12, 22, 10, 22, 16, 10, 8, 14])


def _instrument(ws: Any, report: Report, sec: InstrumentSection) -> None:
    from openpyxl.drawing.image import Image

    w = _Writer(ws)
    w.heading(f"{sec.abbreviation} — {sec.name}", big=True)
    w.line([f"Version {', '.join(v for v, _ in sec.versions)}; content hash "
            f"{', '.join(h for _, h in sec.versions)}"])
    w.line([sec.definition.instrument.copyright])
    images: list[tuple[bytes, int]] = []
    for sc in sec.scales:
        w.heading(f"{sc.name} ({sc.scale_id})")
        table = sc.table()
        cols = [(key, label) for key, label in _TABLE_COLUMNS if key in table.columns]
        w.line(["Scale", *(label for _, label in cols)], head=True)
        for _, r in table.iterrows():
            values = [r[key] for key, _ in cols]
            values = [CLASSIFICATION_LABELS.get(v, v) if key.endswith("classification") and isinstance(v, str) else v
                      for (key, _), v in zip(cols, values, strict=True)]
            w.line([sc.scale_id, *values])
        w.row += 1
        w.line(["Change"], bold=True)
        for text in sc.change:
            w.line([text])
        png = report.chart_png(sec.instrument_id, sc.scale_id)
        if png is not None:
            images.append((png, len(images)))
    dates, items = sec.item_table()
    if items:
        w.heading("Answers by item")
        w.line(["Item", *dates], head=True)
        for row in items:
            w.line(row)
    w.heading("Critical items endorsed")
    if sec.critical:
        for d, c in sec.critical:
            w.line([d, c])
    else:
        w.line(["none" if report.receipts_supplied else "not known: raw answers not supplied"])
    for d, label in sec.critical_unanswered:
        w.line([d, f"not answered, so not checked: {label}"])
    if sec.alerts:
        w.heading("Open alerts")
        w.line(["Raised", "Item", "Status", "Still critical", "Message"], head=True)
        for a in sec.alerts:
            w.line([a.raised_at, a.item_id, a.status, a.still_critical, a.message])
    w.widths([12, 12, 14, 8, 22, 12, 20, 12, 12, 20, 10, 10, 40])
    top = 2
    for png, _ in images:
        img = Image(io.BytesIO(png))
        w_px, h_px = png_size(png)
        img.width, img.height = w_px // 2, h_px // 2  # rendered at scale 2
        ws.add_image(img, f"O{top}")
        top += math.ceil(img.height / 20) + 2


def _receipts(ws: Any, report: Report) -> None:
    w = _Writer(ws)
    w.line(["Date", "Instrument", "Version", "Administration", "Level", "Receipt line"], head=True)
    for sec in report.sections:
        for r in sec.receipts:
            for level, text in r.lines():
                w.line([r.date, sec.abbreviation, r.version, r.administration, level, ("    " * level) + text])
    ws.freeze_panes = "A2"
    w.widths([12, 12, 9, 14, 6, 150])


def _about(ws: Any, report: Report) -> None:
    from importlib.metadata import PackageNotFoundError, version

    w = _Writer(ws)
    w.heading("Instruments", big=True)
    w.line(["Instrument", "Name", "Version", "Content hash (SHA-256)", "Citations", "Copyright", "Licence",
            "Licence terms", "Licence URL", "Source"], head=True)
    for sec in report.sections:
        ins = sec.definition.instrument
        for v, h in sec.versions:
            w.line([sec.abbreviation, ins.name, v, h, "\n".join(ins.citations), ins.copyright,
                    ins.licence.redistribution, ins.licence.statement, getattr(ins.licence, "url", None),
                    ins.source_url])
    w.heading("Change parameters")
    w.line(["Instrument", "Scale", "Parameter", "Value", "Source"], head=True)
    for sec in report.sections:
        for scale, name, value, source in parameter_rows(sec):
            w.line([sec.abbreviation, scale, name, _number(value), source])
    if report.norm_tables:
        w.heading("Norm tables")
        w.line(["Norm table", "Instrument", "Scale", "Citation"], head=True)
        for n in report.norm_tables:
            w.line([n.norm_id, n.instrument_id, n.scale, n.citation])
    w.heading("Software")
    w.line(["psyscore engine", report.engine_version])
    if report.score_engine_versions:
        w.line(["scores computed by engine", ", ".join(report.score_engine_versions)])
    w.line(["generated at", report.generated_at.isoformat(timespec="seconds")])
    for dist in ("openpyxl", *(("altair", "vl-convert-python") if report.include_charts else ())):
        try:
            w.line([dist, version(dist)])
        except PackageNotFoundError:  # pragma: no cover
            continue
    w.widths([16, 30, 10, 66, 60, 60, 16, 60, 30, 40])


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text

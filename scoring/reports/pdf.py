"""Render a :class:`~scoring.reports.model.Report` as PDF with reportlab (imported here only).

The layout is first written as plain blocks (headings, paragraphs, tables of strings, images, receipt lines),
so that the font can be chosen for every string the PDF will show (:mod:`scoring.reports.fonts`); then the
blocks become reportlab flowables. Every string is escaped before reportlab's paragraph markup sees it, so a
patient label such as ``<b>`` or ``&`` prints as typed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from scoring.change import change_parameters
from scoring.reports.fonts import FontChoice, choose_font
from scoring.reports.text import classification_label, fmt_date, fmt_delta, fmt_num, is_missing

if TYPE_CHECKING:  # the model imports the renderers
    from reportlab.pdfgen.canvas import Canvas

    from scoring.reports.model import InstrumentSection, Report

__all__ = ["render_pdf"]

HOW_TO_READ = (
    "How to read: change is latest minus baseline (the first scored administration). It is reliable when it "
    "reaches the instrument's published reliable-change threshold or, where none is published, when the "
    "Jacobson–Truax reliable change index exceeds 1.96. Recovered = reliable improvement from the clinical to "
    "the non-clinical side of the clinical cut-off (Jacobson & Truax 1991). Scores, bands and cut-offs are "
    "screening information and do not replace clinical judgement."
)


#: Administrations shown side by side in an instrument's answers-by-item table (the latest ones).
_ITEM_COLUMNS = 8


@dataclass
class Block:
    """One piece of layout: ``kind`` and its strings (``text``, ``rows``) or an image."""

    kind: str
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    widths: Sequence[float] = ()
    image: bytes | None = None
    lines: list[tuple[int, str]] = field(default_factory=list)
    children: list[Block] = field(default_factory=list)

    def strings(self) -> Iterator[str]:
        yield self.text
        for row in self.rows:
            yield from row
        for _, line in self.lines:
            yield line
        for child in self.children:
            yield from child.strings()


# -- layout (plain data) ----------------------------------------------------------------------------------
def layout(report: Report) -> list[Block]:
    """The report as blocks, in reading order."""
    out = [Block("title", "Outcome report"), Block("kv", rows=header_rows(report), widths=(0.22, 0.78))]
    summary = report.summary()
    out.append(Block("h2", "At a glance"))
    if len(summary):
        rows = [["Instrument · scale", "Baseline", "Latest", "Change", "Baseline → latest", "Scored"]]
        for _, s in summary.iterrows():
            rows.append([f"{s['instrument']} · {s['scale_name']}", _point(s, "baseline"), _point(s, "latest"),
                         fmt_delta(s["change"]), classification_label(s["classification"]),
                         f"{s['scored']} of {s['administrations']}"])
        out.append(Block("table", rows=rows, widths=(0.24, 0.2, 0.2, 0.08, 0.18, 0.1)))
    if report.alerts:
        out.append(Block("h2", "Open alerts"))
        out.append(_alert_table(report.alerts, with_instrument=True))
    critical = [(sec.abbreviation, d, c) for sec in report.sections for d, c in sec.critical]
    out.append(Block("h2", "Critical items endorsed"))
    if critical:
        out.append(Block("table", rows=[["Date", "Instrument", "Answer and message"]] + [
            [fmt_date(d), abbr, c] for abbr, d, c in critical], widths=(0.14, 0.12, 0.74)))
    elif report.receipts_supplied:
        out.append(Block("p", "None in the administrations of this report."))
    else:
        out.append(Block("p", "Not known: the raw answers were not supplied with this report."))
    unanswered = [(sec.abbreviation, d, c) for sec in report.sections for d, c in sec.critical_unanswered]
    if unanswered:
        out.append(Block("p", "Critical items not answered, so not checked: " + "; ".join(
            f"{fmt_date(d)} {abbr} {label}" for abbr, d, label in unanswered)))
    if len(report.events):
        out.append(Block("h2", "Events"))
        out.append(Block("table", rows=[["Date", "Event"]] + [
            [fmt_date(e["date"]), e["label"]] for _, e in report.events.iterrows()], widths=(0.14, 0.86)))
    if report.warnings:
        out.append(Block("h2", "Notes on this report"))
        out.extend(Block("p", w) for w in report.warnings)
    out.append(Block("small", HOW_TO_READ))
    for sec in report.sections:
        out.append(Block("break"))
        out.extend(_instrument(report, sec))
    out.append(Block("break"))
    out.extend(_receipts(report))
    out.append(Block("break"))
    out.extend(_sources(report))
    return out


def header_rows(report: Report) -> list[list[str]]:
    first, last = report.period
    n = sum(len({r.source_row for r in sec.receipts}) for sec in report.sections)
    engine = report.engine_version
    others = [v for v in report.score_engine_versions if v != engine]
    if others:
        engine += f" (scores computed by engine {', '.join(others)})"
    rows = [["Patient", report.patient_label]]
    if report.clinic_name:
        rows.append(["Clinic", report.clinic_name])
    rows += [["Period", f"{fmt_date(first)} – {fmt_date(last)} ({n} administration{'s' if n != 1 else ''})"],
             ["Instruments", ", ".join(f"{s.abbreviation} {s.definition.version}" for s in report.sections)],
             ["Generated", _stamp(report)],
             ["psyscore engine", engine]]
    return rows


def _stamp(report: Report) -> str:
    g = report.generated_at
    offset = g.strftime("%z")
    return g.strftime("%Y-%m-%d %H:%M") + (f" (UTC{offset[:3]}:{offset[3:]})" if offset else "")


def _point(s: Any, which: str) -> str:
    if is_missing(s[f"{which}_score"]):
        return "—"
    band = s[f"{which}_band"]
    norms = [f"{name} {fmt_num(s.get(f'{which}_{key}'), 1)}" for name, key in (("percentile", "percentile"), ("T", "t"))
             if not is_missing(s.get(f"{which}_{key}"))]
    return f"{fmt_date(s[f'{which}_date'])}: {fmt_num(s[f'{which}_score'])}" + (
        "" if is_missing(band) else f" ({band})") + (f"; {', '.join(norms)}" if norms else "")


def _alert_table(alerts: Sequence[Any], *, with_instrument: bool) -> Block:
    head = ["Raised", *(["Instrument"] if with_instrument else []), "Item", "Status", "Message"]
    rows = [head]
    for a in alerts:
        status = a.status + ("" if a.still_critical is None or a.still_critical else " (answer since changed)")
        rows.append([fmt_date(a.raised_at), *([a.instrument_id] if with_instrument else []), a.item_id, status,
                     a.message])
    widths = (0.13, 0.11, 0.1, 0.14, 0.52) if with_instrument else (0.14, 0.1, 0.16, 0.6)
    return Block("table", rows=rows, widths=widths)


def _instrument(report: Report, sec: InstrumentSection) -> list[Block]:
    d = sec.definition
    out = [Block("h1", f"{sec.abbreviation} — {sec.name}"),
           Block("small", f"Version {', '.join(v for v, _ in sec.versions)}; content hash "
                          f"{', '.join(h[:12] for _, h in sec.versions)}. {d.instrument.copyright}")]
    for sc in sec.scales:
        direction = {"worse": "higher is worse", "better": "higher is better"}.get(sc.higher_is,
                                                                                  "no healthy direction")
        head = [Block("h2", f"{sc.name} ({sc.scale_id}; {direction})")]
        png = report.chart_png(sec.instrument_id, sc.scale_id)
        if png is not None:
            head.append(Block("image", image=png))
        out.append(Block("keep", children=head))
        table = sc.table()
        norms = "norm_t" in table.columns
        rows = [["Date", "Score", "Band", "∆ prev.", "vs previous", "∆ base.", "vs baseline",
                 *(["Pctl", "T"] if norms else []), "Notes"]]
        for _, r in table.iterrows():
            rows.append([fmt_date(r["date"]), fmt_num(r["score"]), "—" if is_missing(r["band"]) else str(r["band"]),
                         fmt_delta(r["previous_difference"]), classification_label(r["previous_classification"]),
                         fmt_delta(r["baseline_difference"]), classification_label(r["baseline_classification"]),
                         *([fmt_num(r["norm_percentile"], 1), fmt_num(r["norm_t"], 1)] if norms else []),
                         r["note"]])
        widths = ((0.11, 0.06, 0.14, 0.08, 0.12, 0.08, 0.12, 0.06, 0.05, 0.18) if norms else
                  (0.11, 0.06, 0.15, 0.08, 0.13, 0.08, 0.13, 0.26))
        out.append(Block("table", rows=rows, widths=widths))
        out.append(Block("h3", "Change"))
        out.extend(Block("p", line) for line in sc.change)
    dates, items = sec.item_table()
    if items:
        keep = dates[-_ITEM_COLUMNS:]
        out.append(Block("h3", "Answers by item" + (f" (the latest {len(keep)} administrations)"
                                                    if len(keep) < len(dates) else "")))
        item_head = ["Item", *keep]
        body = [[row[0], *("—" if v is None else fmt_num(v) for v in row[1:][-len(keep):])] for row in items]
        label_w = 0.58 if len(keep) > 4 else 0.7
        out.append(Block("table", rows=[item_head, *body],
                         widths=(label_w, *([(1 - label_w) / len(keep)] * len(keep)))))
    out.append(Block("h3", "Critical items endorsed"))
    if sec.critical:
        out.extend(Block("p", f"{fmt_date(d_)}: {c}") for d_, c in sec.critical)
    elif report.receipts_supplied:
        out.append(Block("p", "None."))
    else:
        out.append(Block("p", "Not known: the raw answers were not supplied."))
    if sec.critical_unanswered:
        out.append(Block("p", "Not answered, so not checked: " + "; ".join(
            f"{fmt_date(d_)}: {label}" for d_, label in sec.critical_unanswered)))
    if sec.alerts:
        out.append(Block("h3", "Open alerts"))
        out.append(_alert_table(sec.alerts, with_instrument=False))
    return out


def _receipts(report: Report) -> list[Block]:
    out = [Block("h1", "Appendix A — Score receipts"),
           Block("small", "One receipt per administration, derived again from the raw answers by the scoring engine: "
                          "items used (by id; the wording is in each instrument's answers-by-item table), reversals, "
                          "missing answers and how they were handled, the arithmetic, the band rule with its source, "
                          "cut-offs and critical items.")]
    for sec in report.sections:
        out.append(Block("h2", f"{sec.abbreviation} — {sec.name}"))
        for r in sec.receipts:
            out.append(Block("keep", children=[
                Block("h3", f"{sec.abbreviation} administration {r.administration} — {fmt_date(r.date)}"),
                Block("lines", lines=r.lines())]))
    return out


_PARAM_VALUE = {"reliability": "reliability", "sd": "sd", "reliable_change": "threshold_published", "mcid": "mcid",
                "clinical_cutoff": "cutoff_declared", "functional_mean": "functional_mean",
                "functional_sd": "functional_sd", "dysfunctional_mean": "dysfunctional_mean",
                "dysfunctional_sd": "dysfunctional_sd"}


def parameter_rows(sec: InstrumentSection) -> list[list[str]]:
    """Scale, parameter, value, source of every change parameter the definition declares."""
    rows = []
    for sc in sec.definition.instrument.scales:
        params = change_parameters(sec.definition, sc.id)
        for name, source in params.sources.items():
            rows.append([sc.id, name.replace("_", " "), fmt_num(getattr(params, _PARAM_VALUE.get(name, name), None), 3),
                         source])
    return rows


def _sources(report: Report) -> list[Block]:
    out = [Block("h1", "Appendix B — Instruments, sources and versions")]
    for sec in report.sections:
        ins = sec.definition.instrument
        out.append(Block("h2", f"{sec.abbreviation} — {sec.name}"))
        rows = [["Copyright", ins.copyright],
                ["Citation" + ("s" if len(ins.citations) > 1 else ""), "\n".join(ins.citations)],
                ["Licence", f"{ins.licence.redistribution.replace('_', ' ')}: {ins.licence.statement}"
                            + (f" ({ins.licence.url})" if getattr(ins.licence, "url", None) else "")],
                ["Source", ins.source_url],
                ["Version and hash", "\n".join(f"{v}: {h}" for v, h in sec.versions)]]
        out.append(Block("kv", rows=rows, widths=(0.18, 0.82)))
        params = parameter_rows(sec)
        if params:
            out.append(Block("h3", "Change parameters"))
            out.append(Block("table", rows=[["Scale", "Parameter", "Value", "Source"], *params],
                             widths=(0.12, 0.16, 0.08, 0.64)))
    if report.norm_tables:
        out.append(Block("h2", "Norm tables"))
        out.append(Block("table", rows=[["Norm table", "Instrument · scale", "Citation"]] + [
            [n.norm_id, f"{n.instrument_id} · {n.scale}", n.citation] for n in report.norm_tables],
            widths=(0.25, 0.15, 0.6)))
    out.append(Block("h2", "Software"))
    out.append(Block("kv", rows=_software_rows(report), widths=(0.25, 0.75)))
    return out


def _software_rows(report: Report) -> list[list[str]]:
    from importlib.metadata import PackageNotFoundError, version

    rows = [["psyscore engine", report.engine_version], ["Generated", _stamp(report)]]
    for dist in ("reportlab", *(("altair", "vl-convert-python") if report.include_charts else ())):
        try:
            rows.append([dist, version(dist)])
        except PackageNotFoundError:  # pragma: no cover - installed with the extra
            continue
    rows.append(["Reliable change", "Jacobson NS, Truax P. Clinical significance: a statistical approach to "
                                    "defining meaningful change in psychotherapy research. J Consult Clin Psychol "
                                    "1991;59:12–19."])
    return rows


# -- rendering (reportlab) --------------------------------------------------------------------------------
def render_pdf(report: Report, *, font: Any = "auto") -> bytes:
    """The report as PDF bytes (A4)."""
    try:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.platypus import SimpleDocTemplate
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("PDF reports need reportlab: pip install 'psyscore[reports]'") from exc

    blocks = layout(report)
    footer_text = f"{report.patient_label} · psyscore outcome report · {_stamp(report)}"
    fonts = choose_font(font, [*(s for b in blocks for s in b.strings()), footer_text])
    fonts.register()
    styles = _styles(fonts)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=16 * mm,
                            bottomMargin=18 * mm, title="psyscore outcome report", author="psyscore",
                            creator=f"psyscore {report.engine_version}", subject="Outcome report")
    story = [f for b in blocks for f in _flowables(b, styles, fonts, doc.width)]
    doc.build(story, canvasmaker=_numbered_canvas(fonts, footer_text))
    return buffer.getvalue()


def _styles(fonts: FontChoice) -> dict[str, Any]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("base", fontName=fonts.regular_name, fontSize=9, leading=11.5, spaceAfter=3)
    return {
        "title": ParagraphStyle("title", parent=base, fontName=fonts.bold_name, fontSize=18, leading=22,
                                spaceAfter=8),
        "h1": ParagraphStyle("h1", parent=base, fontName=fonts.bold_name, fontSize=14, leading=17, spaceAfter=4,
                             keepWithNext=1),
        "h2": ParagraphStyle("h2", parent=base, fontName=fonts.bold_name, fontSize=11, leading=14, spaceBefore=8,
                             spaceAfter=4, keepWithNext=1),
        "h3": ParagraphStyle("h3", parent=base, fontName=fonts.bold_name, fontSize=9.5, leading=12, spaceBefore=6,
                             spaceAfter=2, keepWithNext=1),
        "p": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#444444"),
                                spaceBefore=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9, spaceAfter=0),
        "head": ParagraphStyle("head", parent=base, fontName=fonts.bold_name, fontSize=7.5, leading=9, spaceAfter=0),
        "line": ParagraphStyle("line", parent=base, fontSize=7.5, leading=9.5, spaceAfter=0.5),
    }


def _para(text: str, style: Any, fonts: FontChoice) -> Any:
    from reportlab.platypus import Paragraph

    safe = escape(fonts.clean(str(text))).replace("\n", "<br/>")
    return Paragraph(safe, style)


def _flowables(block: Block, styles: dict[str, Any], fonts: FontChoice, width: float) -> list[Any]:
    from reportlab.lib import colors
    from reportlab.platypus import Image, KeepTogether, PageBreak, Spacer, Table, TableStyle

    kind = block.kind
    if kind in ("title", "h1", "h2", "h3", "p", "small"):
        return [_para(block.text, styles[kind], fonts)]
    if kind == "break":
        return [PageBreak()]
    if kind == "keep":
        return [KeepTogether([f for child in block.children for f in _flowables(child, styles, fonts, width)])]
    if kind == "image" and block.image is not None:
        w_px, h_px = png_size(block.image)
        w = min(width, w_px / 2.0 * 0.75)  # rendered at scale 2; 1 CSS pixel = 0.75 pt
        return [Image(io.BytesIO(block.image), width=w, height=w * h_px / w_px), Spacer(1, 4)]
    if kind == "lines":
        out = []
        for level, text in block.lines:
            style = styles["line"].clone(f"line{level}", leftIndent=12 * level,
                                         fontName=fonts.bold_name if level == 0 else fonts.regular_name)
            out.append(_para(text, style, fonts))
        return [*out, Spacer(1, 4)]
    if kind in ("table", "kv"):
        header = kind == "table"
        data = []
        for i, row in enumerate(block.rows):
            cell_style = styles["head"] if (header and i == 0) else styles["cell"]
            data.append([_para(c, styles["head"] if kind == "kv" and j == 0 else cell_style, fonts)
                         for j, c in enumerate(row)])
        table = Table(data, colWidths=[width * f for f in block.widths], repeatRows=1 if header else 0,
                      hAlign="LEFT")
        commands: list[tuple[Any, ...]] = [("VALIGN", (0, 0), (-1, -1), "TOP"),
                                           ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
                                           ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                                           ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3)]
        if header:
            commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")))
        table.setStyle(TableStyle(commands))
        return [table, Spacer(1, 6)]
    raise ValueError(f"unknown block kind {kind!r}")  # pragma: no cover - programming error


def _numbered_canvas(fonts: FontChoice, footer: str) -> type[Canvas]:
    """A canvas class that holds pages back until the end so that each footer can say 'page i of n'."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen.canvas import Canvas

    text = fonts.clean(footer)
    room = A4[0] - 32 * mm - 28 * mm  # page width less margins and "page i of n"
    if stringWidth(text, fonts.regular_name, 7) > room:
        ellipsis = fonts.clean("…")
        while text and stringWidth(text + ellipsis, fonts.regular_name, 7) > room:
            text = text[:-1]
        text = text.rstrip() + ellipsis

    class FooterCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # Canvas's own page reset; the stubs omit private names

        def save(self) -> None:
            total = len(self._held)
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                self.setFont(fonts.regular_name, 7)
                self.setFillGray(0.35)
                self.drawString(16 * mm, 9 * mm, text)
                self.drawRightString(A4[0] - 16 * mm, 9 * mm, f"page {number} of {total}")
                super().showPage()
            super().save()

    return FooterCanvas


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")

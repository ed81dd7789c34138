"""The report as data: what :func:`scoring.reports.patient_report` builds and the renderers read."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

from scoring.errors import PsyscoreError
from scoring.reports.pdf import render_pdf
from scoring.reports.text import is_missing, item_labels
from scoring.reports.xlsx import render_xlsx

if TYPE_CHECKING:
    from scoring.definitions.library import Definition
    from scoring.engine.receipt import Explanation

__all__ = ["AlertEntry", "InstrumentSection", "NormInfo", "Receipt", "Report", "ReportInputError", "ScaleSection"]

Target = str | os.PathLike[str] | IO[bytes] | None


class ReportInputError(PsyscoreError, ValueError):
    """The inputs cannot make a report (no rows for the patient, a history without its columns, bad events)."""


@dataclass(frozen=True)
class AlertEntry:
    """An alert that is not resolved, as given by the caller."""

    instrument_id: str
    item_id: str
    message: str
    status: str
    raised_at: pd.Timestamp | None
    still_critical: bool | None


@dataclass(frozen=True)
class NormInfo:
    """A norm table named in the history."""

    norm_id: str
    instrument_id: str
    scale: str
    citation: str


@dataclass(frozen=True)
class Receipt:
    """The score receipt of one administration (or why there is none)."""

    instrument_id: str
    version: str
    hash: str
    administration: int
    date: pd.Timestamp
    source_row: Hashable
    explanation: Explanation | None
    note: str = ""
    #: scale id → {"prorated": bool, "n_answered": int | None}, from the engine run on the same answers
    scale_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: scale id → why the receipt's score differs from the history's (empty when they agree)
    mismatch: dict[str, str] = field(default_factory=dict)
    critical: tuple[str, ...] = ()

    def lines(self) -> list[tuple[int, str]]:
        """The receipt as (indent level, text) lines, in the order of ``str(scoring.explain(...))``.

        :meth:`Explanation.lines` with the mismatch warnings after their scale, then the note.
        """
        if self.explanation is None:
            return [(0, f"No receipt: {self.note}.")]
        out = self.explanation.lines(self.mismatch)
        if self.note:
            out.append((0, f"Note: {self.note}"))
        return out


@dataclass(frozen=True)
class ScaleSection:
    """One scale of an instrument: its history rows (sorted by date), a note per row and the change summary."""

    scale_id: str
    name: str
    higher_is: str
    rows: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...]
    change: tuple[str, ...]

    @property
    def has_norms(self) -> bool:
        return bool(self.rows[["norm_percentile", "norm_t"]].notna().any().any()) if "norm_t" in self.rows else False

    def table(self) -> pd.DataFrame:
        """The table of administrations: the history's values (numbers stay numbers) plus the note."""
        r = self.rows
        out = pd.DataFrame({
            "date": r["date"],
            "administration": r["administration"],
            "score": r["score"].astype(float),
            "band": r["band"],
            "previous_difference": r["previous_difference"].astype(float),
            "previous_classification": r["previous_classification"].astype(object),
            "baseline_difference": r["baseline_difference"].astype(float),
            "baseline_rci": r["baseline_rci"].astype(float) if "baseline_rci" in r else float("nan"),
            "baseline_classification": r["baseline_classification"].astype(object),
        })
        if self.has_norms:
            out["norm_percentile"] = r["norm_percentile"].astype(float)
            out["norm_t"] = r["norm_t"].astype(float)
        out["note"] = list(self.notes)
        return out


@dataclass(frozen=True)
class InstrumentSection:
    """One instrument: its definition (latest version in the history), scales, receipts and alerts."""

    instrument_id: str
    definition: Definition = field(repr=False)
    versions: tuple[tuple[str, str], ...]
    scales: tuple[ScaleSection, ...]
    receipts: tuple[Receipt, ...]
    alerts: tuple[AlertEntry, ...]

    @property
    def abbreviation(self) -> str:
        return self.definition.instrument.abbreviation or self.instrument_id

    @property
    def name(self) -> str:
        return self.definition.instrument.name

    @property
    def critical(self) -> list[tuple[pd.Timestamp, str]]:
        """Critical items endorsed: (administration date, receipt line) for every administration."""
        return [(r.date, c) for r in self.receipts for c in r.critical]

    @property
    def critical_unanswered(self) -> list[tuple[pd.Timestamp, str]]:
        """Critical items left unanswered (so not checked): (administration date, item label)."""
        labels = item_labels(self.definition)
        return [(r.date, labels.get(c.split(" ", 1)[0], c.split(" ", 1)[0])) for r in self.receipts
                if r.explanation is not None for c in r.explanation.critical_unanswered]

    def item_table(self) -> tuple[list[str], list[list[Any]]]:
        """The answers per item (rows, labelled with the item wording) and administration (columns).

        Returns the column dates (``YYYY-MM-DD``) and rows ``[label, answer, answer, …]`` (None = not answered);
        empty when no receipt has answers. Items are labelled by :func:`~scoring.reports.text.item_labels`, so
        instruments without licensed wording show their descriptors.
        """
        shown = [r for r in self.receipts if r.explanation is not None]
        if not shown:
            return [], []
        labels = item_labels(self.definition)
        dates = [r.date.strftime("%Y-%m-%d") for r in shown]
        rows = [[labels.get(item, item), *(r.explanation.answers.get(item) for r in shown)]  # type: ignore[union-attr]
                for item in self.definition.plan.item_ids]
        return dates, rows


@dataclass(frozen=True)
class Report:
    """A patient report. Render with :meth:`to_pdf` and :meth:`to_xlsx` (both return bytes)."""

    patient_label: str
    clinic_name: str | None
    generated_at: dt.datetime
    engine_version: str
    score_engine_versions: tuple[str, ...]
    period: tuple[pd.Timestamp, pd.Timestamp]
    sections: tuple[InstrumentSection, ...]
    events: pd.DataFrame = field(repr=False)
    alerts: tuple[AlertEntry, ...]
    norm_tables: tuple[NormInfo, ...]
    warnings: tuple[str, ...]
    include_charts: bool = True
    receipts_supplied: bool = True
    _charts: dict[tuple[str, str], bytes | None] = field(default_factory=dict, init=False, repr=False,
                                                         compare=False)

    def __iter__(self) -> Iterator[InstrumentSection]:
        return iter(self.sections)

    def summary(self) -> pd.DataFrame:
        """At a glance: one row per instrument × scale, baseline against latest scored administration."""
        records = []
        for sec in self.sections:
            for sc in sec.scales:
                rows = sc.rows
                valid = rows[rows["valid"].astype(bool) & rows["score"].notna()]
                first = valid.iloc[0] if len(valid) else None
                last = valid.iloc[-1] if len(valid) else None
                two = len(valid) >= 2
                records.append({
                    "instrument": sec.abbreviation, "instrument_id": sec.instrument_id, "scale": sc.scale_id,
                    "scale_name": sc.name, "administrations": len(rows), "scored": len(valid),
                    "baseline_date": None if first is None else first["date"],
                    "baseline_score": float("nan") if first is None else float(first["score"]),
                    "baseline_band": None if first is None or is_missing(first["band"]) else first["band"],
                    "latest_date": None if last is None else last["date"],
                    "latest_score": float("nan") if last is None else float(last["score"]),
                    "latest_band": None if last is None or is_missing(last["band"]) else last["band"],
                    "change": float(last["baseline_difference"]) if two and last is not None else float("nan"),
                    "classification": (None if not two or last is None or is_missing(last["baseline_classification"])
                                       else str(last["baseline_classification"])),
                    "latest_percentile": _norm_value(last, "norm_percentile"),
                    "latest_t": _norm_value(last, "norm_t"),
                    "criterion": None if last is None else last["criterion"],
                    "threshold": float(last["threshold"]) if last is not None else float("nan"),
                })
        frame = pd.DataFrame.from_records(records)
        for c in ("baseline_date", "latest_date"):
            if c in frame:
                frame[c] = pd.to_datetime(frame[c])
        return frame

    def chart_png(self, instrument_id: str, scale_id: str) -> bytes | None:
        """The trend chart of one scale as PNG (rendered once, then reused); None when charts are off."""
        if not self.include_charts:
            return None
        key = (instrument_id, scale_id)
        if key not in self._charts:
            sec = next(s for s in self.sections if s.instrument_id == instrument_id)
            sc = next(s for s in sec.scales if s.scale_id == scale_id)
            self._charts[key] = _render_chart(sec, sc, self.events)
        return self._charts[key]

    def to_pdf(self, target: Target = None, *, font: Any = "auto") -> bytes:
        """The report as PDF bytes; also written to ``target`` (a path or a binary file object) when given.

        ``font``: ``"auto"`` (default), ``"vera"``, ``"dejavu"``, a TrueType path or a (regular, bold) pair;
        see :mod:`scoring.reports.fonts`. Needs ``reportlab`` (``pip install 'psyscore[reports]'``).
        """
        return _deliver(render_pdf(self, font=font), target)

    def to_xlsx(self, target: Target = None) -> bytes:
        """The report as an XLSX workbook (bytes); also written to ``target`` when given."""
        return _deliver(render_xlsx(self), target)


def _norm_value(row: Any, column: str) -> float:
    if row is None or column not in row or is_missing(row[column]):
        return float("nan")
    return float(row[column])


def _deliver(data: bytes, target: Target) -> bytes:
    if target is None:
        return data
    if isinstance(target, str | os.PathLike):
        Path(target).write_bytes(data)
    else:
        target.write(data)
    return data


def _render_chart(sec: InstrumentSection, sc: ScaleSection, events: pd.DataFrame) -> bytes:
    try:
        from scoring.charts import save_chart, trend_chart
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("report charts need altair and vl-convert-python: pip install 'psyscore[reports]' "
                          "(or patient_report(..., charts=False))") from exc
    chart = trend_chart(sc.rows, sec.definition, scale=sc.scale_id, events=events if len(events) else None,
                        title=f"{sec.abbreviation} — {sc.name}")
    with tempfile.TemporaryDirectory(prefix="psyscore-report-") as folder:
        path = save_chart(chart, Path(folder) / "chart.png", scale_factor=2.0)
        return path.read_bytes()


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


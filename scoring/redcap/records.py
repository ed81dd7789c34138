"""REDCap record exports → the engine's response tables (one row per administration, one column per item id).

A REDCap export ("raw data", CSV) has one row per record × event × repeat instance, the record identifier in its
first column (``record_id`` unless the project names it otherwise), and REDCap's own columns:
``redcap_event_name`` (longitudinal projects), ``redcap_repeat_instrument`` and ``redcap_repeat_instance``
(repeating instruments and events), ``redcap_data_access_group``, ``redcap_survey_identifier``,
``<form>_timestamp`` (survey completion time, ``[not completed]`` otherwise) and ``<form>_complete``.

:class:`ExportReader` turns it into what :func:`scoring.score` reads:

* item fields are found by their REDCap names (:func:`scoring.redcap.item_fields`) and renamed to the item ids;
* a checkbox field is exported as one 0/1 column per option, ``<field>___<code>`` (the code lowercased, other
  characters than letters and digits written ``_``: ``-1`` becomes ``___-1`` → ``____1``); one checked option is
  the answer, none checked is unanswered, several checked is a bad cell whose value says so (the engine lists it,
  counts it as unanswered and names the row);
* a missing-data code (a project setting; by default REDCap's suggested codes, :data:`DEFAULT_MISSING_CODES`,
  compared ignoring case and surrounding spaces) in an item field, or checked as an extra checkbox column
  ``<field>___<code>``, is **unanswered**, never a bad cell; how many of each were found is counted by item;
* rows of another repeating instrument (``redcap_repeat_instrument`` set to another form) and rows holding no
  value in any of the instrument's fields (another form's or event's row) are left out and counted;
* the record identifier and REDCap's columns stay in front (so scores and failures can be matched to records),
  with ``sex``, ``age`` and ``birth_date`` if the export has them (norms, sex-specific rules); the export's other
  fields are not carried over (``<form>_timestamp`` and ``<form>_complete`` neither: named like items, the
  engine would report them as unknown items; :func:`to_history` reads the timestamp from the export itself);
* the index stays the export's row index, so failures name the export's rows; :meth:`ExportReader.label` names a
  row as ``12 (record_id 3, event baseline_arm_1, instance 2)``.

:func:`to_history` gives the long table of :func:`scoring.history` (``patient`` = record identifier, ``date``
from a date field or the survey timestamp, ``instrument``), ordered by record, then date, then the events' order
in the export and the repeat instance, for ``psyscore change --redcap``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scoring.definitions.library import Definition, Library
from scoring.redcap.dictionary import RedcapError, field_name, item_fields, option_code

DEFAULT_MISSING_CODES = ("NI", "INV", "UNK", "NASK", "ASKU", "NAV", "MSK", "NA", "NAVU", "NP", "QS", "QI", "TRC",
                         "UNC", "DER", "PINF", "NINF", "OTH")
"""REDCap's list of suggested missing-data codes (HL7 null flavours: NI no information, INV invalid, UNK unknown,
NASK not asked, ASKU asked but unknown, NAV temporarily unavailable, MSK masked, NA not applicable, NAVU not
available, NP not present, QS sufficient quantity, QI insufficient quantity, TRC trace, UNC unencoded, DER
derived, PINF positive infinity, NINF negative infinity, OTH other). A project uses the codes set under Project
Setup → Additional customizations, which may be others (``-999`` …): give those instead."""

EVENT, REPEAT_INSTRUMENT, REPEAT_INSTANCE = "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"
REDCAP_COLUMNS = (EVENT, REPEAT_INSTRUMENT, REPEAT_INSTANCE, "redcap_data_access_group", "redcap_survey_identifier")
KEPT_COLUMNS = ("sex", "age", "birth_date")
NOT_COMPLETED = "[not completed]"


def checkbox_suffix(code: object) -> str:
    """The suffix of a checkbox option's export column (``field___<suffix>``) for answer or missing code ``code``."""
    return re.sub(r"[^a-z0-9]", "_", str(code).strip().lower())


def _text(col: pd.Series) -> np.ndarray:
    """Cell text, stripped; None/NaN → '' (vectorized)."""
    obj = col.astype(object)
    return obj.where(obj.notna(), "").astype(str).str.strip().to_numpy(dtype=object)


@dataclass
class ExportReader:
    """Reads REDCap exports (whole or in chunks) for one definition; keeps the counts of what it did.

    ``form`` is the REDCap form (instrument) name, by default the definition id as
    :func:`scoring.redcap.data_dictionary` names it; ``record_id`` the record identifier column, by default
    ``record_id`` or, when there is none, the export's first column.
    """

    definition: Definition
    form: str | None = None
    missing_codes: Sequence[str] = DEFAULT_MISSING_CODES
    record_id: str | None = None
    missing: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(item id, missing-data code) → number of cells holding it."""
    rows_read: int = 0
    left_out: int = 0
    _labels: dict[object, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.form = self.form or field_name(self.definition.id)
        self.record_name = self.record_id or "record_id"
        codes = [str(c).strip() for c in self.missing_codes if str(c).strip()]
        self._codes = {c.lower(): c for c in codes}
        self._code_suffixes = {checkbox_suffix(c): c for c in codes}
        self._fields = item_fields(self.definition.instrument)
        sets = {s.id: s for s in self.definition.instrument.option_sets}
        self._options: dict[str, list[str]] = {}
        for item in self.definition.instrument.items:
            opts = [option_code(o.value, where=f"{self.definition.id} {item.id}") for o in sets[item.options].options]
            self._options[item.id] = opts
            clash = [c for c in opts if c.lower() in self._codes]
            if clash:
                raise RedcapError(f"missing-data code {self._codes[clash[0].lower()]!r} is also an answer code of "
                                  f"{item.id}; choose missing-data codes that are never answers")

    # -- whole export ------------------------------------------------------------------------------------
    def convert(self, data: pd.DataFrame) -> pd.DataFrame:
        """One chunk (or the whole) of an export as the engine's response table; see the module docstring."""
        columns = [str(c) for c in data.columns]
        record = self._record_column(columns)
        self.record_name = record
        by_lower = {c.lower(): c for c in columns}
        out: dict[str, object] = {}
        keep_front = [record, *(by_lower[c] for c in REDCAP_COLUMNS if c in by_lower)]
        for c in keep_front:
            out[c] = data[c]
        present: list[np.ndarray] = []
        for item_id, fname in self._fields.items():
            plain = by_lower.get(fname)
            boxes = {c: c.lower()[len(fname) + 3:] for c in columns if c.lower().startswith(fname + "___")}
            if plain is not None and boxes:
                raise RedcapError(f"field {fname} ({item_id}) is in the export both as one column and as checkbox "
                                  f"columns ({', '.join(list(boxes)[:3])}); keep one form of it")
            if plain is not None:
                values, has = self._plain(item_id, data[plain])
            elif boxes:
                values, has = self._checkbox(item_id, fname, data, boxes)
            else:
                continue  # an item without a column: the engine reports it once (missing_column)
            out[item_id] = values
            present.append(has)
        for c in KEPT_COLUMNS:
            if c in by_lower and by_lower[c] not in out:
                out[by_lower[c]] = data[by_lower[c]]
        frame = pd.DataFrame(out, index=data.index)
        keep = np.logical_or.reduce(present) if present else np.zeros(len(frame), dtype=bool)
        repeat = by_lower.get(REPEAT_INSTRUMENT)
        if repeat is not None:
            other = _text(data[repeat])
            keep &= (other == "") | (other == self.form)
        self.rows_read += len(frame)
        self.left_out += int((~keep).sum())
        frame = frame[keep]
        self._remember_labels(frame, record, by_lower)
        return frame

    def convert_chunks(self, chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """:meth:`convert` over a stream of chunks (``psyscore score --redcap`` reads files in chunks)."""
        for chunk in chunks:
            yield self.convert(chunk)

    def label(self, row: object) -> object:
        """A failure's row as the export names it: data row (1 = the line after the header) and the record."""
        if row is None or row == "" or (isinstance(row, float) and row != row):
            return ""
        number = int(row) + 1 if isinstance(row, (int, np.integer)) else row
        found = self._labels.get(row)
        return f"{number} ({found})" if found else number

    def summary(self) -> str:
        """What the reader did, in one sentence (printed by the CLI)."""
        parts = [f"{self.rows_read} REDCap row(s) read"]
        if self.left_out:
            parts.append(f"{self.left_out} left out (another repeating instrument, or no value in any "
                         f"{self.definition.id} field)")
        if self.missing:
            by_code: Counter[str] = Counter()
            for (_, code), n in self.missing.items():
                by_code[code] += n
            parts.append("missing-data codes counted as unanswered: "
                         + ", ".join(f"{code} {n}" for code, n in by_code.most_common()))
        return "; ".join(parts)

    def missing_table(self) -> pd.DataFrame:
        """The missing-data codes found: item, field, code, count."""
        rows = [{"item": i, "field": self._fields[i], "code": c, "count": n}
                for (i, c), n in sorted(self.missing.items())]
        return pd.DataFrame(rows, columns=["item", "field", "code", "count"])

    # -- helpers ---------------------------------------------------------------------------------------------
    def _record_column(self, columns: list[str]) -> str:
        if self.record_id is not None:
            if self.record_id not in columns:
                raise RedcapError(f"the export has no record identifier column {self.record_id!r} (columns: "
                                  f"{', '.join(columns[:5])} …)")
            return self.record_id
        if "record_id" in columns:
            return "record_id"
        if not columns:
            raise RedcapError("the export has no columns")
        return columns[0]  # REDCap exports the record identifier first

    def _plain(self, item_id: str, col: pd.Series) -> tuple[pd.Series, np.ndarray]:
        text = _text(col)
        has = text != ""
        lowered = np.char.lower(text.astype(str)) if len(text) else text.astype(str)
        is_code = np.isin(lowered, list(self._codes)) if self._codes else np.zeros(len(text), dtype=bool)
        if is_code.any():
            for code, n in zip(*np.unique(lowered[is_code], return_counts=True), strict=True):
                self.missing[(item_id, self._codes[str(code)])] += int(n)
            values = col.astype(object).where(~is_code, None)
        else:
            values = col
        return values, has

    def _checkbox(self, item_id: str, fname: str, data: pd.DataFrame, boxes: dict[str, str]
                  ) -> tuple[pd.Series, np.ndarray]:
        """One item from its checkbox columns: the one checked answer code; several checked or a cell that is
        not 0/1 is a bad cell whose text says so; only a missing-data code checked is unanswered (counted)."""
        options = {checkbox_suffix(c): c for c in self._options[item_id]}
        n = len(data)
        count = np.zeros(n, dtype=np.int64)
        answer = pd.Series("", index=data.index, dtype=object)
        checked_codes = pd.Series("", index=data.index, dtype=object)
        problem = pd.Series("", index=data.index, dtype=object)
        coded = np.zeros(n, dtype=bool)
        has = np.zeros(n, dtype=bool)
        for column, suffix in boxes.items():
            raw = pd.Series(_text(data[column]), index=data.index, dtype=object)
            text = raw.str.lower()
            checked = text.isin(("1", "checked")).to_numpy()
            odd = ~checked & ~text.isin(("0", "unchecked", "")).to_numpy()
            if odd.any():
                note = "checkbox column " + column + " holds '" + raw + "', not 0 or 1"
                problem = problem.where(~odd | (problem != ""), note)
            if suffix in options:
                code = options[suffix]
                count += checked
                answer = answer.where(~checked, code)
                joined = checked_codes.where(checked_codes == "", checked_codes + ", ") + code
                checked_codes = checked_codes.where(~checked, joined)
            elif suffix in self._code_suffixes:
                hits = int(checked.sum())
                if hits:
                    self.missing[(item_id, self._code_suffixes[suffix])] += hits
                coded |= checked
            else:
                raise RedcapError(f"checkbox column {column}: {suffix!r} is neither an answer code of {item_id} "
                                  f"({', '.join(self._options[item_id])}) nor a missing-data code; check the "
                                  "export or give the project's codes (--missing-codes)")
            has |= checked | odd
        values = answer.where(count == 1, None)
        values = values.where(count <= 1, "several checked: " + checked_codes)
        values = values.where(problem == "", problem)
        return values.astype(object), has | coded

    def _remember_labels(self, frame: pd.DataFrame, record: str, by_lower: dict[str, str]) -> None:
        if frame.empty:
            return
        parts = [f"{record} " + pd.Series(_text(frame[record]), index=frame.index, dtype=object)]
        for name, col in (("event", EVENT), ("instance", REPEAT_INSTANCE)):
            if col in by_lower:
                text = pd.Series(_text(frame[by_lower[col]]), index=frame.index, dtype=object)
                parts.append((", " + name + " " + text).where(text != "", ""))
        label = parts[0]
        for p in parts[1:]:
            label = label + p
        self._labels.update(label.to_dict())


def read_export(data: pd.DataFrame, definition: Definition, *, form: str | None = None,
                missing_codes: Sequence[str] = DEFAULT_MISSING_CODES,
                record_id: str | None = None) -> tuple[pd.DataFrame, ExportReader]:
    """A whole REDCap export as the engine's response table, and the reader (counts, row labels).

    >>> import scoring
    >>> phq9 = scoring.load_library()["phq9"]
    >>> export = pd.DataFrame({"record_id": ["1", "2"], **{f"phq9_{i}": ["1", "UNK"] for i in range(1, 11)}})
    >>> responses, reader = read_export(export, phq9)
    >>> scoring.score(phq9, responses).scores[["record_id", "total", "total_reason_code"]]
      record_id  total total_reason_code
    0         1    9.0               NaN
    1         2    NaN     none_answered
    >>> reader.summary()
    '2 REDCap row(s) read; missing-data codes counted as unanswered: UNK 10'
    """
    reader = ExportReader(definition, form=form, missing_codes=missing_codes, record_id=record_id)
    return reader.convert(data), reader


def to_history(data: pd.DataFrame, library: Library, instruments: Sequence[str] | None = None, *,
               date_field: str | None = None, missing_codes: Sequence[str] = DEFAULT_MISSING_CODES,
               record_id: str | None = None) -> tuple[pd.DataFrame, list[ExportReader]]:
    """A REDCap export as the long table of :func:`scoring.history`, and one reader per instrument.

    Columns: ``patient`` (the record identifier), ``date`` (from ``date_field``, else the form's survey
    timestamp ``<form>_timestamp``), ``instrument``, ``redcap_event_name`` and ``redcap_repeat_instance`` when
    the export has them, ``export_row`` (the export's data row, 1 = the line after the header), then the item
    columns. Without ``instruments``, every instrument of the library with at least one field in the export.
    Rows are ordered by record, date, the order in which events first appear in the export (REDCap exports
    them in the project's event order) and repeat instance, so administrations on one date keep that order.
    A row without a date is an error naming the records (an incomplete survey has ``[not completed]``).
    """
    columns = {str(c).lower() for c in data.columns}
    if instruments is None:
        found = []
        for inst_id in library:
            fields = item_fields(library[inst_id].instrument).values()
            if any(f in columns or any(c.startswith(f + "___") for c in columns) for f in fields):
                found.append(inst_id)
        if not found:
            raise RedcapError("no field of the export is an item of a known instrument (item fields are named as "
                              "'psyscore redcap dictionary' names them, e.g. phq9_1)")
        instruments = found
    pieces: list[pd.DataFrame] = []
    readers: list[ExportReader] = []
    events = None
    by_lower = {str(c).lower(): str(c) for c in data.columns}
    if EVENT in by_lower:
        seen = pd.unique(pd.Series(_text(data[by_lower[EVENT]])))
        events = {e: k for k, e in enumerate(seen)}
    for inst_id in instruments:
        d = library.get_version(inst_id)
        reader = ExportReader(d, missing_codes=missing_codes, record_id=record_id)
        frame = reader.convert(data)
        readers.append(reader)
        record = reader.record_name
        source = date_field or f"{reader.form}_timestamp"
        if source not in by_lower:
            raise RedcapError(f"the export has no column {source!r} to date the {d.id} administrations; give a date "
                              "field of the project (--date-field visit_date) or export the survey timestamps")
        dates = pd.Series(_text(data.loc[frame.index, by_lower[source]]), index=frame.index, dtype=object)
        undated = (dates == "") | (dates.str.lower() == NOT_COMPLETED)
        if undated.any():
            shown = ", ".join(f"row {int(r) + 1} ({record} {frame.at[r, record]!s})"
                              for r in list(frame.index[undated.to_numpy()])[:5])
            raise RedcapError(f"{int(undated.sum())} {d.id} row(s) have no date in {source!r} ({shown}); give a "
                              "date field that is filled for every administration (--date-field)")
        items = [c for c in frame.columns if c in set(d.plan.item_ids)]
        piece = pd.DataFrame({"patient": frame[record].astype(str), "date": dates, "instrument": d.id},
                             index=frame.index)
        for col in (EVENT, REPEAT_INSTANCE):
            if col in by_lower:
                piece[col] = frame[by_lower[col]]
        piece["export_row"] = data.index.get_indexer(frame.index) + 1  # the export's data row, 1-based
        for c in items:
            piece[c] = frame[c]
        for c in KEPT_COLUMNS:
            if c in by_lower and c not in piece.columns:
                piece[c] = frame[by_lower[c]]
        pieces.append(piece)
    long = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame()
    if not long.empty:
        sort = pd.DataFrame({"p": long["patient"], "d": pd.to_datetime(long["date"], errors="coerce",
                                                                      format="ISO8601")})
        sort["e"] = long[EVENT].map(lambda e: events.get(str(e).strip(), -1) if events else 0) \
            if EVENT in long.columns else 0
        sort["i"] = pd.to_numeric(long[REPEAT_INSTANCE], errors="coerce").fillna(0) \
            if REPEAT_INSTANCE in long.columns else 0
        sort["r"] = long["export_row"]
        order = sort.sort_values(["p", "d", "e", "i", "r"], kind="stable").index
        long = long.loc[order].reset_index(drop=True)
    long.index = pd.RangeIndex(1, len(long) + 1)
    return long, readers

"""What the export may read: the input contract, and its validation against the library.

The export reads **only** these columns; every other column of the input is dropped on entry and never
reaches a transform, a writer, a log line or an error message.

``ExportData.administrations`` — one row per administration:

=====================  ==========================================================================
column                 meaning
=====================  ==========================================================================
``patient_id``         internal patient id (required). Used to group a patient's administrations
                       and, under ``pseudonymised``, as the HMAC input; never written.
``date``               administration date or date-time (required; ISO 8601 text, a date or a
                       timestamp). Written only as a year or as days since the patient's first
                       exported administration.
``instrument``         instrument id, e.g. ``phq9`` (required; ``instrument_id`` is accepted too).
``instrument_version`` definition version that was administered (optional; default: the latest in
                       the library).
``<item id>``          the answer codes, one column per item id (``phq9_1`` …). Items of other
                       instruments are left empty.
``sex``                optional: female/f/woman/w, male/m/man, other/diverse/x, or empty/unknown.
``age``                optional: age in whole years at the administration.
``birth_year``         optional: year of birth (age = year of the first administration − birth year).
``birth_date``         optional: exact date of birth, used only to compute the age; never written.
=====================  ==========================================================================

``ExportData.patients`` (optional) — one row per patient: ``patient_id`` and any of ``sex``,
``birth_year``, ``birth_date``; values here take precedence over those in the administrations frame.

A store or any other source feeds the export by building an :class:`ExportData` (answers held one per row
are pivoted by :meth:`ExportData.from_answers`). A CSV/XLSX file in the same long shape is read by
:func:`read_input`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.definitions.library import Definition, Library
from scoring.definitions.respondent import completed_years
from scoring.export.anonymizer import ExportError, normalise_sex

PATIENT, DATE, INSTRUMENT, VERSION = "patient_id", "date", "instrument", "instrument_version"
REQUIRED_COLUMNS: tuple[str, ...] = (PATIENT, DATE, INSTRUMENT)
DEMOGRAPHIC_COLUMNS: tuple[str, ...] = ("sex", "age", "birth_year", "birth_date")
CONTRACT_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, VERSION, *DEMOGRAPHIC_COLUMNS)
_ALIASES = {"instrument_id": INSTRUMENT}
_SAFE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SAFE_VERSION = re.compile(r"^\d{1,4}\.\d{1,4}\.\d{1,4}$")
_MAX_ROWS_SHOWN = 5


@dataclass(frozen=True)
class ExportData:
    """The input contract of the research export (see the module docstring for the columns).

    Parameters
    ----------
    administrations
        One row per administration: ``patient_id``, ``date``, ``instrument`` and item answer columns, with
        optional ``instrument_version``, ``sex``, ``age``, ``birth_year``, ``birth_date``. Other columns are
        dropped on entry.
    patients
        Optional, one row per patient: ``patient_id`` with ``sex``, ``birth_year`` and/or ``birth_date``.
    definitions
        Optional definitions by ``(instrument id, version)`` that take precedence over the library (a store
        passes the versions it pinned, so that every administration is scored under the one it was given).
    """

    administrations: pd.DataFrame
    patients: pd.DataFrame | None = None
    definitions: Mapping[tuple[str, str], Definition] | None = None

    @classmethod
    def from_answers(cls, administrations: pd.DataFrame, answers: pd.DataFrame,
                     patients: pd.DataFrame | None = None) -> ExportData:
        """Build from answers held one per row (as a database keeps them).

        Parameters
        ----------
        administrations
            ``administration_id``, ``patient_id``, ``date``, ``instrument`` (or ``instrument_id``), optional
            ``instrument_version``, ``sex``, ``age``.
        answers
            ``administration_id``, ``item_id``, ``value`` (numeric; one row per answered item; the last
            row wins when an item repeats).
        patients
            As for :class:`ExportData`.
        """
        for name, frame, cols in (("administrations", administrations, ("administration_id",)),
                                  ("answers", answers, ("administration_id", "item_id", "value"))):
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                raise ExportError(f"{name}: missing column(s) {', '.join(missing)}")
        keep = [c for c in administrations.columns if c in (*CONTRACT_COLUMNS, *_ALIASES, "administration_id")]
        adm = administrations[keep].reset_index(drop=True)
        if len(answers):
            ans = answers[["administration_id", "item_id", "value"]].drop_duplicates(
                ["administration_id", "item_id"], keep="last")
            wide = ans.pivot(index="administration_id", columns="item_id", values="value")
            wide.columns = [str(c) for c in wide.columns]
            wide = wide.apply(pd.to_numeric, errors="coerce")
            pos = pd.Index(wide.index).get_indexer(adm["administration_id"])
            block = wide.to_numpy(dtype=float)
            rows = np.full((len(adm), block.shape[1]), np.nan)
            found = pos >= 0
            rows[found] = block[pos[found]]
            items = pd.DataFrame(rows, columns=list(wide.columns))
            adm = pd.concat([adm.drop(columns=[c for c in items.columns if c in adm.columns]), items], axis=1)
        return cls(adm.drop(columns=["administration_id"]), patients)


def read_input(path: Path | str) -> ExportData:
    """Read a long CSV/XLSX file of administrations (the columns of :class:`ExportData`)."""
    from scoring.engine.files import read_table

    return ExportData(read_table(path))


@dataclass
class Normalised:
    """Validated input: per-row arrays and per-patient attributes; only allowlisted data."""

    patient: np.ndarray  # int64 code per row into patient_keys
    patient_keys: np.ndarray  # distinct internal ids (object); used only to derive research ids
    day: np.ndarray  # int64 days since 1970-01-01 per row
    group: np.ndarray  # int64 code per row into groups
    groups: list[Definition]  # one (instrument, version) per code
    items: pd.DataFrame  # item answer columns only, RangeIndex aligned with the rows
    sex: np.ndarray | None  # int8 per patient (0 not recorded, 1 female, 2 male, 3 other); None: no column
    age: np.ndarray | None  # float per patient at the first exported administration; None: no column
    rows_in: int = 0
    dropped_columns: list[str] = field(default_factory=list)
    filtered_out: int = 0


_NAT = np.iinfo(np.int64).min


def _rows(mask: np.ndarray, offset: int = 1) -> str:
    """Row numbers of a mask for a message (1 = first data row), at most a few of them."""
    where = np.flatnonzero(mask) + offset
    shown = ", ".join(str(int(r)) for r in where[:_MAX_ROWS_SHOWN])
    more = f" and {len(where) - _MAX_ROWS_SHOWN} more" if len(where) > _MAX_ROWS_SHOWN else ""
    return f"row{'s' if len(where) > 1 else ''} {shown}{more}"


def _as_text(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))  # an integer id read into a float column (because of gaps) stays "17"
    return str(value)


def _factor(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes per cell into distinct stripped texts (empty and missing → -1). Work is per distinct value."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    uniques_dtype = getattr(uniques, "dtype", None)
    if uniques_dtype is not None and pd.api.types.is_integer_dtype(uniques_dtype):
        text = pd.Series(np.asarray(uniques).astype(str), dtype=object)  # integer ids: no per-value work
    else:
        text = pd.Series(np.asarray(uniques, dtype=object), dtype=object).map(_as_text).str.strip()
    merged_codes, distinct = pd.factorize(text)
    merged: np.ndarray = merged_codes
    clean: np.ndarray = np.asarray(distinct, dtype=object)
    empty = np.flatnonzero(clean == "")
    if len(empty):
        merged = np.where(merged == empty[0], -1, merged)
        merged = merged - (merged > empty[0])
        clean = np.delete(clean, empty[0])
    lut = np.append(merged, -1).astype(np.int64)
    return lut[codes], clean


def _as_days(col: pd.Series, what: str) -> np.ndarray:
    """Dates (ISO text, date, datetime; tz-aware at wall time) → int64 days since epoch; empty → _NAT."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        col = col.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        days = col.to_numpy(dtype="datetime64[D]").astype(np.int64)
        days[col.isna().to_numpy()] = _NAT
        return days
    codes, uniques = _factor(col)
    parsed = pd.to_datetime(pd.Series(uniques, dtype=object).str.slice(0, 10), errors="coerce", format="%Y-%m-%d")
    bad = parsed.isna().to_numpy()
    if bad.any():
        raise ExportError(f"column {what!r}: {_rows(np.isin(codes, np.flatnonzero(bad)))} not a date; write "
                          "dates as YYYY-MM-DD")
    lut = np.append(parsed.to_numpy(dtype="datetime64[D]").astype(np.int64), _NAT)
    return lut[codes]


def _numeric(col: pd.Series, what: str, lo: float, hi: float) -> np.ndarray:
    # pandas-stubs do not expose pandas.core.dtypes (BaseMaskedDtype: the nullable Int/UInt/Float/boolean dtypes)
    if col.dtype.kind in "iuf" or isinstance(col.dtype, pd.core.dtypes.dtypes.BaseMaskedDtype):  # type: ignore[attr-defined]
        values = col.to_numpy(dtype=float, na_value=np.nan)
        bad = np.zeros(len(col), bool)
    else:
        codes, uniques = _factor(col)
        parsed = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=float)
        values = np.append(parsed, np.nan)[codes]
        bad = (codes >= 0) & np.isnan(values)
    with np.errstate(invalid="ignore"):
        bad |= ~np.isnan(values) & ((values < lo) | (values > hi) | (values != np.floor(values)))
    if bad.any():
        raise ExportError(f"column {what!r}: {_rows(bad)} not a whole number between {lo:g} and {hi:g}")
    return values


def _show(value: str, pattern: re.Pattern[str], instead: str) -> str:
    """Echo a value in an error only when it has the shape of an id (never something free-form)."""
    return repr(value) if pattern.fullmatch(value) else instead


def patient_day_order(group: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Positions ordered by group, then day, then position (one stable sort of a combined key)."""
    if not len(day):
        return np.zeros(0, dtype=np.int64)
    span = int(day.max()) - int(day.min()) + 1
    return np.argsort(group.astype(np.int64) * span + (day - day.min()), kind="stable")


def _first_per_patient(patient: np.ndarray, order: np.ndarray, known: np.ndarray, n_pat: int) -> np.ndarray:
    """Row of each patient's first known value in ``order`` (date order), -1 when none is known."""
    out = np.full(n_pat, -1, dtype=np.int64)
    sel = order[known[order]]
    if len(sel):
        firsts = sel[np.r_[True, patient[sel][1:] != patient[sel][:-1]]]
        out[patient[firsts]] = firsts
    return out


def normalise(data: ExportData, library: Library, *, instruments: Sequence[str] | None = None,
              date_from: date | None = None, date_to: date | None = None) -> Normalised:
    """Validate the input, apply the filters and keep only allowlisted data.

    Work on text is done once per distinct value (factorize first), so a million rows cost little.
    """
    frame = data.administrations
    if not isinstance(frame, pd.DataFrame):
        raise ExportError(f"administrations must be a pandas DataFrame, not {type(frame).__name__}")
    frame = frame.rename(columns={k: v for k, v in _ALIASES.items() if k in frame.columns and v not in frame.columns})
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise ExportError("the input has duplicate column names; each column needs a distinct name")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ExportError(f"the input has no column {', '.join(map(repr, missing))}; an export reads "
                          f"{', '.join(REQUIRED_COLUMNS)}, item columns and optionally "
                          f"{', '.join((VERSION, *DEMOGRAPHIC_COLUMNS))}")
    frame = frame.set_axis(names, axis=1).reset_index(drop=True)
    rows_in = len(frame)
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ExportError(f"the date range is empty: from {date_from} is after to {date_to}")

    # instrument and version: resolved once per distinct pair
    pinned = dict(data.definitions or {})
    if instruments is not None:
        unknown = sorted({str(i) for i in instruments} - set(library) - {i for i, _ in pinned})
        if unknown:
            raise ExportError(f"unknown instrument(s) {', '.join(map(repr, unknown))}; "
                              "'psyscore instruments' lists them")
    icode, iuniq = _factor(frame[INSTRUMENT])
    if VERSION in names:
        vcode, vuniq = _factor(frame[VERSION])
    else:
        vcode, vuniq = np.full(rows_in, -1, dtype=np.int64), np.zeros(0, dtype=object)
    wanted = None if instruments is None else {str(i) for i in instruments}
    keep = (np.ones(rows_in, dtype=bool) if wanted is None
            else np.isin(icode, [k for k, i in enumerate(iuniq) if i in wanted]))
    days_all = _as_days(frame[DATE], DATE)
    missing_date = keep & (days_all == _NAT)
    if missing_date.any():
        raise ExportError(f"column 'date': {_rows(missing_date)} empty; every administration needs a date")
    if date_from is not None:
        keep &= days_all >= np.datetime64(date_from, "D").astype(np.int64)
    if date_to is not None:
        keep &= days_all <= np.datetime64(date_to, "D").astype(np.int64)
    empty_inst = keep & (icode < 0)
    if empty_inst.any():
        raise ExportError(f"column 'instrument': {_rows(empty_inst)} empty; name the instrument (e.g. phq9)")

    idx = np.flatnonzero(keep)
    pair = icode[idx] * (len(vuniq) + 1) + (vcode[idx] + 1)
    gcode, gpairs = pd.factorize(pair, sort=True)
    groups: list[Definition] = []
    for g, code in enumerate(gpairs):
        i, v = str(iuniq[code // (len(vuniq) + 1)]), code % (len(vuniq) + 1) - 1
        version = str(vuniq[v]) if v >= 0 else ""
        rows = np.isin(np.arange(rows_in), idx[gcode == g])
        if (i, version) in pinned:
            groups.append(pinned[(i, version)])
            continue
        if i not in library:
            raise ExportError(f"column 'instrument': {_rows(rows)}: {_show(i, _SAFE_ID, 'a value')} is not an "
                              "instrument in the library; add its definition (--definitions DIR) or leave it "
                              "out (--instrument)")
        try:
            groups.append(library.get_version(i, version or None))
        except Exception:
            shown = _show(version, _SAFE_VERSION, "a version")
            raise ExportError(f"column 'instrument_version': {_rows(rows)}: {shown} of {i} is not in the "
                              f"library (versions: {', '.join(library.versions(i))})") from None
    # two spellings of one version (" 1.0.0" and "1.0.0") are one group
    key = [(d.id, d.version) for d in groups]
    uniq_keys = list(dict.fromkeys(key))
    remap = np.array([uniq_keys.index(k) for k in key], dtype=np.int64)
    group = remap[gcode] if len(gcode) else np.zeros(0, np.int64)
    groups = [groups[key.index(k)] for k in uniq_keys]

    item_ids: list[str] = []
    for d in groups:
        item_ids.extend(it.id for it in d.instrument.items if it.id not in item_ids)
    allow = set(CONTRACT_COLUMNS) | set(item_ids) | set(_ALIASES)
    dropped = [c for c in names if c not in allow]

    pcode_all, pkeys_all = _factor(frame[PATIENT])
    pcode = pcode_all[idx]
    if (pcode < 0).any():
        raise ExportError(f"column 'patient_id': {_rows(np.isin(np.arange(rows_in), idx[pcode < 0]))} empty; "
                          "every administration needs the internal patient id")
    patient, used = pd.factorize(pcode)
    keys = pkeys_all[np.asarray(used, dtype=np.int64)]
    n_pat = len(keys)
    day = days_all[idx]
    order = patient_day_order(patient, day)
    first = _first_per_patient(patient, order, np.ones(len(idx), bool), n_pat)
    base_day = day[first] if n_pat else np.zeros(0, np.int64)

    take = None
    if data.patients is not None:
        pt = data.patients.reset_index(drop=True)
        if PATIENT not in pt.columns:
            raise ExportError("patients: no column 'patient_id'")
        code, uniq = _factor(pt[PATIENT])
        valid = code >= 0
        last_row = np.full(len(uniq), -1, dtype=np.int64)
        np.maximum.at(last_row, code[valid], np.flatnonzero(valid))  # a repeated patient: the last row wins
        pos = pd.Index(uniq).get_indexer(pd.Index(keys))
        take = np.where(pos >= 0, last_row[np.maximum(pos, 0)], -1)

    def column(name: str) -> tuple[pd.Series | None, str]:
        """A demographic column: from ``patients`` (per patient) if it is there, else per row."""
        if take is not None and name in data.patients.columns:  # type: ignore[union-attr]
            values = data.patients[name].to_numpy(dtype=object)[np.maximum(take, 0)]  # type: ignore[index]
            return pd.Series(values, dtype=object).where(take >= 0), "patient"
        if name in names:
            return frame[name].iloc[idx].reset_index(drop=True), "row"
        return None, ""

    def per_patient(values: np.ndarray, known: np.ndarray, fill: float) -> np.ndarray:
        pick = _first_per_patient(patient, order, known, n_pat)
        return np.where(pick >= 0, values[np.maximum(pick, 0)], fill)

    sex = None
    col, level = column("sex")
    if col is not None:
        codes, uniq = _factor(col)
        canonical = normalise_sex(pd.Series(uniq, dtype=object))
        bad_u = np.flatnonzero(canonical[1])
        if len(bad_u):
            bad = np.isin(codes, bad_u)
            where = (_rows(np.isin(np.arange(rows_in), idx[bad])) if level == "row"
                     else f"{int(bad.sum())} patient(s) in the patients table")
            raise ExportError(f"column 'sex': {where}: not a recognised value; use female, male, other or "
                              "leave empty when not recorded")
        per_cell = np.append(canonical[0], 0).astype(np.int8)[codes]
        sex = (per_patient(per_cell, per_cell > 0, 0) if level == "row" else per_cell).astype(np.int8)

    age = None
    bd_col, bd_level = column("birth_date")
    age_col, _ = column("age")
    by_col, by_level = column("birth_year")
    base_dates = pd.DatetimeIndex(base_day.astype("datetime64[D]"))
    if bd_col is not None:
        bdays = _as_days(bd_col, "birth_date")
        if bd_level == "row":
            bdays = per_patient(bdays, bdays != _NAT, _NAT)
        known = bdays != _NAT
        births = pd.DatetimeIndex(np.where(known, bdays, 0).astype("datetime64[D]"))
        age = np.where(known, completed_years(pd.Series(births), pd.Series(base_dates)), np.nan).astype(float)
        if np.isnan(age[known]).any():  # completed_years gives no age for a birth after the date
            raise ExportError("column 'birth_date': a date of birth falls after the patient's first "
                              "administration; check the dates of birth")
    elif age_col is not None:
        vals = _numeric(age_col, "age", 0, 150)
        age = per_patient(vals, ~np.isnan(vals), np.nan).astype(float)
    elif by_col is not None:
        vals = _numeric(by_col, "birth_year", 1800, 2300)
        if by_level == "row":
            vals = per_patient(vals, ~np.isnan(vals), np.nan).astype(float)
        age = base_dates.year.to_numpy() - vals
        if (age[~np.isnan(age)] < 0).any():
            raise ExportError("column 'birth_year': a year of birth is after the patient's first "
                              "administration; check the years of birth")

    present = [c for c in item_ids if c in names]
    if len(idx) == rows_in:
        items = frame[present]  # nothing filtered out: no copy of the answers
    else:
        items = frame[present].iloc[idx].reset_index(drop=True) if present else pd.DataFrame(index=range(len(idx)))
    return Normalised(
        patient=patient.astype(np.int64), patient_keys=np.asarray(keys, dtype=object), day=day,
        group=group.astype(np.int64), groups=groups, items=items, sex=sex, age=age, rows_in=rows_in,
        dropped_columns=dropped, filtered_out=int(rows_in - len(idx)),
    )

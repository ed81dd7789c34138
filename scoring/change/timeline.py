"""Score histories: one tidy row per patient × administration × scale, with change from baseline and previous.

:func:`history` takes a long table of administrations (``patient``, ``date``, ``instrument`` and either the
item answers in columns named by item id, or already-computed scores) for one or many patients and
instruments, scores it with the library's definitions, and adds, per patient and scale, the change from the
patient's first scored administration (*baseline*) and from the last scored administration before this one
(*previous*), classified with :mod:`scoring.change`. Work is done by group operations over the whole table;
the only loops are over instruments and scales.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from scoring._version import __version__ as ENGINE_VERSION
from scoring.change.rci import COMPARISON_COLUMNS, PARAMETER_COLUMNS, Z_95, ChangeParameters, compare
from scoring.definitions.library import Definition, Library
from scoring.definitions.respondent import SEX_CODES, Sex, sex_codes
from scoring.definitions.schema import Scale
from scoring.engine.compute import assign_bands
from scoring.engine.reasons import reason_code
from scoring.engine.responses import MISSING_WORDS, match_item_columns
from scoring.engine.scorer import score
from scoring.errors import PsyscoreError
from scoring.norms.apply import apply_norms
from scoring.norms.library import NormTable

__all__ = ["HISTORY_COLUMNS", "HistoryInputError", "HistoryResult", "default_norms", "history", "normed_history",
           "score_history", "with_norms"]

REQUIRED_COLUMNS = ("patient", "date", "instrument")
#: the other column names read by name; like item ids they are matched ignoring case and surrounding spaces
OPTIONAL_COLUMNS = ("instrument_version", "scale", "score", "sex", "age", "birth_date")
NORM_COLUMNS = ("norm_id", "norm_stratum", "norm_percentile", "norm_z", "norm_t", "norm_reason")
_PER_COMPARISON = ("date", "score", "clinical", *(c for c in COMPARISON_COLUMNS if c not in
                                                  ("pre_clinical", "post_clinical")))
HISTORY_COLUMNS: tuple[str, ...] = (
    "patient", "date", "instrument", "scale", "scale_name", "administration", "source_row",
    "score", "band", "severity", "valid", "score_reason", "score_reason_code", "clinical",
    *NORM_COLUMNS,
    *(f"baseline_{c}" for c in _PER_COMPARISON),
    *(f"previous_{c}" for c in _PER_COMPARISON),
    *PARAMETER_COLUMNS,
    "instrument_version", "instrument_hash", "engine_version",
)
"""The columns of :func:`history`, always in this order whatever the input and options."""

REASON_BASELINE = "this is the baseline administration"
REASON_BEFORE_BASELINE = "no earlier score to compare with"
REASON_NO_SCORE_GIVEN = "no score given"
_TEXT = ("instrument", "scale", "scale_name", "band", "score_reason", "score_reason_code", "instrument_version",
         "instrument_hash", "engine_version", "baseline_reason", "previous_reason", "higher_is", "criterion",
         "cutoff_kind", "norm_id", "norm_stratum", "norm_reason")


class HistoryInputError(PsyscoreError, ValueError):
    """The administrations table cannot be turned into a history (missing column, bad date, bad score)."""


@dataclass
class HistoryResult:
    """A history and the bad cells found while scoring item answers, as :class:`scoring.ScoreResult` is for scores.

    ``frame`` has the columns :data:`HISTORY_COLUMNS`; ``failures`` has ``instrument`` then the columns of
    :attr:`scoring.ScoreResult.failures` (``row`` is the input's index label). ``cells`` is the number of
    item cells checked (rows scored from item answers × the items of their instrument), the denominator of
    the share of bad cells.
    """

    frame: pd.DataFrame
    failures: pd.DataFrame
    cells: int = 0

    @property
    def ok(self) -> bool:
        """Whether no answer was a bad cell."""
        return self.failures.empty

    def summary(self) -> str:
        """One line per failure code with counts, for a terminal."""
        if self.failures.empty:
            return f"{len(self.frame)} history row(s), no bad cells"
        counts = self.failures.groupby("code", sort=True).size()
        parts = ", ".join(f"{n} {code}" for code, n in counts.items())
        return (f"{len(self.frame)} history row(s); {len(self.failures)} problem(s) counted as missing "
                f"(of {self.cells} item cell(s)): {parts}")


def history(
    library: Library,
    data: pd.DataFrame,
    *,
    norms: Any = None,
    instrument: str | Sequence[str] | None = None,
    z: float = Z_95,
    strict: bool = False,
    accept_integral_floats: bool = False,
) -> HistoryResult:
    """One tidy row per patient × administration × scale, with change against baseline and previous.

    The arguments come in the order of :func:`scoring.score`, :func:`scoring.explain` and
    :func:`scoring.apply_norms`: the definitions, then the data, then keyword-only options. The old order
    ``history(data, library)`` still works for one release: it warns (``DeprecationWarning``) and returns the
    frame alone, as before.

    Parameters
    ----------
    library
        From :func:`scoring.load_library`.
    data
        Long table: ``patient``, ``date`` (ISO dates or datetimes), ``instrument`` (id), optionally
        ``instrument_version`` (default: the latest in the library) and respondent columns such as ``sex``;
        then, per instrument, **either** the item answers in columns named by item id (``phq9_1`` …),
        scored with the definition, **or** already-computed scores in columns named by scale id
        (``total``), **or** one score per row in ``scale`` and ``score`` columns. Item columns win when both
        are present. Answers that fail validation count as unanswered and are listed in ``failures``.
        Column names are matched as :func:`scoring.score` matches them: ignoring case and surrounding spaces
        (``PHQ9_1``, ``Patient``), and two columns equal in that sense are an error naming both
        (:class:`~scoring.engine.responses.DuplicateColumnError`) — conflicting answers are never resolved
        silently.
    norms
        A :class:`~scoring.norms.NormTable` or a sequence of them (one per instrument and scale), applied with
        :func:`scoring.apply_norms` to the rows of their instrument and scale; sex and age come from the
        input's ``sex`` and ``age`` columns (or age from ``birth_date`` at the administration date). Fills
        ``norm_id``, ``norm_stratum``, ``norm_percentile``, ``norm_z``, ``norm_t`` and ``norm_reason``
        (missing without norms).
    instrument
        Keep only these instrument ids.
    z
        Criterion for the Jacobson–Truax RCI (1.96 = 95% two-tailed).
    strict
        Raise :class:`~scoring.errors.ResponseValidationError` when an item answer fails validation instead
        of counting it as unanswered.
    accept_integral_floats
        Read an answer written ``2.0`` as 2 (``2.5`` is still a bad cell), as in :func:`scoring.score`.

    Returns
    -------
    HistoryResult
        ``frame``: the columns of :data:`HISTORY_COLUMNS`, sorted by patient, instrument, scale and date:
        ``administration`` (1 = the patient's first administration of that instrument), ``source_row``
        (the input's index label), ``score``, ``band``, ``severity``, ``valid``, ``score_reason``,
        ``score_reason_code`` (:data:`scoring.engine.reasons.REASON_CODES`), ``clinical`` (on the clinical
        side of the cut-off), the norm columns, then for ``baseline`` (the patient's first scored
        administration) and ``previous`` (the last scored administration before this one): ``_date``,
        ``_score``, ``_clinical``, ``_difference`` (this − that), ``_improvement`` (the difference in the
        healthy direction), ``_rci``, ``_rci_reliable``, ``_threshold_reliable``, ``_reliable``,
        ``_classification`` (recovered, reliably_improved, no_reliable_change, reliably_deteriorated),
        ``_mcid_met``, ``_reason`` (why a value is missing); then the change parameters used
        (:data:`scoring.change.PARAMETER_COLUMNS`) and the provenance. ``failures``: the bad cells, ``ok``
        and ``summary()`` as on :class:`scoring.ScoreResult`.

    Examples
    --------
    >>> import pandas as pd, scoring
    >>> lib = scoring.load_library()
    >>> data = pd.DataFrame({"patient": ["p1"] * 3, "date": ["2024-01-08", "2024-02-05", "2024-03-04"],
    ...                      "instrument": "phq9", "total": [18, 11, 8]})
    >>> h = scoring.history(lib, data)
    >>> print(h.frame[["date", "score", "band", "previous_difference", "baseline_classification"]].to_string())
            date  score               band  previous_difference baseline_classification
    0 2024-01-08   18.0  Moderately severe                  NaN                     NaN
    1 2024-02-05   11.0           Moderate                 -7.0       reliably_improved
    2 2024-03-04    8.0               Mild                 -3.0               recovered
    >>> h.ok
    True
    """
    if isinstance(library, pd.DataFrame) and isinstance(data, Library):
        warnings.warn("history(data, library) is deprecated: call history(library, data), which returns a "
                      "HistoryResult (.frame, .failures); the old order returns the frame alone for one release",
                      DeprecationWarning, stacklevel=2)
        return _history(data, library, norms=norms, instrument=instrument, z=z, strict=strict,
                        accept_integral_floats=accept_integral_floats).frame
    return _history(library, data, norms=norms, instrument=instrument, z=z, strict=strict,
                    accept_integral_floats=accept_integral_floats)


def score_history(
    data: pd.DataFrame,
    library: Library,
    *,
    norms: Any = None,
    instrument: str | Sequence[str] | None = None,
    z: float = Z_95,
    strict: bool = False,
    accept_integral_floats: bool = False,
) -> HistoryResult:
    """Deprecated (one release): :func:`history` with the old argument order; call ``history(library, data)``."""
    warnings.warn("score_history(data, library) is deprecated: call history(library, data), which returns the "
                  "same HistoryResult", DeprecationWarning, stacklevel=2)
    return _history(library, data, norms=norms, instrument=instrument, z=z, strict=strict,
                    accept_integral_floats=accept_integral_floats)


def _history(
    library: Library,
    data: pd.DataFrame,
    *,
    norms: Any,
    instrument: str | Sequence[str] | None,
    z: float,
    strict: bool,
    accept_integral_floats: bool,
) -> HistoryResult:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"history(library, data) takes a pandas DataFrame as data, not {type(data).__name__}")
    if not isinstance(library, Library):
        raise TypeError(f"history(library, data) takes a Library (scoring.load_library()) first, not "
                        f"{type(library).__name__}")
    data = match_item_columns(data, (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
    missing = [c for c in REQUIRED_COLUMNS if c not in data.columns]
    if missing:
        raise HistoryInputError(
            f"the administrations table has no column {', '.join(map(repr, missing))}; it needs "
            f"{', '.join(REQUIRED_COLUMNS)} and the item answers (columns named by item id, e.g. phq9_1) or "
            "the scores (columns named by scale id, e.g. total)"
        )
    frame = data
    ids = _text(frame["instrument"])
    if ids.isna().any():
        rows = list(frame.index[ids.isna().to_numpy()][:5])
        raise HistoryInputError(f"empty instrument id in row(s) {rows}; give an instrument id such as phq9")
    if instrument is not None:
        wanted = [instrument] if isinstance(instrument, str) else list(instrument)
        for w in wanted:
            library.get_version(w)  # unknown id: UnknownInstrumentError with a suggestion
        keep = ids.isin(wanted).to_numpy()
        frame, ids = frame[keep], ids[keep]
    dates = _dates(frame["date"])
    patients = frame["patient"]
    if patients.isna().any() or (patients.astype(str).str.strip() == "").any():
        bad = patients.isna() | (patients.astype(str).str.strip() == "")
        raise HistoryInputError(f"empty patient id in row(s) {list(frame.index[bad.to_numpy()][:5])}")
    versions = _text(frame["instrument_version"]) if "instrument_version" in frame.columns else None

    pieces: list[pd.DataFrame] = []
    failures: list[pd.DataFrame] = []
    cells = 0
    keys = pd.DataFrame({"i": ids, "v": versions if versions is not None else ""}, index=frame.index).fillna("")
    for key, idx in keys.groupby(["i", "v"], sort=True).groups.items():
        inst_id, version = cast("tuple[object, object]", key)  # two group columns: the key is a pair
        d = library.get_version(str(inst_id), str(version) or None)
        item_rows = match_item_columns(frame.loc[idx], (*d.plan.item_ids, *(sp.id for sp in d.plan.scales)))
        piece, bad_cells = _scale_rows(d, item_rows, strict, accept_integral_floats)
        if bad_cells is not None:
            cells += len(item_rows) * len(d.plan.item_ids)
        pieces.extend(piece)
        if bad_cells is not None and not bad_cells.empty:
            failures.append(bad_cells.assign(instrument=d.id)[["instrument", *bad_cells.columns]])
    long = _assemble(pieces, patients, dates)
    sexes = frame["sex"].to_numpy(dtype=object)[long["_pos"].to_numpy()] if "sex" in frame.columns else None
    long = _add_change(long, library, z, sexes)
    long = _finish(_add_norms(long, norms, frame, library))
    fail = (pd.concat(failures, ignore_index=True) if failures
            else pd.DataFrame({c: pd.Series(dtype=object) for c in ("instrument", "row", "item", "value", "code",
                                                                    "message")}))
    return HistoryResult(long, fail, cells)


# -- input ------------------------------------------------------------------------------------------------
def _text(col: pd.Series) -> pd.Series:
    """Stripped text, empty → NA."""
    out = col.astype(object).where(col.notna(), None).map(lambda v: None if v is None else str(v).strip())
    return out.where(out != "", None)


def _dates(col: pd.Series) -> pd.Series:
    """Parse dates (ISO text, datetimes); name the rows that are not dates."""
    if pd.api.types.is_datetime64_any_dtype(col):
        parsed = col
    else:
        text = col.astype(object).where(col.notna(), None)
        parsed = pd.to_datetime(text.map(lambda v: v if v is None or not isinstance(v, str) else v.strip() or None),
                                errors="coerce", format="ISO8601", utc=True)  # mixed offsets → one clock
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = parsed.isna()
    if bad.any():
        shown = [f"row {r}: {v!r}" for r, v in zip(col.index[bad.to_numpy()][:5], col[bad].iloc[:5], strict=True)]
        raise HistoryInputError(
            f"{int(bad.sum())} value(s) in column 'date' are not dates ({'; '.join(shown)}); "
            "write dates as YYYY-MM-DD (or YYYY-MM-DDTHH:MM)"
        )
    return parsed.astype("datetime64[ns]")


def _scale_rows(d: Definition, rows: pd.DataFrame, strict: bool, accept_integral_floats: bool = False
                ) -> tuple[list[pd.DataFrame], pd.DataFrame | None]:
    """One frame per scale for this instrument's rows: source_row, scale, score, band, severity, valid, reason."""
    plan = d.plan
    item_cols = [c for c in rows.columns if c in set(plan.item_ids)]
    out = []
    if item_cols:
        respondent = [c for c in rows.columns if c == "sex" or c in {a.respondent for a in plan.applicability}]
        res = score(d, rows[[*item_cols, *respondent]], strict=strict, accept_integral_floats=accept_integral_floats)
        sc = res.scores
        for sp in plan.scales:
            out.append(_piece(d, sp, rows.index, sc[sp.id].to_numpy(dtype=float),
                              sc[f"{sp.id}_band"].astype(object).where(sc[f"{sp.id}_band"].notna(), None).to_numpy(),
                              sc[f"{sp.id}_severity"].to_numpy(dtype=float, na_value=np.nan),
                              sc[f"{sp.id}_reason"].astype(object).where(sc[f"{sp.id}_reason"].notna(), "")
                              .to_numpy()))
        return out, res.failures
    scale_ids = [sp.id for sp in plan.scales]
    tidy = "scale" in rows.columns and "score" in rows.columns
    if not tidy and not any(s in rows.columns for s in scale_ids):
        raise HistoryInputError(
            f"rows of instrument {d.id!r} (e.g. row {rows.index[0]}) have neither item columns "
            f"({', '.join(plan.item_ids[:3])}, …) nor score columns ({', '.join(scale_ids)}); add one or the other"
        )
    if tidy:
        given_scale = _text(rows["scale"])
        unknown = sorted(set(given_scale.dropna()) - set(scale_ids))
        if unknown:
            raise HistoryInputError(f"instrument {d.id!r} has no scale {unknown[0]!r} (column 'scale'); its scales "
                                    f"are {', '.join(scale_ids)}")
    for sp in plan.scales:
        if tidy:
            sel = (given_scale == sp.id).to_numpy()
            if not sel.any():
                continue
            sub, col = rows[sel], "score"
        else:
            if sp.id not in rows.columns:
                values = np.full(len(rows), np.nan)
                out.append(_given(d, sp, rows.index, values, np.full(len(rows), REASON_NO_SCORE_GIVEN, dtype=object)))
                continue
            sub, col = rows, sp.id
        values = _numbers(sub[col], d.id, col, sp.range)
        reasons = np.where(np.isnan(values), REASON_NO_SCORE_GIVEN, "").astype(object)
        out.append(_given(d, sp, sub.index, values, reasons))
    return out, None


def _numbers(col: pd.Series, instrument_id: str, name: str, bounds: tuple[float, float]) -> np.ndarray:
    text = col.astype(object).where(col.notna(), None)
    empty = text.map(lambda v: v is None or (isinstance(v, str) and v.strip().lower() in MISSING_WORDS))
    values = pd.to_numeric(text.where(~empty, None), errors="coerce").astype(float)
    bad = values.isna() & ~empty
    if bad.any():
        r = col.index[bad.to_numpy()][0]
        raise HistoryInputError(f"{instrument_id} row {r}, column {name!r}: {col[r]!r} is not a number; give the "
                                "score as a number or leave the cell empty")
    lo, hi = bounds
    out = (values < lo) | (values > hi)
    if out.any():
        r = col.index[out.to_numpy()][0]
        raise HistoryInputError(f"{instrument_id} row {r}, column {name!r}: score {col[r]!r} is outside the scale's "
                                f"range {lo:g}–{hi:g}; check the instrument id and the score")
    return values.to_numpy()


def _given(d: Definition, sp, index: pd.Index, values: np.ndarray, reasons: np.ndarray) -> pd.DataFrame:
    labels, severity = assign_bands(sp, values)
    return _piece(d, sp, index, values, labels, severity, reasons)


def _piece(d: Definition, sp, index: pd.Index, values: np.ndarray, labels: np.ndarray, severity: np.ndarray,
           reasons: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "source_row": np.asarray(index, dtype=object),
        "instrument": d.id,
        "scale": sp.id,
        "scale_name": sp.name,
        "score": values,
        "band": labels,
        "severity": severity,
        "score_reason": reasons,
        "score_reason_code": _reason_codes(reasons),
        "instrument_version": d.version,
        "instrument_hash": d.hash,
    })


def _reason_codes(reasons: np.ndarray) -> np.ndarray:
    """The stable code of each reason text (None where the scale was scored)."""
    codes = {text: reason_code(text) for text in pd.unique(reasons)}
    return np.array([codes[t] for t in reasons], dtype=object)


# -- assembly ---------------------------------------------------------------------------------------------
def _assemble(pieces: list[pd.DataFrame], patients: pd.Series, dates: pd.Series) -> pd.DataFrame:
    if pieces:
        long = pd.concat(pieces, ignore_index=True)
    else:
        long = pd.DataFrame({c: pd.Series(dtype=object) for c in ("source_row", "instrument", "scale", "scale_name",
                                                                   "band", "score_reason", "score_reason_code",
                                                                   "instrument_version",
                                                                   "instrument_hash")})
        long["score"] = pd.Series(dtype=float)
        long["severity"] = pd.Series(dtype=float)
    pos = pd.Index(patients.index).get_indexer(long["source_row"].to_numpy())
    long["patient"] = patients.to_numpy()[pos] if len(long) else pd.Series(dtype=object)
    long["date"] = dates.to_numpy()[pos] if len(long) else pd.Series(dtype="datetime64[ns]")
    long["_pos"] = pos
    long = long.sort_values(["patient", "instrument", "scale", "date", "_pos"], kind="stable", key=_sort_key)
    return long.reset_index(drop=True)


def _sort_key(col: pd.Series) -> pd.Series:
    return col.astype(str) if col.name == "patient" else col


def _sex_strata(sexes: np.ndarray | None, idx: np.ndarray, scale: Scale) -> list[tuple[str | None, np.ndarray]]:
    """The rows ``idx`` split by sex where the scale publishes change parameters per sex (``change.by_sex``)
    and the history has a ``sex`` column: (``female``/``male``, rows) and (None, rows of unknown sex)."""
    if scale.change is None or not scale.change.by_sex or sexes is None:
        return [(None, idx)]
    codes, _ = sex_codes(pd.Series(sexes[idx], dtype=object))
    out: list[tuple[str | None, np.ndarray]] = []
    rest = np.ones(len(idx), dtype=bool)
    for sex in (Sex.FEMALE, Sex.MALE):
        hit = codes == SEX_CODES[sex]
        rest &= ~hit
        if hit.any():
            out.append((sex.value, idx[hit]))
    if rest.any():
        out.append((None, idx[rest]))
    return out


def _add_change(long: pd.DataFrame, library: Library, z: float, sexes: np.ndarray | None = None) -> pd.DataFrame:
    keys = [long["patient"].astype(str), long["instrument"], long["scale"]]
    valid = long["score"].notna()
    s_valid = long["score"].where(valid)
    d_valid = long["date"].where(valid)
    group = valid.groupby(keys, sort=False)
    long["administration"] = group.cumcount() + 1 if len(long) else pd.Series(dtype="int64")
    seen = group.cumsum()
    is_baseline = valid & (seen == 1)
    after = seen >= 1
    base_score = s_valid.groupby(keys, sort=False).transform("first").where(after)
    base_date = d_valid.groupby(keys, sort=False).transform("first").where(after)
    prev_score = s_valid.groupby(keys, sort=False).shift(1).groupby(keys, sort=False).ffill()
    prev_date = d_valid.groupby(keys, sort=False).shift(1).groupby(keys, sort=False).ffill()

    pre_base = base_score.where(~is_baseline)
    frames_b, frames_p, clinical = [], [], []
    for key, idx in long.groupby(["instrument", "instrument_version", "scale"], sort=False).indices.items():
        inst_id, version, scale_id = cast("tuple[str, str, str]", key)  # three text columns: a triple
        d = library.get_version(inst_id, version)
        sc = next(s for s in d.instrument.scales if s.id == scale_id)
        # reliability and SD published per sex are used for the rows of that sex (a group each, not a row loop)
        for sex, rows in _sex_strata(sexes, np.asarray(idx), sc):
            params = ChangeParameters.from_scale(sc, z=z, instrument_id=inst_id, sex=sex)
            ix = long.index[rows]
            post = long["score"].to_numpy()[rows]
            frames_b.append(compare(pre_base.to_numpy()[rows], post, params, index=ix))
            frames_p.append(compare(prev_score.to_numpy()[rows], post, params, index=ix))
            clinical.append(pd.Series(params.clinical(base_score.to_numpy()[rows]), index=ix))
    if frames_b:
        b = pd.concat(frames_b).reindex(long.index)
        p = pd.concat(frames_p).reindex(long.index)
        base_clinical = pd.concat(clinical).reindex(long.index).to_numpy()
    else:
        b = p = compare([], [], ChangeParameters.from_values(higher_is="neutral"))
        base_clinical = np.array([], dtype=float)
    b.loc[is_baseline.to_numpy(), "reason"] = REASON_BASELINE
    b.loc[(~after).to_numpy() & valid.to_numpy(), "reason"] = REASON_BEFORE_BASELINE

    long["valid"] = valid.to_numpy()
    long["clinical"] = b["post_clinical"].array
    long["baseline_date"] = base_date.to_numpy()
    long["baseline_score"] = base_score.to_numpy()
    long["baseline_clinical"] = _boolean_values(base_clinical)
    long["previous_date"] = prev_date.to_numpy()
    long["previous_score"] = prev_score.to_numpy()
    long["previous_clinical"] = p["pre_clinical"].array
    for name in COMPARISON_COLUMNS:
        if name in ("pre_clinical", "post_clinical"):
            continue
        long[f"baseline_{name}"] = b[name].array
        long[f"previous_{name}"] = p[name].array
    for name in PARAMETER_COLUMNS:
        long[name] = b[name].to_numpy()
    long["engine_version"] = ENGINE_VERSION
    return long


def _boolean_values(values: np.ndarray) -> pd.arrays.BooleanArray:
    """Float 1/0/NaN → nullable boolean."""
    values = np.asarray(values, dtype=float)
    known = ~np.isnan(values)
    return pd.arrays.BooleanArray(np.where(known, values, 0.0).astype(bool), ~known)


def _norm_tables(norms: Any) -> list[Any]:
    """A NormTable, or a sequence of them (at most one per instrument and scale)."""
    tables = [norms] if isinstance(norms, NormTable) else list(norms)
    seen: dict[tuple[str, str], str] = {}
    for t in tables:
        if not isinstance(t, NormTable):
            raise TypeError(f"norms must be NormTable objects (scoring.load_norms().get(id)), not {type(t).__name__}")
        key = (t.instrument_id, t.scale)
        if key in seen:
            raise HistoryInputError(f"two norm tables for {key[0]} {key[1]} ({seen[key]}, {t.id}); pass one")
        seen[key] = t.id
    return tables


def _add_norms(long: pd.DataFrame, norms: Any, frame: pd.DataFrame, library: Library) -> pd.DataFrame:
    """Fill the norm columns with :func:`scoring.apply_norms`, one call per table and instrument version.

    Sex and age come from the input's ``sex`` and ``age`` columns, or age from ``birth_date`` at the
    administration date.
    """
    for name in NORM_COLUMNS:
        long[name] = np.nan if name in ("norm_percentile", "norm_z", "norm_t") else None
    if norms is None or long.empty:
        return long
    pos = long["_pos"].to_numpy()
    respondent = {c: frame[c].to_numpy(dtype=object)[pos] for c in ("sex", "age", "birth_date") if c in frame.columns}
    for table in _norm_tables(norms):
        sel = (long["instrument"] == table.instrument_id) & (long["scale"] == table.scale)
        for version, idx in long[sel].groupby("instrument_version").groups.items():
            d = library.get_version(table.instrument_id, str(version))
            sub = pd.DataFrame({table.scale: long.loc[idx, "score"].to_numpy(dtype=float),
                                "date": long.loc[idx, "date"].to_numpy()})
            rows = long.index.get_indexer(idx)
            for col, values in respondent.items():
                sub[col] = values[rows]
            kwargs: dict[str, Any] = {}
            if "age" not in sub.columns and "birth_date" in sub.columns:
                kwargs = {"birth_date": "birth_date", "date": "date"}
            out = apply_norms(d, sub, table, **kwargs)
            for target, suffix in (("norm_percentile", "percentile"), ("norm_z", "z"), ("norm_t", "t")):
                long.loc[idx, target] = out[f"{table.scale}_{suffix}"].to_numpy(dtype=float)
            for target, suffix in (("norm_id", "norm_id"), ("norm_stratum", "norm_stratum"),
                                   ("norm_reason", "norm_reason")):
                norm_col = out[f"{table.scale}_{suffix}"].astype(object)
                long.loc[idx, target] = norm_col.where(norm_col.notna(), None).to_numpy()
    return long


def default_norms(norms: Any, history_frame: pd.DataFrame, *, sex_known: bool = False,
                  age_known: bool = False) -> list[Any]:
    """One norm table per instrument and scale of a history, where a shipped (or configured) table applies.

    A default for showing percentiles and T scores when nobody chose a table; a clinic that prefers another
    passes its own to :func:`history` / :func:`with_norms`. Of the tables for the instrument, scale and every
    definition version in the history, those whose strata the patient's data can fill (sex, age) are kept; the
    most specific (age and sex, then one of them, then none) wins, then primary over secondary evidence, then
    the most recent data collection, then the larger sample, then the id.

    Parameters
    ----------
    norms
        :func:`scoring.load_norms` (a ``NormLibrary``).
    history_frame
        From :func:`history` (``instrument``, ``scale``, ``instrument_version``).
    sex_known, age_known
        Whether the patient's sex and age (or birth date) are known.

    Examples
    --------
    >>> import pandas as pd, scoring
    >>> lib = scoring.load_library()
    >>> h = scoring.history(lib, pd.DataFrame({"patient": "p1", "date": ["2024-01-08"], "instrument": "phq9",
    ...                                        "total": [12]})).frame
    >>> [t.id for t in default_norms(scoring.load_norms(), h, sex_known=True)]
    ['phq9_kocalevent2013_de_sex']
    >>> [t.id for t in default_norms(scoring.load_norms(), h)]
    ['phq9_kliem2024_de_total']
    """
    out: list[Any] = []
    if history_frame.empty:
        return out
    pairs = history_frame.groupby(["instrument", "scale"], sort=True)["instrument_version"].agg(
        lambda v: sorted({str(x) for x in v}))
    for key, versions in pairs.items():
        inst, scale = cast("tuple[object, object]", key)  # two group columns: the key is a pair
        candidates = [t for t in norms.for_instrument(str(inst)) if t.scale == scale
                      and all(v in t.versions for v in versions)
                      and (sex_known or not t.needs_sex) and (age_known or not t.needs_age)]
        if not candidates:
            continue
        out.append(max(candidates, key=lambda t: (
            int(t.needs_sex) + int(t.needs_age), t.evidence == "primary", max(t.meta.years or [0]), t.meta.n or 0,
            t.id)))
    return out


def with_norms(history_frame: pd.DataFrame, library: Library, norms: Any, *, sex: object = None,
               age: float | None = None, birth_date: object = None) -> pd.DataFrame:
    """The history of one patient with its norm columns filled from ``norms`` (as :func:`history` would).

    For a history built without norms (e.g. from stored scores); the patient's ``sex`` and ``age`` (completed
    years, the same at every administration) or ``birth_date`` (age at each administration) stratify the tables
    that need them. The other columns are returned unchanged.
    """
    missing = [c for c in HISTORY_COLUMNS if c not in history_frame.columns]
    if missing:
        raise HistoryInputError(f"the history frame has no column {', '.join(missing[:3])}; build it with history()")
    if history_frame["patient"].astype(str).nunique() > 1:
        raise HistoryInputError("with_norms() takes the history of one patient (sex and birth date are per patient)")
    n = len(history_frame)
    long = history_frame.reset_index(drop=True).assign(_pos=np.arange(n))
    frame = pd.DataFrame(index=range(n))
    if sex is not None and not (isinstance(sex, str) and not sex.strip()):
        frame["sex"] = np.full(n, sex, dtype=object)
    if age is not None:
        frame["age"] = np.full(n, float(age))
    elif birth_date is not None:
        frame["birth_date"] = np.full(n, str(birth_date), dtype=object)
    out = _add_norms(long, norms, frame, library)
    result = history_frame.copy()
    for name in NORM_COLUMNS:
        values = out[name].to_numpy()
        result[name] = values.astype(float) if name in ("norm_percentile", "norm_z", "norm_t") else [
            None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values]
    return result


def normed_history(history_frame: pd.DataFrame, library: Library, norms: Any, *, sex: object = None,
                   birth_date: object = None) -> tuple[pd.DataFrame, list[Any]]:
    """One patient's history with percentiles and T scores wherever a norm table applies, and the tables used.

    :func:`default_norms` picks the tables (the patient's sex and birth date decide which strata can be used),
    :func:`with_norms` fills the columns. For a patient page or report built from stored scores.
    """
    sex_known = int(sex_codes([sex])[0][0]) in (SEX_CODES[Sex.FEMALE], SEX_CODES[Sex.MALE])  # the one list
    tables = [t for t in default_norms(norms, history_frame, sex_known=sex_known, age_known=birth_date is not None)
              if _versions_known(library, t.instrument_id, history_frame)]
    if not tables:
        return history_frame, []
    return with_norms(history_frame, library, tables, sex=sex, birth_date=birth_date), tables


def _versions_known(library: Library, instrument_id: str, history_frame: pd.DataFrame) -> bool:
    """Whether the library holds every version of the instrument the history names (norms need them)."""
    versions = {str(v) for v in history_frame.loc[history_frame["instrument"] == instrument_id, "instrument_version"]}
    try:
        for v in versions:
            library.get_version(instrument_id, v)
    except (KeyError, LookupError, ValueError):
        return False
    return True


def _finish(long: pd.DataFrame) -> pd.DataFrame:
    out = long[list(HISTORY_COLUMNS)].copy()
    for name in _TEXT:
        out[name] = out[name].astype(object).where(out[name].notna(), None)
    for name in ("patient", "source_row"):
        out[name] = out[name].astype(object)
    for name in ("date", "baseline_date", "previous_date"):
        out[name] = pd.to_datetime(out[name]).astype("datetime64[ns]")
    for name in ("score", "baseline_score", "previous_score"):
        out[name] = out[name].astype(float)
    out["severity"] = pd.array(out["severity"].to_numpy(dtype=float), dtype="Int64")
    out["administration"] = out["administration"].astype("int64")
    out["valid"] = out["valid"].astype(bool)
    out["clinical"] = out["clinical"].astype("boolean")
    return out


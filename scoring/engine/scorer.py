"""``score()``: validate responses (:mod:`.responses`) against the compiled plan, score with numpy (:mod:`.compute`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.definitions.library import Definition
from scoring.definitions.plan import Plan
from scoring.definitions.respondent import sex_codes as respondent_sex_codes
from scoring.engine import frames
from scoring.engine.columns import ColumnMapping, Columns, resolve_columns
from scoring.engine.compute import Applied, ScaleStages, traced_score_matrix
from scoring.engine.responses import DEFAULT_MISSING, ResponseCheck, check_responses, failure_frame, sort_failures
from scoring.errors import ResponseValidationError

__all__ = ["MultiScoreResult", "ScoreResult", "ScoreTrace", "score", "score_instruments", "traced_score"]


@dataclass
class ScoreResult:
    """Scores and the failures found in the input.

    ``scores`` keeps the input's index and non-item columns, then per scale ``<scale>``,
    ``<scale>_band``, ``<scale>_severity``, ``<scale>_n_answered``, ``<scale>_prorated``,
    ``<scale>_valid``, ``<scale>_reason`` and one boolean column per cut-off, then the flags,
    ``critical``, ``critical_items`` and the provenance columns. ``failures`` has one row per bad cell:
    ``row, item, value, code, message``. Both are of the kind :func:`score` was given (pandas, a Polars
    ``DataFrame`` or a ``pyarrow.Table``; types mapped as :mod:`scoring.engine.frames` documents).
    """

    scores: pd.DataFrame | Any
    failures: pd.DataFrame | Any
    definition: Definition

    @property
    def ok(self) -> bool:
        return len(self.failures) == 0

    def summary(self) -> str:
        """One line per failure code with counts, for a terminal."""
        if len(self.failures) == 0:
            return summarise(len(self.scores), {})
        counts = frames.to_pandas_failures(self.failures)["code"].value_counts()
        return summarise(len(self.scores), {str(code): int(n) for code, n in counts.items()})


def summarise(rows: int, counts: dict[str, int]) -> str:
    """:meth:`ScoreResult.summary` from the number of rows and the failures' counts by code."""
    if not counts:
        return f"{rows} row(s) scored, no bad cells"
    parts = ", ".join(f"{n} {code}" for code, n in sorted(counts.items()))
    return f"{rows} row(s) scored; {sum(counts.values())} problem(s) counted as missing: {parts}"


def score(
    definition: Definition,
    data: pd.DataFrame | Any,
    *,
    strict: bool = False,
    missing_values: Sequence[str] = DEFAULT_MISSING,
    accept_integral_floats: bool = False,
    columns: Columns | None = None,
) -> ScoreResult:
    """Score response data for one instrument.

    Parameters
    ----------
    definition
        A definition from the library (``lib["phq9"]``).
    data
        One row per administration; one column per item id (``phq9_1`` …). Other columns pass through
        unchanged; a ``sex`` column is used for sex-specific cut-offs and item applicability. A pandas
        ``DataFrame``, a Polars ``DataFrame`` or a ``pyarrow.Table``: the result is of the same kind.
    strict
        Raise :class:`~scoring.errors.ResponseValidationError` when any cell fails validation instead of
        counting it as missing.
    missing_values
        Text cells that mean "not answered" (compared ignoring case).
    accept_integral_floats
        Read text such as ``2.0`` as 2 (files written by statistics packages); ``2.5`` is still refused.
    columns
        Which column holds which item when they are not named by item id: a mapping
        ``{source column: item id}``, a pattern such as ``"q{n}"`` (``n`` = the item's position in the
        definition, 1-based), a prefix such as ``"PHQ"`` (``PHQ1``, ``PHQ_1`` …) or a resolved
        :class:`~scoring.engine.columns.ColumnMapping`; compared ignoring case (see
        :mod:`scoring.engine.columns`). An ambiguous or incomplete mapping raises
        :class:`~scoring.engine.columns.ColumnMappingError` listing what matched what. The mapped columns
        are read as the items (not passed through); ``failures`` name the item and, in ``message``, the column.

    Returns
    -------
    ScoreResult
        ``scores`` (same columns whatever the options) and ``failures``.

    Examples
    --------
    >>> import pandas as pd, scoring
    >>> lib = scoring.load_library()
    >>> df = pd.DataFrame({f"phq9_{i}": [v] for i, v in enumerate([3, 0, 1, 2, 0, 0, 1, 0, 3], start=1)})
    >>> res = scoring.score(lib["phq9"], df)
    >>> row = res.scores.iloc[0]
    >>> float(row["total"]), row["total_band"], bool(row["critical"]), row["critical_items"]
    (10.0, 'Moderate', True, 'phq9_9')
    >>> q = pd.DataFrame({f"Q{i}": [v] for i, v in enumerate([3, 0, 1, 2, 0, 0, 1, 0, 3], start=1)})
    >>> float(scoring.score(lib["phq9"], q, columns="q{n}").scores.iloc[0]["total"])
    10.0
    """
    if not isinstance(definition, Definition):
        raise TypeError(
            f"score() takes a Definition (e.g. load_library()['phq9']), not {type(definition).__name__}"
        )
    native = frames.to_native(data)  # None for pandas, which is scored as it is
    frame: pd.DataFrame = data if native is None else native.frame
    mapping = None
    if columns is not None:
        mapping = resolve_columns(definition, frame.columns, columns)
        frame = mapping.apply(frame)
        if native is not None:  # the passthrough columns are told apart from the scores by the renamed names
            native = frames.Native(native.kind, native.original, frame)
    result, _ = _run(definition, frame, missing_values=missing_values,
                     accept_integral_floats=accept_integral_floats, trace=False)
    if mapping is not None and mapping.renames() and not result.failures.empty:
        result = ScoreResult(result.scores, _name_columns(result.failures, mapping), definition)
    failures = result.failures
    if native is not None:
        result = ScoreResult(*frames.from_native(native, result.scores, failures), definition)
    if strict and not failures.empty:
        first = failures.iloc[0]
        where = f"row {first['row']}, " if first["row"] is not None else ""
        raise ResponseValidationError(
            result.failures,
            f"{len(failures)} bad cell(s) in the responses; first: {where}item {first['item']}, value "
            f"{first['value']!r}: {first['message']} [{first['code']}]",
        )
    return result


def _name_columns(failures: pd.DataFrame, mapping: ColumnMapping) -> pd.DataFrame:
    """Failures of mapped items say which column of the data the cell is in (``… (column 'PHQ3')``)."""
    named = {item: f" (column {str(col)!r})" for col, item in mapping.renames().items()}
    suffix = failures["item"].map(named).fillna("")
    return failures.assign(message=failures["message"].astype(str) + suffix.astype(str))


@dataclass
class ScoreTrace:
    """What one :func:`traced_score` run did, beside its scores: the trace a receipt renders.

    ``checked`` is the validated input, ``applied`` the item structure (gates, applicability, reverse
    keying), ``stages`` each scale's :class:`~scoring.engine.compute.ScaleStages`.
    """

    checked: ResponseCheck
    applied: Applied
    stages: dict[str, ScaleStages]


def traced_score(definition: Definition, data: pd.DataFrame, *, missing_values: Sequence[str] = DEFAULT_MISSING,
                 accept_integral_floats: bool = False) -> tuple[ScoreResult, ScoreTrace]:
    """:func:`score` (never strict) and, from the same run, the trace of every scale for every row.

    The trace holds per-item arrays: call it for the rows a receipt explains, not for a whole data set.
    """
    if not isinstance(definition, Definition):
        raise TypeError(
            f"traced_score() takes a Definition (e.g. load_library()['phq9']), not {type(definition).__name__}"
        )
    result, trace = _run(definition, data, missing_values=missing_values,
                         accept_integral_floats=accept_integral_floats, trace=True)
    if trace is None:  # pragma: no cover - _run(trace=True) always returns one
        raise RuntimeError("the engine returned no trace")
    return result, trace


def _run(definition: Definition, data: pd.DataFrame, *, missing_values: Sequence[str],
         accept_integral_floats: bool, trace: bool) -> tuple[ScoreResult, ScoreTrace | None]:
    plan = definition.plan
    checked = check_responses(plan, data, missing_values=missing_values,
                              accept_integral_floats=accept_integral_floats)
    passthrough = data[checked.passthrough]
    scores, applied, stages = traced_score_matrix(plan, checked.matrix, passthrough, data.index, trace=trace)
    clash = [c for c in checked.passthrough if c in scores.columns]
    if clash:
        raise ValueError(
            f"input column(s) {', '.join(map(str, clash))} have the same name as score output columns; "
            "rename them before scoring"
        )
    failures = _all_failures(plan, applied, data, checked)
    out = pd.concat([passthrough, scores], axis=1) if checked.passthrough else scores
    return ScoreResult(out, failures, definition), (ScoreTrace(checked, applied, stages) if trace else None)


def _uses_sex(plan: Plan) -> bool:
    return (any(r.respondent == "sex" for r in plan.applicability)
            or any(s != "any" for sp in plan.scales for cut in sp.cutoffs for s, _, _ in cut.entries))


def _unrecognised_sex(plan: Plan, data: pd.DataFrame, checked: ResponseCheck) -> list[pd.DataFrame]:
    """Sex values the one list (:data:`scoring.definitions.respondent.SEX_WORDS`) refuses, where they matter.

    The row is still scored: its sex-specific cut-offs are unknown and items for one sex apply, as for an
    unrecorded sex; the failure says why, so nothing is dropped silently.
    """
    if "sex" not in checked.passthrough or not _uses_sex(plan):
        return []
    _, bad = respondent_sex_codes(data["sex"])
    if not bad.any():
        return []
    rows = np.flatnonzero(bad)
    return [failure_frame(list(data.index[rows]), "sex", list(data["sex"].to_numpy(dtype=object)[rows]),
                          "unrecognised_sex", "not a recognised sex; use female (f, w, woman), male (m, man), "
                          "other (x, diverse) or leave it empty — sex-specific rules are unknown for this row",
                          rows.tolist())]


def _all_failures(plan: Plan, applied: Applied, data: pd.DataFrame, checked: ResponseCheck) -> pd.DataFrame:
    """The input's bad cells, then answers ignored by gates or applicability and refused sex values, in order."""
    frames = [*_ignored_answers(plan, applied, data.index), *_unrecognised_sex(plan, data, checked)]
    if not frames:
        return checked.failures
    merged, _ = sort_failures([checked.failures.assign(_pos=checked.positions), *frames], plan.item_ids)
    return merged


def _ignored_answers(plan: Plan, applied: Applied, index: pd.Index) -> list[pd.DataFrame]:
    """Failure frames of answers ignored because a gate was closed or the item did not apply."""
    frames = []
    for mask, code, message in (
        (applied.ignored_not_shown, "not_shown", "answered although its gate question excluded it; ignored"),
        (applied.ignored_not_applicable, "not_applicable", "does not apply to this respondent; ignored"),
    ):
        if mask is None or not mask.any():
            continue
        rows, cols = np.nonzero(mask)
        for k in np.unique(cols):
            sel = rows[cols == k]
            # plain Python numbers, so the table shows 2 (not np.float64(2.0)) for an answer of 2
            given = [int(v) if float(v).is_integer() else float(v) for v in applied.raw[sel, k]]
            frames.append(failure_frame(list(index[sel]), plan.item_ids[k], given, code, message, sel.tolist()))
    return frames


#: columns of :attr:`MultiScoreResult.failures`
MULTI_FAILURE_COLUMNS = ("instrument", "row", "item", "value", "code", "message")
#: respondent columns every instrument of :func:`score_instruments` is given (sex-specific rules, norms)
RESPONDENT_COLUMNS = ("sex", "age")


@dataclass
class MultiScoreResult:
    """Scores of several instruments on the same rows (:func:`score_instruments`).

    ``scores`` holds the input's columns that no instrument read, once, then per instrument (in the order
    given) its score columns prefixed by the instrument id and a dot: ``phq9.total``, ``phq9.total_band``, …,
    ``phq9.critical``, ``phq9.instrument_version``, then ``gad7.total`` … — the same columns, in the same
    order, as :func:`score` gives each instrument alone. ``failures`` has the columns ``instrument, row,
    item, value, code, message``, ordered by row (problems of a whole column first), then instrument.
    ``mappings`` says which column held which item, per instrument.
    """

    scores: pd.DataFrame
    failures: pd.DataFrame
    definitions: tuple[Definition, ...]
    mappings: dict[str, ColumnMapping]

    @property
    def ok(self) -> bool:
        return len(self.failures) == 0

    def summary(self) -> str:
        """One line per failure code with counts (over all instruments), for a terminal."""
        counts = frames.to_pandas_failures(self.failures)["code"].value_counts()
        return summarise(len(self.scores), {str(code): int(n) for code, n in counts.items()})


def score_instruments(
    definitions: Sequence[Definition],
    data: pd.DataFrame | Any,
    *,
    columns: Mapping[str, Columns | None] | None = None,
    strict: bool = False,
    missing_values: Sequence[str] = DEFAULT_MISSING,
    accept_integral_floats: bool = False,
) -> MultiScoreResult:
    """Score several instruments held in one table (one row per respondent or administration).

    Parameters
    ----------
    definitions
        The instruments, each once (``[lib["phq9"], lib["gad7"]]``); the output follows this order.
    data
        A pandas ``DataFrame``, a Polars ``DataFrame`` or a ``pyarrow.Table`` holding the items of every
        instrument; ``scores`` and ``failures`` are of the same kind (types as for :func:`score`).
    columns
        Per instrument id, its ``columns=`` as for :func:`score` (a mapping, a pattern, a prefix or a
        :class:`~scoring.engine.columns.ColumnMapping`); an instrument not named has its items named by item
        id. Two instruments read the same column only when a mapping says so (e.g. PHQ-8 from the PHQ-9
        columns: ``{"phq8": "phq9_{n}"}``); a column is never taken by its name for another instrument.
    strict, missing_values, accept_integral_floats
        As for :func:`score`.

    Each instrument is scored with its own columns plus the respondent columns ``sex`` and ``age``; every
    column no instrument reads passes through once (columns named like an instrument's item that are not
    one — ``phq9_11`` — are reported as ``unknown_item`` and ignored, as :func:`score` does).

    Examples
    --------
    >>> import pandas as pd, scoring
    >>> from scoring.engine.scorer import score_instruments
    >>> lib = scoring.load_library()
    >>> df = pd.DataFrame({"id": ["a"], **{f"PHQ{i}": [1] for i in range(1, 10)},
    ...                    **{f"gad7_{i}": [2] for i in range(1, 8)}})
    >>> res = score_instruments([lib["phq9"], lib["gad7"]], df, columns={"phq9": "PHQ"})
    >>> row = res.scores.iloc[0]
    >>> row["id"], float(row["phq9.total"]), float(row["gad7.total"])
    ('a', 9.0, 14.0)
    """
    native = frames.to_native(data)  # None for pandas
    if native is None and not isinstance(data, pd.DataFrame):
        raise TypeError(f"score_instruments() takes a pandas or Polars DataFrame or a pyarrow Table, not "
                        f"{type(data).__name__}")
    if native is not None:
        data = native.frame
    defs = tuple(definitions)
    for d in defs:
        if not isinstance(d, Definition):
            raise TypeError(f"score_instruments() takes Definitions (e.g. load_library()['phq9']), not "
                            f"{type(d).__name__}")
    ids = [d.id for d in defs]
    if not defs or len(set(ids)) != len(ids):
        raise ValueError(f"score_instruments() takes each instrument once, and at least one; got {ids}")
    specs = dict(columns or {})
    unknown = [k for k in specs if k not in ids]
    if unknown:
        raise ValueError(f"columns= names instrument(s) {', '.join(map(repr, unknown))} that are not being scored "
                         f"({', '.join(ids)})")
    mappings = {d.id: resolve_columns(d, data.columns, specs.get(d.id)) for d in defs}
    readers: dict[object, list[str]] = {}
    for iid, m in mappings.items():
        for col in m.columns:
            readers.setdefault(col, []).append(iid)
    prefixes = tuple(f"{i}_" for i in ids)
    passthrough = [c for c in data.columns if c not in readers and not str(c).strip().lower().startswith(prefixes)]
    blocks: list[pd.DataFrame] = []
    fails: list[pd.DataFrame] = []
    for d in defs:
        m = mappings[d.id]
        own = set(m.columns)
        extra = [c for c in data.columns if c not in readers
                 and (c in RESPONDENT_COLUMNS or str(c).strip().lower().startswith(f"{d.id}_"))]
        sub = data[[c for c in data.columns if c in own or c in extra]]
        result = score(d, sub, columns=m if specs.get(d.id) is not None else None, strict=False,
                       missing_values=missing_values, accept_integral_floats=accept_integral_floats)
        given = set(sub.columns)
        computed = [c for c in result.scores.columns if c not in given]
        blocks.append(result.scores[computed].add_prefix(f"{d.id}."))
        fails.append(result.failures.assign(instrument=d.id)[list(MULTI_FAILURE_COLUMNS)])
    scores = pd.concat([data[passthrough], *blocks], axis=1)
    clash = sorted({str(c) for c in scores.columns if list(scores.columns).count(c) > 1})
    if clash:
        raise ValueError(f"input column(s) {', '.join(clash)} have the same name as score output columns; rename "
                         "them before scoring")
    failures = _order_failures(fails, data.index, ids)
    if strict and not failures.empty:
        first = failures.iloc[0]
        where = f"row {first['row']}, " if first["row"] is not None else ""
        raise ResponseValidationError(
            failures, f"{len(failures)} bad cell(s) in the responses; first: {first['instrument']} {where}item "
            f"{first['item']}, value {first['value']!r}: {first['message']} [{first['code']}]")
    if native is not None:
        return MultiScoreResult(*_native_multi(native, scores, failures), defs, mappings)
    return MultiScoreResult(scores, failures, defs, mappings)


def _native_multi(native: frames.Native, scores: pd.DataFrame, failures: pd.DataFrame) -> tuple[Any, Any]:
    """Scores and failures of :func:`score_instruments` as the kind of ``native`` (types as :func:`score` maps
    them; the failures' ``instrument`` a string column first)."""
    import pyarrow as pa

    out, fail = frames.from_native(native, scores, failures[list(MULTI_FAILURE_COLUMNS[1:])])
    instrument = pa.array(failures["instrument"].astype(object).tolist(), type=pa.string())
    if native.kind == "arrow":
        return out, fail.add_column(0, pa.field("instrument", pa.string()), instrument)
    import polars as pl

    return out, fail.insert_column(0, pl.Series("instrument", instrument.to_pylist(), dtype=pl.String))


def _order_failures(fails: list[pd.DataFrame], index: pd.Index, ids: Sequence[str]) -> pd.DataFrame:
    """The instruments' failures as one table by row position (whole-column problems first), then instrument.

    With an index that is not unique the rows cannot be told apart by label: the instruments' tables are then
    kept one after the other.
    """
    frames_ = [f for f in fails if not f.empty]
    if not frames_:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in MULTI_FAILURE_COLUMNS})
    out = pd.concat(frames_, ignore_index=True)
    if not index.is_unique:
        return out
    rows = out["row"]
    present = rows.notna().to_numpy()
    pos = np.full(len(out), -1, dtype=np.int64)
    if present.any():
        pos[present] = index.get_indexer(pd.Index(rows[present].tolist()))
    rank = out["instrument"].map({i: k for k, i in enumerate(ids)}).to_numpy(dtype=np.int64)
    order = np.lexsort((rank, pos))  # stable: within one row and instrument the engine's order stays
    return out.iloc[order].reset_index(drop=True)

"""``scoring.spark.analyze``: :func:`scoring.reliability.analyze` from per-partition sufficient statistics.

Every statistic of the reliability report is a function of a few sums over respondents, so each Spark task
computes those sums over its rows (with numpy, one matrix product each) and the driver adds them up and
finishes the computation with the same functions as the single-machine report
(:func:`~scoring.reliability.alpha_from_cov`, :func:`~scoring.reliability.omega_from_cor`,
:func:`~scoring.reliability.alpha.item_table`). Per scale and missing-data method, over the rows analysed
(``pairwise``: rows with at least one of the scale's items answered; ``listwise``: rows with all of them):

* ``n_obs`` and, with ``M`` the 0/1 matrix of answered cells and ``Z = X − c`` the keyed answers shifted by
  the midpoint ``c`` of each item's range (0 where missing): ``N = MᵀM`` (pair counts), ``S = ZᵀM``,
  ``P = ZᵀZ``, ``Q = (Z∘Z)ᵀM`` — from which the pairwise covariances and correlations of
  :mod:`scoring.reliability._moments` follow exactly as there (the formulas are invariant to the shift);
* per item, the answers at its lowest and at its highest option;
* per scale (the same under both methods): scored rows, scores at the declared minimum and maximum, and the
  sum and sum of squares of ``score − midpoint``.

Answers are whole (or half) numbers, so the shifted sums are exact in float64 whatever the partitioning; the
driver's results equal the single-machine report to rounding (tests/spark check 1e-9).
The failures (bad cells, analysed as missing) are collected to the driver as a pandas frame, as the
single-machine report holds them; on data with very many bad cells, look at them with
:func:`scoring.spark.score` instead (a Spark DataFrame).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scoring.definitions.library import Definition
from scoring.definitions.plan import Plan
from scoring.engine.responses import FAILURE_COLUMNS
from scoring.reliability import ReliabilityReport
from scoring.reliability._moments import Moments, check_missing
from scoring.reliability.report import ReportRows
from scoring.reliability.scale import WARNING_FIELDS, ScaleReliability, item_analysis
from scoring.spark._score import map_in_arrow

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

__all__ = ["analyze"]

_SCORE_STATS = 5  # n_scored, at floor, at ceiling, Σ(s − c), Σ(s − c)²


def _layout(plan: Plan, methods: Sequence[str]) -> int:
    """Length of one partition's statistics vector."""
    size = 1  # rows
    for sp in plan.scales:
        k = len(sp.index)
        size += _SCORE_STATS + len(methods) * (1 + 4 * k * k + 2 * k)
    return size


def _midpoint(lo: np.ndarray | float, hi: np.ndarray | float) -> np.ndarray:
    return (np.asarray(lo, dtype=float) + np.asarray(hi, dtype=float)) / 2.0


def partition_statistics(definition: Definition, data: pd.DataFrame, methods: Sequence[str], *,
                         accept_integral_floats: bool = False) -> tuple[np.ndarray, pd.DataFrame]:
    """The sufficient statistics of one part of the data (see the module docstring) and its bad cells.

    Adding the vectors of the parts of a data set gives the vector of the whole, from which
    :func:`report_from_statistics` computes the report.
    """
    from scoring.engine import score as engine_score
    from scoring.engine.responses import check_responses

    plan = definition.plan
    checked = check_responses(plan, data, accept_integral_floats=accept_integral_floats)
    keyed = np.where(plan.reverse, plan.lo + plan.hi - checked.matrix, checked.matrix)
    clashes = [c for c in data.columns if str(c) in set(plan.output_columns) and str(c) not in plan.item_ids]
    scored = engine_score(definition, data.drop(columns=clashes), accept_integral_floats=accept_integral_floats).scores
    parts: list[np.ndarray] = [np.array([float(len(data))])]
    for sp in plan.scales:
        idx = np.asarray(sp.index)
        x = keyed[:, idx]
        lo, hi = plan.lo[idx].astype(float), plan.hi[idx].astype(float)
        shift = _midpoint(lo, hi)
        answered = ~np.isnan(x)
        keep = answered.any(axis=1)
        valid = scored[f"{sp.id}_valid"].to_numpy(dtype=bool, na_value=False)
        values = pd.to_numeric(scored[sp.id], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        s = np.where(valid, values, np.nan)[keep]
        s = s[~np.isnan(s)]
        s_lo, s_hi = float(sp.range[0]), float(sp.range[1])
        centred = s - float(_midpoint(s_lo, s_hi))
        parts.append(np.array([s.size, np.sum(np.abs(s - s_lo) <= 1e-9), np.sum(np.abs(s - s_hi) <= 1e-9),
                               centred.sum(), (centred * centred).sum()], dtype=float))
        for method in methods:
            rows = keep if method == "pairwise" else answered.all(axis=1)
            xa = x[rows]
            m = answered[rows].astype(np.float64)
            z = np.where(answered[rows], xa - shift, 0.0)
            with np.errstate(invalid="ignore"):
                at_lo = (np.abs(xa - lo) <= 1e-9).sum(axis=0)
                at_hi = (np.abs(xa - hi) <= 1e-9).sum(axis=0)
            parts += [np.array([float(rows.sum())]), (m.T @ m).ravel(), (z.T @ m).ravel(), (z.T @ z).ravel(),
                      ((z * z).T @ m).ravel(), at_lo.astype(float), at_hi.astype(float)]
    return np.concatenate(parts), checked.failures


def _moments(n_obs: int, n_pairs: np.ndarray, s: np.ndarray, p: np.ndarray, q: np.ndarray, shift: np.ndarray
             ) -> Moments:
    """:func:`scoring.reliability._moments.moments` from its sums (shifted by ``shift``; see there)."""
    k = n_pairs.shape[0]
    counts = np.diag(n_pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, np.diag(s) / np.maximum(counts, 1) + shift, np.nan)
        denom = np.where(n_pairs > 1, n_pairs - 1.0, np.nan)
        safe_n = np.where(n_pairs > 0, n_pairs, np.nan)
        cov = (p - s * s.T / safe_n) / denom
        var = np.diag(cov).copy()
        sd = np.sqrt(var)
        var_given = (q - s * s / safe_n) / denom
        cor = cov / np.sqrt(var_given * var_given.T)
        if k:
            np.fill_diagonal(cor, np.where(var > 0, 1.0, np.nan))
    return Moments(n_obs=n_obs, n_pairs=n_pairs, cov=cov, cor=cor, mean=mean, sd=sd)


def _scale(m: Moments, names: list[str], at_lo: np.ndarray, at_hi: np.ndarray, score_stats: np.ndarray,
           score_range: tuple[float, float], *, missing: str, ci_level: float) -> ScaleReliability:
    """:func:`scoring.reliability.scale_reliability` from the scale's statistics, step for step."""
    counts = np.diag(m.n_pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        floor_pct = np.where(counts > 0, at_lo / counts * 100.0, np.nan)
        ceiling_pct = np.where(counts > 0, at_hi / counts * 100.0, np.nan)
    alpha, omega, items, warnings = item_analysis(m, names, floor_pct, ceiling_pct, missing=missing,
                                                  ci_level=ci_level)
    n_scored, n_floor, n_ceiling, total, squares = score_stats
    n = int(n_scored)
    centre = (score_range[0] + score_range[1]) / 2.0
    nan = float("nan")
    mean = total / n + centre if n else nan
    sd = float(np.sqrt(max(squares - total * total / n, 0.0) / (n - 1))) if n > 1 else nan
    return ScaleReliability(
        alpha=alpha, omega=omega, items=items,
        floor_pct=float(n_floor / n * 100.0) if n else nan, ceiling_pct=float(n_ceiling / n * 100.0) if n else nan,
        n_scored=n, score_mean=float(mean), score_sd=sd, score_range=score_range,
        warnings=pd.DataFrame(warnings, columns=list(WARNING_FIELDS)).astype(object), missing=missing,
    )


def report_from_statistics(definition: Definition, stats: np.ndarray, failures: pd.DataFrame,
                           methods: Sequence[str], *, ci_level: float = 0.95) -> ReliabilityReport:
    """The :class:`~scoring.reliability.ReliabilityReport` of a data set from its summed statistics vector."""
    plan = definition.plan
    methods = tuple(methods)
    if stats.shape != (_layout(plan, methods),):
        raise ValueError(f"statistics vector of length {stats.shape}, expected {_layout(plan, methods)}")
    rows = ReportRows(definition)
    at = 1
    for sp in plan.scales:
        idx = np.asarray(sp.index)
        k = idx.size
        names = [plan.item_ids[i] for i in idx]
        shift = _midpoint(plan.lo[idx], plan.hi[idx])
        score_stats = stats[at:at + _SCORE_STATS]
        at += _SCORE_STATS
        for method in methods:
            n_obs = round(stats[at])
            at += 1
            n_pairs, s, p, q = (stats[at + b * k * k:at + (b + 1) * k * k].reshape(k, k) for b in range(4))
            at += 4 * k * k
            at_lo, at_hi = stats[at:at + k], stats[at + k:at + 2 * k]
            at += 2 * k
            m = _moments(n_obs, n_pairs, s, p, q, shift)
            res = _scale(m, names, at_lo, at_hi, score_stats, (float(sp.range[0]), float(sp.range[1])),
                         missing=method, ci_level=ci_level)
            rows.add(sp.id, method, k, res)
    return rows.report(failures=failures, n_rows=round(stats[0]), methods=methods, ci_level=ci_level)


_KIND, _STATS = "__psyscore_kind", "__psyscore_stats"


def _partition_runner(broadcast: Any, methods: tuple[str, ...], accept_integral_floats: bool, row_id: str | None,
                      hidden: str, target: pa.Schema
                      ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """What each task runs: its statistics summed over its batches (one row), then its bad cells (rows)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        from scoring.engine.frames import arrow_to_pandas

        definition = broadcast.value
        total: np.ndarray | None = None
        row_field = target.field("row")
        for batch in batches:
            if batch.num_rows == 0:
                continue
            table = pa.Table.from_batches([batch])
            ids = table.column(row_id if row_id is not None else hidden)
            data = arrow_to_pandas(table.drop_columns([hidden]) if row_id is None else table)
            data.index = pd.Index(ids.to_pylist(), dtype=object)
            stats, failures = partition_statistics(definition, data, methods,
                                                   accept_integral_floats=accept_integral_floats)
            total = stats if total is None else total + stats
            failures = failures[failures["row"].notna()]
            if len(failures):
                n = len(failures)
                arrays = [pa.array([1] * n, pa.int8()), pa.nulls(n, target.field(_STATS).type),
                          pa.array(failures["row"].tolist(), type=row_field.type),
                          *(pa.array(failures[c].astype(object).tolist(), type=pa.string())
                            for c in FAILURE_COLUMNS[1:])]
                yield pa.RecordBatch.from_arrays(arrays, schema=target)
        if total is not None:
            arrays = [pa.array([0], pa.int8()), pa.array([total.tolist()], type=target.field(_STATS).type),
                      pa.nulls(1, row_field.type), *(pa.nulls(1, pa.string()) for _ in FAILURE_COLUMNS[1:])]
            yield pa.RecordBatch.from_arrays(arrays, schema=target)

    return run


def analyze(
    definition: Definition,
    spark_df: DataFrame,
    *,
    missing: Sequence[str] = ("pairwise", "listwise"),
    ci_level: float = 0.95,
    accept_integral_floats: bool = False,
    row_id: str | None = None,
) -> ReliabilityReport:
    """:func:`scoring.reliability.analyze` of a Spark DataFrame, computed from per-partition statistics.

    Parameters
    ----------
    definition
        A definition from the library; broadcast to the executors.
    spark_df
        One row per administration, one column per item id (other columns are ignored).
    missing, ci_level, accept_integral_floats
        As for :func:`scoring.reliability.analyze`.
    row_id
        A column identifying rows: the ``row`` of the report's failures. Without it, the failures' ``row`` is
        ``monotonically_increasing_id()`` of the input row.

    Returns
    -------
    ReliabilityReport
        The single-machine report's tables with the same numbers (to 1e-9); ``failures`` is collected to the
        driver as pandas (column problems first, then by row).
    """
    import pyarrow as pa
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    from scoring.engine.frames import arrow_to_pandas
    from scoring.engine.responses import check_responses

    if not isinstance(definition, Definition):
        raise TypeError(f"analyze() takes a Definition, not {type(definition).__name__}")
    methods = tuple(missing)
    for method in methods:
        check_missing(method)
    names = list(spark_df.columns)
    hidden = "__psyscore_row"
    if row_id is not None and row_id not in names:
        raise ValueError(f"row_id column {row_id!r} is not in the input (columns: {', '.join(names)})")
    source = spark_df if row_id is not None else spark_df.withColumn(hidden, F.monotonically_increasing_id())
    in_arrow = to_arrow_schema(source.schema, timezone="UTC")
    row_type = in_arrow.field(row_id if row_id is not None else hidden).type
    target = pa.schema([(_KIND, pa.int8()), (_STATS, pa.list_(pa.float64())), ("row", row_type),
                        *((c, pa.string()) for c in FAILURE_COLUMNS[1:])])
    empty = arrow_to_pandas(in_arrow.empty_table().drop_columns([hidden]) if row_id is None
                            else in_arrow.empty_table())
    column_failures = check_responses(definition.plan, empty, accept_integral_floats=accept_integral_floats).failures
    broadcast = spark_df.sparkSession.sparkContext.broadcast(definition)
    out = map_in_arrow(source, _partition_runner(broadcast, methods, accept_integral_floats, row_id, hidden, target),
                       from_arrow_schema(target))
    collected = out.collect()
    stats = np.zeros(_layout(definition.plan, methods))
    rows: list[dict[str, Any]] = []
    for r in collected:
        if r[_KIND] == 0:
            stats += np.asarray(r[_STATS], dtype=float)
        else:
            rows.append({c: r[c] for c in FAILURE_COLUMNS})
    order = {item: k for k, item in enumerate(definition.plan.item_ids)}
    rows.sort(key=lambda f: (f["row"], order.get(f["item"], len(order))))
    failures = pd.concat([column_failures.reset_index(drop=True),
                          pd.DataFrame(rows, columns=list(FAILURE_COLUMNS)).astype(object)], ignore_index=True) \
        if rows else column_failures.reset_index(drop=True)
    return report_from_statistics(definition, stats, failures, methods, ci_level=ci_level)

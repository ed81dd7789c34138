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
from scoring.reliability import WARNING_CODES, ReliabilityReport
from scoring.reliability._moments import Moments, check_missing
from scoring.reliability.alpha import ITEM_STAT_COLUMNS, alpha_from_cov, item_table
from scoring.reliability.omega import omega_from_cor
from scoring.reliability.report import ITEM_COLUMNS, SCALE_COLUMNS, WARNING_COLUMNS
from scoring.reliability.scale import SCALE_ITEM_COLUMNS, WARNING_FIELDS, ScaleReliability
from scoring.spark._score import map_in_arrow

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

__all__ = ["analyze"]

_SCORE_STATS = 5  # n_scored, at floor, at ceiling, Σ(s − c), Σ(s − c)²


def _fmt(v: float) -> str:
    """A statistic in a warning's text, as :mod:`scoring.reliability.scale` writes it."""
    return "NA" if not np.isfinite(v) else f"{v:.3f}"


_INT_COLUMNS = {"n_items", "n_obs", "n_scored", "n_miskeyed", "n"}
_BOOL_COLUMNS = {"reverse", "miskeyed"}
_TEXT_COLUMNS = {"instrument_id", "instrument_version", "scale_id", "missing", "item"}


def _concat(frames: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    """The report's tables joined, with their columns even when empty (as :mod:`scoring.reliability.report`)."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(frames, ignore_index=True)[list(columns)]


def _typed(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The report's column dtypes whatever the rows (as :mod:`scoring.reliability.report`; the tests compare)."""
    out: dict[str, pd.Series] = {}
    for c in columns:
        col = frame[c]
        if c in _INT_COLUMNS:
            out[c] = col.astype(np.int64)
        elif c in _BOOL_COLUMNS:
            out[c] = col.astype(bool)
        elif c in _TEXT_COLUMNS:
            out[c] = col.astype(object)
        else:
            out[c] = col.astype(np.float64)
    return pd.DataFrame(out, columns=list(columns))


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
    warnings: list[dict[str, Any]] = []
    varies = np.isfinite(m.sd) & (m.sd > 0)
    for name in np.asarray(names, dtype=object)[~varies]:
        warnings.append({"item": name, "code": "no_variance",
                         "message": f"{name} has no variance (or fewer than two answers) and was left out"})
    idx = np.flatnonzero(varies)
    sub_cov = m.cov[np.ix_(idx, idx)]
    sub_cor = m.cor[np.ix_(idx, idx)]
    alpha = alpha_from_cov(sub_cov, m.n_obs, ci_level=ci_level, missing=missing)
    omega = omega_from_cor(sub_cor, n_obs=m.n_obs, missing=missing)
    items = pd.DataFrame({"item": pd.Series(names, dtype=object), "n": np.diag(m.n_pairs).astype(np.int64),
                          "mean": m.mean, "sd": m.sd})
    for col in ITEM_STAT_COLUMNS[4:]:
        items[col] = False if col == "miskeyed" else np.nan
    if idx.size:
        sub = item_table(Moments(m.n_obs, m.n_pairs[np.ix_(idx, idx)], sub_cov, sub_cor, m.mean[idx], m.sd[idx]),
                         [names[i] for i in idx])
        for col in ITEM_STAT_COLUMNS[4:]:
            items.loc[idx, col] = sub[col].to_numpy()
    items["miskeyed"] = items["miskeyed"].astype(bool)
    counts = np.diag(m.n_pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        items["floor_pct"] = np.where(counts > 0, at_lo / counts * 100.0, np.nan)
        items["ceiling_pct"] = np.where(counts > 0, at_hi / counts * 100.0, np.nan)
    items = items[list(SCALE_ITEM_COLUMNS)]
    if idx.size < 2:
        warnings.append({"item": None, "code": "too_few_items",
                         "message": f"{idx.size} item(s) with variance: alpha and omega are undefined"})
    if m.n_obs < 3:
        warnings.append({"item": None, "code": "too_few_respondents",
                         "message": f"{m.n_obs} respondent(s) analysed ({missing}): the statistics are undefined"})
    miskeyed = items.loc[items["miskeyed"]]
    for item, r_drop, loading in zip(miskeyed["item"], miskeyed["r_drop"].to_numpy(dtype=float),
                                     miskeyed["pc1_loading"].to_numpy(dtype=float), strict=True):
        warnings.append({"item": item, "code": "miskeyed", "message": (
            f"{item} correlates negatively with the rest of the scale (corrected item-total r = "
            f"{_fmt(r_drop)}, first-component loading {_fmt(loading)}); should it be reverse keyed?"
        )})
    if omega.heywood:
        warnings.append({"item": None, "code": "heywood", "message": WARNING_CODES["heywood"]})
    elif idx.size >= 2 and np.isfinite(omega.omega_total) and not omega.converged:
        warnings.append({"item": None, "code": "not_converged", "message": WARNING_CODES["not_converged"]})
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
    reverse = dict(zip(plan.item_ids, plan.reverse.tolist(), strict=True))
    ident = {"instrument_id": definition.id, "instrument_version": definition.version}
    scale_rows: list[dict[str, Any]] = []
    item_frames: list[pd.DataFrame] = []
    warning_frames: list[pd.DataFrame] = []
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
            a = res.alpha
            scale_rows.append({
                **ident, "scale_id": sp.id, "missing": method, "n_items": k, "n_obs": a.n_obs,
                "alpha": a.alpha, "alpha_std": a.alpha_std, "alpha_se": a.se, "ci_level": a.ci_level,
                "alpha_feldt_lower": a.feldt_lower, "alpha_feldt_upper": a.feldt_upper,
                "alpha_duhachek_lower": a.duhachek_lower, "alpha_duhachek_upper": a.duhachek_upper,
                "average_r": a.average_r, "omega_total": res.omega.omega_total,
                "n_scored": res.n_scored, "score_mean": res.score_mean, "score_sd": res.score_sd,
                "score_min": res.score_range[0], "score_max": res.score_range[1],
                "floor_pct": res.floor_pct, "ceiling_pct": res.ceiling_pct,
                "n_miskeyed": int(res.items["miskeyed"].sum()),
            })
            items = res.items.copy()
            items.insert(0, "missing", method)
            items.insert(0, "scale_id", sp.id)
            items.insert(0, "instrument_version", definition.version)
            items.insert(0, "instrument_id", definition.id)
            items.insert(list(items.columns).index("n"), "reverse", items["item"].map(reverse).astype(bool))
            item_frames.append(items)
            w = res.warnings.copy()
            w.insert(0, "missing", method)
            w.insert(0, "scale_id", sp.id)
            w.insert(0, "instrument_id", definition.id)
            warning_frames.append(w)
    return ReliabilityReport(
        scales=_typed(pd.DataFrame(scale_rows, columns=list(SCALE_COLUMNS)), SCALE_COLUMNS),
        items=_typed(_concat(item_frames, ITEM_COLUMNS), ITEM_COLUMNS),
        warnings=_concat(warning_frames, WARNING_COLUMNS).astype(object),
        failures=failures,
        instrument={"id": definition.id, "version": definition.version, "name": definition.instrument.name,
                    "hash": definition.hash},
        n_rows=round(stats[0]),
        settings={"missing": list(methods), "ci_level": ci_level, "warning_codes": dict(WARNING_CODES)},
    )


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

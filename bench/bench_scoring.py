"""Scoring throughput: the public API against a plain numpy reference and a pandas row-wise apply.

Run: ``python bench/bench_scoring.py`` (``--rows N`` to change the size, ``--apply-rows N`` to time apply on
a subset and scale it linearly — apply is linear in rows). Everything is timed in the same run on the
same data, so the ratios hold on a noisy machine even when the absolute times do not. Each timing is the
best of ``--repeat`` runs. Peak memory is measured with tracemalloc (numpy and pandas report to it).

Targets (issue 2): public API within 1.5× of the numpy reference, at least 1000× faster than the
row-wise apply, peak memory at most 3× the input frame.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

import scoring


@dataclass
class Spec:
    """What the plain implementations need to know about an instrument (read from its definition)."""

    item_ids: list[str]
    scales: list[tuple[str, list[int], int, float, list[float]]]  # id, item positions, max missing, mult, bands
    critical: list[tuple[int, float]]  # item position, answer must exceed this


def spec_of(definition: scoring.Definition) -> Spec:
    ins = definition.instrument
    ids = [i.id for i in ins.items]
    scales = []
    for s in ins.scales:
        if s.missing.rule != "prorate" or s.missing.rounding != "half_up" or s.method != "sum" or s.weights:
            raise SystemExit(f"the plain implementations here cover prorated sums only, not {ins.id}.{s.id}")
        if any(ins.items[ids.index(i)].reverse for i in s.items):
            raise SystemExit("the plain implementations here do not reverse-key")
        bands = [float(b.min) for b in s.bands.ranges] if s.bands else []
        scales.append((s.id, [ids.index(i) for i in s.items], s.missing.max_missing or 0, float(s.multiplier), bands))
    critical = []
    for c in ins.critical_items:
        if c.op != ">":
            raise SystemExit("the plain implementations here support '>' critical items only")
        critical.append((ids.index(c.item), float(c.value)))  # type: ignore[arg-type]
    return Spec(ids, scales, critical)


def numpy_reference(df: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Plain numpy: same scores, bands, counts, validity and critical flag; no input validation."""
    x = df[spec.item_ids].to_numpy(dtype=float)
    out: dict[str, np.ndarray] = {}
    for sid, idx, max_missing, mult, mins in spec.scales:
        v = x[:, idx]
        answered = ~np.isnan(v)
        n_ans = answered.sum(axis=1)
        total = np.where(answered, v, 0.0).sum(axis=1)
        missing = len(idx) - n_ans
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(missing > 0, np.floor(total * len(idx) / n_ans + 0.5), total) * mult
        valid = missing <= max_missing
        score = np.where(valid, score, np.nan)
        out[sid] = score
        out[f"{sid}_band"] = np.where(valid, np.searchsorted(mins, score, side="right") - 1, -1)
        out[f"{sid}_n_answered"] = n_ans
        out[f"{sid}_valid"] = valid
    crit = np.zeros(len(df), dtype=bool)
    for pos, threshold in spec.critical:
        crit |= x[:, pos] > threshold
    out["critical"] = crit
    return pd.DataFrame(out, index=df.index)


def rowwise_apply(df: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """What a spreadsheet-minded implementation does: a Python function per row via DataFrame.apply."""

    def one(row: pd.Series) -> pd.Series:
        res = {}
        values = row.to_numpy()
        for sid, idx, max_missing, mult, mins in spec.scales:
            answered = [values[i] for i in idx if not math.isnan(values[i])]
            missing = len(idx) - len(answered)
            if missing > max_missing or not answered:
                res[sid] = float("nan")
                res[f"{sid}_band"] = -1
            else:
                total = sum(answered) * len(idx) / len(answered)
                score = math.floor(total + 0.5) * mult
                res[sid] = score
                res[f"{sid}_band"] = sum(score >= m for m in mins) - 1
            res[f"{sid}_n_answered"] = len(answered)
        res["critical"] = any(values[p] > t for p, t in spec.critical)
        return pd.Series(res)

    return df[spec.item_ids].apply(one, axis=1)


def make_data(definition: scoring.Definition, rows: int, missing: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = definition.plan
    cols = {}
    for k, item in enumerate(plan.item_ids):
        values = rng.choice(plan.allowed[k], size=rows)
        values[rng.random(rows) < missing] = np.nan
        cols[item] = values
    return pd.DataFrame(cols)


def best_time(fn: Callable[[], object], repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def peak_memory(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak - base


def bench(instrument: str, rows: int, apply_rows: int, repeat: int, missing: float) -> dict[str, object]:
    lib = scoring.load_library()
    d = lib[instrument]
    spec = spec_of(d)
    df = make_data(d, rows, missing, seed=20261127)
    _ = d.plan  # compile once, as a caller holding a library would

    api = scoring.score(d, df).scores
    ref = numpy_reference(df, spec)
    for sid, *_ in spec.scales:  # the reference must agree with the engine, or the comparison is moot
        np.testing.assert_array_equal(api[sid].to_numpy(), ref[sid].to_numpy())
        np.testing.assert_array_equal(api[f"{sid}_band"].cat.codes.to_numpy(), ref[f"{sid}_band"].to_numpy())
    np.testing.assert_array_equal(api["critical"].to_numpy(), ref["critical"].to_numpy())

    t_api = best_time(lambda: scoring.score(d, df), repeat)
    t_ref = best_time(lambda: numpy_reference(df, spec), repeat)
    sub = df.iloc[:apply_rows]
    t_apply_sub = best_time(lambda: rowwise_apply(sub, spec), 1)
    t_apply = t_apply_sub * rows / len(sub)
    input_bytes = int(df.memory_usage(deep=True).sum())
    peak = peak_memory(lambda: scoring.score(d, df))
    return {
        "instrument": instrument,
        "rows": rows,
        "missing_share": missing,
        "api_s": round(t_api, 4),
        "numpy_reference_s": round(t_ref, 4),
        "rowwise_apply_s": round(t_apply, 2),
        "rowwise_apply_rows_timed": len(sub),
        "api_vs_numpy": round(t_api / t_ref, 2),
        "apply_vs_api": round(t_apply / t_api, 1),
        "api_rows_per_s": int(rows / t_api),
        "input_mb": round(input_bytes / 1e6, 1),
        "peak_mb": round(peak / 1e6, 1),
        "peak_vs_input": round(peak / input_bytes, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="administrations per instrument")
    ap.add_argument("--apply-rows", type=int, default=50_000,
                    help="rows timed for the row-wise apply, scaled linearly to --rows (apply is linear in rows; "
                    "timing all 1M rows takes about 3 minutes per instrument)")
    ap.add_argument("--repeat", type=int, default=5, help="best of N runs for the fast implementations")
    ap.add_argument("--missing", type=float, default=0.02, help="share of unanswered cells")
    ap.add_argument("--instruments", nargs="+", default=["phq9", "dass21"])
    ap.add_argument("--json", action="store_true", help="print JSON only")
    args = ap.parse_args(argv)
    apply_rows = min(args.apply_rows, args.rows)
    results = [bench(i, args.rows, apply_rows, args.repeat, args.missing) for i in args.instruments]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"psyscore {scoring.__version__}, {platform.machine()}")
    for r in results:
        ok_ratio = "ok" if r["api_vs_numpy"] <= 1.5 else "ABOVE TARGET"
        ok_apply = "ok" if r["apply_vs_api"] >= 1000 else "BELOW TARGET"
        ok_mem = "ok" if r["peak_vs_input"] <= 3 else "ABOVE TARGET"
        print(f"\n{r['instrument']}: {r['rows']:,} administrations, {r['missing_share']:.0%} unanswered")
        print(f"  public API        {r['api_s']:8.3f} s  ({r['api_rows_per_s']:,} rows/s)")
        print(f"  numpy reference   {r['numpy_reference_s']:8.3f} s  → API/numpy = {r['api_vs_numpy']} "
              f"(target ≤ 1.5: {ok_ratio})")
        print(f"  row-wise apply    {r['rowwise_apply_s']:8.1f} s  (timed on {r['rowwise_apply_rows_timed']:,} rows)"
              f" → apply/API = {r['apply_vs_api']:,} (target ≥ 1000: {ok_apply})")
        print(f"  peak memory       {r['peak_mb']:8.1f} MB for a {r['input_mb']} MB input → {r['peak_vs_input']}× "
              f"(target ≤ 3: {ok_mem})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Large data: the chunked ``psyscore score`` against the in-memory API, peak memory by file size, Polars/Arrow input.

Run: ``python bench/bench_large.py --rows N`` (default 2,000,000; ``--rows 100000000`` for the issue's 100M-row
file). Everything is measured in one run on the same machine, so the ratios hold when the machine is busy:

* **in-memory API**: ``scoring.score`` on a pandas frame of ``--api-rows`` rows (best of ``--repeat``, taking turns
  with the Polars and Arrow timings below), rows/s;
* **chunked CLI**: ``python -m scoring score ID big.parquet -o scores.parquet --chunk-rows C`` in a child
  process on a generated Parquet file of N rows (read, validate, score, write Parquet as it goes), rows/s —
  target: at least half the API's rows/s;
* **peak memory** (maximum resident set of that child, from ``os.wait4``) for a file of N/4 rows and one of N
  rows — target: independent of the file size (ratio about 1);
* **Polars and Arrow input**: ``scoring.score`` on a Polars DataFrame and on a pyarrow Table holding the same
  answers as the pandas frame, time ÷ pandas time — target: no slower than pandas (≤ 1).

Disk: the input Parquet takes about 6 bytes per row and the scores Parquet about 3 (PHQ-9; DASS-21 about
twice), both in ``--dir`` (default: a temporary folder, removed at the end). The script checks the free space
first and refuses a run that would leave less than 5 GB free; 100M PHQ-9 rows need about 1 GB.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import scoring

REPO = Path(__file__).resolve().parents[1]
BYTES_PER_ROW = {"phq9": 9, "gad7": 7, "dass21": 18}  # input + output Parquet, measured, rounded up
KEEP_FREE = 5 * 10**9


def answers(definition: scoring.Definition, rows: int, missing: float, seed: int) -> dict[str, np.ndarray]:
    """Valid answer codes (float, NaN = unanswered) per item: the same data for every input kind."""
    rng = np.random.default_rng(seed)
    plan = definition.plan
    cols = {}
    for k, item in enumerate(plan.item_ids):
        values = rng.choice(plan.allowed[k], size=rows).astype(float)
        values[rng.random(rows) < missing] = np.nan
        cols[item] = values
    return cols


def write_parquet(definition: scoring.Definition, path: Path, rows: int, missing: float, batch: int) -> None:
    """A Parquet file of ``rows`` administrations (int8 answers, null = unanswered), written batch by batch."""
    writer = None
    try:
        for start in range(0, rows, batch):
            n = min(batch, rows - start)
            cols = answers(definition, n, missing, seed=start)
            table = pa.table({k: pa.array(np.nan_to_num(v, nan=0).astype(np.int8), mask=np.isnan(v))
                              for k, v in cols.items()})
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def interleaved_best(calls: list[Callable[[], object]], repeat: int) -> list[float]:
    """Best wall time of each call over ``repeat`` rounds, the calls taking turns within a round: on a shared
    machine a burst of load then hits every kind alike instead of whichever was being timed."""
    best = [math.inf] * len(calls)
    for call in calls:  # warm-up (first conversions, imports)
        call()
    for _ in range(repeat):
        for k, call in enumerate(calls):
            gc.collect()
            t0 = time.perf_counter()
            call()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def run_cli(instrument: str, src: Path, out: Path, chunk_rows: int) -> tuple[float, int]:
    """Wall time and peak resident memory (bytes) of one ``psyscore score`` child process."""
    cmd = [sys.executable, "-m", "scoring", "score", instrument, str(src), "-o", str(out),
           "--chunk-rows", str(chunk_rows)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"psyscore score failed ({proc.returncode}):\n{err}")
    return elapsed, usage.ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


def bench(args: argparse.Namespace, folder: Path) -> dict[str, object]:
    lib = scoring.load_library()
    d = lib[args.instrument]
    _ = d.plan
    import polars as pl

    api_rows = min(args.api_rows, args.rows)
    cols = answers(d, api_rows, args.missing, seed=1)
    frame = pd.DataFrame(cols)
    polars_frame = pl.DataFrame({k: pl.Series(k, v, nan_to_null=True) for k, v in cols.items()})
    arrow_table = polars_frame.to_arrow()
    expected = scoring.score(d, frame).scores
    got = scoring.score(d, polars_frame).scores  # the kinds must agree, or the comparison is moot
    np.testing.assert_array_equal(got[d.plan.scales[0].id].to_numpy(), expected[d.plan.scales[0].id].to_numpy())
    t_api, t_polars, t_arrow = interleaved_best(
        [lambda: scoring.score(d, frame), lambda: scoring.score(d, polars_frame),
         lambda: scoring.score(d, arrow_table)], args.repeat)

    sizes = [max(args.rows // 4, 1), args.rows]
    runs = []
    for n in sizes:
        src = folder / f"responses_{n}.parquet"
        out = folder / f"scores_{n}.parquet"
        t0 = time.perf_counter()
        write_parquet(d, src, n, args.missing, batch=min(args.chunk_rows, 1_000_000))
        t_write = time.perf_counter() - t0
        elapsed, rss = run_cli(args.instrument, src, out, args.chunk_rows)
        scored = pq.ParquetFile(out).metadata.num_rows
        if scored != n:
            raise SystemExit(f"the scores file has {scored} rows, not {n}")
        runs.append({"rows": n, "input_mb": round(src.stat().st_size / 1e6, 1),
                     "output_mb": round(out.stat().st_size / 1e6, 1), "generate_s": round(t_write, 1),
                     "cli_s": round(elapsed, 2), "cli_rows_per_s": int(n / elapsed), "peak_rss_mb": round(rss / 1e6)})
        src.unlink()
        out.unlink()
    api_rate = api_rows / t_api
    big = runs[-1]
    return {
        "instrument": args.instrument,
        "rows": args.rows,
        "chunk_rows": args.chunk_rows,
        "api_rows": api_rows,
        "api_s": round(t_api, 4),
        "api_rows_per_s": int(api_rate),
        "cli_runs": runs,
        "cli_vs_api_rate": round(big["cli_rows_per_s"] / api_rate, 2),
        "peak_rss_large_vs_small": round(runs[-1]["peak_rss_mb"] / runs[0]["peak_rss_mb"], 2),
        "polars_s": round(t_polars, 4),
        "arrow_s": round(t_arrow, 4),
        "polars_vs_pandas": round(t_polars / t_api, 2),
        "arrow_vs_pandas": round(t_arrow / t_api, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000, help="rows of the larger generated Parquet file")
    ap.add_argument("--api-rows", type=int, default=1_000_000, help="rows of the in-memory frames")
    ap.add_argument("--chunk-rows", type=int, default=1_000_000, help="psyscore score --chunk-rows")
    ap.add_argument("--instrument", default="phq9")
    ap.add_argument("--missing", type=float, default=0.02, help="share of unanswered cells")
    ap.add_argument("--repeat", type=int, default=5, help="best of N runs for the in-memory timings")
    ap.add_argument("--dir", type=Path, help="folder for the generated files (default: a temporary folder)")
    ap.add_argument("--json", action="store_true", help="print JSON only")
    args, _ = ap.parse_known_args(argv)  # bench/run_all.py passes every script the same options
    folder = Path(tempfile.mkdtemp(prefix="psyscore-bench-", dir=args.dir))
    try:
        need = BYTES_PER_ROW.get(args.instrument, 20) * args.rows * 5 // 4  # both files of the larger run
        free = shutil.disk_usage(folder).free
        if free - need < KEEP_FREE:
            raise SystemExit(f"{folder}: {free / 1e9:.1f} GB free; this run needs about {need / 1e9:.1f} GB and "
                             f"leaves at least {KEEP_FREE / 1e9:.0f} GB free — choose fewer --rows or another --dir")
        result = bench(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, pyarrow "
          f"{pa.__version__}, psyscore {scoring.__version__}, {platform.machine()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}")
    r = result
    print(f"\n{r['instrument']}, {args.missing:.0%} unanswered")
    print(f"  in-memory API     {r['api_s']:8.3f} s for {r['api_rows']:,} rows ({r['api_rows_per_s']:,} rows/s)")
    for run in r["cli_runs"]:  # type: ignore[attr-defined]
        print(f"  chunked CLI       {run['cli_s']:8.2f} s for {run['rows']:,} rows ({run['cli_rows_per_s']:,} rows/s), "
              f"Parquet {run['input_mb']} MB in, {run['output_mb']} MB out, peak RSS {run['peak_rss_mb']} MB")
    ok = "ok" if r["cli_vs_api_rate"] >= 0.5 else "BELOW TARGET"  # type: ignore[operator]
    print(f"  CLI rows/s ÷ API rows/s = {r['cli_vs_api_rate']} (target ≥ 0.5: {ok}); chunks of {r['chunk_rows']:,}")
    ok = "ok" if r["peak_rss_large_vs_small"] <= 1.2 else "ABOVE TARGET"  # type: ignore[operator]
    print(f"  peak RSS at {r['rows']:,} rows ÷ at a quarter of that = {r['peak_rss_large_vs_small']} "
          f"(target ≈ 1, independent of the file size: {ok})")
    for kind in ("polars", "arrow"):
        ratio = r[f"{kind}_vs_pandas"]
        ok = "ok" if ratio <= 1.0 else "ABOVE TARGET"  # type: ignore[operator]
        print(f"  {kind:<7} input     {r[f'{kind}_s']:8.3f} s → ÷ pandas input = {ratio} (target ≤ 1: {ok})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Spark: ``psyscore score --engine spark --master local[2]`` against the single-machine command on the same rows.

Run: ``python bench/bench_spark.py`` (default 1,000,000 PHQ-9 rows, a couple of minutes on 2 cores);
``python bench/bench_spark.py --rows 10000000`` for the issue's 10M-row figure. Both commands run in a child
process, one after the other, on the same generated Parquet file (2 % of answers missing, an id column), and
write Parquet scores and failures:

* **single machine**: ``python -m scoring score phq9 in.parquet -o one.parquet`` (chunked, the default engine);
* **Spark**: ``python -m scoring score phq9 in.parquet -o spark.parquet --engine spark --master local[2]
  --row-id id`` — the JVM start, the session, reading, scoring inside Spark through Arrow, and writing both
  folders, all included (Spark's own overhead counts).

* **Spark copy** (the floor): a child process that starts the same Spark session, reads the input Parquet and
  writes it back unchanged — what Spark costs on this machine before any scoring.

It prints the wall times and the ratios, measured in this one run (target: Spark ≤ 3 × the single machine),
and checks that both commands scored the same number of rows. Needs pyspark (``psyscore[spark]``) and Java 17+.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import scoring

REPO = Path(__file__).resolve().parents[1]


def write_input(path: Path, rows: int, missing: float, seed: int) -> None:
    """PHQ-9 answers as nullable int64 columns (valid codes, ``missing`` of them null) and an id column."""
    plan = scoring.load_library()["phq9"].plan
    rng = np.random.default_rng(seed)
    cols: dict[str, pa.Array] = {"id": pa.array(np.arange(rows, dtype=np.int64))}
    for k, item in enumerate(plan.item_ids):
        codes = rng.choice(np.asarray(plan.allowed[k], dtype=np.int64), size=rows)
        cols[item] = pa.array(codes, mask=rng.random(rows) < missing)
    pq.write_table(pa.table(cols), path, row_group_size=1_000_000)


def timed(cmd: list[str]) -> float:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


COPY = """
import sys
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master(sys.argv[1]).appName("psyscore bench copy")
         .config("spark.ui.showConsoleProgress", "false").getOrCreate())
spark.read.parquet(sys.argv[2]).write.parquet(sys.argv[3])
spark.stop()
"""


def rows_in(path: Path) -> int:
    files = [path] if path.is_file() else sorted(p for p in path.glob("*.parquet"))
    return sum(pq.ParquetFile(p).metadata.num_rows for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="PHQ-9 rows (default 1,000,000; the issue: "
                        "10,000,000)")
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    parser.add_argument("--missing", type=float, default=0.02, help="share of unanswered cells (default 0.02)")
    parser.add_argument("--dir", type=Path, default=None, help="working folder (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="psyscore-spark-bench-", dir=args.dir))
    try:
        src = work / "in.parquet"
        write_input(src, args.rows, args.missing, seed=1)
        python = [sys.executable, "-m", "scoring", "score", "phq9", str(src)]
        single = timed([*python, "-o", str(work / "one.parquet")])
        spark = timed([*python, "-o", str(work / "spark.parquet"), "--engine", "spark", "--master", args.master,
                       "--row-id", "id"])
        copy = timed([sys.executable, "-c", COPY, args.master, str(src), str(work / "copy.parquet")])
        n_one, n_spark = rows_in(work / "one.parquet"), rows_in(work / "spark.parquet")
        if n_one != args.rows or n_spark != args.rows:
            raise SystemExit(f"scored rows differ: single machine {n_one}, Spark {n_spark}, input {args.rows}")
        figures = {
            "rows": args.rows, "master": args.master, "single_machine_s": round(single, 2), "spark_s": round(spark, 2),
            "spark_over_single": round(spark / single, 2), "target": "<= 3",
            "spark_copy_s": round(copy, 2), "spark_over_spark_copy": round(spark / copy, 2),
            "python": platform.python_version(), "cpus": os.cpu_count(),
        }
        if args.json:
            print(json.dumps(figures))
        else:
            print(f"PHQ-9, {args.rows:,} rows, Parquet in and out, {os.cpu_count()} CPU(s)")
            print(f"  single machine (psyscore score, chunked): {single:8.1f} s  ({args.rows / single:,.0f} rows/s)")
            print(f"  Spark {args.master} (--engine spark, JVM start included): {spark:8.1f} s  "
                  f"({args.rows / spark:,.0f} rows/s)")
            print(f"  Spark {args.master} reading and writing the same Parquet, no scoring: {copy:8.1f} s")
            print(f"  Spark ÷ single machine: {spark / single:.2f} (target ≤ 3); Spark ÷ Spark copy: "
                  f"{spark / copy:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Research export throughput: 1,000,000 administrations to Parquet and to CSV.

Run: ``python bench/bench_export.py`` (``--rows N``, ``--patients N``, ``--repeat N``, ``--profile``). The
input is what a store accessor hands over (:class:`scoring.export.ExportData` in memory: internal patient
ids, completion timestamps, instrument, sex, year of birth, item answers with 2% unanswered, plus two
identifying text columns that the allowlist drops); half PHQ-9, half GAD-7. Each figure is the best of
``--repeat`` runs and covers everything an export does: validation and the allowlist, research ids (one
HMAC per patient under ``pseudonymised``), years, age bands, k-anonymity (k = 5 over year, age band, sex),
scoring every administration, the layout, writing the data file, the codebook and the manifest with the
SHA-256 of every file.

Targets (issue 6): Parquet within 5 s and CSV within 15 s for 1,000,000 administrations on this machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import scoring
import scoring.export as ex

TARGETS = {"parquet": 5.0, "csv": 15.0}


def make_input(rows: int, patients: int, seed: int = 6) -> ex.ExportData:
    rng = np.random.default_rng(seed)
    pid = rng.integers(1, patients + 1, rows)
    phq = rng.random(rows) < 0.5
    frame = pd.DataFrame({
        "patient_id": pid,
        "date": pd.Timestamp("2019-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 6 * 365 * 24, rows), unit="h"),
        "instrument": pd.Categorical(np.where(phq, "phq9", "gad7")),
        "sex": pd.Categorical(np.array(["female", "male", "other"])[pid % 3]),
        "birth_year": 1925 + pid % 80,
    })
    for n_items, inst, mask in ((9, "phq9", phq), (7, "gad7", ~phq)):
        for i in range(1, n_items + 1):
            values = rng.integers(0, 4, rows).astype(float)
            values[(rng.random(rows) < 0.02) | ~mask] = np.nan
            frame[f"{inst}_{i}"] = values
    frame["phq9_10"] = np.where(phq, rng.integers(0, 4, rows), np.nan)
    # identifying columns a careless extract carries: never read past the allowlist
    frame["name"] = "Jane Example"
    frame["email"] = "someone@example.org"
    return ex.ExportData(frame)


def run_once(data: ex.ExportData, fmt: str, profile: str, key: Path | None, lib: scoring.Library
             ) -> dict[str, float]:
    out = Path(tempfile.mkdtemp(prefix="psyscore-bench-")) / "export"
    try:
        t0 = time.perf_counter()
        prepared = ex.prepare_export(data, profile=profile, key=key, k=5, library=lib)
        t1 = time.perf_counter()
        result = ex.write_export(prepared, out, [fmt])
        t2 = time.perf_counter()
        size = (out / f"data.{fmt}").stat().st_size
        rows = result.manifest["counts"]["rows_written"]
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    return {"prepare_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0, "bytes": size, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="administrations (default 1,000,000)")
    ap.add_argument("--patients", type=int, default=200_000, help="distinct patients (default 200,000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per format; the best is reported (default 3)")
    ap.add_argument("--profile", choices=ex.PROFILES, default="pseudonymised",
                    help="de-identification profile (default pseudonymised: one HMAC per patient)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--json", action="store_true", help="print JSON only")
    args = ap.parse_args(argv)

    lib = scoring.load_library()
    data = make_input(args.rows, args.patients)
    tmp = Path(tempfile.mkdtemp(prefix="psyscore-bench-key-"))
    key = ex.create_key_file(tmp / "study.key") if args.profile == "pseudonymised" else None
    results = {}
    try:
        for fmt in ("parquet", "csv"):
            runs = [run_once(data, fmt, args.profile, key, lib) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["total_s"])
            best["target_s"] = TARGETS[fmt]
            best["ok"] = best["total_s"] <= TARGETS[fmt]
            results[fmt] = best
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
              f"{platform.machine()}; {args.rows:,} administrations of {args.patients:,} patients "
              f"(PHQ-9 and GAD-7, 2% unanswered), profile {args.profile}, best of {args.repeat}")
        for fmt, r in results.items():
            verdict = "ok" if r["ok"] else "MISSED"
            print(f"  {fmt:<8} total {r['total_s']:6.2f} s ({args.rows / r['total_s'] / 1e6:.2f} M rows/s; "
                  f"prepare {r['prepare_s']:.2f} s + write {r['write_s']:.2f} s), {r['bytes'] / 1e6:.0f} MB, "
                  f"{r['rows']:,} rows written — target ≤ {r['target_s']:.0f} s: {verdict}")
    missed = [f for f, r in results.items() if not r["ok"]]
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())

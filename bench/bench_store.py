"""Clinic store benchmark: saving one answer, completing an administration, loading a long history.

    python bench/bench_store.py                       # embedded SQLite in a temporary folder
    python bench/bench_store.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench   # an EMPTY database

Times the public API end to end (kiosk ticket check, validation against the pinned definition, the
transaction with its commit — ``synchronous=FULL`` on SQLite — alerts and audit). Targets on SQLite:
answer save p95 ≤ 20 ms, a 200-administration history ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import scoring
from scoring.store import Actor, Clinic, Store, password_hasher

TARGET_SAVE_P95_MS = 20.0
TARGET_HISTORY_MS = 100.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run(url: str, administrations: int, history_size: int) -> int:
    lib = scoring.load_library()
    with Store(url) as store:
        if not store.is_empty():
            print(f"{url}: the benchmark needs an empty database", file=sys.stderr)
            return 2
        store.upgrade()
        clinic = Clinic(store, lib, hasher=password_hasher(fast=True))
        therapist = clinic.users.add(Actor.system("bench"), "bench", "therapist", "benchmark password").actor
        patient = clinic.patients.add(therapist, "Bench Patient")

        saves: list[float] = []
        completes: list[float] = []
        for n in range(administrations):
            session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, instruments=["phq9"]).code)
            adm = session.administrations[0].id
            for i in range(1, 11):
                t0 = time.perf_counter()
                clinic.kiosk.save_answer(session.ticket, adm, f"phq9_{i}", (i + n) % 4)
                saves.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            clinic.kiosk.complete(session.ticket, adm)
            completes.append((time.perf_counter() - t0) * 1000)

        other = clinic.patients.add(therapist, "History Patient")
        answers = {f"phq9_{i}": 1 for i in range(1, 10)}
        t0 = time.perf_counter()
        for _ in range(history_size):
            clinic.administrations.record(therapist, other, "phq9", answers)
        record_ms = (time.perf_counter() - t0) * 1000 / history_size
        loads: list[float] = []
        changes: list[float] = []
        for _ in range(15):
            t0 = time.perf_counter()
            frame = clinic.patients.history(therapist, other)
            loads.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            clinic.patients.change_history(therapist, other)
            changes.append((time.perf_counter() - t0) * 1000)
        assert len(frame) == history_size

    backend = url.split(":", 1)[0]
    print(f"backend: {backend}; {administrations} kiosk administrations of PHQ-9 (10 answers each)")
    print(f"save one answer        p50 {pct(saves, 50):7.2f} ms   p95 {pct(saves, 95):7.2f} ms   "
          f"(target p95 ≤ {TARGET_SAVE_P95_MS:g} ms on SQLite)")
    print(f"complete (score+audit) p50 {pct(completes, 50):7.2f} ms   p95 {pct(completes, 95):7.2f} ms")
    print(f"enter a paper form     mean {record_ms:6.2f} ms (one transaction)")
    print(f"history of {history_size} adm.  median {statistics.median(loads):6.2f} ms   max {max(loads):7.2f} ms   "
          f"(target ≤ {TARGET_HISTORY_MS:g} ms on SQLite)")
    print(f"  with change (scoring.history over pinned definitions) median {statistics.median(changes):6.2f} ms")
    ok = pct(saves, 95) <= TARGET_SAVE_P95_MS and statistics.median(loads) <= TARGET_HISTORY_MS
    if backend.startswith("sqlite"):
        print("targets met" if ok else "TARGET MISSED")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="database URL (an empty database); default: SQLite in a temporary folder")
    parser.add_argument("--administrations", type=int, default=100, help="kiosk administrations to time")
    parser.add_argument("--history", type=int, default=200, help="administrations in the long history")
    args, _ = parser.parse_known_args()
    if args.db:
        return run(args.db, args.administrations, args.history)
    with tempfile.TemporaryDirectory() as tmp:
        return run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.administrations, args.history)


if __name__ == "__main__":
    raise SystemExit(main())

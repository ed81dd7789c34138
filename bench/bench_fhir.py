"""FHIR: reading and scoring a Bundle of 10,000 QuestionnaireResponses (issue 12, hostile input).

    .venv/bin/python bench/bench_fhir.py [--responses 10000] [--bad 0.1]

Writes a Bundle of PHQ-9 responses (random answers, 5% unanswered; ``--bad`` of them with an answer code not
in the option set) to a temporary file, then times ``scoring.fhir.read_responses`` (JSON parse, matching,
validation of every answer) and ``score_responses`` (the engine), and reports the process's peak resident
memory growth against the file size. Target: within 15 s on this 2-core shared machine; memory a small
multiple of the file. Needs the extra ``psyscore[fhir]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import scoring
from scoring.fhir import read_responses, score_responses
from scoring.fhir.urls import answer_system, questionnaire_url


def build(n: int, bad: float, seed: int = 12) -> dict:
    rng = np.random.default_rng(seed)
    system = answer_system("phq9", "frequency")
    entries = []
    for k in range(n):
        items = []
        wrong = rng.random() < bad
        for i in range(1, 10):
            if rng.random() < 0.05:
                continue
            code = "7" if wrong and i == 1 else str(int(rng.integers(0, 4)))
            items.append({"linkId": f"phq9_{i}", "answer": [{"valueCoding": {"system": system, "code": code}}]})
        entries.append({"resource": {"resourceType": "QuestionnaireResponse", "id": f"r{k}", "status": "completed",
                                     "questionnaire": questionnaire_url("phq9") + "|1.0.0", "item": items}})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--bad", type=float, default=0.1, help="share of responses with a bad answer code")
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)  # the child that writes the Bundle
    args, _ = parser.parse_known_args()  # make bench passes its own arguments to every script
    if args.write is not None:
        args.write.write_text(json.dumps(build(args.responses, args.bad)), encoding="utf-8")
        return 0
    lib = scoring.load_library()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.json"
        # written by a child process, so building it does not count in this process's peak memory
        subprocess.run([sys.executable, __file__, "--responses", str(args.responses), "--bad", str(args.bad),
                        "--write", str(path)], check=True)
        size_mb = path.stat().st_size / 2**20
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        frame, failures = read_responses(lib, path)
        t1 = time.perf_counter()
        scores, _ = score_responses(lib, frame)
        t2 = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.responses:,} responses ({size_mb:.1f} MB): read {t1 - t0:.2f} s, scored {t2 - t1:.2f} s; "
          f"{len(scores):,} scored, {failures['response'].nunique():,} refused with {len(failures):,} failure rows; "
          f"peak memory growth {peak - before:.0f} MB ({(peak - before) / size_mb:.1f} × the file)")
    ok = (t2 - t0) <= 15
    print("target (≤ 15 s):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Concurrency and faults: many writers at once, racing redemptions and completions, a killed process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from scoring.store import Actor, Clinic, CodeInvalidError
from scoring.store.models import Administration, Answer, AuditEntry, Score

THREADS = 8
PER_THREAD = 50


def _run_threads(n: int, work: Callable[[int], object]) -> tuple[list[object], list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            barrier.wait()
            results[k] = work(k)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def _count(clinic: Clinic, model: type, *where: object) -> int:
    with clinic.store.read() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_eight_threads_complete_400_administrations(clinic: Clinic, therapist: Actor) -> None:
    patients = [clinic.patients.add(therapist, f"P{k}") for k in range(THREADS)]
    codes = [[clinic.assignments.assign(therapist, patients[k], instruments=["phq2"]).code for _ in range(PER_THREAD)]
             for k in range(THREADS)]

    def work(k: int) -> int:
        done = 0
        for j, code in enumerate(codes[k]):
            session = clinic.kiosk.redeem(code, client=f"tablet-{k}")
            adm = session.administrations[0].id
            clinic.kiosk.save_answer(session.ticket, adm, "phq2_1", j % 4)
            clinic.kiosk.save_answer(session.ticket, adm, "phq2_2", (j + k) % 4)
            done += clinic.kiosk.complete(session.ticket, adm).newly_completed
        return done

    results, errors = _run_threads(THREADS, work)
    assert errors == [] and results == [PER_THREAD] * THREADS
    total = THREADS * PER_THREAD
    n_scales = len(clinic.library["phq2"].plan.scales)
    assert _count(clinic, Administration) == total
    assert _count(clinic, Administration, Administration.status == "completed") == total
    assert _count(clinic, Answer) == 2 * total
    assert _count(clinic, Score) == n_scales * total
    for action in ("code_redeemed", "administration_started", "administration_completed", "assignment_completed"):
        assert _count(clinic, AuditEntry, AuditEntry.action == action) == total, action
    assert clinic.rescore_check().ok


def test_concurrent_redemptions_of_one_code_give_one_success(clinic: Clinic, therapist: Actor, patient: int) -> None:
    code = clinic.assignments.assign(therapist, patient, instruments=["phq2", "gad7"]).code

    def work(k: int) -> str:
        try:
            return clinic.kiosk.redeem(code, client=f"tablet-{k}").ticket
        except CodeInvalidError:
            return "refused"

    results, errors = _run_threads(THREADS, work)
    assert errors == []
    assert sum(r != "refused" for r in results) == 1
    assert _count(clinic, Administration) == 2  # created once


def test_concurrent_completions_complete_once(clinic: Clinic, therapist: Actor, patient: int) -> None:
    session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient, instruments=["phq9"]).code)
    adm = session.administrations[0].id
    for i in range(1, 10):
        clinic.kiosk.save_answer(session.ticket, adm, f"phq9_{i}", 1)
    results, errors = _run_threads(THREADS, lambda k: clinic.administrations.complete(therapist, adm))
    assert errors == []
    assert sum(r.newly_completed for r in results) == 1  # type: ignore[attr-defined]
    assert _count(clinic, Score) == 1 and _count(clinic, AuditEntry,
                                                 AuditEntry.action == "administration_completed") == 1


WRITER = textwrap.dedent("""
    import sys, time
    from scoring.store import Clinic, Store
    store = Store(sys.argv[1])
    clinic = Clinic(store)
    session = clinic.kiosk.redeem(sys.argv[2])
    print("ticket", session.ticket, flush=True)
    adm = session.administrations[0].id
    for i in range(1, 11):
        clinic.kiosk.save_answer(session.ticket, adm, f"phq9_{i}", i % 4)
        print("saved", f"phq9_{i}", flush=True)
        if i >= 5:
            time.sleep(0.05)
    time.sleep(60)
""")


def test_sigkill_mid_administration_loses_no_saved_answer(clinic: Clinic, therapist: Actor, patient: int,
                                                          tmp_path: Path) -> None:
    url = clinic.store.url.render_as_string(hide_password=False)
    code = clinic.assignments.assign(therapist, patient, instruments=["phq9"]).code
    proc = subprocess.Popen([sys.executable, "-c", WRITER, url, code], stdout=subprocess.PIPE, text=True,
                            cwd=tmp_path, env={**os.environ})
    saved: list[str] = []
    ticket = ""
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            kind, value = line.split()
            if kind == "ticket":
                ticket = value
            else:
                saved.append(value)
            if len(saved) == 5:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            saved += [line.split()[1] for line in proc.stdout.read().splitlines() if line.startswith("saved")]
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL and len(saved) >= 5
    resumed = clinic.kiosk.resume(ticket)
    adm = resumed.administrations[0].id
    answers = clinic.administrations.answers(therapist, adm)
    assert set(saved) <= set(answers)
    assert all(answers[f"phq9_{i}"] == i % 4 for i in range(1, 6))
    nxt = clinic.kiosk.next_item(ticket)
    assert nxt is not None and nxt.item_id == f"phq9_{len(answers) + 1}"
    while (prompt := clinic.kiosk.next_item(ticket)) is not None:
        clinic.kiosk.save_answer(ticket, adm, prompt.item_id, 0)
    assert clinic.kiosk.complete(ticket, adm).newly_completed


def test_concurrent_completions_of_one_assignment_close_it(clinic: Clinic, therapist: Actor, patient: int) -> None:
    session = clinic.kiosk.redeem(clinic.assignments.assign(therapist, patient,
                                                            instruments=["phq2", "gad2", "who5"]).code)
    adms = [a.id for a in session.administrations]
    for adm in adms:
        clinic.administrations.save_answer(therapist, adm, clinic.administrations.next_item(therapist, adm).item_id, 1)
    results, errors = _run_threads(len(adms), lambda k: clinic.administrations.complete(therapist, adms[k]))
    assert errors == []
    assert sum(r.assignment_completed for r in results) == 1  # type: ignore[attr-defined]
    assert clinic.assignments.for_patient(therapist, patient)[0].status == "completed"

"""Workers as separate processes (``psyscore notify run``): killed with SIGKILL mid-run and restarted,
every row is delivered (a row in flight at the kill may arrive twice — its id says so), none is lost; two
workers side by side never deliver the same row twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from scoring.store import Clinic

from .conftest import SmtpServer, make_team, raise_alert

N_ALERTS = 16


def worker(url: str, smtp: SmtpServer, *args: str) -> subprocess.Popen:
    env = dict(os.environ, **smtp.env(), PSYSCORE_PUBLIC_URL="https://psyscore.clinic.example")
    env.pop("PSYSCORE_WEBHOOK_SECRET", None)
    return subprocess.Popen([sys.executable, "-m", "scoring", "notify", "run", "--db", url, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=Path(__file__).parent,
                            start_new_session=True)


def delivery_ids(smtp: SmtpServer) -> Counter:
    with smtp.lock:
        return Counter(int(m.message["X-Psyscore-Delivery"]) for m in smtp.received)


def test_kill_9_mid_run_then_restart_delivers_every_row(clinic: Clinic, store_url: str, smtp: SmtpServer) -> None:
    team = make_team(clinic)
    for _ in range(N_ALERTS):
        raise_alert(clinic, team.patient, team.theo)
    rows = {r.id for r in clinic.notifications.list(team.admin)}
    assert len(rows) == N_ALERTS
    smtp.delay = 0.15
    first = worker(store_url, smtp, "--interval", "0.2", "--lease", "3s", "--batch", "4")
    try:
        smtp.wait_for(5, timeout=60)  # mid-way through the second batch of 4: three rows still claimed
    finally:
        os.kill(first.pid, signal.SIGKILL)  # the worker this test started
        first.communicate(timeout=10)
    assert first.returncode == -signal.SIGKILL
    at_kill = delivery_ids(smtp)
    states = Counter(r.status for r in clinic.notifications.list(team.admin))
    assert states["sent"] < N_ALERTS and states["sending"] >= 1, states  # killed with claimed rows in flight
    time.sleep(3.5)  # the dead worker's lease runs out
    smtp.delay = 0
    second = worker(store_url, smtp, "--once")
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    final = clinic.notifications.list(team.admin)
    assert Counter(r.status for r in final) == {"sent": N_ALERTS}
    received = delivery_ids(smtp)
    assert set(received) == rows  # none lost
    repeats = {rid: n for rid, n in received.items() if n > 1}
    assert len(repeats) <= 1 and all(n == 2 for n in repeats.values())  # only the one in flight at the kill
    assert all(rid in rows for rid in at_kill)
    retried = [r for r in final if r.attempts > 1]
    assert retried, "the rows the dead worker held were taken again"
    attempts = [r for r in clinic.audit_log(team.admin, limit=500) if r.action == "notification_attempt"]
    assert len(attempts) == sum(r.attempts for r in final)  # every attempt audited, the lost ones too


def test_two_workers_side_by_side_deliver_each_row_once(clinic: Clinic, store_url: str, smtp: SmtpServer) -> None:
    team = make_team(clinic)
    for _ in range(N_ALERTS):
        raise_alert(clinic, team.patient, team.theo)
    smtp.delay = 0.05
    procs = [worker(store_url, smtp, "--interval", "0.1", "--batch", "2") for _ in range(2)]
    try:
        smtp.wait_for(N_ALERTS, timeout=90)
        deadline = time.monotonic() + 30
        while any(r.status != "sent" for r in clinic.notifications.list(team.admin)):
            assert time.monotonic() < deadline, "rows were not marked sent"
            time.sleep(0.2)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.communicate(timeout=30)
    received = delivery_ids(smtp)
    assert len(received) == N_ALERTS and set(received.values()) == {1}
    workers = {r.detail["worker"] for r in clinic.audit_log(team.admin, limit=500)
               if r.action == "notification_attempt"}
    assert all(p.returncode == 0 for p in procs)
    assert len(workers) >= 1

"""Alert → visible: seconds from a critical answer saved (by another session, through the store) until the
banner shows on a therapist's caseload in Chromium, and until the care team's e-mail reaches a local SMTP
server (the app's own delivery thread, STARTTLS). Several rounds, one run; prints median and max.

    .venv/bin/python bench/bench_alerts.py [--rounds 5]

Needs Debian's Chromium (/usr/bin/chromium), Playwright, aiosmtpd and cryptography (the dev extra).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import scoring
from scoring.store import Actor, Clinic, Store, password_hasher

CHROMIUM = os.environ.get("PSYSCORE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PASSWORD = "correct horse battery"
SYSTEM = Actor.system("bench")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smtp_server(folder: Path) -> tuple[object, int, Path, list[float]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "notify"))
    from aiosmtpd.controller import Controller
    from conftest import self_signed  # the test suite's certificate helper

    cert, key = self_signed(folder)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    arrivals: list[float] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            arrivals.append(time.monotonic())
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                            server_hostname="localhost")
    controller.start()
    return controller, port, cert, arrivals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        controller, smtp_port, cafile, arrivals = smtp_server(folder)
        db = f"sqlite:///{folder / 'clinic.db'}"
        store = Store(db)
        store.upgrade()
        clinic = Clinic(store, scoring.load_library(), hasher=password_hasher(fast=True))
        theo = clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD).actor
        clinic.notifications.set_contact(SYSTEM, theo.user_id, email="theo@clinic.example")
        pid = clinic.patients.add(theo, "Bench Patient")
        port = free_port()
        env = dict(os.environ, PSYSCORE_SMTP_HOST="localhost", PSYSCORE_SMTP_PORT=str(smtp_port),
                   PSYSCORE_SMTP_CAFILE=str(cafile), PSYSCORE_SMTP_FROM="psyscore@clinic.example")
        log = (folder / "server.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "scoring", "app", "--db", db, "--port", str(port)], env=env,
                                cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://localhost:{port}/"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(base + "_stcore/health", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the app did not start") from None
                    time.sleep(0.5)
            banner, mail = [], []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(30_000)
                page.goto(base + "login")
                page.get_by_role("textbox", name="User name").fill("theo")
                page.get_by_role("textbox", name="Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Caseload").wait_for()
                for k in range(args.rounds):
                    n_mail = len(arrivals)
                    t0 = time.monotonic()
                    clinic.administrations.record(theo, pid, "phq9", {f"phq9_{i}": 1 for i in range(1, 10)}
                                                  | {"phq9_9": 2})
                    page.get_by_text(f"{k + 1} open alert").first.wait_for(timeout=30_000)
                    banner.append(time.monotonic() - t0)
                    while len(arrivals) <= n_mail and time.monotonic() - t0 < 30:
                        time.sleep(0.02)
                    mail.append(arrivals[n_mail] - t0 if len(arrivals) > n_mail else float("nan"))
                browser.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            controller.stop()
            store.close()
    print(f"alert → banner on the caseload (Chromium): median {statistics.median(banner):.2f} s, "
          f"max {max(banner):.2f} s over {len(banner)} alerts (target < 15 s; poll every 5 s)")
    print(f"alert → e-mail at the SMTP server (app thread, STARTTLS): median {statistics.median(mail):.2f} s, "
          f"max {max(mail):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Real local servers for the notification tests: an SMTP server with STARTTLS (aiosmtpd, a self-signed
certificate made here with ``cryptography``) and an HTTP server that checks webhook signatures.

Store fixtures run every outbox test on SQLite and on PostgreSQL (skipped with the reason when no server
answers, failed under ``CI=true``), as in ``tests/store``
(the PostgreSQL set-up is shared: tests/support/postgres.py, registered in tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scoring.definitions.library import Library
from scoring.notify import verify_signature
from scoring.store import Actor, Clinic, Store, password_hasher

SYSTEM = Actor.system("test")
PASSWORD = "correct horse battery"
SECRET = "test-webhook-secret-0123456789"
PATIENT_NAME = "Sentinel Patientname"
PATIENT_MRN = "MRN-SENTINEL-7"
PATIENT_EMAIL = "sentinel.patient@example.org"
PATIENT_PHONE = "+15550001234"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- store (store_url, pg_database, pg_schema and library: tests/conftest.py) ----------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dt.timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clinic(store_url: str, library: Library, clock: Clock) -> Iterator[Clinic]:
    store = Store(store_url, clock=clock)
    store.upgrade()
    try:
        yield Clinic(store, library, hasher=password_hasher(fast=True))
    finally:
        store.close()


@dataclass
class Team:
    theo: Actor  # therapist with e-mail and webhook
    thea: Actor  # therapist without any contact setting
    admin: Actor
    patient: int


def make_team(clinic: Clinic, *, email: str = "theo@clinic.example", webhook: str | None = None) -> Team:
    admin = clinic.users.add(SYSTEM, "ada", "admin", PASSWORD).actor
    theo = clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD).actor
    thea = clinic.users.add(SYSTEM, "thea", "therapist", PASSWORD).actor
    clinic.notifications.set_contact(theo, theo.user_id, email=email, webhook_url=webhook)
    pid = clinic.patients.add(theo, PATIENT_NAME, date_of_birth=dt.date(1980, 6, 15), sex="female",
                              contact=f"{PATIENT_EMAIL}, {PATIENT_PHONE}", external_id=PATIENT_MRN,
                              email=PATIENT_EMAIL, phone=PATIENT_PHONE, therapists=[thea.user_id])
    return Team(theo, thea, admin, pid)


def raise_alert(clinic: Clinic, patient: int, actor: Actor) -> int:
    """A PHQ-9 with item 9 endorsed, entered by staff: one alert."""
    answers = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 2}
    clinic.administrations.record(actor, patient, "phq9", answers)
    alerts = clinic.alerts.list(actor, patient_id=patient)
    return max(a.id for a in alerts)


# -- SMTP --------------------------------------------------------------------------------------------------------
def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Mail:
    sender: str
    to: list[str]
    data: bytes
    tls: bool

    @property
    def message(self):
        from email import message_from_bytes
        from email.policy import default

        return message_from_bytes(self.data, policy=default)


@dataclass
class SmtpServer:
    host: str
    port: int
    cafile: Path
    received: list[Mail] = field(default_factory=list)
    delay: float = 0.0  # seconds to wait before accepting each message
    lock: threading.Lock = field(default_factory=threading.Lock)

    def env(self) -> dict[str, str]:
        return {"PSYSCORE_SMTP_HOST": self.host, "PSYSCORE_SMTP_PORT": str(self.port),
                "PSYSCORE_SMTP_CAFILE": str(self.cafile), "PSYSCORE_SMTP_FROM": "psyscore@clinic.example"}

    def wait_for(self, n: int, timeout: float = 20.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= n:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"expected {n} message(s), the SMTP server got {len(self.received)}")


def start_smtp(folder: Path, port: int | None = None) -> tuple[SmtpServer, object]:
    import ssl

    from aiosmtpd.controller import Controller

    cert, key = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SmtpServer("localhost", port or free_port(), cert)

    class Handler:
        async def handle_DATA(self, srv, session, envelope):
            if server.delay:
                import asyncio

                await asyncio.sleep(server.delay)
            with server.lock:
                server.received.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                                            session.ssl is not None))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=server.port, tls_context=context,
                            require_starttls=True, server_hostname="localhost")
    controller.start()
    return server, controller


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    server, controller = start_smtp(tmp_path)
    try:
        yield server
    finally:
        controller.stop()  # type: ignore[attr-defined]


# -- webhooks -----------------------------------------------------------------------------------------------------
@dataclass
class Hook:
    path: str
    body: dict
    headers: dict[str, str]
    valid: bool


@dataclass
class HookServer:
    url: str
    received: list[Hook] = field(default_factory=list)
    fail_next: int = 0  # answer HTTP 500 to this many requests first
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, n: int, timeout: float = 20.0) -> list[Hook]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= n:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"expected {n} webhook call(s), got {len(self.received)}")


@pytest.fixture
def hooks() -> Iterator[HookServer]:
    state = HookServer("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            valid = verify_signature(SECRET, self.headers.get("X-Psyscore-Timestamp", ""), raw,
                                     self.headers.get("X-Psyscore-Signature", ""))
            with state.lock:
                fail = state.fail_next > 0
                if fail:
                    state.fail_next -= 1
                else:
                    state.received.append(Hook(self.path, json.loads(raw), dict(self.headers), valid))
            self.send_response(500 if fail else (204 if valid else 401))
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)

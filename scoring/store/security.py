"""Secrets: Argon2id password hashes, one-time codes (HMAC with a server key) and link tokens (SHA-256).

A *short code* is ``CODE_DIGITS`` decimal digits, typed on a tablet keypad; it is only accepted within
its expiry and under attempt limits (see :class:`RedeemPolicy`). A *link token* carries 256 random bits
(URL-safe Base64), so it needs no attempt limit. A *kiosk ticket* (256 bits) lets the tablet that
redeemed a code go on with that assignment — and only that one — after a reload.

Tokens and tickets carry 256 random bits, so a SHA-256 with a domain prefix is enough to look them up
without storing them. Short codes (10^12 values) are stored as HMAC-SHA256 with the server secret
(:func:`load_secret_key`, kept outside the database); passwords are low-entropy and get Argon2id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from argon2 import PasswordHasher

from scoring.store.errors import StoreError

CODE_DIGITS = 12  # see RedeemPolicy for why 12 (the tablet keypad takes its length from here)
TOKEN_BYTES = 32


def password_hasher(*, fast: bool = False) -> PasswordHasher:
    """An Argon2id hasher: argon2-cffi's defaults (RFC 9106 low-memory profile), or cheap ones for tests."""
    if fast:
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher()


def new_short_code(digits: int = CODE_DIGITS) -> str:
    """A random numeric code, e.g. ``'04718263'``."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def new_token() -> str:
    """A random URL-safe token of 256 bits."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def secret_hash(kind: str, value: str) -> str:
    """SHA-256 of a code/token/ticket with a domain prefix (hex)."""
    return hashlib.sha256(f"psyscore:{kind}:{value}".encode()).hexdigest()


SECRET_KEY_ENV = "PSYSCORE_SECRET_KEY"
SECRET_KEY_FILE_ENV = "PSYSCORE_SECRET_KEY_FILE"
SECRET_KEY_BYTES = 32


def keyed_hash(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 (hex) of a short code or client key with the server secret (see :func:`load_secret_key`).

    Short codes have only 10^12 values: a plain hash in a stolen database would give them all away in
    minutes; without the key (kept outside the database) the stored hashes are useless.
    """
    if len(key) < SECRET_KEY_BYTES:
        raise ValueError("the server secret key is too short")
    return hmac.new(key, f"psyscore:{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def load_secret_key(default_file: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The server secret for :func:`keyed_hash`, kept outside the database.

    In order: ``PSYSCORE_SECRET_KEY`` (the key itself, at least 32 characters), the file named by
    ``PSYSCORE_SECRET_KEY_FILE``, else ``default_file`` (for SQLite the ``.key`` file next to the database),
    created on first use with 32 random bytes and mode 0600. A key file others may read is refused.
    Back it up with the database: without it, outstanding short codes stop working (links, kiosk sessions
    and everything stored are unaffected).
    """
    env = os.environ if environ is None else environ
    raw = env.get(SECRET_KEY_ENV, "").strip()
    if raw:
        if len(raw) < SECRET_KEY_BYTES:
            raise StoreError(f"{SECRET_KEY_ENV} must have at least {SECRET_KEY_BYTES} characters "
                             "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')")
        return raw.encode()
    path = Path(env.get(SECRET_KEY_FILE_ENV, "").strip() or default_file).expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(SECRET_KEY_BYTES) + "\n")
        try:
            os.link(tmp, path)  # atomic: a second process creating it at the same time keeps the first key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise StoreError(f"the secret key file {path} can be read by others (mode {mode:o}): chmod 600 it")
    key = path.read_text(encoding="ascii").strip().encode()
    if len(key) < SECRET_KEY_BYTES:
        raise StoreError(f"the secret key file {path} is empty or too short; remove it to create a new one "
                         "(outstanding short codes then stop working)")
    return key


def normalize_code(text: str) -> str:
    """Strip the spaces and dashes a person types or a printout shows: ``'0471 8263'`` → ``'04718263'``."""
    return re.sub(r"[\s\-]", "", text or "")


def format_code(code: str) -> str:
    """Group a short code in fours for reading aloud: ``'04718263'`` → ``'0471 8263'``."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def is_short_code(text: str, digits: int = CODE_DIGITS) -> bool:
    return len(text) == digits and text.isdigit()


@dataclass(frozen=True)
class RedeemPolicy:
    """Attempt limits and lifetimes for kiosk codes.

    Wrong short codes are limited **per client only** (the app's client key is the tablet's network address,
    see :func:`kiosk_client`): one client past its limit is refused for the rest of its window, every other
    tablet keeps working, so nobody can block every patient's code. Many wrong codes from all clients together
    are a *burst*: audited as ``code_guessing_burst`` for staff, never a clinic-wide lock.

    Why guessing is hopeless with ``CODE_DIGITS = 12`` (10^12 codes): with *n* open codes a guess hits one
    with probability n / 10^12. One client gets at most ``client_failures`` wrong guesses per
    ``client_window``, i.e. 5 per 15 minutes = 480 a day. With 1,000 open codes that is 480 × 10^3 / 10^12 =
    4.8 × 10^-7 expected hits a day from one address (one hit in ~5,700 years); an attacker with 1,000
    addresses: 4.8 × 10^-4 a day (one in ~5.7 years), while each burst of 30 wrong codes in 15 minutes alerts
    staff and every code expires (``code_ttl``, 7 days by default). With the former 8 digits the same 1,000
    addresses would have needed ~5 hours.

    Attributes
    ----------
    code_ttl
        Default lifetime of a code and link when none is given.
    ticket_ttl
        How long a redeemed assignment can be continued on the tablet (resume after a reload).
    client_failures, client_window
        Wrong short codes allowed from one client per window (the check and the recording of a wrong code
        run in one transaction).
    burst_failures, burst_window
        Wrong short codes from all clients together that count as a guessing burst (audited once per window
        for staff; nobody is locked out by it).
    code_digits
        Length of a short code.
    """

    code_ttl: timedelta = timedelta(days=7)
    ticket_ttl: timedelta = timedelta(hours=12)
    client_failures: int = 5
    client_window: timedelta = timedelta(minutes=15)
    burst_failures: int = 30
    burst_window: timedelta = timedelta(minutes=15)
    code_digits: int = CODE_DIGITS


TRUSTED_PROXIES_ENV = "PSYSCORE_TRUSTED_PROXIES"


def kiosk_client(peer: str | None, forwarded_for: str | None = None, trusted_proxies: str | None = None) -> str:
    """The client key for code attempt limits: the tablet's network address, never a browser session.

    Parameters
    ----------
    peer
        The address the server saw (Streamlit's ``st.context.ip_address``; None for a loopback connection).
        ``psyscore app`` lets the server take it from ``X-Forwarded-For`` only for the ``--trusted-proxy``
        addresses it was given.
    forwarded_for
        The request's ``X-Forwarded-For`` header, if any.
    trusted_proxies
        The configured proxies (``PSYSCORE_TRUSTED_PROXIES``, comma-separated; read from the environment
        when None). Without one, a request carrying ``X-Forwarded-For`` is put in one shared bucket, so
        rotating a forged header gains nothing.

    IPv6 addresses count per /64 (one subscriber's network), IPv4 per address; loopback is one client.

    >>> kiosk_client("192.0.2.7"), kiosk_client("2001:db8::1"), kiosk_client(None)
    ('ip:192.0.2.7', 'ip:2001:db8::/64', 'ip:loopback')
    >>> kiosk_client("192.0.2.7", "203.0.113.9", trusted_proxies="")
    'forwarded:unconfigured-proxy'
    """
    import ipaddress
    import os

    proxies = os.environ.get(TRUSTED_PROXIES_ENV, "") if trusted_proxies is None else trusted_proxies
    if (forwarded_for or "").strip() and not proxies.strip():
        return "forwarded:unconfigured-proxy"
    if not peer:
        return "ip:loopback"
    try:
        ip = ipaddress.ip_address(peer.strip())
    except ValueError:
        return f"peer:{peer.strip()[:100]}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "ip:loopback"
    if isinstance(ip, ipaddress.IPv6Address):
        return f"ip:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"ip:{ip}"

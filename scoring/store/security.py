"""Secrets: Argon2id password hashes, one-time codes and link tokens (stored as SHA-256 hashes only).

A *short code* is ``CODE_DIGITS`` decimal digits, typed on a tablet keypad; it is only accepted within
its expiry and under attempt limits (see :class:`RedeemPolicy`). A *link token* carries 256 random bits
(URL-safe Base64), so it needs no attempt limit. A *kiosk ticket* (256 bits) lets the tablet that
redeemed a code go on with that assignment — and only that one — after a reload.

Codes and tokens are random, so an unsalted SHA-256 with a domain prefix is enough to look them up
without storing them; passwords are low-entropy and get Argon2id.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher

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

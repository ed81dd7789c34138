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

CODE_DIGITS = 8
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

    Attributes
    ----------
    code_ttl
        Default lifetime of a code and link when none is given.
    ticket_ttl
        How long a redeemed assignment can be continued on the tablet (resume after a reload).
    client_failures, client_window
        Wrong short codes allowed from one client (the app passes a per-browser-session key) per window.
    global_failures, global_window
        Wrong short codes allowed from all clients together per window; past it, short codes are refused
        for the rest of the window (links keep working). Bounds guessing by an attacker who rotates clients.
    """

    code_ttl: timedelta = timedelta(days=7)
    ticket_ttl: timedelta = timedelta(hours=12)
    client_failures: int = 5
    client_window: timedelta = timedelta(minutes=15)
    global_failures: int = 100
    global_window: timedelta = timedelta(hours=1)
    code_digits: int = CODE_DIGITS

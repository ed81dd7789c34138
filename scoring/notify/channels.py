"""Senders: SMTP e-mail (STARTTLS by default, certificate verified), signed JSON webhooks, SMS.

A webhook POST carries ``X-Psyscore-Timestamp`` (Unix seconds) and ``X-Psyscore-Signature:
sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<body>"`` with the shared secret; a receiver checks it
with :func:`verify_signature` (and refuses old timestamps). ``X-Psyscore-Delivery`` is the outbox row id:
the same id twice is a repeat (delivery is at least once). Redirects are not followed.

An SMS sender is any object with ``send_sms(to, text, *, delivery_id)``; :class:`WebhookSmsSender` posts
``{"to", "text"}`` to a gateway bridge, and ``PSYSCORE_SMS_SENDER=package.module:factory`` plugs in another
(the factory gets the :class:`~scoring.notify.NotifySettings`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

from scoring._version import __version__
from scoring.notify.settings import SmtpSettings
from scoring.store.errors import StoreError

SIGNATURE_HEADER = "X-Psyscore-Signature"
TIMESTAMP_HEADER = "X-Psyscore-Timestamp"
DELIVERY_HEADER = "X-Psyscore-Delivery"


class DeliveryError(StoreError):
    """A message could not be delivered now (it is retried)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``timestamp + "." + body`` with ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: float = 300,
                     now: float | None = None) -> bool:
    """True when ``signature`` is right for ``body`` and the timestamp is within ``tolerance`` seconds."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature or "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookSender:
    """POST signed JSON to a URL; any answer but 2xx (or no answer) is a :class:`DeliveryError`."""

    def __init__(self, secret: str, *, timeout: float = 15.0) -> None:
        if not secret:
            raise StoreError("webhooks need a signing secret (PSYSCORE_WEBHOOK_SECRET)")
        self._secret = secret
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def post(self, url: str, payload: dict[str, Any], *, delivery_id: str) -> int:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        ts = str(int(time.time()))
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": f"psyscore/{__version__}",
            TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(self._secret, ts, body), DELIVERY_HEADER: delivery_id,
        })
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"webhook not reachable: {type(exc).__name__}: {reason}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"webhook answered HTTP {status}")
        return status


class EmailSender:
    """Send plain-text mail through one SMTP server (a new connection per message)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.cafile)

    def send(self, to: str, subject: str, text: str, *, delivery_id: str) -> None:
        cfg = self.settings
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = cfg.sender, to, subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=f"n{delivery_id}", domain=cfg.sender.rpartition("@")[2] or None)
        msg["X-Psyscore-Delivery"] = delivery_id
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(text)
        try:
            if cfg.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                                        context=self._context())
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with client:
                client.ehlo()
                if cfg.security == "starttls":
                    if not client.has_extn("starttls"):
                        raise DeliveryError("the SMTP server does not offer STARTTLS; nothing was sent "
                                            "(set PSYSCORE_SMTP_SECURITY=ssl, or none for a local relay)")
                    client.starttls(context=self._context())
                    client.ehlo()
                if cfg.username:
                    client.login(cfg.username, cfg.password or "")
                client.send_message(msg)
        except DeliveryError:
            raise
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from None


class SmsSender(Protocol):
    def send_sms(self, to: str, text: str, *, delivery_id: str) -> None: ...


class WebhookSmsSender:
    """SMS through a gateway bridge: a signed JSON POST ``{"to": number, "text": text}``."""

    def __init__(self, url: str, secret: str, *, timeout: float = 15.0) -> None:
        self.url = url
        self._hook = WebhookSender(secret, timeout=timeout)

    def send_sms(self, to: str, text: str, *, delivery_id: str) -> None:
        self._hook.post(self.url, {"to": to, "text": text, "id": delivery_id}, delivery_id=delivery_id)

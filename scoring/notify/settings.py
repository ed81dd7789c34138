"""Delivery settings from the environment (``psyscore notify run`` options override them).

=============================  ==========================================================================
``PSYSCORE_SMTP_HOST``         SMTP server (e-mail is off without it)
``PSYSCORE_SMTP_PORT``         default 587
``PSYSCORE_SMTP_SECURITY``     ``starttls`` (default: refuse to send if the server does not offer it),
                               ``ssl`` (implicit TLS, port 465) or ``none`` (a relay on this machine only)
``PSYSCORE_SMTP_USER``         user name for SMTP AUTH (optional)
``PSYSCORE_SMTP_PASSWORD``     its password (or ``PSYSCORE_SMTP_PASSWORD_FILE``: a file holding it)
``PSYSCORE_SMTP_FROM``         sender address, e.g. ``psyscore@clinic.example``
``PSYSCORE_SMTP_CAFILE``       CA bundle to verify the server's certificate (default: the system's)
``PSYSCORE_WEBHOOK_SECRET``    HMAC-SHA256 key for webhook signatures (webhooks are off without it)
``PSYSCORE_SMS_WEBHOOK_URL``   SMS gateway bridge: signed JSON ``{"to", "text"}`` POSTs
``PSYSCORE_SMS_SENDER``        or ``package.module:factory`` returning an SMS sender (see channels)
``PSYSCORE_ONCALL``            the practice's on-call e-mail address or webhook URL (escalations, guessing bursts)
``PSYSCORE_ESCALATE_AFTER``    escalate an alert not acknowledged within this time, e.g. ``30m``
``PSYSCORE_REMINDER_EVERY``    remind patients of an open invitation this often (default ``3d``)
``PSYSCORE_REMINDERS_MAX``     at most this many reminders per assignment (default 3)
``PSYSCORE_PUBLIC_URL``        the app's address, for links in messages
``PSYSCORE_CLINIC_NAME``       the practice's name in invitations
``PSYSCORE_NOTIFY_IN_APP``     ``0`` stops the web app from running its own delivery thread
=============================  ==========================================================================
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from scoring.store.errors import StoreError
from scoring.store.notify import NotifyPolicy, check_email, check_url

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
SECURITY = ("starttls", "ssl", "none")


def parse_duration(text: str, name: str = "duration") -> timedelta:
    """``90s``, ``30m``, ``2h``, ``3d``, ``1w`` → timedelta (raises a StoreError naming the setting)."""
    m = _DURATION.match(text or "")
    if not m or int(m.group(1)) == 0:
        raise StoreError(f"{name}: not a duration: {text!r}; write e.g. 30m, 2h or 3d")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "psyscore@localhost"
    cafile: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class NotifySettings:
    """Everything the delivery worker needs; ``from_env`` reads the variables in this module's docstring."""

    smtp: SmtpSettings | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    sms_webhook_url: str | None = None
    sms_sender: str | None = None  # "package.module:factory"
    public_url: str = "http://localhost:8501/"
    clinic_name: str = "Your practice"
    policy: NotifyPolicy = field(default_factory=NotifyPolicy)
    in_app: bool = True

    @property
    def channels(self) -> tuple[str, ...]:
        """Channels that can be delivered with these settings (rows of other channels wait)."""
        out = []
        if self.smtp is not None:
            out.append("email")
        if self.webhook_secret:
            out.append("webhook")
        if (self.sms_webhook_url and self.webhook_secret) or self.sms_sender:
            out.append("sms")
        return tuple(out)

    def with_policy(self, **changes: object) -> NotifySettings:
        return replace(self, policy=replace(self.policy, **changes))  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NotifySettings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        smtp = None
        host = get("PSYSCORE_SMTP_HOST")
        if host:
            security = (get("PSYSCORE_SMTP_SECURITY") or "starttls").lower()
            if security not in SECURITY:
                raise StoreError(f"PSYSCORE_SMTP_SECURITY: {security!r}; use one of {', '.join(SECURITY)}")
            port_text = get("PSYSCORE_SMTP_PORT") or ("465" if security == "ssl" else "587")
            if not port_text.isdigit():
                raise StoreError(f"PSYSCORE_SMTP_PORT: not a port number: {port_text!r}")
            password = get("PSYSCORE_SMTP_PASSWORD")
            pw_file = get("PSYSCORE_SMTP_PASSWORD_FILE")
            if password is None and pw_file:
                try:
                    password = Path(pw_file).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise StoreError(f"PSYSCORE_SMTP_PASSWORD_FILE: cannot read {pw_file}: {exc.strerror}") from exc
            sender = get("PSYSCORE_SMTP_FROM") or "psyscore@localhost"
            smtp = SmtpSettings(host, int(port_text), security, get("PSYSCORE_SMTP_USER"), password,
                                check_email(sender), get("PSYSCORE_SMTP_CAFILE"))
        on_call = get("PSYSCORE_ONCALL")
        if on_call:
            on_call = check_url(on_call) if on_call.startswith(("http://", "https://")) else check_email(on_call)
        escalate = get("PSYSCORE_ESCALATE_AFTER")
        remind = get("PSYSCORE_REMINDER_EVERY")
        max_rem = get("PSYSCORE_REMINDERS_MAX")
        if max_rem is not None and not max_rem.isdigit():
            raise StoreError(f"PSYSCORE_REMINDERS_MAX: not a number: {max_rem!r}")
        policy = NotifyPolicy(
            escalate_after=parse_duration(escalate, "PSYSCORE_ESCALATE_AFTER") if escalate else None,
            on_call=on_call,
            reminder_every=parse_duration(remind, "PSYSCORE_REMINDER_EVERY") if remind else timedelta(days=3),
            max_reminders=int(max_rem) if max_rem is not None else 3,
        )
        public = (get("PSYSCORE_PUBLIC_URL") or "http://localhost:8501").rstrip("/") + "/"
        return cls(smtp=smtp, webhook_secret=get("PSYSCORE_WEBHOOK_SECRET"),
                   sms_webhook_url=get("PSYSCORE_SMS_WEBHOOK_URL"), sms_sender=get("PSYSCORE_SMS_SENDER"),
                   public_url=public, clinic_name=get("PSYSCORE_CLINIC_NAME") or "Your practice", policy=policy,
                   in_app=(get("PSYSCORE_NOTIFY_IN_APP") or "1") not in ("0", "false", "no", "off"))

"""App settings, read from the environment that ``psyscore app`` sets (never from the URL)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from scoring.store import default_url

ENV_KIOSK_IDLE = "PSYSCORE_KIOSK_IDLE_SECONDS"
ENV_STAFF_IDLE = "PSYSCORE_STAFF_IDLE_MINUTES"
ENV_STAFF_MAX = "PSYSCORE_STAFF_SESSION_HOURS"
ENV_KIOSK_LAYOUT = "PSYSCORE_KIOSK_LAYOUT"
ENV_SUPPORT = "PSYSCORE_KIOSK_SUPPORT_MESSAGE"
ENV_SUPPORT_FILE = "PSYSCORE_KIOSK_SUPPORT_FILE"
ENV_CLINIC_NAME = "PSYSCORE_CLINIC_NAME"
ENV_PUBLIC_URL = "PSYSCORE_PUBLIC_URL"

DEFAULT_SUPPORT_MESSAGE = (
    "Thank you for answering honestly. If you are having thoughts of harming yourself, please tell a member "
    "of staff now — they are here to help. If you are in danger right now, call your local emergency number "
    "(112 in Europe, 911 in the USA, 999 in the UK) or a crisis line such as 988 (USA) or 116 123 (Samaritans, "
    "UK and Ireland)."
)


@dataclass(frozen=True)
class AppSettings:
    """Deployment settings (the same for every session)."""

    database_url: str
    kiosk_idle: timedelta = timedelta(minutes=5)
    staff_idle: timedelta = timedelta(minutes=30)
    staff_max: timedelta = timedelta(hours=12)
    kiosk_layout: str = "item"  # "item": one question per screen; "page": the whole questionnaire
    support_message: str = DEFAULT_SUPPORT_MESSAGE
    clinic_name: str | None = None
    public_url: str | None = None


def _number(environ: dict[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


def load_settings(environ: dict[str, str] | None = None) -> AppSettings:
    """Settings from the environment (``psyscore app`` passes ``--db`` as ``PSYSCORE_DATABASE_URL``)."""
    env = dict(os.environ if environ is None else environ)
    support = env.get(ENV_SUPPORT, "").strip()
    support_file = env.get(ENV_SUPPORT_FILE, "").strip()
    if not support and support_file:
        try:
            with open(support_file, encoding="utf-8") as fh:
                support = fh.read().strip()
        except OSError:
            support = ""
    layout = env.get(ENV_KIOSK_LAYOUT, "item").strip().lower()
    return AppSettings(
        database_url=default_url(env),
        kiosk_idle=timedelta(seconds=_number(env, ENV_KIOSK_IDLE, 300)),
        staff_idle=timedelta(minutes=_number(env, ENV_STAFF_IDLE, 30)),
        staff_max=timedelta(hours=_number(env, ENV_STAFF_MAX, 12)),
        kiosk_layout=layout if layout in ("item", "page") else "item",
        support_message=support or DEFAULT_SUPPORT_MESSAGE,
        clinic_name=env.get(ENV_CLINIC_NAME, "").strip() or None,
        public_url=env.get(ENV_PUBLIC_URL, "").strip().rstrip("/") or None,
    )

"""App settings, read from the environment that ``psyscore app`` sets (never from the URL)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from scoring import messages
from scoring.store import default_url
from scoring.store.kiosk_settings import ENV_SUPPORT, ENV_SUPPORT_FILE, support_defaults

ENV_KIOSK_IDLE = "PSYSCORE_KIOSK_IDLE_SECONDS"
ENV_STAFF_IDLE = "PSYSCORE_STAFF_IDLE_MINUTES"
ENV_STAFF_MAX = "PSYSCORE_STAFF_SESSION_HOURS"
ENV_KIOSK_LAYOUT = "PSYSCORE_KIOSK_LAYOUT"
# the support message's deployment default: PSYSCORE_KIOSK_SUPPORT_MESSAGE[_ES] / PSYSCORE_KIOSK_SUPPORT_FILE[_ES]
# (scoring.store.kiosk_settings); an admin's text saved in the store comes first (kiosk settings page)
__all__ = ["ENV_SUPPORT", "ENV_SUPPORT_FILE", "AppSettings", "load_settings"]
ENV_CLINIC_NAME = "PSYSCORE_CLINIC_NAME"
ENV_PUBLIC_URL = "PSYSCORE_PUBLIC_URL"
ENV_BATTERY_LANGUAGE = "PSYSCORE_BATTERY_LANGUAGE"  # the language batteries' own instructions/consent are in


@dataclass(frozen=True)
class AppSettings:
    """Deployment settings (the same for every session)."""

    database_url: str
    kiosk_idle: timedelta = timedelta(minutes=5)
    staff_idle: timedelta = timedelta(minutes=30)
    staff_max: timedelta = timedelta(hours=12)
    kiosk_layout: str = "item"  # "item": one question per screen; "page": the whole questionnaire
    #: the deployment's support/crisis message by language code, from the environment (an admin's text saved in
    #: the store overrides it: see :meth:`scoring.store.kiosk_settings.KioskSettings.support_message`)
    support_messages: dict[str, str] = field(default_factory=dict)
    clinic_name: str | None = None
    public_url: str | None = None
    battery_language: str = "en"

    def support_message(self, language: str | None) -> str:
        """The deployment default of the support message in ``language``: the environment's text for that
        language, else the catalogue's default (which names no phone number: set your local crisis line). The
        tablet shows an admin's text saved in the store before this (``Clinic.kiosk_settings``)."""
        code = messages.resolve_language(language)
        return self.support_messages.get(code) or messages.message("support_default", code)


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
    support = support_defaults(env)  # raises SupportFileError naming a file it cannot use: never a silent default
    layout = env.get(ENV_KIOSK_LAYOUT, "item").strip().lower()
    return AppSettings(
        database_url=default_url(env),
        kiosk_idle=timedelta(seconds=_number(env, ENV_KIOSK_IDLE, 300)),
        staff_idle=timedelta(minutes=_number(env, ENV_STAFF_IDLE, 30)),
        staff_max=timedelta(hours=_number(env, ENV_STAFF_MAX, 12)),
        kiosk_layout=layout if layout in ("item", "page") else "item",
        support_messages=support,
        clinic_name=env.get(ENV_CLINIC_NAME, "").strip() or None,
        public_url=env.get(ENV_PUBLIC_URL, "").strip().rstrip("/") or None,
        battery_language=messages.resolve_language(env.get(ENV_BATTERY_LANGUAGE, "").strip() or None),
    )

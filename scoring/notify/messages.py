"""The texts sent. No patient identifier, no instrument, no answer, no score, no code: only that something
needs attention (staff: an alert, or a burst of wrong check-in codes and when) or that a questionnaire is
waiting (patients), and a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    url: str


def _minutes(d: timedelta | None) -> str:
    minutes = max(1, round((d or timedelta()).total_seconds() / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def staff_message(kind: str, public_url: str, open_for: timedelta | None = None,
                  window: tuple[datetime, datetime] | None = None) -> Message:
    url = public_url + "login"
    if kind == "guessing_burst":
        when = (f" between {window[0]:%Y-%m-%d %H:%M} and {window[1]:%H:%M} UTC" if window is not None
                else " within a few minutes")
        return Message("psyscore: repeated wrong check-in codes",
                       f"Repeated wrong check-in codes were entered on the patient tablets at {url}{when} "
                       "(someone may be guessing codes; nobody has been locked out). See the audit log for "
                       f"details.\n\nSign in to psyscore:\n{url}\n\n"
                       "This message holds no patient information and no codes.", url)
    if kind == "escalation":
        return Message("psyscore: an alert has not been acknowledged",
                       f"An alert has waited {_minutes(open_for)} without being acknowledged and needs the on-call "
                       f"clinician's attention.\n\nSign in to psyscore to see it:\n{url}\n\n"
                       "This message holds no patient information.", url)
    if kind == "test":
        return Message("psyscore: test message",
                       f"This is a test of psyscore's notifications. Sign in at:\n{url}", url)
    return Message("psyscore: an alert needs your attention",
                   f"An alert needs your attention.\n\nSign in to psyscore to see it:\n{url}\n\n"
                   "This message holds no patient information.", url)


def patient_message(kind: str, public_url: str, token: str, clinic_name: str,
                    expires_at: datetime | None) -> Message:
    url = f"{public_url}?link={token}"
    until = f" It works once, until {expires_at:%Y-%m-%d}." if expires_at else " It works once."
    if kind == "reminder":
        return Message(f"Reminder from {clinic_name}",
                       f"A reminder from {clinic_name}: a short questionnaire is waiting for you.\n\n"
                       f"Open this link to start:\n{url}\n\n{until.strip()} An earlier link no longer works.", url)
    return Message(f"A questionnaire from {clinic_name}",
                   f"{clinic_name} has asked you to fill in a short questionnaire.\n\n"
                   f"Open this link to start:\n{url}\n\n{until.strip()}", url)


def sms_text(message: Message, clinic_name: str) -> str:
    return f"{clinic_name}: a short questionnaire is waiting for you: {message.url}"

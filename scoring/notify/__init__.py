"""Delivering the store's notification outbox: e-mail (SMTP with STARTTLS), signed webhooks, SMS.

``import scoring`` does not import this package. The outbox itself (rows, claims, retries, escalation,
reminders) is :mod:`scoring.store.notify`; this package turns rows into messages and sends them::

    from scoring.notify import Notifier, NotifySettings

    notifier = Notifier(clinic, NotifySettings.from_env())
    notifier.run_once()               # what `psyscore notify run --once` does
    notifier.start()                  # a background thread (the web app starts one per server process)

Messages never hold patient identifiers or answers; see :mod:`scoring.notify.messages`.
"""

from scoring.notify.channels import (
    DeliveryError,
    EmailSender,
    SmsSender,
    WebhookSender,
    WebhookSmsSender,
    sign,
    verify_signature,
)
from scoring.notify.messages import Message
from scoring.notify.settings import NotifySettings, SmtpSettings
from scoring.notify.worker import CycleReport, Notifier

__all__ = [
    "CycleReport",
    "DeliveryError",
    "EmailSender",
    "Message",
    "Notifier",
    "NotifySettings",
    "SmsSender",
    "SmtpSettings",
    "WebhookSender",
    "WebhookSmsSender",
    "sign",
    "verify_signature",
]

"""The delivery worker: queue what is due (escalations, reminders), claim rows, send, record the outcome.

One :class:`Notifier` per process: ``psyscore notify run`` runs it in the foreground, the web app starts
it as a daemon thread once per server process. Several workers (processes or machines) may run on one
database: a row is claimed by one of them at a time (see :mod:`scoring.store.notify`).
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from scoring.notify.channels import DeliveryError, EmailSender, SmsSender, WebhookSender, WebhookSmsSender
from scoring.notify.messages import patient_message, sms_text, staff_message
from scoring.notify.settings import NotifySettings
from scoring.store import Clinic
from scoring.store.errors import StoreError
from scoring.store.notify import Claimed, Delivery, ScheduleReport

LOG = logging.getLogger("psyscore.notify")


@dataclass
class CycleReport:
    """What one cycle did (counts only)."""

    scheduled: ScheduleReport = field(default_factory=ScheduleReport)
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    lost: int = 0  # claims that ran out before the outcome could be recorded

    def add(self, status: str | None) -> None:
        key = {"sent": "sent", "pending": "retried", "failed": "failed", "skipped": "skipped"}.get(status or "",
                                                                                                  "lost")
        setattr(self, key, getattr(self, key) + 1)


def load_sms_sender(settings: NotifySettings) -> SmsSender | None:
    """The configured SMS sender: ``PSYSCORE_SMS_SENDER`` (module:factory) or the webhook bridge."""
    if settings.sms_sender:
        module_name, _, attr = settings.sms_sender.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr or "sms_sender")
        except (ImportError, AttributeError) as exc:
            raise StoreError(f"PSYSCORE_SMS_SENDER: cannot load {settings.sms_sender!r}: {exc}") from exc
        sender: SmsSender = factory(settings)
        return sender
    if settings.sms_webhook_url and settings.webhook_secret:
        return WebhookSmsSender(settings.sms_webhook_url, settings.webhook_secret)
    return None


class Notifier:
    """Deliver a clinic's outbox with the given settings.

    Parameters
    ----------
    clinic
        The clinic whose outbox is delivered (its store may be shared with the app).
    settings
        Channels, retry/escalation/reminder policy, the public URL for links.
    batch
        Rows claimed at a time.
    """

    def __init__(self, clinic: Clinic, settings: NotifySettings, *, batch: int = 20, name: str | None = None) -> None:
        self.clinic = clinic
        self.settings = settings
        self.batch = batch
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._email = EmailSender(settings.smtp) if settings.smtp is not None else None
        self._webhook = WebhookSender(settings.webhook_secret) if settings.webhook_secret else None
        self._sms = load_sms_sender(settings)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c for c, sender in (("email", self._email), ("webhook", self._webhook), ("sms", self._sms))
                     if sender is not None)

    # -- one cycle -----------------------------------------------------------------------------------------------
    def run_once(self) -> CycleReport:
        """Queue due escalations and reminders, then deliver every row due now (until none is left)."""
        outbox = self.clinic.notifications
        report = CycleReport(scheduled=outbox.schedule(self.settings.policy))
        if not self.channels:
            return report
        while not self._stop.is_set():
            claimed = outbox.claim(self.channels, limit=self.batch, lease=self.settings.policy.lease,
                                   worker=self.name)
            if not claimed:
                break
            report.claimed += len(claimed)
            for c in claimed:
                report.add(self.deliver(c))
        return report

    def deliver(self, c: Claimed) -> str | None:
        """Send one claimed row and record the outcome (returns the row's new status)."""
        outbox = self.clinic.notifications
        policy = self.settings.policy
        try:
            d = outbox.prepare(c)
        except Exception as exc:  # a database hiccup: the claim runs out and the row is taken again
            LOG.warning("notification %s: could not prepare (%s)", c.id, type(exc).__name__)
            return None
        if d.skip is not None:
            return outbox.finish(c, policy, skip=d.skip)
        try:
            self._send(c, d)
        except DeliveryError as exc:
            LOG.info("notification %s (%s, attempt %s) failed; retried later", c.id, c.channel, c.attempt)
            return outbox.finish(c, policy, error=str(exc))
        except Exception as exc:  # anything unexpected is retried too: a row is never dropped
            LOG.warning("notification %s: unexpected %s", c.id, type(exc).__name__)
            return outbox.finish(c, policy, error=f"{type(exc).__name__}: {exc}")
        return outbox.finish(c, policy)

    def _send(self, c: Claimed, d: Delivery) -> None:
        cfg = self.settings
        if d.address is None:
            raise DeliveryError("no address")
        if c.kind in ("invitation", "reminder"):
            message = patient_message(c.kind, cfg.public_url, d.token or "", cfg.clinic_name, d.expires_at)
            if c.channel == "sms":
                assert self._sms is not None
                self._sms.send_sms(d.address, sms_text(message, cfg.clinic_name), delivery_id=str(c.id))
                return
        else:
            message = staff_message(c.kind, cfg.public_url, d.open_for, d.window)
        if c.channel == "email":
            assert self._email is not None
            self._email.send(d.address, message.subject, message.text, delivery_id=str(c.id))
        elif c.channel == "webhook":
            assert self._webhook is not None
            self._webhook.post(d.address, {
                "id": c.id, "kind": c.kind, "alert_id": c.alert_id, "text": message.subject,
                "url": message.url, "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }, delivery_id=str(c.id))
        else:
            raise DeliveryError(f"channel {c.channel} cannot carry a {c.kind} message")

    # -- running ---------------------------------------------------------------------------------------------------
    def run(self, *, interval: float = 5.0) -> None:
        """Cycle until :meth:`stop` (a cycle starts early on :meth:`wake`). Errors are logged, never fatal."""
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # the database is down, say: try again next cycle
                LOG.warning("notification cycle failed: %s", type(exc).__name__)
            self._wake.wait(interval)
            self._wake.clear()

    def start(self, *, interval: float = 5.0) -> threading.Thread:
        """Run in a daemon thread (once; a second call returns the running thread)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, kwargs={"interval": interval},
                                            name="psyscore-notify", daemon=True)
            self._thread.start()
        return self._thread

    def wake(self, *_args: object) -> None:
        """Start the next cycle now (e.g. from ``Clinic(on_alert=notifier.wake)``)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

"""``psyscore notify``: deliver the notification outbox (e-mail, webhooks, SMS), list it, retry, test.

Settings come from the environment (see :mod:`scoring.notify.settings`); the options here override them
for one run. The SMTP password is never an option (it would show in ``ps``): use
``PSYSCORE_SMTP_PASSWORD`` or ``PSYSCORE_SMTP_PASSWORD_FILE``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from scoring.cli import EXIT_OK, UsageError

if TYPE_CHECKING:
    from scoring.notify import NotifySettings

ORDER = 55
OVERRIDES = {  # option dest → environment variable
    "smtp_host": "PSYSCORE_SMTP_HOST", "smtp_port": "PSYSCORE_SMTP_PORT", "smtp_security": "PSYSCORE_SMTP_SECURITY",
    "smtp_user": "PSYSCORE_SMTP_USER", "smtp_from": "PSYSCORE_SMTP_FROM", "smtp_cafile": "PSYSCORE_SMTP_CAFILE",
    "on_call": "PSYSCORE_ONCALL", "escalate_after": "PSYSCORE_ESCALATE_AFTER",
    "reminder_every": "PSYSCORE_REMINDER_EVERY", "max_reminders": "PSYSCORE_REMINDERS_MAX",
    "public_url": "PSYSCORE_PUBLIC_URL", "clinic_name": "PSYSCORE_CLINIC_NAME",
    "sms_webhook": "PSYSCORE_SMS_WEBHOOK_URL",
}


def _duration(text: str) -> timedelta:
    from scoring.notify.settings import parse_duration
    from scoring.store import StoreError

    try:
        return parse_duration(text)
    except StoreError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL",
                   help="database URL or SQLite file (default: $PSYSCORE_DATABASE_URL, else ./data/psyscore.db)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("notify", help="deliver alert notices, escalations and invitations (e-mail, webhook, SMS)",
                       description="The notification outbox: alert notices to the care team, escalations to the "
                       "on-call address, invitation links and reminders to patients. Messages hold no patient "
                       "identifiers or answers.")
    nsub = p.add_subparsers(dest="notify_command", metavar="ACTION", required=True,
                            help="run, list, retry or test")
    q = nsub.add_parser("run", help="deliver due notifications (a worker; --once: one pass, then exit)",
                        description="Queue due escalations and reminders and deliver the outbox, with retries and "
                        "exponential backoff. Several workers may run against one database.")
    q.add_argument("--once", action="store_true", help="one pass over what is due now, then exit")
    q.add_argument("--interval", type=float, default=5.0, metavar="SECONDS", help="pause between passes (5)")
    q.add_argument("--batch", type=int, default=20, metavar="N", help="rows claimed at a time (20)")
    q.add_argument("--lease", type=_duration, metavar="DURATION",
                   help="how long a claimed row is held before another worker may take it again (default 2m)")
    q.add_argument("--max-attempts", type=int, metavar="N", help="attempts before a row is marked failed (20)")
    q.add_argument("--backoff", type=_duration, metavar="DURATION",
                   help="first retry delay, doubled each time up to 1h (default 30s)")
    q.add_argument("--smtp-host", help="SMTP server ($PSYSCORE_SMTP_HOST)")
    q.add_argument("--smtp-port", help="SMTP port (587)")
    q.add_argument("--smtp-security", choices=("starttls", "ssl", "none"), help="starttls (default), ssl or none")
    q.add_argument("--smtp-user", help="SMTP user name (password: $PSYSCORE_SMTP_PASSWORD[_FILE])")
    q.add_argument("--smtp-from", metavar="ADDRESS", help="sender address")
    q.add_argument("--smtp-cafile", metavar="FILE", help="CA bundle for the SMTP server's certificate")
    q.add_argument("--on-call", metavar="ADDRESS", help="on-call e-mail address or webhook URL for escalations")
    q.add_argument("--escalate-after", metavar="DURATION",
                   help="escalate an alert not acknowledged within this time, e.g. 30m")
    q.add_argument("--reminder-every", metavar="DURATION", help="remind patients this often (3d)")
    q.add_argument("--max-reminders", metavar="N", help="reminders per assignment (3)")
    q.add_argument("--public-url", metavar="URL", help="the app's address, for links")
    q.add_argument("--clinic-name", help="the practice's name in invitations")
    q.add_argument("--sms-webhook", metavar="URL", help="SMS gateway bridge URL (signed JSON POST)")
    _db(q)
    q.set_defaults(func=cmd_notify_run)

    q = nsub.add_parser("list", help="list the outbox", description="Outbox rows, newest first.")
    q.add_argument("--status", choices=("pending", "sending", "sent", "failed", "skipped"), help="only this status")
    q.add_argument("--limit", type=int, default=50, help="rows to show (50)")
    q.add_argument("--json", action="store_true", help="print JSON")
    _db(q)
    q.set_defaults(func=cmd_notify_list)

    q = nsub.add_parser("retry", help="queue failed notifications again",
                        description="Put failed rows back in the queue (their attempts start again).")
    q.add_argument("ids", nargs="*", type=int, metavar="ID", help="notification ids")
    q.add_argument("--failed", action="store_true", help="every failed row")
    _db(q)
    q.set_defaults(func=cmd_notify_retry)

    q = nsub.add_parser("test", help="queue a test message to an e-mail address or webhook URL",
                        description="Queue a test message (no patient data); 'psyscore notify run --once' sends it.")
    q.add_argument("address", help="e-mail address or https:// webhook URL")
    _db(q)
    q.set_defaults(func=cmd_notify_test)


def settings_from(args: argparse.Namespace) -> NotifySettings:
    """Environment settings with this run's options on top."""
    from scoring.notify import NotifySettings

    env = dict(os.environ)
    for dest, name in OVERRIDES.items():
        value = getattr(args, dest, None)
        if value:
            env[name] = str(value)
    cfg = NotifySettings.from_env(env)
    changes: dict[str, object] = {}
    if getattr(args, "lease", None):
        changes["lease"] = args.lease
    if getattr(args, "max_attempts", None):
        if args.max_attempts < 1:
            raise UsageError("--max-attempts must be at least 1")
        changes["max_attempts"] = args.max_attempts
    if getattr(args, "backoff", None):
        changes["backoff_base"] = args.backoff
    return cfg.with_policy(**changes) if changes else cfg


def cmd_notify_run(args: argparse.Namespace) -> int:
    from scoring.cli.store_cmds import open_clinic
    from scoring.notify import Notifier

    cfg = settings_from(args)
    with open_clinic(args) as clinic:
        if args.batch < 1:
            raise UsageError("--batch must be at least 1")
        notifier = Notifier(clinic, cfg, batch=args.batch)
        if not notifier.channels:
            print("no delivery channel is configured (set PSYSCORE_SMTP_HOST, PSYSCORE_WEBHOOK_SECRET or an SMS "
                  "sender): rows stay queued", file=sys.stderr)
        if args.once:
            r = notifier.run_once()
            s = r.scheduled
            print(f"queued {s.escalations} escalation(s), {s.invitations} invitation(s), {s.reminders} reminder(s); "
                  f"claimed {r.claimed}: {r.sent} sent, {r.retried} to retry, {r.failed} failed, {r.skipped} skipped")
            return EXIT_OK
        print(f"delivering ({', '.join(notifier.channels) or 'no channel'}) every {args.interval:g}s; "
              "Ctrl-C stops", file=sys.stderr)

        def stop(_signum: int, _frame: object) -> None:
            notifier.stop(timeout=0)

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, stop)
        notifier.run(interval=args.interval)
    return EXIT_OK


def cmd_notify_list(args: argparse.Namespace) -> int:
    import json

    from scoring.cli.store_cmds import open_clinic
    from scoring.store import Actor

    with open_clinic(args) as clinic:
        rows = clinic.notifications.list(Actor.system("cli"), status=args.status, limit=args.limit)
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], default=str, indent=2))
        return EXIT_OK
    if not rows:
        print("the outbox is empty")
    for r in rows:
        target = f"alert {r.alert_id}" if r.alert_id else f"assignment {r.assignment_id}" if r.assignment_id else ""
        print(f"#{r.id:<6}{r.kind:<12}{r.channel:<9}{r.status:<9}attempts {r.attempts:<3}{target:<18}"
              f"{r.last_error or ''}")
    return EXIT_OK


def cmd_notify_retry(args: argparse.Namespace) -> int:
    from scoring.cli.store_cmds import open_clinic
    from scoring.store import Actor

    if not args.ids and not args.failed:
        raise UsageError("give notification ids or --failed")
    with open_clinic(args) as clinic:
        n = clinic.notifications.retry(Actor.system("cli"), args.ids, all_failed=args.failed)
    print(f"{n} notification(s) queued again")
    return EXIT_OK


def cmd_notify_test(args: argparse.Namespace) -> int:
    from scoring.cli.store_cmds import open_clinic
    from scoring.store import Actor

    with open_clinic(args) as clinic:
        row = clinic.notifications.enqueue_test(Actor.system("cli"), args.address)
    print(f"test message #{row} queued: run 'psyscore notify run --once' to send it")
    return EXIT_OK

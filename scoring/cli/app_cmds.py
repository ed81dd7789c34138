"""``psyscore app``: serve the Streamlit front end (a thin adapter over the library).

The database URL reaches the app through the environment of the server process (``--db`` sets
``PSYSCORE_DATABASE_URL``), never through the browser. A brand-new database is initialised first; an
outdated one is refused with what to do.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from scoring.cli import EXIT_ERROR, EXIT_OK, UsageError
from scoring.definitions.library import bundled_dir

ORDER = 90
ENV_DATABASE_URL = "PSYSCORE_DATABASE_URL"  # the same name as scoring.store.ENV_DATABASE_URL
ENV_KIOSK_IDLE = "PSYSCORE_KIOSK_IDLE_SECONDS"
ENV_KIOSK_LAYOUT = "PSYSCORE_KIOSK_LAYOUT"
ENV_PUBLIC_URL = "PSYSCORE_PUBLIC_URL"
ENV_TRUSTED_PROXIES = "PSYSCORE_TRUSTED_PROXIES"  # the same name as scoring.store.security.TRUSTED_PROXIES_ENV
ENV_FORWARDED_ALLOW_IPS = "FORWARDED_ALLOW_IPS"  # uvicorn's list of proxies whose X-Forwarded-For it believes


def _seconds(text: str) -> int:
    """``300``, ``90s``, ``5m`` or ``1h`` → seconds."""
    raw = (text or "").strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        value = int(raw[:-1]) * units[raw[-1]] if raw and raw[-1] in units else int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r}; write e.g. 300, 90s, 5m") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the idle timeout must be positive")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="serve the web app (Streamlit)",
                       description="Serve the psyscore web app: the patients' tablet (kiosk) at /, staff sign-in "
                       "at /login. Needs the 'app' extra: pip install 'psyscore[app]'.")
    p.add_argument("--db", metavar="URL",
                   help="database URL or SQLite file (default: $PSYSCORE_DATABASE_URL, else ./data/psyscore.db)")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.add_argument("--address", default="localhost", help="address to bind (default localhost)")
    p.add_argument("--kiosk-idle", type=_seconds, metavar="DURATION",
                   help="return the tablet to the code screen after this long without a tap (default 5m)")
    p.add_argument("--kiosk-layout", choices=("item", "page"),
                   help="kiosk default: one question per screen (item, the default) or the whole questionnaire")
    p.add_argument("--public-url", metavar="URL",
                   help="address patients' links and QR codes start with (default: the address staff use)")
    p.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDRESS",
                   help="a reverse proxy (IP address or network, repeatable) whose X-Forwarded-For header names the "
                   "tablet; without it the header is ignored, so a forged one cannot dodge the code attempt limits")
    p.set_defaults(func=cmd_app)


def streamlit_command(port: int, address: str) -> list[str]:
    """The streamlit invocation with psyscore's hardened server settings."""
    entry = bundled_dir("app") / "server.py"  # streamlit_app.py with the staff-session cookie routes
    return [
        sys.executable, "-m", "streamlit", "run", str(entry),
        "--server.port", str(port),
        "--server.address", address,
        "--server.enableXsrfProtection", "true",
        "--server.maxUploadSize", "20",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "false",
        "--client.toolbarMode", "minimal",
        "--theme.base", "light",
    ]


def prepare_database(url: str | None) -> str:
    """Open the database, initialise a brand-new one, refuse an outdated one; returns the URL to serve."""
    from scoring.store import SchemaError, Store, StoreError

    try:
        store = Store(url) if url else Store()
    except StoreError:
        raise
    except Exception as exc:  # a malformed URL or a missing driver
        raise UsageError(f"cannot open the database: {exc}") from exc
    try:
        if store.is_empty():
            store.upgrade()
            from scoring.store import Actor, Clinic

            off = Clinic(store).catalogue.apply_licence_defaults(Actor.system("app"))  # a new clinic
            print(f"initialised a new database: {store!r}"
                  + (f"; non-commercial instruments off until an admin enables them: {', '.join(off)}" if off else ""),
                  file=sys.stderr)
        try:
            store.require_current()
        except SchemaError as exc:
            raise UsageError(str(exc)) from exc
        return store.url.render_as_string(hide_password=False)
    finally:
        store.close()


def cmd_app(args: argparse.Namespace) -> int:
    try:
        import streamlit  # noqa: F401
    except ImportError as exc:
        raise UsageError("the app needs the 'app' extra: pip install 'psyscore[app]'") from exc
    from scoring.store.kiosk_settings import support_defaults

    support_defaults(os.environ)  # a support-message file it cannot use is an error now, not a silent default
    url = prepare_database(args.db or os.environ.get(ENV_DATABASE_URL))
    env = dict(os.environ)
    env[ENV_DATABASE_URL] = url
    if args.kiosk_idle:
        env[ENV_KIOSK_IDLE] = str(args.kiosk_idle)
    if args.kiosk_layout:
        env[ENV_KIOSK_LAYOUT] = args.kiosk_layout
    if args.public_url:
        env[ENV_PUBLIC_URL] = args.public_url
    host = "localhost" if args.address in ("0.0.0.0", "::") else args.address
    print(f"psyscore app on http://{host}:{args.port}  —  patients' tablet: http://{host}:{args.port}/ ; "
          f"staff sign-in: http://{host}:{args.port}/login", file=sys.stderr)
    # uvicorn (Streamlit's server) trusts X-Forwarded-For from loopback unless told otherwise: only the
    # configured proxies (an empty list trusts none); the app reads the same list for its client key
    proxies = ",".join(p.strip() for p in args.trusted_proxy if p.strip())
    env[ENV_FORWARDED_ALLOW_IPS] = proxies
    env[ENV_TRUSTED_PROXIES] = proxies
    command = streamlit_command(args.port, args.address)
    if os.name == "posix":
        # replace this process by the server: its command line (shown by ps) no longer holds the --db URL,
        # which may contain a password; the URL reaches the server through its environment only
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(command[0], command, env)
    proc = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: object) -> None:  # stopping psyscore app stops the server it started
        proc.send_signal(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    code = proc.wait()
    return EXIT_OK if code in (0, -signal.SIGINT, -signal.SIGTERM, 130) else EXIT_ERROR

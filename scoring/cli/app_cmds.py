"""``psyscore app``: serve the Streamlit front end (a thin adapter over the library)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from scoring.cli import EXIT_OK, UsageError
from scoring.library import bundled_dir

ORDER = 90

def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="serve the web app (Streamlit)",
                       description="Serve the psyscore web app. Needs the 'app' extra: pip install 'psyscore[app]'.")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.add_argument("--address", default="localhost", help="address to bind (default localhost)")
    p.set_defaults(func=cmd_app)


def streamlit_command(port: int, address: str) -> list[str]:
    """The streamlit invocation with psyscore's hardened server settings."""
    entry = bundled_dir("app") / "streamlit_app.py"
    return [
        sys.executable, "-m", "streamlit", "run", str(entry),
        "--server.port", str(port),
        "--server.address", address,
        "--server.enableXsrfProtection", "true",
        "--server.maxUploadSize", "20",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "false",
        "--client.toolbarMode", "minimal",
    ]


def cmd_app(args: argparse.Namespace) -> int:
    try:
        import streamlit  # noqa: F401
    except ImportError as exc:
        raise UsageError("the app needs the 'app' extra: pip install 'psyscore[app]'") from exc
    cmd = streamlit_command(args.port, args.address)
    print(f"psyscore app on http://{args.address}:{args.port}", file=sys.stderr)
    env = dict(os.environ)
    return subprocess.call(cmd, env=env) or EXIT_OK

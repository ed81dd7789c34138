"""Chromium for the browser tests (tests/e2e, tests/charts/test_chart_html.py): where it is, whether it can run,
and a free local port for a server under test.

Debian's Chromium is driven by Playwright through ``executablePath`` (``PSYSCORE_CHROMIUM``, default
/usr/bin/chromium). Without it, or without the playwright package, a test skips with the reason, except under
``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("PSYSCORE_CHROMIUM", "/usr/bin/chromium"))


def require_browser() -> None:
    """Skip (fail under CI=true) unless Chromium and the playwright package are there."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright Python package is not installed (pip install -e '.[dev]')"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the browser test must run)")
        pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

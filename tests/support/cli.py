"""The one way tests run the ``psyscore`` command line.

``run_cli`` calls ``scoring.cli.main`` in-process (fast; output captured with pytest's ``capsys``);
``run_cli_process`` starts ``python -m scoring`` in a child process, for what only a real process shows
(the entry point, exit codes of ``python -m``, signals, stdin that is not a file object). The ``cli`` fixture
in tests/conftest.py binds ``run_cli`` to the test's ``capsys`` and ``monkeypatch``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import pytest

from scoring.cli import main

REPO = Path(__file__).resolve().parents[2]


class CliResult(NamedTuple):
    """Exit code and captured output of one command (unpacks as ``code, out, err``)."""

    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path, stdin: str | None = None,
            monkeypatch: pytest.MonkeyPatch | None = None) -> CliResult:
    """Run ``psyscore ARGS`` in this process; ``stdin`` (needs ``monkeypatch``) is the text the command reads."""
    if stdin is not None:
        if monkeypatch is None:
            raise TypeError("run_cli(stdin=...) needs monkeypatch= to replace sys.stdin for the call")
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def run_cli_process(*args: str | Path, stdin: str | None = None, env: Mapping[str, str] | None = None,
                    cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m scoring ARGS`` in a child process (text mode, output captured, never raises on exit code)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "scoring", *(str(a) for a in args)], input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd or REPO,
                          check=False)

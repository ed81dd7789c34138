"""Fixtures for every test folder.

- ``library`` / ``norms``: the shipped instrument and norm libraries, loaded once per session
  (tests/support/shipped.py; module-level code calls ``shipped_library()`` / ``shipped_norms()``).
- ``cli``: run ``psyscore ARGS`` in-process, returning ``(code, out, err)`` (tests/support/cli.py; a child
  process: ``run_cli_process``).
- ``pg_database`` / ``pg_schema`` / ``store_url``: PostgreSQL and SQLite stores (tests/support/postgres.py).

Helpers live in the ``tests.support`` package, imported as ``from tests.support.cli import run_cli``.

Slow tests carry ``@pytest.mark.slow`` (registered in pyproject.toml; ``make test`` runs them, ``pytest -m "not
slow"`` leaves them out). Besides the tests marked in their module, everything under the folders in
``SLOW_FOLDERS`` (real browsers, fuzzers) is marked here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scoring.definitions.library import Library
from scoring.norms import NormLibrary
from tests.support.cli import CliResult, run_cli
from tests.support.postgres import pg_database, pg_schema, store_url
from tests.support.shipped import shipped_library, shipped_norms

__all__ = ["cli", "library", "norms", "pg_database", "pg_schema", "store_url"]

Cli = Callable[..., CliResult]
TESTS = Path(__file__).resolve().parent
SLOW_FOLDERS = (TESTS / "e2e",)
SLOW_FILES = (TESTS / "charts" / "test_chart_html.py", TESTS / "definitions" / "test_fuzz.py",
              TESTS / "engine" / "inputs" / "test_reader_fuzz.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the browser and fuzz tests slow (they start Chromium or run thousands of examples)."""
    for item in items:
        path = Path(item.path)
        if path in SLOW_FILES or any(folder in path.parents for folder in SLOW_FOLDERS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def library() -> Library:
    """The shipped instrument library (instruments/)."""
    return shipped_library()


@pytest.fixture(scope="session")
def norms() -> NormLibrary:
    """The shipped norm library (norms/), for the shipped instrument library."""
    return shipped_norms()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``cli("score", "phq9", path, stdin="…")`` runs ``psyscore`` in this process: ``(code, out, err)``."""

    def run(*args: str | Path, stdin: str | None = None) -> CliResult:
        return run_cli(capsys, *args, stdin=stdin, monkeypatch=monkeypatch)

    return run

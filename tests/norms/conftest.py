"""Shared fixtures for the norm tests; ``library`` and ``norms`` (loaded once) are in tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.definitions.library import Library

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def lib(library: Library) -> Library:
    """The shipped library (tests/conftest.py ``library``) under the name the norm tests use."""
    return library

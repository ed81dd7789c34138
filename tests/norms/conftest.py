"""Shared fixtures for the norm tests: the instrument library and the bundled norm library, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

import scoring
from scoring.definitions.library import Library
from scoring.norms import NormLibrary

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def lib() -> Library:
    return scoring.load_library()


@pytest.fixture(scope="session")
def norms(lib: Library) -> NormLibrary:
    return scoring.load_norms(library=lib)

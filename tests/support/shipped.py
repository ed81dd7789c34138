"""The shipped instrument library and norm library, loaded once per test process.

Fixtures ``library`` and ``norms`` (tests/conftest.py) return these; module-level code that needs them at
collection time (``pytest.mark.parametrize`` over the instruments) calls the functions directly. Both objects
are immutable (tests/definitions/test_immutable.py), so sharing them between tests is safe.
"""

from __future__ import annotations

from functools import cache

import scoring
from scoring.definitions.library import Library
from scoring.norms import NormLibrary


@cache
def shipped_library() -> Library:
    """``scoring.load_library()``: the instruments shipped in instruments/."""
    return scoring.load_library()


@cache
def shipped_norms() -> NormLibrary:
    """``scoring.load_norms()`` for the shipped library: the norm tables shipped in norms/."""
    return scoring.load_norms(library=shipped_library())

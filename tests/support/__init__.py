"""Helpers shared by the tests (imported as ``tests.support``); fixtures built on them are in tests/conftest.py."""

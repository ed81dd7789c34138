"""``Definition.instrument`` (was ``Definition.definition``, kept for one release with a warning)."""

from __future__ import annotations

import pytest

import scoring
from scoring.definitions.schema import Instrument


def test_instrument_is_the_parsed_definition_and_the_old_name_warns() -> None:
    d = scoring.load_library()["phq9"]
    assert isinstance(d.instrument, Instrument) and d.instrument.id == d.id == "phq9"
    with pytest.warns(DeprecationWarning, match="use Definition.instrument"):
        old = d.definition
    assert old is d.instrument
    assert scoring.Definition(d.instrument).hash == d.hash

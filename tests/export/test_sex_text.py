"""The export's sex text by code is derived from the one list in scoring.definitions.respondent."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.definitions.respondent import SEX_CODES, SEX_WORDS, Sex, sex_codes
from scoring.export.table import _SEX_TEXT


def test_sex_text_agrees_with_the_respondent_codes() -> None:
    assert _SEX_TEXT.tolist() == ["", "female", "male", "other"]  # the values written out before
    assert len(_SEX_TEXT) == max(SEX_CODES.values()) + 1
    assert _SEX_TEXT[0] == "" and SEX_WORDS[""] is None  # code 0 = not recorded
    for sex in Sex:
        text = _SEX_TEXT[SEX_CODES[sex]]
        assert text == sex.value
        assert SEX_WORDS[text] is sex
    # round trip: the text of every code reads back as that code
    assert sex_codes(list(_SEX_TEXT))[0].tolist() == list(range(len(_SEX_TEXT)))


def test_sex_text_is_read_only() -> None:
    with pytest.raises(ValueError):
        _SEX_TEXT[1] = "x"
    assert isinstance(_SEX_TEXT[np.array([2, 0])], np.ndarray)

"""Stable codes for why a scale has no score: the ``<scale>_reason_code`` column beside ``<scale>_reason``.

``<scale>_reason`` is English text for people ("3 of 9 items missing; at most 1 may be prorated") and may be
reworded; ``<scale>_reason_code`` is one of the closed set :data:`REASON_CODES` for programs, and never
changes meaning. A scored row has an empty reason and a missing code. Every code's categories are the whole
set in the order below, whatever the instrument, so the column has the same dtype everywhere.

>>> reason_code("4 of 9 items missing; at most 1 may be prorated")
'too_many_missing'
>>> reason_code("") is None
True
"""

from __future__ import annotations

import re

import numpy as np

from scoring.definitions.plan import REASON_NONE_ANSWERED, REASON_NONE_APPLICABLE, REASON_TABLE

__all__ = ["REASON_CODES", "REASON_CODE_NAMES", "UnknownReasonError", "reason_code", "reason_code_indices"]

#: ``(code, meaning)`` for every reason a scale can have no score, in the fixed category order.
REASON_CODES: tuple[tuple[str, str], ...] = (
    ("none_answered", "no item of the scale was answered"),
    ("none_applicable", "no item of the scale applies to this respondent (every item was skipped by its gate "
                        "question or does not apply, e.g. to this sex)"),
    ("incomplete", "missing-data rule 'complete': an applicable item is unanswered and every item is required"),
    ("too_many_missing", "missing-data rule 'prorate': more items are missing than may be prorated"),
    ("too_few_answered", "missing-data rule 'min_answered': fewer items are answered than needed"),
    ("not_in_conversion_table", "the raw score has no entry in the scale's conversion table"),
    ("no_score_given", "history(): the row gives a score column but no value for this scale"),
)
REASON_CODE_NAMES: tuple[str, ...] = tuple(code for code, _ in REASON_CODES)

# the English texts, as the plan (scoring.definitions.plan) and history() write them; matched whole
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("none_answered", re.compile(r"no items answered")),
    ("none_applicable", re.compile(r"no applicable items")),
    ("incomplete", re.compile(r"\d+ of \d+ items missing; every item is required")),
    ("too_many_missing", re.compile(r"\d+ of \d+ items missing; at most \d+ may be prorated")),
    ("too_few_answered", re.compile(r"only \d+ of \d+ items answered; at least \d+ needed")),
    ("not_in_conversion_table", re.compile(r"raw score not in the conversion table")),
    ("no_score_given", re.compile(r"no score given")),
)
# the code of the reasons a rule adds after the plan's fixed ones (scoring.definitions.plan._reason_table)
_RULE_CODE = {"complete": "incomplete", "prorate": "too_many_missing", "min_answered": "too_few_answered"}
_FIXED = {REASON_NONE_ANSWERED: "none_answered", REASON_NONE_APPLICABLE: "none_applicable",
          REASON_TABLE: "not_in_conversion_table"}


class UnknownReasonError(ValueError):
    """A reason text that no code describes: a new reason was added without a code (a bug in psyscore)."""


def reason_code(text: str | None) -> str | None:
    """The code of an English ``<scale>_reason`` text; ``None`` for an empty reason (the scale was scored).

    Raises :class:`UnknownReasonError` for a text outside the closed set.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)) or str(text) == "":
        return None
    hits = [code for code, pattern in _PATTERNS if pattern.fullmatch(str(text))]
    if len(hits) != 1:
        raise UnknownReasonError(
            f"reason {text!r} matches {len(hits)} reason codes ({', '.join(hits) or 'none'}), not one; every reason "
            "text needs exactly one code in scoring.engine.reasons.REASON_CODES")
    return hits[0]


def reason_code_indices(reason_indices: np.ndarray, rule: str) -> np.ndarray:
    """Codes into :data:`REASON_CODE_NAMES` (-1 = scored) for codes into a scale plan's ``reason_categories``.

    Category 0 is the empty reason, 1–3 the plan's fixed reasons, every later one a message of the scale's
    missing-data ``rule``.
    """
    pos = {code: k for k, code in enumerate(REASON_CODE_NAMES)}
    lut = np.array([-1, *(pos[_FIXED[k]] for k in sorted(_FIXED))], dtype=np.int8)
    idx = np.asarray(reason_indices)
    small = np.clip(idx, 0, len(lut) - 1)
    return np.where(idx < len(lut), lut[small], np.int8(pos[_RULE_CODE[rule]])).astype(np.int8)

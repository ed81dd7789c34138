"""Build QuestionnaireResponses from answers, the way a form filler would (helpers for tests/fhir)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scoring.definitions.library import Definition
from scoring.fhir import urls


def random_answers(d: Definition, rng: np.random.Generator, missing: float) -> dict[str, float]:
    """One respondent's answers: each item an option value, or NaN with probability ``missing``."""
    sets = {s.id: s for s in d.instrument.option_sets}
    out = {}
    for item in d.instrument.items:
        values = [o.value for o in sets[item.options].options]
        out[item.id] = math.nan if rng.random() < missing else float(rng.choice(values))
    return out


def response(d: Definition, answers: dict[str, float], *, rid: str = "r1", style: str = "code",
             version: bool = True) -> dict[str, Any]:
    """A QuestionnaireResponse to ``d``'s Questionnaire; ``style``: ``code`` (valueCoding with system and
    code), ``ordinal`` (a coding carrying only the item score, as ordinalValue), ``weight`` (R5 itemWeight),
    ``integer`` (valueInteger), ``decimal`` (valueDecimal), or ``mixed`` (a different one per item)."""
    ins = d.instrument
    sets = {s.id: s for s in ins.option_sets}
    styles = ["code", "ordinal", "weight", "integer", "decimal"]
    items = []
    for n, item in enumerate(ins.items):
        value = answers.get(item.id, math.nan)
        if value != value:
            continue
        how = styles[n % len(styles)] if style == "mixed" else style
        opts = sets[item.options].options
        lo, hi = min(o.value for o in opts), max(o.value for o in opts)
        score = (lo + hi - value) if item.reverse else value
        if how == "code":
            answer: dict[str, Any] = {"valueCoding": {"system": urls.answer_system(ins.id, item.options),
                                                      "code": urls.option_code(value)}}
        elif how in ("ordinal", "weight"):
            url = urls.ORDINAL_VALUE if how == "ordinal" else urls.ITEM_WEIGHT
            answer = {"valueCoding": {"system": "http://example.org/other-codes", "code": f"x{int(value)}",
                                      "extension": [{"url": url, "valueDecimal": score}]}}
        elif how == "integer":
            answer = {"valueInteger": int(value)}
        else:
            answer = {"valueDecimal": float(value)}
        items.append({"linkId": item.id, "answer": [answer]})
    canonical = urls.questionnaire_url(ins.id) + (f"|{ins.version}" if version else "")
    return {"resourceType": "QuestionnaireResponse", "id": rid, "questionnaire": canonical, "status": "completed",
            "authored": "2026-01-05", "item": items}


def bundle(responses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in responses]}

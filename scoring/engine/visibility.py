"""Which items a respondent is shown: the engine's own gates and applicability, for the kiosk and the scoring.

:func:`visible_items` runs the answers through the same validation (:func:`.responses.check_responses`) and
the same item structure (:func:`.compute.apply_structure`) as :func:`scoring.score`, so a tablet never shows
an item that the scoring then drops, nor hides one the scoring counts. An item is shown unless a given
answer to its gate question closes the gate (an unanswered gate leaves it shown) or a respondent attribute
the definition's ``applies_if`` names excludes it (an attribute not given leaves it shown).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from scoring.definitions.library import Definition
from scoring.definitions.plan import Plan
from scoring.engine.compute import apply_structure
from scoring.engine.responses import check_responses

__all__ = ["visible_items", "visible_matrix"]


def visible_matrix(plan: Plan, matrix: np.ndarray, respondent: pd.DataFrame | None = None) -> np.ndarray:
    """Bool per (respondent, item): shown for these validated answers (``check_responses(...).matrix``)."""
    return apply_structure(plan, matrix, respondent).shown_mask()


def visible_items(definition: Definition, answers: Mapping[str, object],
                  respondent: Mapping[str, object] | None = None) -> tuple[str, ...]:
    """The ids of the items shown to this respondent for these answers, in administration order.

    Parameters
    ----------
    definition
        ``load_library()["phq15"]`` etc.
    answers
        ``item id → answer`` given so far (``None`` or absent = unanswered). An answer that fails validation
        counts as unanswered, as in :func:`scoring.score`.
    respondent
        Respondent attributes, as the columns :func:`scoring.score` reads beside the items (``{"sex": "female"}``).

    Examples
    --------
    >>> import scoring
    >>> phq15 = scoring.load_library()["phq15"]
    >>> "phq15_4" in visible_items(phq15, {}, {"sex": "male"}), "phq15_4" in visible_items(phq15, {}, {"sex": "f"})
    (False, True)
    """
    plan = definition.plan
    frame = pd.DataFrame({item: pd.Series([answers.get(item)], dtype=object) for item in plan.item_ids})
    checked = check_responses(plan, frame)
    people = None
    if respondent:
        people = pd.DataFrame({str(k): pd.Series([v], dtype=object) for k, v in respondent.items()})
    shown = visible_matrix(plan, checked.matrix, people)[0]
    return tuple(item for item, s in zip(plan.item_ids, shown, strict=True) if s)

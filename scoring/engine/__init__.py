"""The engine stage: responses → validated matrix (:mod:`.responses`) → scores (:mod:`.compute`, :mod:`.scorer`).

:mod:`.receipt` explains one administration by rendering the trace of the same run
(:func:`.scorer.traced_score`); :mod:`.visibility` says which items a respondent is shown (the kiosk asks it);
:mod:`.files` reads and writes response files (CSV, XLSX). The plan it scores with is compiled by
:mod:`scoring.definitions.plan`.
"""

from scoring.definitions.plan import Plan, compile_plan
from scoring.engine.compute import round_half_up
from scoring.engine.scorer import ScoreResult, ScoreTrace, score, traced_score
from scoring.engine.visibility import visible_items

__all__ = ["Plan", "ScoreResult", "ScoreTrace", "compile_plan", "round_half_up", "score", "traced_score",
           "visible_items"]

"""The engine stage: responses → validated matrix (:mod:`.responses`) → scores (:mod:`.compute`, :mod:`.scorer`).

:mod:`.receipt` explains one administration with the same run; :mod:`.files` reads and writes response
files (CSV, XLSX). The plan it scores with is compiled by :mod:`scoring.definitions.plan`.
"""

from scoring.definitions.plan import Plan, compile_plan
from scoring.engine.compute import round_half_up
from scoring.engine.scorer import ScoreResult, score

__all__ = ["Plan", "ScoreResult", "compile_plan", "round_half_up", "score"]

"""psyscore: open psychometric instrument library and scoring engine.

>>> import scoring
>>> lib = scoring.load_library()
>>> "phq9" in lib
True
"""

from scoring._version import __version__
from scoring.change import history
from scoring.definitions import (
    Definition,
    Library,
    Settings,
    content_hash,
    load_definition,
    load_library,
    validate,
)
from scoring.engine import ScoreResult, score
from scoring.engine.columns import ColumnMappingError
from scoring.engine.receipt import Explanation, explain
from scoring.engine.scorer import MultiScoreResult, score_instruments
from scoring.errors import (
    DefinitionError,
    Issue,
    PsyscoreError,
    ResponseValidationError,
    UnknownInstrumentError,
    ValidationReport,
)
from scoring.norms import NormLibrary, NormTable, apply_norms, load_norms

__all__ = [
    "ColumnMappingError",
    "Definition",
    "DefinitionError",
    "Explanation",
    "Issue",
    "Library",
    "MultiScoreResult",
    "NormLibrary",
    "NormTable",
    "PsyscoreError",
    "ResponseValidationError",
    "ScoreResult",
    "Settings",
    "UnknownInstrumentError",
    "ValidationReport",
    "__version__",
    "apply_norms",
    "content_hash",
    "explain",
    "history",
    "load_definition",
    "load_library",
    "load_norms",
    "score",
    "score_instruments",
    "validate",
]

"""The change stage: reliable and clinically significant change (:mod:`.rci`), score histories (:mod:`.timeline`)."""

from scoring.change.rci import (
    CLASSIFICATIONS,
    COMPARISON_COLUMNS,
    PARAMETER_COLUMNS,
    Z_95,
    ChangeParameters,
    change_parameters,
    compare,
)
from scoring.change.timeline import (
    HISTORY_COLUMNS,
    HistoryInputError,
    HistoryResult,
    default_norms,
    history,
    normed_history,
    score_history,
    with_norms,
)

__all__ = [
    "CLASSIFICATIONS",
    "COMPARISON_COLUMNS",
    "HISTORY_COLUMNS",
    "PARAMETER_COLUMNS",
    "Z_95",
    "ChangeParameters",
    "HistoryInputError",
    "HistoryResult",
    "change_parameters",
    "compare",
    "default_norms",
    "history",
    "normed_history",
    "score_history",
    "with_norms",
]

"""The norms stage: published norm tables, their validation, and applying them to scores.

:mod:`.schema` (metadata shape) → :mod:`.csv_files` (the published numbers) → :mod:`.rules` (checks against
the instrument library) → :mod:`.library` (``load_norms``, :class:`NormTable`) → :mod:`.apply` (``apply_norms``).
"""

from scoring.norms.apply import NormError, apply_norms, check_applicable
from scoring.norms.library import (
    NormLibrary,
    NormTable,
    UnknownNormError,
    load_norm_table,
    load_norms,
    validate_norms,
)

__all__ = [
    "NormError",
    "NormLibrary",
    "NormTable",
    "UnknownNormError",
    "apply_norms",
    "check_applicable",
    "load_norm_table",
    "load_norms",
    "validate_norms",
]

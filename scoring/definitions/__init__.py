"""The definitions stage: YAML files → checked models → compiled plans, gathered in a :class:`Library`.

:mod:`.schema` (the pydantic shape) → :mod:`.loading` (safe YAML reading) → :mod:`.rules` (pass-2 checks)
→ :mod:`.plan` (the compiled arrays the engine scores with) → :mod:`.library` (discovery, ``load_library``).
"""

from scoring.definitions.library import (
    Definition,
    Library,
    Settings,
    bundled_dir,
    content_hash,
    definition_from_doc,
    iter_definition_files,
    load_definition,
    load_library,
    validate,
)
from scoring.definitions.plan import Plan, compile_plan
from scoring.definitions.schema import Instrument, definition_json_schema

__all__ = [
    "Definition",
    "Instrument",
    "Library",
    "Plan",
    "Settings",
    "bundled_dir",
    "compile_plan",
    "content_hash",
    "definition_from_doc",
    "definition_json_schema",
    "iter_definition_files",
    "load_definition",
    "load_library",
    "validate",
]

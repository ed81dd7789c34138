"""REDCap adapter: definitions as a REDCap data dictionary, REDCap record exports read for the engine.

An adapter layer beside :mod:`scoring.export` and :mod:`scoring.fhir`: it imports the definitions, the engine
and the change module; nothing below it imports it, and ``import scoring`` does not import it.
"""

from scoring.redcap.dictionary import (
    HEADERS,
    MAX_NAME,
    RedcapError,
    calc_equation,
    data_dictionary,
    field_name,
    item_fields,
    scale_fields,
    valid_field_name,
    write_dictionary,
)
from scoring.redcap.records import DEFAULT_MISSING_CODES, ExportReader, read_export, to_history

__all__ = ["DEFAULT_MISSING_CODES", "HEADERS", "MAX_NAME", "ExportReader", "RedcapError", "calc_equation",
           "data_dictionary", "field_name", "item_fields", "read_export", "scale_fields", "to_history",
           "valid_field_name", "write_dictionary"]

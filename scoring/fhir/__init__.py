"""FHIR R4 adapter: definitions as Questionnaires, QuestionnaireResponses scored by the engine, and
Questionnaires read back into definition drafts (:func:`from_questionnaire`).

An adapter layer beside :mod:`scoring.export`: it imports the definitions and the engine; nothing below it
imports it, and ``import scoring`` does not import it (nor ``fhir.resources`` / ``fhirpathpy``, the optional
extra ``psyscore[fhir]``, which are imported when a function here is called).
"""

from scoring.fhir.importer import Draft, FhirImportError, from_questionnaire, read_questionnaire
from scoring.fhir.questionnaire import FhirError, to_questionnaire
from scoring.fhir.responses import FAILURE_COLUMNS, read_responses, score_responses

__all__ = ["FAILURE_COLUMNS", "Draft", "FhirError", "FhirImportError", "from_questionnaire", "read_questionnaire",
           "read_responses", "score_responses", "to_questionnaire"]

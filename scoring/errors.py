"""Exceptions, located validation issues and the one catalogue of issue codes.

Every problem psyscore reports about a definition carries a code from :data:`CATALOG`, the file and line
it was found at, the path inside the document, a message and a hint on how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]

#: code -> (severity, short title): what ``psyscore validate --codes`` and the docs list. The message and hint
#: templates of the definition checks are in :data:`scoring.definitions.issues.MESSAGES`.
CATALOG: dict[str, tuple[Severity, str]] = {
    # reading and shape (first pass)
    "E100": ("error", "file cannot be read"),
    "E101": ("error", "YAML syntax error"),
    "E102": ("error", "duplicate key in a mapping"),
    "E103": ("error", "document is not a mapping"),
    "E104": ("error", "YAML aliases expand the file too far (billion laughs) or are recursive"),
    "E105": ("error", "file too large or nested too deeply"),
    "E106": ("error", "a norm-table file where an instrument definition was expected"),
    "E110": ("error", "unknown key"),
    "E111": ("error", "required key missing"),
    "E112": ("error", "wrong type or value"),
    # meaning (second pass)
    "E200": ("error", "duplicate id"),
    "E201": ("error", "unknown option set"),
    "E202": ("error", "option values repeat in an option set"),
    "E203": ("error", "unknown item"),
    "E204": ("error", "unscored item used in a scale"),
    "E205": ("error", "item repeated in a scale"),
    "E206": ("error", "weight for an item that is not in the scale"),
    "E207": ("error", "declared range differs from the range the items allow"),
    "E208": ("error", "bands do not cover the range contiguously"),
    "E209": ("error", "reverse keying needs a symmetric option set"),
    "E210": ("error", "missing-data rule is inconsistent"),
    "E211": ("error", "count scale needs count_if"),
    "E212": ("error", "conversion table does not cover the raw range"),
    "E213": ("error", "cut-off outside the scale range"),
    "E214": ("error", "critical item condition can never or always be met"),
    "E215": ("error", "gate refers to an item that is not asked before it"),
    "E216": ("error", "value_if_not_shown without a gate, or not a valid option"),
    "E217": ("error", "translation incomplete or refers to unknown ids"),
    "E218": ("error", "item text not allowed by the licence, or missing"),
    "E219": ("error", "invalid LOINC code"),
    "E220": ("error", "change parameter out of bounds"),
    "E221": ("error", "flag refers to an unknown scale"),
    "E222": ("error", "file name does not match the instrument id"),
    "E223": ("error", "same id and version defined twice with different content"),
    "E224": ("error", "band bounds are not integers on an integer-valued scale"),
    "E225": ("error", "gate or applicability value has the wrong type for its comparison"),
    "E226": ("error", "band set without an id, or an id used twice"),
    "E227": ("error", "cut-off range is inconsistent or does not hold the chosen value"),
    "E228": ("error", "sex-specific change parameters are incomplete"),
    "E229": ("error", "draft: a TODO left to complete (psyscore fhir import)"),
    "E230": ("error", "a deployment's cut-off choice (PSYSCORE_CUTOFFS) is invalid"),
    "W300": ("warning", "item enters no scale and is not marked scored: false"),
    "W301": ("warning", "scale has no bands"),
    # norm tables (norms/<id>.yaml + norms/<id>.csv; see norms/README.md)
    "E400": ("error", "norm metadata has no readable CSV beside it"),
    "E401": ("error", "norm CSV header does not match the method"),
    "E402": ("error", "norm CSV cell is missing or not a number"),
    "E403": ("error", "norm CSV row names an undeclared stratum or repeats a row"),
    "E404": ("error", "declared stratum has no rows in the norm CSV"),
    "E405": ("error", "norm table refers to an unknown instrument"),
    "E406": ("error", "norm table refers to an unknown scale"),
    "E407": ("error", "norm table declares a definition version that does not exist"),
    "E408": ("error", "norm table does not cover the scale's score range"),
    "E409": ("error", "norm values are not monotone in the raw score"),
    "E410": ("error", "norm value out of bounds"),
    "E411": ("error", "norm strata overlap or have an empty age range"),
    "E412": ("error", "norm file name does not match the norm id"),
    "E413": ("error", "same norm id defined twice"),
    "E414": ("error", "norm raw score is not a score the scale can take"),
    "E415": ("error", "norm method fields are inconsistent"),
    # psyscore itself
    "E900": ("error", "internal error: a validation rule failed (a bug in psyscore: please report it)"),
}


@dataclass(frozen=True)
class Issue:
    """One located problem in a definition or a norm file."""

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    path: str = ""
    hint: str | None = None

    @property
    def severity(self) -> Severity:
        return CATALOG.get(self.code, ("error", ""))[0]

    @property
    def location(self) -> str:
        where = self.file or "<definition>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where} {self.path}".rstrip()

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity} {self.code}: {self.message}"
        if self.hint:
            text += f" — {self.hint}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


class PsyscoreError(Exception):
    """Base class of every error psyscore raises on purpose."""


class DefinitionError(PsyscoreError):
    """One or more definitions are invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[Issue]):
        self.issues = list(issues)
        lines = "\n".join(f"  {i}" for i in self.issues if i.severity == "error")
        super().__init__(f"{sum(i.severity == 'error' for i in self.issues)} definition error(s):\n{lines}")


class UnknownNameError(PsyscoreError, KeyError):
    """A name that is not in a collection (instrument, norm table, …), with a "did you mean" hint."""

    kind = "name"

    def __init__(self, name: str, known: Iterable[str], qualifier: str | None = None):
        known = sorted(known)
        msg = f"unknown {self.kind} {name!r}" + (f" {qualifier}" if qualifier else "")
        guess = did_you_mean(name, known)
        if guess:
            msg += f" — {guess}"
        elif known:
            msg += f"; known: {', '.join(known)}"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnknownInstrumentError(UnknownNameError):
    kind = "instrument"

    def __init__(self, instrument_id: str, known: Iterable[str], version: str | None = None,
                 versions: Iterable[str] = ()):
        self.instrument_id = instrument_id
        versions = list(versions)
        if version and versions:  # the instrument exists, the version does not
            PsyscoreError.__init__(self, f"{instrument_id} has no version {version}; available: {', '.join(versions)}")
            return
        super().__init__(instrument_id, known, f"version {version}" if version else None)


class ResponseValidationError(PsyscoreError, ValueError):
    """Response data failed validation in strict mode; ``failures`` is the tidy failures frame."""

    def __init__(self, failures: object, summary: str):
        self.failures = failures
        super().__init__(summary)


@dataclass
class ValidationReport:
    """Result of validating one or more definitions. Raising is opt-in: :meth:`raise_for_errors`."""

    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def extend(self, issues: Iterable[Issue]) -> None:
        self.issues.extend(issues)

    def raise_for_errors(self) -> None:
        if self.errors:
            raise DefinitionError(self.issues)

    def __str__(self) -> str:
        if not self.issues:
            return "no issues"
        return "\n".join(str(i) for i in self.issues)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Return ``"did you mean 'x'?"`` for the closest candidate, or None."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None

"""What every rule family shares: the context a rule reads and reports through, and small helpers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from scoring.definitions.issues import issue_text
from scoring.definitions.loading import SourceDoc, format_path
from scoring.definitions.schema import Instrument, Scale
from scoring.errors import Issue


@dataclass(frozen=True)
class RuleContext:
    """The definition a rule checks and, when it came from a file, the parsed YAML (for line numbers)."""

    instrument: Instrument
    doc: SourceDoc | None = None

    def issue(self, code: str, message: str, path: Sequence[str | int] = (), hint: str | None = None) -> Issue:
        """An issue with a message written out (prefer :meth:`report` with a catalogued key)."""
        line = self.doc.line_of(path) if self.doc else None
        return Issue(code, message, self.doc.file if self.doc else None, line, format_path(path), hint)

    def report(self, key: str, path: Sequence[str | int] = (), /, *, hint: str | None = None,
               **fields: object) -> Issue:
        """The issue of catalogue entry ``key`` at ``path``, its template filled with ``fields``.

        ``hint`` (e.g. a "did you mean" found in the data) replaces the catalogued hint unless it is None.
        """
        code, message, hint = issue_text(key, hint, **fields)
        return self.issue(code, message, path, hint)


Rule = Callable[[RuleContext], list[Issue]]


def dupes(values: Iterable[str]) -> set[str]:
    """Values that occur more than once."""
    return {v for v, n in Counter(values).items() if n > 1}


def fmt(x: float) -> str:
    """``3.0`` → ``"3"``, ``2.5`` → ``"2.5"``."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def scale_resolved(ctx: RuleContext, scale: Scale) -> bool:
    """Every item of the scale exists and has a known option set."""
    items = {i.id: i for i in ctx.instrument.items}
    sets = {s.id for s in ctx.instrument.option_sets}
    return all(i in items and items[i].options in sets for i in scale.items)

"""Drafts: a definition written by ``psyscore fhir import`` is not usable while a TODO is left in it.

Every ``# TODO`` comment line is an ``E229`` issue at its own line (its path is the entry below it), and
every text value that starts with ``TODO`` (a placeholder) is one at the value's line. Being errors, they
keep a draft out of the library until someone has completed it from the published source.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from scoring.definitions.drafts import is_todo_value
from scoring.definitions.issues import issue_text
from scoring.definitions.loading import PathKey, SourceDoc, format_path
from scoring.definitions.rules.base import RuleContext
from scoring.errors import Issue


def path_below(doc: SourceDoc, line: int) -> PathKey:
    """The path of the entry that starts first after ``line`` (the outermost one of that line); ``()`` when
    nothing follows."""
    best: PathKey | None = None
    best_line = 0
    for path, at in doc.lines.items():
        if at <= line or not path:
            continue
        if best is None or at < best_line or (at == best_line and len(path) < len(best)):
            best, best_line = path, at
    return best if best is not None else ()


def todo_paths(doc: SourceDoc | None) -> list[PathKey]:
    """The path each TODO comment line of ``doc`` stands above."""
    if doc is None:
        return []
    return [path_below(doc, line) for line, _ in doc.todos]


def has_todo_within(ctx: RuleContext, path: Sequence[str | int]) -> bool:
    """Whether a TODO comment stands above ``path`` or an entry inside it (e.g. a scale's bands left to
    write): the TODO then says what is missing, more precisely than a generic warning."""
    key = tuple(path)
    return any(p[: len(key)] == key for p in todo_paths(ctx.doc))


def _texts(data: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield from _texts(value, (*path, key))
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            yield from _texts(value, (*path, i))


def draft_todos_resolved(ctx: RuleContext) -> list[Issue]:
    out = []
    doc = ctx.doc
    if doc is not None:
        for (line, text), path in zip(doc.todos, todo_paths(doc), strict=True):
            code, message, hint = issue_text("E229.todo", todo=text)
            out.append(Issue(code, message, doc.file, line, format_path(path), hint))
    data = doc.data if doc is not None else ctx.instrument.model_dump(mode="python")
    for path, value in _texts(data):
        if is_todo_value(value):
            text = value.strip()[4:].lstrip(": ").strip() or "(no text)"
            out.append(ctx.report("E229.placeholder", path, todo=text if len(text) <= 300 else text[:297] + "..."))
    return sorted(out, key=lambda issue: issue.line or 0)

"""TODO markers of a definition draft (``psyscore fhir import`` writes them): found in the YAML text.

A draft marks what its source could not tell (scoring rules, bands, the licence, …) in two ways, both
reported by ``psyscore validate`` as issue ``E229`` at their line until they are resolved:

* a comment line ``# TODO: …`` (whole line, any indentation) above the entry it concerns;
* a text value that starts with ``TODO`` (a placeholder where the format needs a text, e.g. a citation).

Comment lines are found in the raw text, skipping lines that lie inside a multi-line scalar (a ``|`` or
``>`` block may hold a line that looks like a comment). This module imports nothing of psyscore, so the
reader (:mod:`scoring.definitions.loading`) and the rule (:mod:`scoring.definitions.rules.drafts`) share it.
"""

from __future__ import annotations

import re

import yaml

#: a whole-line comment that is a TODO marker: ``# TODO: what to do`` (the colon is optional)
TODO_COMMENT = re.compile(r"^[ \t]*#[ \t]*TODO\b:?[ \t]*(?P<text>.*?)[ \t]*$")
#: the prefix of a placeholder text value
TODO_VALUE_PREFIX = "TODO"


def scalar_lines(node: yaml.Node) -> set[int]:
    """1-based lines that lie inside a multi-line scalar of the node tree (after its first line)."""
    inside: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.ScalarNode):
            first, last = current.start_mark.line + 1, current.end_mark.line + 1
            if current.end_mark.column == 0:
                last -= 1  # a block scalar ends at the start of the line after it
            inside.update(range(first + 1, last + 1))
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return inside


def find_todos(text: str, node: yaml.Node | None = None) -> tuple[tuple[int, str], ...]:
    """(line, text) of every ``# TODO`` comment line of ``text`` that is not inside a multi-line scalar.

    >>> find_todos("id: x\\n  # TODO: write the bands\\nname: y\\n")
    ((2, 'write the bands'),)
    """
    skip = scalar_lines(node) if node is not None else set()
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if "TODO" not in line or n in skip:
            continue
        match = TODO_COMMENT.match(line)
        if match:
            out.append((n, match.group("text") or "(no text)"))
    return tuple(out)


def is_todo_value(value: object) -> bool:
    """Whether a text value is a draft's placeholder (starts with ``TODO``)."""
    return isinstance(value, str) and value.lstrip().startswith(TODO_VALUE_PREFIX)

"""Read definition files: safe YAML, duplicate keys rejected, every error mapped to file:line.

The first validation pass (shape) lives here: YAML is composed into nodes (keeping line marks), checked
for duplicate keys, constructed with PyYAML's safe constructor and handed to the pydantic models. Errors
of every kind become :class:`~scoring.errors.Issue` objects located at ``file:line path``.

Hostile files end with an issue, in bounded memory and time, before anything is composed: only regular
files of at most :data:`MAX_YAML_BYTES` are read (``/dev/zero``, pipes and folders are refused); aliases
(``*name``, also in merge keys) are allowed for small repeated parts, but a document whose aliases expand it
to more than :data:`MAX_YAML_NODES` values (the "billion laughs") or that refers to itself is refused
(``E104``); nesting deeper than :data:`MAX_YAML_DEPTH` is refused (``E105``). The check reads the event
stream once and counts the expanded size of each anchor without expanding anything.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from scoring.definitions.drafts import find_todos
from scoring.definitions.issues import issue_text
from scoring.errors import Issue, did_you_mean

PathKey = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

#: largest definition or norm-metadata file read (the largest bundled definition is under 20 kB)
MAX_YAML_BYTES = 1_048_576
#: deepest nesting of mappings and lists accepted (bundled definitions nest fewer than 10 levels)
MAX_YAML_DEPTH = 50
#: most values (scalars, lists, mappings) a document may hold once its aliases are expanded; the bundled
#: definitions hold a few thousand, the 342-byte "billion laughs" 9**9
MAX_YAML_NODES = 50_000
_ALIAS_HINT = ("use anchors (&name) and aliases (*name) only to repeat small parts, such as a missing-data "
               "rule, or write the repeated part out in full")


@dataclass
class SourceDoc:
    """Parsed YAML with the line of every node, for locating issues."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    #: (line, text) of the draft's ``# TODO`` comment lines (see :mod:`scoring.definitions.drafts`)
    todos: tuple[tuple[int, str], ...] = ()

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of the nearest ancestor of ``path`` that exists in the document."""
        key = tuple(path)
        while True:
            if key in self.lines:
                return self.lines[key]
            if not key:
                return None
            key = key[:-1]


def format_path(path: Sequence[str | int]) -> str:
    """``('scales', 0, 'items', 3)`` → ``scales[0].items[3]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _walk(node: yaml.Node, path: PathKey, doc: SourceDoc, issues: list[Issue]) -> None:
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                issues.append(
                    Issue(
                        "E102",
                        f"duplicate key {key!r} (first at line {seen[key]})",
                        doc.file,
                        line,
                        format_path((*path, key)),
                        "remove or rename one of the two entries; YAML would silently keep only the last",
                    )
                )
                continue
            seen[key] = line
            # int-looking keys (translation option codes, conversion tables) are looked up both ways
            child: PathKey = (*path, key)
            _walk(value_node, child, doc, issues)
            doc.lines[child] = line
            if isinstance(key, str) and key.lstrip("-").isdigit():
                doc.lines[(*path, int(key))] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, child_node in enumerate(node.value):
            _walk(child_node, (*path, i), doc, issues)


def _too_large(size: str, file: str) -> Issue:
    return Issue("E105", f"the file is {size} bytes; a definition or norm-metadata file may be at most "
                 f"{MAX_YAML_BYTES:,} bytes", file, None, "",
                 "check that this is the right file; a definition is a short YAML text (the bundled ones are "
                 "under 20 kB)")


def _structure_issues(text: str, file: str) -> list[Issue]:
    """Aliases that expand too far or refer to themselves, and too-deep nesting, found from the event stream
    without composing or expanding anything: the expanded size of every anchored node is counted once."""
    stack: list[list] = []  # per open collection: [values in it so far (aliases expanded), its anchor]
    sizes: dict[str, int] = {}  # anchor -> values it stands for
    open_anchors: set[str] = set()
    total = 0
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            line = event.start_mark.line + 1
            size = 0
            if isinstance(event, yaml.AliasEvent):
                if event.anchor in open_anchors:
                    return [Issue("E104", f"YAML alias *{event.anchor} refers to the node it is inside (a "
                                  "recursive structure)", file, line, "", _ALIAS_HINT)]
                size = sizes.get(event.anchor or "", 1)  # an undefined alias is reported by the composer
            elif isinstance(event, yaml.ScalarEvent):
                size = 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= MAX_YAML_DEPTH:
                    return [Issue("E105", f"mappings and lists are nested more than {MAX_YAML_DEPTH} levels "
                                  "deep", file, line, "", "check the indentation; a definition nests fewer than "
                                  "10 levels")]
                stack.append([1, event.anchor])
                if event.anchor is not None:
                    open_anchors.add(event.anchor)
            elif isinstance(event, yaml.CollectionEndEvent):
                size, anchor = stack.pop()
                if anchor is not None:
                    sizes[anchor] = size
                    open_anchors.discard(anchor)
            if size:
                if stack:
                    stack[-1][0] += size
                else:
                    total += size
            if isinstance(event, yaml.AliasEvent) and total + sum(c for c, _ in stack) > MAX_YAML_NODES:
                return [Issue("E104", f"YAML aliases expand this file to more than {MAX_YAML_NODES:,} values "
                              f"(at alias *{event.anchor}, which stands for {size:,}): a small file that expands "
                              "like this (a \"billion laughs\") is refused", file, line, "", _ALIAS_HINT)]
    finally:
        loader.dispose()
    return []


def parse_yaml(text: str, file: str) -> tuple[SourceDoc | None, list[Issue]]:
    """Parse YAML text safely. Returns the document (None if unreadable) and the issues found.

    Texts longer than :data:`MAX_YAML_BYTES`, aliases that expand the document beyond
    :data:`MAX_YAML_NODES` values or refer to themselves, and nesting deeper than :data:`MAX_YAML_DEPTH`
    are refused before the document is built (``E104``, ``E105``).
    """
    issues: list[Issue] = []
    doc = SourceDoc(file=file, data=None)
    if len(text) > MAX_YAML_BYTES or len(text.encode("utf-8", errors="replace")) > MAX_YAML_BYTES:
        return None, [_too_large(f"more than {MAX_YAML_BYTES:,}", file)]
    try:
        structure = _structure_issues(text, file)
        if structure:
            return None, structure
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                issues.append(Issue("E103", "the file is empty", file, 1, "", "write the definition as a mapping"))
                return None, issues
            _walk(node, (), doc, issues)
            doc.todos = find_todos(text, node) if "TODO" in text else ()
            doc.data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        issues.append(
            Issue("E101", f"YAML syntax error: {problem}", file, line, "", "check indentation, colons and quotes")
        )
        return None, issues
    except yaml.YAMLError as exc:
        issues.append(Issue("E101", f"YAML error: {exc}", file, None, "", None))
        return None, issues
    if not isinstance(doc.data, Mapping):
        issues.append(
            Issue("E103", f"expected a mapping at the top, found {type(doc.data).__name__}", file, 1, "", None)
        )
        return None, issues
    return doc, issues


def read_yaml_file(path: Path) -> tuple[SourceDoc | None, list[Issue]]:
    """Read and parse one YAML file: a regular file of at most :data:`MAX_YAML_BYTES`, UTF-8."""
    file = str(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket"
            return None, [Issue("E100", f"cannot read file: it is {kind}, not a regular file", file, None, "",
                                "give the path of a .yaml file")]
        if info.st_size > MAX_YAML_BYTES:
            return None, [_too_large(f"{info.st_size:,}", file)]
        with open(path, "rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)  # the size may change or lie (/proc): never read more
        if len(raw) > MAX_YAML_BYTES:
            return None, [_too_large(f"more than {MAX_YAML_BYTES:,}", file)]
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Issue("E100", f"cannot read file: not UTF-8 text (byte {exc.start})", file, None, "",
                            "save the file as UTF-8")]
    except OSError as exc:
        return None, [Issue("E100", f"cannot read file: {exc.strerror or type(exc).__name__}", file, None, "",
                            None)]
    return parse_yaml(text.removeprefix("\ufeff"), file)


def shown(value: Any) -> str:
    """A value as the YAML author wrote it, shortened: ``'six'``, ``true``, ``nothing``, ``a list ['a']``."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        text = "a mapping " + repr(dict(value))
    elif isinstance(value, (list, tuple)):
        text = "a list " + repr(list(value))
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_BOUNDS = {"greater_than": ("gt", "more than"), "greater_than_equal": ("ge", "at least"),
           "less_than": ("lt", "less than"), "less_than_equal": ("le", "at most")}
_YES_NO = "YAML reads yes/no/true/false/on/off as booleans: quote the text, e.g. label: \"Yes\""


def _hint_for(err: Mapping[str, Any], model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[str, str, str | None]:
    """Map one pydantic error to (code, message, hint) in the YAML author's words (catalogue ``E11x.*``)."""
    kind = err.get("type", "")
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        allowed = _allowed_keys(model, loc[:-1])
        hint = did_you_mean(str(key), allowed) if allowed else "remove it; see instruments/README.md"
        return issue_text("E110.unknown_key", hint, key=key, allowed=", ".join(sorted(allowed)))
    if kind == "missing":
        if loc and isinstance(loc[-1], int):
            return issue_text("E111.list_too_short", index=loc[-1])
        return issue_text("E111.missing_key", key=loc[-1] if loc else "?")
    what = shown(value)
    yes_no = _YES_NO if isinstance(value, bool) and not kind.startswith("bool") else None
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return issue_text("E112.whole_number", yes_no, shown=what)
    if kind in ("float_parsing", "float_type"):
        return issue_text("E112.number", yes_no, shown=what)
    if kind == "string_type":
        if value is None:
            fix = "write the text after the colon, or remove the key if it is optional"
        elif isinstance(value, bool):
            fix = _YES_NO
        elif loc and loc[-1] == "version":
            fix = "write MAJOR.MINOR.PATCH in quotes, e.g. version: \"1.0.0\""
        elif isinstance(value, (int, float)):
            fix = f"quote it to make it text, e.g. \"{value}\""
        else:
            fix = "write a single text here"
        return issue_text("E112.text", shown=what, fix=fix)
    if kind in ("bool_parsing", "bool_type"):
        return issue_text("E112.true_false", shown=what)
    if kind in ("list_type", "tuple_type", "set_type"):
        return issue_text("E112.list", yes_no, shown=what)
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        key = next((p for p in reversed(loc) if isinstance(p, str)), "this entry")
        return issue_text("E112.mapping", yes_no, shown=what, what=repr(key))
    if kind in ("literal_error", "enum"):
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return issue_text("E112.not_allowed", did_you_mean(str(value), options) if options else yes_no,
                          shown=what, allowed=", ".join(options) or str(ctx.get("expected", "?")))
    if kind in ("too_short", "too_long") and not isinstance(value, str):
        limit = ctx.get("min_length" if kind == "too_short" else "max_length")
        entries = "entry" if limit == 1 else "entries"
        if kind == "too_short":
            return issue_text("E112.too_few", min=limit, entries=entries, actual=ctx.get("actual_length", "?"))
        return issue_text("E112.too_many", max=limit, entries=entries, actual=ctx.get("actual_length", "?"))
    if kind == "string_too_short":
        return issue_text("E112.empty_text")
    if kind in _BOUNDS:
        name, relation = _BOUNDS[kind]
        return issue_text("E112.bound", yes_no, relation=relation, limit=ctx.get(name, "?"), shown=what)
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if "\\." in pattern or (loc and loc[-1] == "version"):
            return issue_text("E112.version", shown=what)
        return issue_text("E112.id", shown=what)
    return issue_text("E112.other", yes_no, detail=err.get("msg", "invalid value"), shown=what)


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> set[str]:
    """Field names of the model found at ``loc`` (best effort)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        info = current.model_fields.get(part)
        if info is None:
            return set()
        current = _inner_model(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return set(current.model_fields)
    return set()


def _inner_model(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if args:
        for arg in args:
            found = _inner_model(arg)
            if isinstance(found, type) and issubclass(found, BaseModel):
                return found
    return None


def to_model(model: type[M], doc: SourceDoc) -> tuple[M | None, list[Issue]]:
    """Validate ``doc.data`` against ``model``; every pydantic error becomes a located issue."""
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            # pydantic appends union-member / tagged names to loc; keep the data path only
            loc = tuple(p for p in err["loc"] if isinstance(p, int) or not str(p).startswith(("function-", "tuple[")))
            loc = _strip_type_tags(loc, doc)
            code, message, hint = _hint_for(err, model, loc)
            issues.append(Issue(code, message, doc.file, doc.line_of(loc), format_path(loc), hint))
        return None, _dedupe(issues)


def _strip_type_tags(loc: tuple[Any, ...], doc: SourceDoc) -> tuple[Any, ...]:
    """Drop union branch names ('int', 'float', 'list[...]') that pydantic inserts into ``loc``."""
    out: list[Any] = []
    node: Any = doc.data
    for part in loc:
        in_map = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_map or in_list:
            out.append(part)
            node = node[part]
        elif isinstance(node, Mapping) and isinstance(part, str) and part.isdigit() and int(part) in node:
            out.append(int(part))
            node = node[int(part)]
        elif isinstance(node, (Mapping, list)) and not _is_type_tag(part):
            out.append(part)  # a missing key: keep it, it is the subject of the message
            node = None
        elif node is None and not _is_type_tag(part):
            out.append(part)
    return tuple(out)


def _is_type_tag(part: Any) -> bool:
    return isinstance(part, str) and (
        part in {"int", "float", "str", "bool", "list", "dict", "none"}
        or part.startswith(("list[", "dict[", "tuple[", "literal[", "constrained-", "function-"))
        or part in {"ItemCondition", "RespondentCondition"}
    )


def _dedupe(issues: list[Issue]) -> list[Issue]:
    """Union types yield one error per member; keep one per (path, code)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for issue in issues:
        key = (issue.path, issue.code)
        if key in seen:
            continue
        seen.add(key)
        out.append(issue)
    return out

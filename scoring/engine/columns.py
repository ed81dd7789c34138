"""Which column of a response table holds which item: ``columns=`` of :func:`scoring.score` and ``--map``.

By default item columns are named by item id (``phq9_1`` …). A file named otherwise (``PHQ1`` … from a REDCap
export, ``q1`` … from a cohort) is scored without renaming it by saying how its columns map to the items:

``{source column: item id}``
    An explicit mapping, **source column first** (as :meth:`pandas.DataFrame.rename` takes it):
    ``{"PHQ_1": "phq9_1", "PHQ_2": "phq9_2", …}``. Item ids that the mapping does not name are still found
    under their own names, so only the odd columns need naming. A mapping given the other way round
    (``{"phq9_1": "PHQ_1"}``: an item id first, a column of the data second) is refused, saying so.
a pattern: a text with ``{n}``
    ``"q{n}"`` maps column ``q1`` to the instrument's first item, ``q2`` to the second, and so on.
a prefix: any other text
    ``"PHQ"`` is the pattern ``PHQ{n}`` with an optional separator (``_``, ``.``, ``-`` or a space) after the
    prefix: ``PHQ1``, ``PHQ_1``, ``phq.1`` and ``PHQ-01`` are all item 1.
a :class:`ColumnMapping`
    The result of :func:`resolve_columns`, reused (``psyscore score`` resolves once, for every chunk).

``{n}`` is the item's **position in the definition** — items in administration order, 1-based, as
``psyscore show`` lists them — not a number in the item id. The two agree for most instruments; for
``pc_ptsd5`` position 1 is ``pc_ptsd5_exposure`` and position 2 is ``pc_ptsd5_1``. The number may be
zero-padded (``q01``). Column names, prefixes, patterns and item ids are compared **ignoring case** and
surrounding spaces.

A mapping is resolved in full or refused with one :class:`ColumnMappingError` that lists what matched what,
the items that found no column (with a did-you-mean among the columns left), the items that two columns
match (e.g. ``PHQ1`` by the prefix and ``phq9_1`` by its name: conflicting answers are never resolved
silently), mapping entries whose column is not in the data or whose item is not in the instrument, and
entries given the wrong way round. Items that are not scored (PHQ-9's difficulty item ``phq9_10``) may have
no column; every scored item must have one. To score a file in which an item was not asked, add an empty
column for it (it counts as unanswered, as a missing column does without ``columns=``).

What passes through: the mapped columns are read as the items and, like item columns named by id, are not
in the scores; every other column passes through under its own name — also a column that looks like the
pattern but is beyond the instrument's items (``q10`` of a nine-item pattern), which
:attr:`ColumnMapping.unused` lists.

Several instruments in one table: :func:`split_mapping` sends the entries of one flat mapping to the
instrument that has the item; :func:`read_column_map` reads a YAML map file (format below);
:func:`scoring.engine.scorer.score_instruments` scores them together.

A YAML map file holds either one instrument's mapping or a section per instrument::

    # several instruments: one section each, keyed by instrument id; each is prefix, pattern or columns
    phq9:
      prefix: PHQ
    gad7:
      pattern: "GAD_{n}"
    audit_c:
      columns:
        alc_freq: audit_c_1
        alc_typical: audit_c_2
        alc_six: audit_c_3

    # or, flat: source column → item id, for one instrument or several (each entry goes to its item's owner)
    PHQ_1: phq9_1
    GAD_1: gad7_1

    # or one instrument's section at the top: prefix: PHQ
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from scoring.engine.responses import DuplicateColumnError
from scoring.errors import PsyscoreError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from scoring.definitions.library import Definition

__all__ = [
    "ColumnMapping",
    "ColumnMappingError",
    "Columns",
    "Match",
    "parse_inline_map",
    "read_column_map",
    "resolve_columns",
    "split_mapping",
]

#: the keys of a section in a YAML map file
SECTION_KEYS = ("prefix", "pattern", "columns")
_SEPARATORS = r"[_.\- ]?"
_NUMBER = r"0*([1-9][0-9]*)"  # ASCII digits only; zero-padding allowed


class ColumnMappingError(PsyscoreError, ValueError):
    """A ``columns=`` mapping that does not resolve: ambiguous, incomplete, or naming what is not there.

    ``matched`` lists what did match (:class:`Match`), ``unmatched`` the scored items with no column,
    ``ambiguous`` the items more than one column matched (item → matches), ``problems`` the other
    problems in words (one each).
    """

    def __init__(self, message: str, *, matched: Sequence[Match] = (), unmatched: Sequence[str] = (),
                 ambiguous: Mapping[str, Sequence[Match]] | None = None, problems: Sequence[str] = ()):
        self.matched = tuple(matched)
        self.unmatched = tuple(unmatched)
        self.ambiguous = dict(ambiguous or {})
        self.problems = tuple(problems)
        super().__init__(message)


@dataclass(frozen=True)
class Match:
    """One column read as one item, and by which rule (``"mapping"``, ``"prefix 'PHQ'"``, ``"item id"`` …)."""

    item: str
    column: Any  # the column label as the data has it
    how: str

    def __str__(self) -> str:
        return f"{str(self.column)!r} → {self.item}"


@dataclass(frozen=True)
class ColumnMapping:
    """Resolved columns of one instrument: which column of the data holds which item.

    ``matches`` are in item order; ``optional`` are the unscored items without a column; ``unused`` the
    columns that look like the pattern or prefix but name no item (they pass through).
    """

    instrument_id: str
    version: str
    matches: tuple[Match, ...]
    optional: tuple[str, ...] = ()
    unused: tuple[Any, ...] = ()
    rule: str = "item id"

    @property
    def items(self) -> dict[str, Any]:
        """Item id → the column label that holds it."""
        return {m.item: m.column for m in self.matches}

    @property
    def columns(self) -> tuple[Any, ...]:
        """The data's columns read as items (in item order)."""
        return tuple(m.column for m in self.matches)

    def renames(self) -> dict[Any, str]:
        """Column label → item id for every column not already named exactly by its item id."""
        return {m.column: m.item for m in self.matches if m.column != m.item}

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        """``data`` with the matched columns renamed to their item ids (no copy when nothing changes)."""
        missing = [c for c in self.columns if c not in data.columns]
        if missing:
            listed = ", ".join(repr(str(c)) for c in missing)
            raise ColumnMappingError(
                f"the column mapping for {self.instrument_id} names column(s) {listed} that the data does not "
                "have; resolve the mapping against this data (resolve_columns)")
        renames = self.renames()
        return data.rename(columns=renames) if renames else data

    def describe(self) -> str:
        """One line: ``phq9 (prefix 'PHQ'): PHQ1 → phq9_1, …``, then what had no column or was not used."""
        text = f"{self.instrument_id} ({self.rule}): " + ", ".join(map(str, self.matches))
        if self.optional:
            text += f"; not scored, no column: {', '.join(self.optional)}"
        if self.unused:
            text += (f"; like the {self.rule} but no item of {self.instrument_id} (passed through): "
                     + ", ".join(repr(str(c)) for c in self.unused))
        return text


#: what ``columns=`` takes (see the module's documentation)
Columns: TypeAlias = "Mapping[str, str] | str | ColumnMapping"


def _norm(name: object) -> str:
    return str(name).strip().lower()


@dataclass
class _Found:
    matches: list[Match] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unused: list[Any] = field(default_factory=list)


def resolve_columns(definition: Definition, frame_columns: Iterable[Any],
                    columns: Columns | None = None) -> ColumnMapping:
    """Which of ``frame_columns`` holds which item of ``definition``, by the rule ``columns``.

    Parameters
    ----------
    definition
        The instrument (``lib["phq9"]``).
    frame_columns
        The data's column labels (``df.columns``).
    columns
        ``None`` (item columns named by item id; lenient: items without a column are left to the engine,
        which reports them as ``missing_column``), a mapping ``{source column: item id}``, a pattern with
        ``{n}``, a prefix, or a :class:`ColumnMapping` (checked against ``definition`` and returned).

    Returns
    -------
    ColumnMapping

    Raises
    ------
    ColumnMappingError
        Ambiguous, incomplete, or naming a column or item that is not there; the message lists all of it.

    Examples
    --------
    >>> import scoring
    >>> from scoring.engine.columns import resolve_columns
    >>> phq9 = scoring.load_library()["phq9"]
    >>> m = resolve_columns(phq9, [f"PHQ{i}" for i in range(1, 10)] + ["id"], "PHQ")
    >>> m.items["phq9_1"], m.items["phq9_9"], m.optional
    ('PHQ1', 'PHQ9', ('phq9_10',))
    """
    plan = definition.plan
    items = plan.item_ids
    labels = list(frame_columns)
    by_norm: dict[str, list[Any]] = {}
    for c in labels:
        by_norm.setdefault(_norm(c), []).append(c)
    dups = [cols for cols in by_norm.values() if len(cols) > 1]
    if dups:
        listed = "; ".join(" and ".join(repr(str(c)) for c in cols) for cols in dups)
        raise DuplicateColumnError(f"duplicate column names in the responses: {listed} (names are matched "
                                   "ignoring case); keep one column per name — conflicting answers are never "
                                   "resolved silently")
    if isinstance(columns, ColumnMapping):
        return _check_given(definition, columns, labels)
    item_of = {i.lower(): i for i in items}
    found = _Found()
    rule = "item id"
    reversed_entries: list[tuple[str, str]] = []
    if isinstance(columns, str):
        rule = _rule_matches(columns, items, labels, found)
    elif isinstance(columns, Mapping):
        rule = "mapping"
        for src, item in columns.items():
            if not isinstance(src, str) or not isinstance(item, str):
                raise TypeError(f"columns= maps column names (text) to item ids (text), not {src!r}: {item!r}")
            target = item_of.get(_norm(item))
            source = by_norm.get(_norm(src))
            if target is None:
                if _norm(src) in item_of and _norm(item) in by_norm:
                    reversed_entries.append((src, item))
                    continue
                hint = did_you_mean(item.strip().lower(), list(items))
                found.problems.append(f"{src!r} → {item!r}: {definition.id} has no item {item!r}"
                                      + (f" ({hint})" if hint else ""))
                continue
            if source is None:
                hint = did_you_mean(src.strip(), [str(c) for c in labels])
                found.problems.append(f"{src!r} → {target}: the data has no column {src!r}"
                                      + (f" ({hint})" if hint else ""))
                continue
            found.matches.append(Match(target, source[0], "mapping"))
    elif columns is not None:
        raise TypeError("columns= takes a mapping {source column: item id}, a pattern such as 'q{n}', a prefix "
                        f"such as 'PHQ', or a ColumnMapping — not {type(columns).__name__}")
    if reversed_entries:
        shown = ", ".join(f"{s!r}: {i!r}" for s, i in reversed_entries[:3]) + (" …" if len(reversed_entries) > 3
                                                                                else "")
        swapped = ", ".join(f"{i!r}: {s!r}" for s, i in reversed_entries[:3])
        found.problems.insert(0, f"the mapping is the wrong way round ({shown} gives item id → column); columns= "
                                 f"takes {{source column: item id}}: {{{swapped}}}")
    # a column the rule claims is read as the rule says, even when it is named like another item
    claimed: dict[Any, set[str]] = {}
    for m in found.matches:
        claimed.setdefault(m.column, set()).add(m.item)
    for col, targets in claimed.items():
        if len(targets) > 1:
            found.problems.append(f"column {str(col)!r} is mapped to {len(targets)} items: "
                                  f"{', '.join(sorted(targets, key=items.index))}; map each column to one item")
    for c in labels:
        if c not in claimed and _norm(c) in item_of:
            found.matches.append(Match(item_of[_norm(c)], c, "item id"))
    per_item: dict[str, list[Match]] = {}
    for m in found.matches:
        same = per_item.setdefault(m.item, [])
        if all(o.column != m.column for o in same):
            same.append(m)
    ambiguous = {i: ms for i, ms in per_item.items() if len(ms) > 1}
    lenient = columns is None
    unmatched = [i for i, scored in zip(items, plan.scored, strict=True)
                 if i not in per_item and (scored and not lenient)]
    optional = tuple(i for i in items if i not in per_item and i not in unmatched)
    matched = [per_item[i][0] for i in items if i in per_item and i not in ambiguous]
    if found.problems or ambiguous or unmatched:
        raise ColumnMappingError(
            _message(definition, rule, matched, unmatched, ambiguous, found.problems, labels, claimed),
            matched=matched, unmatched=unmatched, ambiguous=ambiguous, problems=found.problems)
    return ColumnMapping(definition.id, definition.version, tuple(per_item[i][0] for i in items if i in per_item),
                         optional, tuple(found.unused), rule)


def _rule_matches(spec: str, items: Sequence[str], labels: Sequence[Any], found: _Found) -> str:
    """Matches of a prefix or a ``{n}`` pattern into ``found``; returns the rule's name for messages."""
    text = spec.strip()
    if "{n}" in text:
        parts = text.lower().split("{n}")
        if len(parts) != 2 or "{" in text.replace("{n}", "") or "}" in text.replace("{n}", ""):
            raise ColumnMappingError(f"the pattern {spec!r} must hold {{n}} exactly once and no other braces "
                                     "(e.g. 'q{n}' or 'PHQ_{n}_score')")
        regex = re.compile(re.escape(parts[0]) + _NUMBER + re.escape(parts[1]))
        how = f"pattern {spec!r}"
    else:
        if not text:
            raise ColumnMappingError("an empty prefix matches no column; give the text before the item number "
                                     "(e.g. 'PHQ' for PHQ1 … PHQ9) or a pattern with {n}")
        regex = re.compile(re.escape(text.lower()) + _SEPARATORS + _NUMBER)
        how = f"prefix {spec!r}"
    for c in labels:
        m = regex.fullmatch(_norm(c))
        if m is None:
            continue
        n = int(m.group(1))
        if 1 <= n <= len(items):
            found.matches.append(Match(items[n - 1], c, how))
        else:
            found.unused.append(c)
    return how


def _check_given(definition: Definition, given: ColumnMapping, labels: Sequence[Any]) -> ColumnMapping:
    if (given.instrument_id, given.version) != (definition.id, definition.version):
        raise ColumnMappingError(f"the column mapping was resolved for {given.instrument_id} {given.version}, not "
                                 f"{definition.id} {definition.version}")
    missing = [c for c in given.columns if c not in labels]
    if missing:
        raise ColumnMappingError(f"the column mapping for {definition.id} names column(s) "
                                 f"{', '.join(repr(str(c)) for c in missing)} that the data does not have")
    return given


def _message(definition: Definition, rule: str, matched: Sequence[Match], unmatched: Sequence[str],
             ambiguous: Mapping[str, Sequence[Match]], problems: Sequence[str], labels: Sequence[Any],
             claimed: Mapping[Any, set[str]]) -> str:
    lines = [f"the columns do not resolve to the items of {definition.id} {definition.version} ({rule}):"]
    lines += [f"  - {p}" for p in problems]
    for item, ms in ambiguous.items():
        which = " and ".join(f"{str(m.column)!r} ({m.how})" for m in ms)
        lines.append(f"  - item {item} matches {len(ms)} columns: {which}; keep one, or map the one to use")
    if unmatched:
        used = {m.column for ms in ambiguous.values() for m in ms} | {m.column for m in matched} | set(claimed)
        left = {_norm(c): str(c) for c in labels if c not in used}
        hints: list[str] = []  # each column left over suggested once, for the unmatched item it is closest to
        for low, col in left.items():
            close = difflib.get_close_matches(low, list(unmatched), n=1, cutoff=0.6)
            if close and len(hints) < 5:
                hints.append(f"did you mean column {col!r} for {close[0]}?")
        lines.append(f"  - {len(unmatched)} of {len(definition.plan.item_ids)} items have no column: "
                     f"{', '.join(unmatched)}" + (f" ({'; '.join(hints)})" if hints else "")
                     + "; every scored item needs a column (add an empty one for an item that was not asked)")
    shown = ", ".join(map(str, matched[:12])) + (" …" if len(matched) > 12 else "")
    lines.append(f"  matched: {shown or 'nothing'}")
    if not matched and labels:
        first = ", ".join(repr(str(c)) for c in labels[:6]) + (" …" if len(labels) > 6 else "")
        lines.append(f"  the data's columns: {first}")
    lines.append("  columns= takes {source column: item id}, a pattern with {n} (n = the item's position, 1-based) "
                 "or a prefix")
    return "\n".join(lines)


def split_mapping(definitions: Sequence[Definition], mapping: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """One flat ``{source column: item id}`` mapping split by the instrument that has each item.

    An entry whose item no instrument has goes to the instrument whose item is its *source* (a mapping
    given the wrong way round, which :func:`resolve_columns` then refuses, saying so); one that matches
    neither is refused here, with a did-you-mean.
    """
    owner = {i.lower(): d.id for d in definitions for i in d.plan.item_ids}
    out: dict[str, dict[str, str]] = {}
    problems = []
    for src, item in mapping.items():
        who = owner.get(_norm(item)) or owner.get(_norm(src))
        if who is None:
            hint = did_you_mean(_norm(item), list(owner))
            ids = ", ".join(d.id for d in definitions)
            problems.append(f"{src!r} → {item!r}: no item {item!r} in {ids}" + (f" ({hint})" if hint else ""))
            continue
        out.setdefault(who, {})[src] = item
    if problems:
        raise ColumnMappingError("the column mapping names items that are not there:\n"
                                 + "\n".join(f"  - {p}" for p in problems), problems=problems)
    return out


def parse_inline_map(text: str) -> dict[str, str]:
    """``"PHQ1=phq9_1,PHQ2=phq9_2"`` → ``{"PHQ1": "phq9_1", …}`` (the ``--map`` text form).

    A column name holding ``,`` or ``=`` cannot be written this way: use a YAML map file.
    """
    out: dict[str, str] = {}
    for k, part in enumerate(text.split(","), start=1):
        if not part.strip():
            continue
        src, eq, item = part.partition("=")
        if not eq or not src.strip() or not item.strip() or "=" in item:
            raise ColumnMappingError(f"--map entry {k} ({part.strip()!r}) is not SOURCE=ITEM; write "
                                     "--map PHQ1=phq9_1,PHQ2=phq9_2 (source column first) or give a .yaml map file")
        if src.strip() in out:
            raise ColumnMappingError(f"--map names column {src.strip()!r} twice")
        out[src.strip()] = item.strip()
    if not out:
        raise ColumnMappingError("--map is empty; write --map PHQ1=phq9_1,PHQ2=phq9_2 or give a .yaml map file")
    return out


def read_column_map(path: Path | str, definitions: Sequence[Definition]) -> dict[str, Columns]:
    """Read a YAML map file (format in the module's documentation): instrument id → its ``columns=``.

    Errors name the file and line: a section for an instrument not being scored, a section with other keys
    than one of ``prefix``, ``pattern``, ``columns``, a value that is not text.
    """
    from scoring.definitions.loading import read_yaml_file

    doc, issues = read_yaml_file(Path(path))
    if doc is None or issues:
        raise ColumnMappingError("; ".join(str(i) for i in issues) or f"{path}: cannot read the map file")
    data = doc.data
    ids = [d.id for d in definitions]

    def at(*where: str | int) -> str:
        line = doc.line_of(list(where))
        return f"{path}:{line}" if line is not None else str(path)

    if not isinstance(data, dict) or not data:
        raise ColumnMappingError(f"{at()}: a map file holds a mapping (source column: item id), a section per "
                                 "instrument (phq9: {prefix: PHQ}) or one section (prefix: PHQ)")
    if set(data) <= set(SECTION_KEYS):
        if len(ids) != 1:
            raise ColumnMappingError(f"{at()}: one section for {len(ids)} instruments ({', '.join(ids)}); give a "
                                     "section per instrument (phq9: {prefix: PHQ})")
        return {ids[0]: _section(data, at, ())}
    if all(isinstance(v, dict) for v in data.values()):
        out: dict[str, Columns] = {}
        for key, body in data.items():
            if str(key) not in ids:
                hint = did_you_mean(str(key), ids)
                raise ColumnMappingError(f"{at(key)}: section {key!r} is not an instrument being scored "
                                         f"({', '.join(ids)})" + (f"; {hint}" if hint else ""))
            out[str(key)] = _section(body, at, (key,))
        return out
    for key, value in data.items():
        if not isinstance(value, str) or not isinstance(key, str):
            raise ColumnMappingError(f"{at(key)}: {key!r}: {value!r} is not source column: item id (both text); "
                                     "a section per instrument is written phq9: {prefix: PHQ}")
    flat = {str(k): str(v) for k, v in data.items()}
    return dict(split_mapping(definitions, flat))


def _section(body: Any, at: Any, where: tuple[Any, ...]) -> Columns:
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in SECTION_KEYS:
        raise ColumnMappingError(f"{at(*where)}: a section holds exactly one of {', '.join(SECTION_KEYS)} "
                                 f"(e.g. prefix: PHQ), not {body!r}")
    key, value = next(iter(body.items()))
    if key == "columns":
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise ColumnMappingError(f"{at(*where, key)}: columns: holds source column: item id pairs (both text)")
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, str):
        raise ColumnMappingError(f"{at(*where, key)}: {key}: takes text (e.g. {key}: "
                                 f"{'PHQ' if key == 'prefix' else 'q{n}'}), not {value!r}")
    if key == "pattern" and "{n}" not in value:
        raise ColumnMappingError(f"{at(*where, key)}: the pattern {value!r} has no {{n}} (the item's position)")
    if key == "prefix" and "{n}" in value:
        raise ColumnMappingError(f"{at(*where, key)}: the prefix {value!r} holds {{n}}: write it as pattern:")
    return value

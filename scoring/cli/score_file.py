"""``psyscore score`` on a file of any size: read in chunks, score, write as it goes, accept or refuse at the end.

Memory is bounded by ``--chunk-rows`` whatever the file's size. The run's story is the same as for a file read
whole: rows in failures are the file's rows (row 1,000,001 is reported as such), column problems are listed
once, the 20 % bad-cell rule counts over the whole file, and the scores file appears only when the whole file
was read and the run is accepted (strict mode and the bad-cell rule decide at the end). Until then it is a
temporary file beside the target, removed on any error, so a refused run leaves no half output and an
earlier scores file of that name is left as it was. The failures file, like before, is written whenever the
whole file could be read and has bad cells (also when the run is then refused: it says why).
A progress bar is shown on stderr when stderr is a terminal, never otherwise.

Column mapping (``--map``, ``--prefix``, ``--pattern``; :mod:`scoring.engine.columns`) is resolved once, on the
first chunk's header, and the same mapping is used for every chunk; a mapping that does not resolve is a usage
error (exit 2) listing what matched what. Several instruments (``psyscore score phq9,gad7 FILE``) are scored on
the same rows in one pass (:func:`scoring.engine.scorer.score_instruments`): score columns prefixed by the
instrument id and a dot (``phq9.total``), the other columns once, failures with an ``instrument`` column.

Reading the next chunk and writing the previous one run in two helper threads while a chunk is scored
(Parquet and CSV I/O release the GIL; :func:`scoring.engine.chunks.read_ahead`): each holds at most one
chunk, so memory stays about three chunks whatever the file's size.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from scoring.cli import EXIT_ERROR, EXIT_OK, UsageError
from scoring.definitions.library import Definition

if TYPE_CHECKING:
    from scoring.engine.columns import ColumnMapping, Columns

FIRST_SHOWN = 10  # failures printed on stderr

MAP_HELP = ("how the file's columns map to the items when they are not named by item id: a YAML map file "
            "(map.yaml: 'PHQ_1: phq9_1' lines, or a section per instrument, 'phq9: {prefix: PHQ}') or inline "
            "SOURCE=ITEM pairs (PHQ1=phq9_1,PHQ2=phq9_2; source column first); items not named are still found by "
            "their id")


def add_mapping_options(p: argparse.ArgumentParser) -> None:
    """``--map``, ``--prefix`` and ``--pattern`` of ``psyscore score``."""
    p.add_argument("--map", dest="column_map", metavar="MAP", help=MAP_HELP)
    p.add_argument("--prefix", dest="column_prefix", metavar="PREFIX",
                   help="item columns are PREFIX followed by the item's position (1-based, in definition order; "
                        "an optional _ . - or space between; zero-padding allowed): --prefix PHQ reads PHQ1, PHQ_2, "
                        "… With several instruments: --prefix phq9=PHQ,gad7=GAD")
    p.add_argument("--pattern", dest="column_pattern", metavar="PATTERN",
                   help="item columns follow PATTERN, {n} standing for the item's position (1-based, definition "
                        "order): --pattern 'q{n}' reads q1, q2, … With several instruments: "
                        "--pattern 'phq9=q{n},gad7=g{n}'. Names are compared ignoring case")


def instrument_ids(args: argparse.Namespace) -> list[str]:
    """The instrument ids of ``psyscore score ID[,ID…]``; options that take one instrument refuse several."""
    ids = [part.strip() for part in str(args.id).split(",")]
    if not all(ids):
        raise UsageError(f"instrument list {args.id!r} has an empty entry; write them as phq9,gad7")
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise UsageError(f"instrument {', '.join(twice)} is listed twice in {args.id!r}")
    if len(ids) > 1:
        for option, value in (("--norms", getattr(args, "norms", None)),
                              ("--version", getattr(args, "instrument_version", None))):
            if value:
                raise UsageError(f"{option} applies to one instrument; score {', '.join(ids)} one at a time to use "
                                 "it")
    return ids


def column_specs(args: argparse.Namespace, defs: Sequence[Definition]) -> dict[str, Columns]:
    """Instrument id → its ``columns=`` from ``--map``, ``--prefix`` and ``--pattern`` (each instrument one)."""
    from scoring.engine.columns import ColumnMappingError, parse_inline_map, read_column_map, split_mapping

    ids = [d.id for d in defs]
    given: list[tuple[str, dict[str, Columns]]] = []
    try:
        text = getattr(args, "column_map", None)
        if text:
            if text.lower().endswith((".yaml", ".yml")):
                if not Path(text).is_file():
                    raise UsageError(f"--map {text}: no such file")
                given.append(("--map", read_column_map(Path(text), defs)))
            elif "=" in text:
                given.append(("--map", dict(split_mapping(defs, parse_inline_map(text)))))
            else:
                raise UsageError(f"--map {text!r} is neither a .yaml/.yml map file nor SOURCE=ITEM pairs "
                                 "(PHQ1=phq9_1,PHQ2=phq9_2)")
    except ColumnMappingError as exc:
        raise UsageError(str(exc)) from exc
    for option, value, need in (("--prefix", getattr(args, "column_prefix", None), False),
                                ("--pattern", getattr(args, "column_pattern", None), True)):
        if value is None:
            continue
        per = _per_instrument(option, value, ids)
        for text in per.values():
            if ("{n}" in text) != need:
                raise UsageError(f"{option} {text!r}: " + ("a pattern holds {n} (the item's position), e.g. 'q{n}'"
                                                          if need else "a prefix has no {n}; use --pattern for that"))
        given.append((option, dict(per)))
    out: dict[str, Columns] = {}
    source: dict[str, str] = {}
    for option, per_id in given:
        for iid, spec in per_id.items():
            if iid in out:
                raise UsageError(f"{iid} is given its columns twice ({source[iid]} and {option}); give one of "
                                 "--map, --prefix, --pattern per instrument")
            out[iid], source[iid] = spec, option
    return out


def _per_instrument(option: str, value: str, ids: Sequence[str]) -> dict[str, str]:
    parts = [p.strip() for p in value.split(",")]
    keyed = [p.partition("=") for p in parts]
    if all(eq and key.strip() in ids for key, eq, _ in keyed):
        return {key.strip(): spec.strip() for key, _, spec in keyed}
    if len(ids) > 1:
        raise UsageError(f"{option} {value!r} would apply to {', '.join(ids)} alike; give it per instrument: "
                         f"{option} {ids[0]}=…,{ids[1]}=…")
    return {ids[0]: value}


def run_score(args: argparse.Namespace, d: Definition | Sequence[Definition],
              norm_table: Callable[[list[str]], Any] | None, failures_file: Path,
              row_label: Callable[[object], object]) -> int:
    """Score ``args.input`` into ``args.output``; ``norm_table(columns)`` gives the norm table (or None).

    ``d`` is one definition, or several scored together (columns prefixed by instrument id; no norms)."""
    from scoring.cli.inputs import (
        bad_cell_counts,
        check_bad_counts,
        print_failures,
        require_items,
        say_delimiter,
    )
    from scoring.engine import score
    from scoring.engine.chunks import DEFAULT_CHUNK_ROWS, ChunkWriter, count_rows, read_ahead, read_chunks
    from scoring.engine.columns import ColumnMappingError, resolve_columns
    from scoring.engine.scorer import score_instruments, summarise

    defs = [d] if isinstance(d, Definition) else list(d)
    multi = len(defs) > 1
    if multi and norm_table is not None:
        raise UsageError("--norms applies to one instrument; score the instruments one at a time to use it")
    specs = column_specs(args, defs)
    chunk_rows = args.chunk_rows or DEFAULT_CHUNK_ROWS
    chunks = read_chunks(args.input, chunk_rows)
    from scoring.cli.redcap_cmds import options_given, redcap_chunks

    if options_given(args):  # --redcap: a REDCap record export, converted chunk by chunk (cli/redcap_cmds.py)
        chunks, row_label = redcap_chunks(args, defs, chunks, row_label)
    first = next(chunks)  # the header checks run here, before anything is scored
    say_delimiter(args.input, first)
    columns = [str(c) for c in first.columns]
    mappings: dict[str, ColumnMapping] = {}
    try:
        for x in defs:
            if x.id in specs:
                mappings[x.id] = resolve_columns(x, first.columns, specs[x.id])
            else:
                require_items(args.input, columns, x.plan.item_ids, x.id)
    except ColumnMappingError as exc:
        raise UsageError(f"{args.input}: {exc}") from exc
    _say_mappings(args.input, mappings, defs, first.columns)
    table = norm_table(columns) if norm_table is not None else None
    n_items = sum(len(x.plan.item_ids) for x in defs)
    resolved: dict[str, Columns | None] = dict(mappings)
    rows = 0
    counts: Counter[str] = Counter()
    bad: Counter[str] = Counter()
    shown: list[pd.DataFrame] = []
    n_shown = 0
    parquet_failures = failures_file.suffix.lower() == ".parquet"
    pending: Future[None] | None = None  # the previous chunk's write, done by one helper thread in order
    ahead = read_ahead(chunks)  # the next chunk is read by a helper thread while this one is scored
    with contextlib.closing(ahead), ChunkWriter(args.output) as out, ChunkWriter(failures_file) as fout, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="psyscore-write") as writer, \
            _progress(count_rows(args.input), f"scoring {args.input.name}") as advance:
        for k, frame in enumerate(itertools.chain([first], ahead)):
            if multi:
                result: Any = score_instruments(defs, frame, columns=resolved,
                                                accept_integral_floats=args.accept_integral_floats)
            else:
                result = score(defs[0], frame, columns=resolved.get(defs[0].id),
                               accept_integral_floats=args.accept_integral_floats)
            failures = result.failures
            if k:  # problems of a whole column are the same in every chunk: listed once, from the first
                failures = failures[failures["row"].notna()]
            rows += len(frame)
            if len(failures):
                counts.update(failures["code"].tolist())
                bad.update(bad_cell_counts(failures))
                if n_shown < FIRST_SHOWN:
                    shown.append(failures.head(FIRST_SHOWN - n_shown))
                    n_shown += len(shown[-1])
                labelled = failures.copy()
                labels = failures["row"].map(row_label)
                # Parquet: the row as a nullable integer (null for a whole column), not text
                labelled["row"] = labels.replace("", None).astype("Int64") if parquet_failures else labels
            else:
                labelled = None
            scores = result.scores
            if table is not None:
                from scoring.norms import NormError, apply_norms

                try:
                    scores = apply_norms(defs[0], scores, table)
                except NormError as exc:
                    raise UsageError(str(exc)) from exc
            if pending is not None:
                pending.result()  # raises the write's error here; at most one chunk waits to be written
            pending = writer.submit(_write, out, scores, fout, labelled)
            advance(len(frame))
            del frame, result, failures, scores, labelled  # the writer holds what it needs; nothing waits for the next
        if pending is not None:
            pending.result()
        if counts:
            print(f"{args.input}: {summarise(rows, dict(counts))}", file=sys.stderr)
            print_failures(pd.concat(shown, ignore_index=True), failures_file, row_label=row_label,
                           lead="instrument" if multi else None, limit=FIRST_SHOWN, total=sum(counts.values()))
            fout.commit()
            check_bad_counts(args.input, bad, rows * n_items, args.allow_bad)
            if args.strict:
                print("strict mode: no scores written", file=sys.stderr)
                return EXIT_ERROR
        else:
            fout.discard()
            failures_file.unlink(missing_ok=True)  # a stale failures file from an earlier run would mislead
        out.commit()
    print(f"{rows} administration(s) scored with {', '.join(f'{x.id} {x.version}' for x in defs)}"
          + (f", norms {table.id} ({table.evidence} evidence)" if table is not None else "") + f" → {args.output}",
          file=sys.stderr)
    return EXIT_OK


def _say_mappings(path: Path, mappings: dict[str, ColumnMapping], defs: Sequence[Definition],
                  header: Iterable[object]) -> None:
    """Say on stderr which column was read as which item (column names only, never a cell), and which
    columns two instruments read."""
    for m in mappings.values():
        print(f"{path}: columns {m.describe()}", file=sys.stderr)
    if len(defs) < 2:
        return
    from scoring.engine.columns import resolve_columns

    readers: dict[object, list[str]] = {}
    for x in defs:
        m = mappings.get(x.id) or resolve_columns(x, header)
        for col in m.columns:
            readers.setdefault(col, []).append(x.id)
    for col, who in readers.items():
        if len(who) > 1:
            print(f"{path}: column {str(col)!r} is read by {' and '.join(who)} (as the mappings say)", file=sys.stderr)


def _write(out: Any, scores: pd.DataFrame, fout: Any, failures: pd.DataFrame | None) -> None:
    out.write(scores)
    if failures is not None:
        fout.write(failures)


@contextlib.contextmanager
def _progress(total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when it is a terminal; otherwise a function that does nothing."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
               TimeElapsedColumn()]
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)

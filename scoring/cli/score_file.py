"""``psyscore score`` on a file of any size: read in chunks, score, write as it goes, accept or refuse at the end.

Memory is bounded by ``--chunk-rows`` whatever the file's size. The run's story is the same as for a file read
whole: rows in failures are the file's rows (row 1,000,001 is reported as such), column problems are listed
once, the 20 % bad-cell rule counts over the whole file, and the scores file appears only when the whole file
was read and the run is accepted (strict mode and the bad-cell rule decide at the end). Until then it is a
temporary file beside the target, removed on any error, so a refused run leaves no half output and an
earlier scores file of that name is left as it was. The failures file, like before, is written whenever the
whole file could be read and has bad cells (also when the run is then refused: it says why).
A progress bar is shown on stderr when stderr is a terminal, never otherwise.

Reading the next chunk and writing the previous one run in two helper threads while a chunk is scored
(Parquet and CSV I/O release the GIL); each holds at most one chunk, so memory stays about four chunks
whatever the file's size.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import queue
import sys
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from scoring.cli import EXIT_ERROR, EXIT_OK, UsageError
from scoring.definitions.library import Definition

FIRST_SHOWN = 10  # failures printed on stderr


def run_score(args: argparse.Namespace, d: Definition, norm_table: Callable[[list[str]], Any] | None,
              failures_file: Path, row_label: Callable[[object], object]) -> int:
    """Score ``args.input`` into ``args.output``; ``norm_table(columns)`` gives the norm table (or None)."""
    from scoring.cli.inputs import (
        bad_cell_counts,
        check_bad_counts,
        print_failures,
        require_items,
        say_delimiter,
    )
    from scoring.engine import score
    from scoring.engine.chunks import DEFAULT_CHUNK_ROWS, ChunkWriter, count_rows, read_chunks
    from scoring.engine.scorer import summarise

    chunk_rows = args.chunk_rows or DEFAULT_CHUNK_ROWS
    chunks = read_chunks(args.input, chunk_rows)
    first = next(chunks)  # the header checks run here, before anything is scored
    say_delimiter(args.input, first)
    columns = [str(c) for c in first.columns]
    require_items(args.input, columns, d.plan.item_ids, d.id)
    table = norm_table(columns) if norm_table is not None else None
    n_items = len(d.plan.item_ids)
    rows = 0
    counts: Counter[str] = Counter()
    bad: Counter[str] = Counter()
    shown: list[pd.DataFrame] = []
    n_shown = 0
    parquet_failures = failures_file.suffix.lower() == ".parquet"
    pending: Future[None] | None = None  # the previous chunk's write, done by one helper thread in order
    ahead = _read_ahead(chunks)
    with contextlib.closing(ahead), ChunkWriter(args.output) as out, ChunkWriter(failures_file) as fout, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="psyscore-write") as writer, \
            _progress(count_rows(args.input), f"scoring {args.input.name}") as advance:
        for k, frame in enumerate(itertools.chain([first], ahead)):
            result = score(d, frame, accept_integral_floats=args.accept_integral_floats)
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
                    scores = apply_norms(d, scores, table)
                except NormError as exc:
                    raise UsageError(str(exc)) from exc
            if pending is not None:
                pending.result()  # raises the write's error here; at most one chunk waits to be written
            pending = writer.submit(_write, out, scores, fout, labelled)
            advance(len(frame))
        if pending is not None:
            pending.result()
        if counts:
            print(f"{args.input}: {summarise(rows, dict(counts))}", file=sys.stderr)
            print_failures(pd.concat(shown, ignore_index=True), failures_file, row_label=row_label,
                           limit=FIRST_SHOWN, total=sum(counts.values()))
            fout.commit()
            check_bad_counts(args.input, bad, rows * n_items, args.allow_bad)
            if args.strict:
                print("strict mode: no scores written", file=sys.stderr)
                return EXIT_ERROR
        else:
            fout.discard()
            failures_file.unlink(missing_ok=True)  # a stale failures file from an earlier run would mislead
        out.commit()
    print(f"{rows} administration(s) scored with {d.id} {d.version}"
          + (f", norms {table.id} ({table.evidence} evidence)" if table is not None else "") + f" → {args.output}",
          file=sys.stderr)
    return EXIT_OK


def _write(out: Any, scores: pd.DataFrame, fout: Any, failures: pd.DataFrame | None) -> None:
    out.write(scores)
    if failures is not None:
        fout.write(failures)


_DONE = object()


def _read_ahead(frames: Iterable[pd.DataFrame]) -> Generator[pd.DataFrame, None, None]:
    """``frames``, the next one read by a helper thread while the caller works on this one (errors re-raised
    here, in order). Leaving early stops the helper after the chunk it holds."""
    ready: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for frame in frames:
                if stop.is_set():
                    return
                ready.put(frame)
        except BaseException as exc:  # handed to the reading side, which raises it
            ready.put(exc)
            return
        ready.put(_DONE)

    helper = threading.Thread(target=produce, name="psyscore-read", daemon=True)
    helper.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while helper.is_alive():  # let a helper blocked on a full queue finish
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.05)
        helper.join()


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

"""Response files in chunks of rows, score files written as they come: bounded memory for any file size.

:func:`read_chunks` yields the rows of a CSV, XLSX or Parquet file as frames of at most ``chunk_rows`` rows
whose index is the row's position in the whole file (row 1,000,001 is labelled 1,000,000 in every chunk
size), with every check of :func:`scoring.engine.files.read_table` (it is the same reader).
:class:`ChunkWriter` appends frames to a temporary file beside the target and moves it into place only on
:meth:`~ChunkWriter.commit`, so a refused or failed run leaves no half-written output and never replaces an
earlier file with one. CSV and Parquet are written as the chunks arrive; XLSX (at most
:data:`XLSX_MAX_ROWS` rows) is written at commit, and a run with more rows is refused as soon as it passes
the limit.

Parquet output keeps numbers, booleans, timestamps and categories as typed columns; a column of Python
objects (text, dates, mixed XLSX cells) is written as text, whatever its first chunk holds, so the file's
schema never depends on where the chunks fall.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import uuid
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import pandas as pd

from scoring.engine.files import TableError, guard_formulas, iter_table, neutralise, write_table

__all__ = ["DEFAULT_CHUNK_ROWS", "OUTPUT_SUFFIXES", "XLSX_MAX_ROWS", "ChunkWriter", "count_rows", "read_ahead",
           "read_chunks"]

#: rows per chunk when the caller does not choose
DEFAULT_CHUNK_ROWS = 1_000_000
#: data rows an XLSX worksheet holds below its header row (1,048,576 rows in all)
XLSX_MAX_ROWS = 1_048_575
OUTPUT_SUFFIXES = (".csv", ".xlsx", ".parquet")


def read_chunks(path: Path | str, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Frames of at most ``chunk_rows`` rows, indexed by position in the file (0 = the first data row).

    The first frame comes even for a file with a header only (then empty), after the header checks.
    """
    start = 0
    for frame in iter_table(path, chunk_rows):
        frame.index = pd.RangeIndex(start, start + len(frame))
        start += len(frame)
        yield frame


T = TypeVar("T")
_DONE = object()


def read_ahead(items: Iterable[T]) -> Generator[T, None, None]:
    """``items`` in order, each next one made by a helper thread while the caller works on the one it has.

    The helper holds **at most one** item at any time: it starts on the next only when the caller has taken
    the previous one, and lets go of an item as soon as it is handed over, so a chunked run keeps one chunk in
    the reader, one with the caller and one in the writer — however long the file. Parquet decoding and CSV
    parsing release the GIL for part of their work. An error of the helper is raised here, where its item
    would have come. Leaving early (``close()``, an exception) stops the helper after the item it is making.
    """
    ready: queue.Queue[object] = queue.Queue(maxsize=1)
    slot = threading.Semaphore(1)  # released by the caller taking an item: the helper may make the next
    stop = threading.Event()

    def produce() -> None:
        source = iter(items)
        try:
            while True:
                slot.acquire()
                if stop.is_set():
                    return
                item = next(source, _DONE)
                ready.put(item)
                if item is _DONE:
                    return
                del item  # the caller has it now (or will): the helper keeps no reference
        except BaseException as exc:  # handed to the caller, which raises it
            ready.put(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:  # a generator's files are closed in the thread that ran it
                close()

    helper = threading.Thread(target=produce, name="psyscore-read", daemon=True)
    helper.start()
    try:
        while True:
            got = ready.get()
            if got is _DONE:
                return
            if isinstance(got, BaseException):
                raise got
            slot.release()
            yield got  # type: ignore[misc]
            got = None  # not kept while waiting for the next one
    finally:
        stop.set()
        slot.release()  # a helper waiting for its turn sees the stop
        while helper.is_alive():  # a helper blocked on a full queue finishes
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.05)
        helper.join()


def count_rows(path: Path | str) -> int | None:
    """The number of data rows when the file says it without being read (Parquet), else None."""
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        return None
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # unreadable: read_chunks says why
        return None


class ChunkWriter:
    """Write frames to ``path`` (CSV, XLSX or Parquet by suffix) through a temporary file; see the module.

    Use as a context manager: leaving it without :meth:`commit` removes the temporary file.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in OUTPUT_SUFFIXES:
            raise TableError(f"{self.path}: unsupported output type {self.suffix!r}; use .csv, .xlsx or .parquet")
        self.partial = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:12]}.partial")
        self.rows = 0
        self._csv: Any = None
        self._parquet: Any = None
        self._schema: Any = None
        self._kept: list[pd.DataFrame] = []
        self._done = False

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if not self._done:
            self.discard()

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame`` (every chunk has the same columns)."""
        if self._done:
            raise RuntimeError(f"{self.path} is already committed or discarded")
        self.rows += len(frame)
        if self.suffix == ".xlsx":
            if self.rows > XLSX_MAX_ROWS:
                raise TableError(f"{self.path}: an XLSX worksheet holds at most {XLSX_MAX_ROWS:,} rows below its "
                                 f"header and this run has more; write .csv or .parquet instead")
            self._kept.append(frame)
        elif self.suffix == ".csv":
            first = self._csv is None
            if first:
                self._csv = self.partial.open("w", encoding="utf-8", newline="")
            guard_formulas(frame).to_csv(self._csv, header=first, index=False)
        else:
            self._write_parquet(frame)

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        """One row group per chunk, its columns built from the frame's numpy buffers
        (:func:`scoring.engine.frames.pandas_to_arrow`); only text columns are copied, to neutralise formulas."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from scoring.engine.frames import pandas_to_arrow

        text = [k for k, dtype in enumerate(frame.dtypes)
                if pd.api.types.is_object_dtype(dtype) or dtype.name in ("string", "str")]
        guarded = guard_formulas(frame.iloc[:, text]) if text else None
        columns = {k: guarded.iloc[:, j] for j, k in enumerate(text)} if guarded is not None else {}
        for k, col in columns.items():
            if col.dtype == object:  # text of every cell; missing stays missing (a Series: the index aligns)
                columns[k] = col.map(lambda v: v if v is None or isinstance(v, str) else
                                     (None if isinstance(v, float) and v != v else str(v))).astype("str")
        names = [neutralise(c) if isinstance(c, str) else c for c in frame.columns]
        series = [columns.get(k, frame.iloc[:, k]) for k in range(frame.shape[1])]
        if self._schema is None:  # the first chunk fixes the schema, with the pandas metadata of its frame
            first = pa.Table.from_pandas(pd.DataFrame(dict(enumerate(series)), copy=False).set_axis(names, axis=1),
                                         preserve_index=False)
            fields = [f.with_type(pa.dictionary(f.type.index_type, pa.string(), f.type.ordered))
                      if pa.types.is_dictionary(f.type) else
                      f.with_type(pa.string()) if pa.types.is_large_string(f.type) or pa.types.is_null(f.type)
                      else f for f in first.schema]
            self._schema = pa.schema(fields, metadata=first.schema.metadata)
            # min/max statistics of text (dictionary) columns cost a third of the write and order labels
            # alphabetically, which helps no reader (bands compare by severity): numbers and flags keep them
            stats = [f.name for f in fields if not pa.types.is_dictionary(f.type) and not pa.types.is_string(f.type)]
            self._parquet = pq.ParquetWriter(self.partial, self._schema, write_statistics=stats)
        arrays = [pandas_to_arrow(col) for col in series]
        try:
            arrays = [a if a.type == f.type else a.cast(f.type) for a, f in zip(arrays, self._schema, strict=True)]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise TableError(f"{self.path}: a column changes its type from one chunk to the next ({exc}); "
                             "write .csv instead") from exc
        self._parquet.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def commit(self) -> Path:
        """Finish the file and move it into place (an existing file of that name is replaced only now)."""
        if self.suffix == ".xlsx":
            frame = pd.concat(self._kept) if self._kept else pd.DataFrame()
            write_table(frame, self.partial.with_suffix(".xlsx"))
            self.partial.with_suffix(".xlsx").replace(self.partial)
        self._close()
        if not self.partial.exists():  # nothing was written: an empty file (read_chunks always gives one chunk)
            self.partial.write_bytes(b"")
        os.replace(self.partial, self.path)
        self._done = True
        return self.path

    def discard(self) -> None:
        """Remove the temporary file; the target is left as it was."""
        self._close()
        self._kept.clear()
        for leftover in (self.partial, self.partial.with_suffix(self.suffix)):
            leftover.unlink(missing_ok=True)
        self._done = True

    def _close(self) -> None:
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None

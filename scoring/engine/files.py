"""Reading and writing tables (CSV, XLSX, Parquet) safely, whole or in chunks of rows.

CSV is read as text without NA guessing (validation decides what a cell means). XLSX archives are checked
for their decompressed size before openpyxl parses them (zip bombs), and openpyxl parses XML through
defusedxml, which is a runtime dependency.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import pandas as pd

from scoring.errors import PsyscoreError

MAX_XLSX_UNCOMPRESSED = 256 * 1024 * 1024
TABLE_SUFFIXES = (".csv", ".xlsx")
#: delimiters a CSV file may use; the one found is kept in ``frame.attrs["delimiter"]``
CSV_DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
#: first characters that make a spreadsheet run a cell as a formula (OWASP CSV Injection), fullwidth forms too
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def neutralise(text: str) -> str:
    r"""Prefix an apostrophe to text a spreadsheet would run as a formula (OWASP CSV Injection).

    >>> neutralise('=HYPERLINK("http://x")'), neutralise("-3 strongly"), neutralise("fine")
    ('\'=HYPERLINK("http://x")', "'-3 strongly", 'fine')
    """
    return "'" + text if text.startswith(FORMULA_START) else text


class TableError(PsyscoreError):
    """A table file cannot be read or written (bad type, too large, malformed)."""


def read_table(path: Path | str, *, max_uncompressed: int = MAX_XLSX_UNCOMPRESSED) -> pd.DataFrame:
    """Read a CSV, XLSX or Parquet file into a DataFrame of raw cells (CSV: all text; XLSX: cell values;
    Parquet: typed columns as :func:`scoring.engine.frames.arrow_to_pandas` maps them)."""
    path = Path(path)
    frames = iter_table(path, None, max_uncompressed=max_uncompressed)
    return next(frames)  # chunk_rows=None: the whole file is the one frame


def iter_table(path: Path | str, chunk_rows: int | None, *,
               max_uncompressed: int = MAX_XLSX_UNCOMPRESSED) -> Iterator[pd.DataFrame]:
    """The file's rows as frames of at most ``chunk_rows`` rows (``None``: one frame of every row).

    The first frame is always yielded (empty when the file has a header only), so the header checks run
    before anything is scored; every check of :func:`read_table` holds for every chunk (a row of another
    width in a later chunk raises when that chunk is reached, naming the first such lines of the rest of the
    file). Index labels are positions within each frame; :mod:`scoring.engine.chunks` makes them file-global.
    """
    path = Path(path)
    if chunk_rows is not None and chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_frames(path, chunk_rows)
    if suffix == ".xlsx":
        return _xlsx_frames(path, max_uncompressed, chunk_rows)
    if suffix == ".parquet":
        return _parquet_frames(path, chunk_rows)
    raise TableError(f"{path}: unsupported file type {suffix!r}; use .csv, .xlsx or .parquet")


def _sniff(text: str) -> str:
    """The delimiter of a CSV text: the candidate that splits the header line into the most fields."""
    first = next(iter(text.splitlines()), "")
    try:
        return csv.Sniffer().sniff(first, delimiters="".join(CSV_DELIMITERS)).delimiter if first.strip() else ","
    except csv.Error:
        counts = {d: first.count(d) for d in CSV_DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def check_header(names: list[str], path: Path | str) -> None:
    """Refuse duplicate column names (also names equal but for case), naming every column involved."""
    seen: dict[str, list[str]] = {}
    for k, name in enumerate(names):
        seen.setdefault(str(name).strip().lower(), []).append(f"{name!r} (column {k + 1})")
    dups = [cols for cols in seen.values() if len(cols) > 1]
    if dups:
        listed = "; ".join(" and ".join(cols) for cols in dups)
        raise TableError(f"{path}: duplicate column names: {listed}. Column names are matched ignoring case; "
                         "keep one column per item (conflicting answers are never resolved silently)")


def _csv_frames(path: Path, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    try:
        yield from _csv_utf8_frames(path, chunk_rows)
    except UnicodeDecodeError as exc:
        raise TableError(f"{path}: not a readable UTF-8 CSV file ({exc.reason} at byte {_bad_utf8_byte(path)}); "
                         "save it as CSV UTF-8") from exc


def _bad_utf8_byte(path: Path) -> int:
    """Offset in the file of the first byte that is not UTF-8 (the streaming decoder only knows its block's)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as raw:
        while block := raw.read(1 << 20):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return offset - len(exc.object) + exc.start
    return offset


def _csv_utf8_frames(path: Path, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    with path.open("rb") as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        first = stream.readline()
        delimiter = _sniff(first)
        kind = DELIMITER_NAMES[delimiter]
        # the csv module, not pandas: pandas pads a short row with empty cells without a word, so a line break
        # inside an unquoted cell would silently split one respondent's answers over two rows
        records = _csv_rows(itertools.chain([first], stream), delimiter)
        try:
            first_record = next(records, None)
            if first_record is not None and not any(v.strip() for v in first_record[1]):
                # a header of spaces: the file is empty unless something follows (columns are then named by position)
                ahead: list[tuple[int, list[str]]] = []
                for record in records:
                    ahead.append(record)
                    if any(v.strip() for v in record[1]):
                        records = itertools.chain(ahead, records)
                        break
                else:
                    first_record = None
            if first_record is None:
                raise TableError(f"{path}: the file is empty")
            header = first_record[1]
            # unnamed columns (e.g. trailing delimiters) are named by position, as in XLSX, not duplicates of ""
            names = [v if v.strip() else f"column_{k + 1}" for k, v in enumerate(header)]
            check_header(names, path)
            width = len(names)
            batch: list[list[str]] = []
            yielded = False
            for line, row in records:
                if len(row) != width:
                    _refuse_ragged(path, kind, width, [(line, len(row))], records)
                batch.append(row)
                if chunk_rows is not None and len(batch) == chunk_rows:
                    # the rows' Python strings are let go before the frame is handed out, not when the next
                    # chunk starts: a generator suspended at yield keeps its locals alive
                    frame, batch, yielded = _csv_frame(batch, names, delimiter), [], True
                    yield frame
            if batch or not yielded:
                frame, batch = _csv_frame(batch, names, delimiter), []
                yield frame
        except csv.Error as exc:
            raise TableError(f"{path}: not a readable CSV file ({kind}-separated): {exc}") from exc


def _csv_frame(rows: list[list[str]], names: list[str], delimiter: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=names, dtype=str)
    frame.attrs["delimiter"] = delimiter
    return frame


def _refuse_ragged(path: Path, kind: str, width: int, ragged: list[tuple[int, int]],
                   rest: Iterator[tuple[int, list[str]]]) -> NoReturn:
    """Raise naming the first five rows of another width (this one and those after it) and how many more."""
    count = len(ragged)
    for line, row in rest:
        if len(row) != width:
            count += 1
            if len(ragged) < 5:
                ragged.append((line, len(row)))
    shown = "; ".join(f"line {line} has {n}" for line, n in ragged)
    more = f" (and {count - 5} more rows)" if count > 5 else ""
    raise TableError(
        f"{path}: rows with another number of cells than the header's {width} "
        f"({kind}-separated): {shown}{more}. A line break or "
        f"{kind} inside a cell that is not in double quotes splits a row; nothing was "
        "scored — quote such cells (any spreadsheet's 'Save as CSV' does) or remove the stray characters")


def _csv_rows(lines: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Every non-blank record of CSV lines with the line it starts on (1-based; quoted line breaks stay in their
    cell)."""
    reader = csv.reader(lines, delimiter=delimiter)
    start = 1
    for row in reader:
        if row:  # [] is a blank line
            yield start, row
        start = reader.line_num + 1


def _xlsx_frames(path: Path, max_uncompressed: int, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise TableError(f"{path}: not a valid .xlsx file (not a zip archive)") from exc
    if total > max_uncompressed:
        raise TableError(
            f"{path}: decompresses to {total / 1e6:.0f} MB, above the {max_uncompressed / 1e6:.0f} MB limit"
        )
    if chunk_rows is None:  # one pass: the rows are kept anyway
        with _xlsx_rows(path) as rows:
            first = next(rows, None)
            if first is None:
                yield pd.DataFrame()
                return
            raw = list(rows)
        width = _xlsx_width(first, raw)
        names = _xlsx_names(path, first, width)
        yield _xlsx_frame(raw, names)
        return
    # chunks: a first pass finds the width (a cell far right in the last row names a column), a second reads
    with _xlsx_rows(path) as rows:
        first = next(rows, None)
        if first is None:
            yield pd.DataFrame()
            return
        width = _xlsx_width(first, rows)
    names = _xlsx_names(path, first, width)
    with _xlsx_rows(path) as rows:
        next(rows, None)
        yielded = False
        while batch := list(itertools.islice(rows, chunk_rows)):
            frame = _xlsx_frame(batch, names)
            batch = []  # the cells are let go before the frame is handed out
            if len(frame) or not yielded:  # a batch of empty rows only adds nothing
                yield frame
                yielded = True
        if not yielded:
            yield _xlsx_frame([], names)


@contextlib.contextmanager
def _xlsx_rows(path: Path) -> Iterator[Iterator[tuple[object, ...]]]:
    """The first worksheet's rows as value tuples; errors of a malformed workbook or sheet as TableError."""
    import openpyxl

    try:
        # data_only=False: formula cells keep their formula text and are reported as bad cells (never scored)
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for malformed files
        raise TableError(f"{path}: cannot open the workbook: {exc}") from exc
    try:
        ws = wb.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # never trust a stale <dimension> header: read every row and column
        yield _sheet_errors(path, ws.iter_rows(values_only=True))
    finally:
        wb.close()


def _sheet_errors(path: Path, rows: Iterator[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
    try:
        yield from rows
    except Exception as exc:  # malformed sheet XML
        raise TableError(f"{path}: cannot read the first worksheet: {exc}") from exc


def _xlsx_width(first: Sequence[object], rows: Iterable[Sequence[object]]) -> int:
    """Columns up to the last one holding a value in the header or any row (trailing empty columns dropped)."""
    def last(r: Sequence[object]) -> int:
        return next((k + 1 for k in range(len(r) - 1, -1, -1) if r[k] is not None), 0)

    return max([last(first), *(last(r) for r in rows)])


def _xlsx_names(path: Path, first: Sequence[object], width: int) -> list[str]:
    header = list(first) + [None] * (width - len(first))
    names = [str(h) if h is not None else f"column_{i + 1}" for i, h in enumerate(header[:width])]
    check_header(names, path)
    return names


def _xlsx_frame(rows: list[tuple[object, ...]], names: list[str]) -> pd.DataFrame:
    width = len(names)
    data = [[_cell(v) for v in (list(r) + [None] * width)[:width]] for r in rows if any(v is not None for v in r)]
    return pd.DataFrame(data, columns=names, dtype=object)


def _parquet_frames(path: Path, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow is in the dev extra
        raise TableError(f"{path}: reading Parquet needs pyarrow: pip install 'psyscore[parquet]'") from exc
    import pyarrow as pa

    from scoring.engine.frames import arrow_to_pandas

    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise TableError(f"{path}: not a readable Parquet file: {exc}") from exc
    with file:
        names = list(file.schema_arrow.names)
        check_header(names, path)
        if chunk_rows is None:
            yield arrow_to_pandas(file.read())
            return
        yielded = False
        batches = file.iter_batches(batch_size=chunk_rows)
        while True:
            try:
                batch = next(batches, None)
                if batch is None:
                    break
                frame = arrow_to_pandas(pa.Table.from_batches([batch]))
            except pa.ArrowException as exc:
                raise TableError(f"{path}: cannot read the Parquet file: {exc}") from exc
            batch = None  # let go before the frame is handed out (a suspended generator keeps its locals)
            yield frame
            yielded = True
        if not yielded:
            yield arrow_to_pandas(file.schema_arrow.empty_table())


def _cell(value: object) -> object:
    """Formula objects (array/data-table formulas) as their text, so validation reports them."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    text = getattr(value, "text", None)
    return text if isinstance(text, str) else value


def write_table(frame: pd.DataFrame, path: Path | str, *, index: bool = False) -> Path:
    """Write CSV or XLSX by extension; every text cell and column name goes through :func:`neutralise`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise TableError(f"{path}: unsupported output type {suffix!r}; use .csv or .xlsx")
    out = guard_formulas(frame)
    if suffix == ".csv":
        out.to_csv(path, index=index)
    else:
        for col in out.columns:  # openpyxl cannot write pandas NA scalars
            if out[col].dtype.name in ("string", "boolean", "Int64", "str"):
                out[col] = out[col].astype(object).where(out[col].notna(), None)
        out.to_excel(path, index=index, engine="openpyxl")
    return path


def guard_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and column names cannot run as spreadsheet formulas."""
    out = frame.copy()
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    for k in range(out.shape[1]):
        col = out.iloc[:, k]
        if col.dtype == object or col.dtype.name in ("string", "str"):
            # pandas-stubs list array-likes only, pandas takes a Series (same index, so no alignment happens)
            out.isetitem(k, col.map(lambda v: neutralise(v) if isinstance(v, str) else v))  # type: ignore[arg-type]
    return out

"""Reading and writing tables (CSV, XLSX) safely.

CSV is read as text without NA guessing (validation decides what a cell means). XLSX archives are checked
for their decompressed size before openpyxl parses them (zip bombs), and openpyxl parses XML through
defusedxml, which is a runtime dependency.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

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
    """Read a CSV or XLSX file into a DataFrame of raw cells (CSV: all text; XLSX: cell values)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path, max_uncompressed)
    raise TableError(f"{path}: unsupported file type {suffix!r}; use .csv or .xlsx")


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


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(f"{path}: not a readable UTF-8 CSV file ({exc.reason} at byte {exc.start}); "
                         "save it as CSV UTF-8") from exc
    if not text.strip():
        raise TableError(f"{path}: the file is empty")
    delimiter = _sniff(text)
    try:
        # the csv module, not pandas: pandas pads a short row with empty cells without a word, so a line break
        # inside an unquoted cell would silently split one respondent's answers over two rows
        parsed = [(line, row) for line, row in _csv_rows(text, delimiter) if row]  # [] is a blank line
    except csv.Error as exc:
        raise TableError(f"{path}: not a readable CSV file ({DELIMITER_NAMES[delimiter]}-separated): {exc}") from exc
    if not parsed:
        raise TableError(f"{path}: the file is empty")
    # unnamed columns (e.g. trailing delimiters) are named by position, as in XLSX, not duplicates of ""
    names = [v if v.strip() else f"column_{k + 1}" for k, v in enumerate(parsed[0][1])]
    check_header(names, path)
    width = len(names)
    ragged = [(line, len(row)) for line, row in parsed[1:] if len(row) != width]
    if ragged:
        shown = "; ".join(f"line {line} has {n}" for line, n in ragged[:5])
        more = f" (and {len(ragged) - 5} more rows)" if len(ragged) > 5 else ""
        raise TableError(
            f"{path}: rows with another number of cells than the header's {width} "
            f"({DELIMITER_NAMES[delimiter]}-separated): {shown}{more}. A line break or "
            f"{DELIMITER_NAMES[delimiter]} inside a cell that is not in double quotes splits a row; nothing was "
            "scored — quote such cells (any spreadsheet's 'Save as CSV' does) or remove the stray characters")
    frame = pd.DataFrame([row for _, row in parsed[1:]], columns=names, dtype=str)
    frame.attrs["delimiter"] = delimiter
    return frame


def _csv_rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Every record of a CSV text with the line it starts on (1-based; quoted line breaks stay in their cell)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[tuple[int, list[str]]] = []
    start = 1
    for row in reader:
        out.append((start, row))
        start = reader.line_num + 1
    return out


def _read_xlsx(path: Path, max_uncompressed: int) -> pd.DataFrame:
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise TableError(f"{path}: not a valid .xlsx file (not a zip archive)") from exc
    if total > max_uncompressed:
        raise TableError(
            f"{path}: decompresses to {total / 1e6:.0f} MB, above the {max_uncompressed / 1e6:.0f} MB limit"
        )
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
        rows = ws.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            return pd.DataFrame()
        raw = [list(r) for r in rows]
    except Exception as exc:  # malformed sheet XML
        raise TableError(f"{path}: cannot read the first worksheet: {exc}") from exc
    finally:
        wb.close()
    width = max([len(first)] + [len(r) for r in raw])
    header = list(first) + [None] * (width - len(first))
    while width and header[width - 1] is None and all(len(r) < width or r[width - 1] is None for r in raw):
        width -= 1
    names = [str(h) if h is not None else f"column_{i + 1}" for i, h in enumerate(header[:width])]
    check_header(names, path)
    data = [[_cell(v) for v in (r + [None] * width)[:width]] for r in raw if any(v is not None for v in r)]
    return pd.DataFrame(data, columns=names, dtype=object)


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

"""Reading and writing tables (CSV, XLSX) safely.

CSV is read as text without NA guessing (validation decides what a cell means). XLSX archives are checked
for their decompressed size before openpyxl parses them (zip bombs), and openpyxl parses XML through
defusedxml, which is a runtime dependency.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from scoring.errors import PsyscoreError

MAX_XLSX_UNCOMPRESSED = 256 * 1024 * 1024
TABLE_SUFFIXES = (".csv", ".xlsx")
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
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise TableError(f"{path}: not a readable UTF-8 CSV file: {exc}") from exc
        except pd.errors.EmptyDataError as exc:
            raise TableError(f"{path}: the file is empty") from exc
    if suffix == ".xlsx":
        return _read_xlsx(path, max_uncompressed)
    raise TableError(f"{path}: unsupported file type {suffix!r}; use .csv or .xlsx")


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
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for malformed files
        raise TableError(f"{path}: cannot open the workbook: {exc}") from exc
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return pd.DataFrame()
        names = [str(h) if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        data = [list(r) for r in rows if any(v is not None for v in r)]
    finally:
        wb.close()
    frame = pd.DataFrame(data, columns=names, dtype=object)
    return frame


def write_table(frame: pd.DataFrame, path: Path | str, *, index: bool = False) -> Path:
    """Write CSV or XLSX by extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=index)
    elif suffix == ".xlsx":
        out = frame.copy()
        for col in out.columns:  # openpyxl cannot write pandas NA scalars
            if out[col].dtype.name in ("string", "boolean", "Int64", "str"):
                out[col] = out[col].astype(object).where(out[col].notna(), None)
        out.to_excel(path, index=index, engine="openpyxl")
    else:
        raise TableError(f"{path}: unsupported output type {suffix!r}; use .csv or .xlsx")
    return path

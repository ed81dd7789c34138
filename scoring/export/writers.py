"""Writers for the de-identified table and its codebook: CSV, XLSX, SPSS ``.sav`` and Parquet.

Every text cell is neutralised against formula injection before it is written, in every format (OWASP
CSV Injection: a leading ``= + - @``, tab or carriage return gets an apostrophe). Every file is created
with mode 0600 (owner only, like the store's backups) before any byte is written, and set to 0600 again
afterwards in case a library replaced it. pyarrow and pyreadstat are imported inside the writers that need
them (``pip install 'psyscore[export]'``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.export.anonymizer import ExportError, neutralise, neutralise_frame
from scoring.export.codebook import Variable

FORMATS: tuple[str, ...] = ("csv", "xlsx", "sav", "parquet")
DATA_NAME = "data"
XLSX_MAX_ROWS = 1_048_576 - 1  # one header row
XLSX_MAX_COLUMNS = 16_384
SAV_MAX_LABEL_BYTES = 255
SAV_MAX_VALUE_LABEL_BYTES = 120
#: file mode of every export file (owner read/write only) and of a folder the export creates
FILE_MODE = 0o600
DIR_MODE = 0o700


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 (it must not exist): writers then fill it and keep its mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.close(fd)
    return path


def make_private(path: Path) -> Path:
    """Set mode 0600 on a written file (a writer that replaced the file would have left the umask's mode)."""
    os.chmod(path, FILE_MODE)
    return path


def _need(module: str) -> object:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(f"this format needs the {module.split('.')[0]} package: "
                          "pip install 'psyscore[export]'") from None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _arrow_table(frame: pd.DataFrame):
    pa = _need("pyarrow")
    return pa.Table.from_pandas(frame, preserve_index=False)  # type: ignore[attr-defined]


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """UTF-8 CSV, header row, empty cells for missing values (pyarrow's writer when available)."""
    frame = neutralise_frame(frame)
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - the export extra brings pyarrow
        frame.to_csv(path, index=False)
        return path
    table = _arrow_table(frame)
    for i, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.string()))
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    return path


def _cell(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sheet_rows(frame: pd.DataFrame, clean: Callable[[str], str]):
    yield [clean(str(c)) for c in frame.columns]
    cols = []
    for c in frame.columns:
        s = frame[c]
        obj = s.astype(object).where(s.notna(), None).to_numpy(dtype=object)
        cols.append(obj)
    for row in zip(*cols, strict=True) if cols else ():
        yield [clean(v) if isinstance(v, str) else _cell(v) for v in row]


def write_xlsx(frame: pd.DataFrame, codebook: pd.DataFrame, path: Path) -> Path:
    """A workbook with the sheets ``data`` and ``codebook`` (openpyxl, write-only mode)."""
    if len(frame) > XLSX_MAX_ROWS or frame.shape[1] > XLSX_MAX_COLUMNS:
        raise ExportError(f"{frame.shape[0]} rows × {frame.shape[1]} columns do not fit an Excel sheet "
                          f"({XLSX_MAX_ROWS} rows × {XLSX_MAX_COLUMNS} columns); use csv, sav or parquet")
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(text: str) -> str:
        return neutralise(ILLEGAL_CHARACTERS_RE.sub("", text))

    wb = openpyxl.Workbook(write_only=True)
    for title, table in ((DATA_NAME, neutralise_frame(frame)), ("codebook", codebook)):
        ws = wb.create_sheet(title)
        for row in _sheet_rows(table, clean):
            ws.append(row)
    wb.properties.creator = "psyscore"
    wb.save(path)
    return path


def _truncate(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "..."


def write_sav(frame: pd.DataFrame, variables: Sequence[Variable], path: Path, *, file_label: str = "") -> Path:
    """SPSS ``.sav`` with variable labels, value labels, user-missing codes and measurement levels."""
    pyreadstat = _need("pyreadstat")
    frame = neutralise_frame(frame)
    out: dict[Hashable, pd.Series | np.ndarray] = {}
    for c in frame.columns:
        s = frame[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype):
            out[c] = s.astype(object).where(s.notna(), None)
        else:
            out[c] = s.to_numpy(dtype=float, na_value=np.nan)
    data = pd.DataFrame(out)
    by_name = {v.name: v for v in variables}
    labels = {c: _truncate(neutralise(by_name[c].label), SAV_MAX_LABEL_BYTES) for c in frame.columns}
    value_labels = {c: {k: _truncate(neutralise(lab), SAV_MAX_VALUE_LABEL_BYTES)
                        for k, lab in by_name[c].value_labels.items()}
                    for c in frame.columns if by_name[c].value_labels and by_name[c].type != "string"}
    missing = {c: list(by_name[c].missing_codes) for c in frame.columns
               if by_name[c].missing_codes and by_name[c].type != "string"}
    measure = {c: by_name[c].measure for c in frame.columns}
    pyreadstat.write_sav(data, str(path), file_label=file_label, column_labels=labels,  # type: ignore[attr-defined]
                         variable_value_labels=value_labels, missing_ranges=missing, variable_measure=measure)
    return path


def field_metadata(var: Variable) -> dict[bytes, bytes]:
    meta = {"label": var.label, "kind": var.kind, "measure": var.measure}
    if var.instrument:
        meta["instrument"] = var.instrument
        meta["instrument_version"] = ", ".join(var.versions)
        meta["instrument_hash"] = ", ".join(var.hashes)
    if var.text:
        meta["text"] = var.text
        meta["text_kind"] = var.text_kind
    if var.value_labels:
        meta["value_labels"] = json.dumps({_key(k): v for k, v in var.value_labels.items()}, ensure_ascii=False)
    if var.missing_codes:
        meta["missing_codes"] = json.dumps({str(k): v for k, v in var.missing_codes.items()}, ensure_ascii=False)
    if var.occasion is not None:
        meta["occasion"] = str(var.occasion)
    for key, value in var.rule.items():
        if value:
            meta[f"rule.{key}"] = value
    return {k.encode("utf-8"): v.encode("utf-8") for k, v in meta.items()}


def _key(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def write_parquet(frame: pd.DataFrame, variables: Sequence[Variable], path: Path, *,
                  metadata: dict[str, object]) -> Path:
    """Parquet with per-column metadata (label, value labels, missing codes, rule) and the export's summary
    under the schema key ``psyscore``."""
    pa = _need("pyarrow")
    pq = _need("pyarrow.parquet")
    table = _arrow_table(neutralise_frame(frame))
    by_name = {v.name: v for v in variables}
    fields = [f.with_metadata(field_metadata(by_name[f.name])) for f in table.schema]
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[b"psyscore"] = json.dumps(metadata, ensure_ascii=False, default=str).encode("utf-8")
    schema = pa.schema(fields, metadata=schema_meta)  # type: ignore[attr-defined]
    pq.write_table(table.cast(schema), str(path))  # type: ignore[attr-defined]
    return path


def write_codebook(codebook: pd.DataFrame, markdown: str, out_dir: Path) -> list[Path]:
    """``codebook.csv`` (text neutralised) and ``codebook.md``."""
    csv_path = private_file(out_dir / "codebook.csv")
    codebook.to_csv(csv_path, index=False)
    md_path = private_file(out_dir / "codebook.md")
    md_path.write_text(markdown, encoding="utf-8")
    return [make_private(csv_path), make_private(md_path)]


def write_data(fmt: str, frame: pd.DataFrame, variables: Sequence[Variable], codebook: pd.DataFrame,
               out_dir: Path, *, metadata: dict[str, object]) -> Path:
    """Write the table in one format; returns the path."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = private_file(out_dir / f"{DATA_NAME}.{fmt}")
    if fmt == "csv":
        write_csv(frame, path)
    elif fmt == "xlsx":
        write_xlsx(frame, codebook, path)
    elif fmt == "sav":
        write_sav(frame, variables, path, file_label="psyscore research export")
    else:
        write_parquet(frame, variables, path, metadata=metadata)
    return make_private(path)

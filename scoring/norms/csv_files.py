"""Read the numbers of a norm table (``norms/<norm_id>.csv``), every problem located at ``file.csv:line``.

The CSV holds the published numbers verbatim, one row per stratum and raw score (percentile and T tables)
or per stratum (mean/SD tables). Columns by method (an optional ``note`` column may follow):

========== ===============================
method     columns
========== ===============================
percentile ``stratum,raw,percentile``
mean_sd    ``stratum,n,mean,sd`` (n may be empty)
lookup_t   ``stratum,raw,t``
========== ===============================

Numbers are plain decimals (``12``, ``99.9``, ``-1.5``); exponents, thousands separators and comma
decimals are refused so that a transcription error cannot pass as a number.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from scoring.errors import Issue

COLUMNS: dict[str, tuple[str, ...]] = {
    "percentile": ("stratum", "raw", "percentile"),
    "mean_sd": ("stratum", "n", "mean", "sd"),
    "lookup_t": ("stratum", "raw", "t"),
}
OPTIONAL = ("note",)
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_INTEGER = re.compile(r"^-?\d+$")


@dataclass(frozen=True)
class NormRow:
    """One CSV row. ``value`` is the percentile (percentile tables) or T (lookup_t tables)."""

    line: int
    stratum: str
    raw: int | None = None
    value: float | None = None
    n: int | None = None
    mean: float | None = None
    sd: float | None = None
    note: str = ""


def read_norm_csv(path: Path, method: str) -> tuple[list[NormRow] | None, list[Issue]]:
    """Parse ``path`` for ``method``. Returns the rows (None when the file cannot be used) and the issues."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None, [Issue("E400", f"no CSV of numbers beside the metadata: {path.name} is missing", file, None,
                            "", f"put the published numbers in {path.name} (see norms/README.md)")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Issue("E400", f"cannot read the norm CSV: {exc}", file, None, "", "save it as UTF-8")]
    return parse_norm_csv(text, method, file)


def parse_norm_csv(text: str, method: str, file: str) -> tuple[list[NormRow] | None, list[Issue]]:
    """Parse CSV text; see :func:`read_norm_csv`.

    >>> rows, issues = parse_norm_csv("stratum,raw,percentile\\nall,0,41.0\\n", "percentile", "x.csv")
    >>> rows[0].raw, rows[0].value, issues
    (0, 41.0, [])
    """
    required = COLUMNS[method]
    reader = csv.reader(io.StringIO(text))
    lines = list(reader)
    if not lines:
        return None, [Issue("E401", "the norm CSV is empty", file, 1, "", f"the header is {','.join(required)}")]
    header = [h.strip() for h in lines[0]]
    allowed = set(required) | set(OPTIONAL)
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in allowed]
    dupes = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or dupes:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        if dupes:
            parts.append(f"repeated column(s) {', '.join(dupes)}")
        return None, [Issue("E401", f"header does not fit method {method!r}: {'; '.join(parts)}", file, 1, "",
                            f"a {method} table has the columns {','.join(required)} (and optionally note)")]
    col = {name: header.index(name) for name in header}
    rows: list[NormRow] = []
    issues: list[Issue] = []
    # csv.reader counts physical lines; quoted newlines are not expected in norm files
    for lineno, cells in enumerate(lines[1:], start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            issues.append(Issue("E402", f"{len(cells)} cells, the header has {len(header)}", file, lineno, "",
                                "every row needs one cell per column (leave optional cells empty)"))
            continue
        cell = {name: cells[i].strip() for name, i in col.items()}
        row, problems = _row(cell, method, lineno, file)
        issues.extend(problems)
        if row is not None:
            rows.append(row)
    return rows, issues


def _row(cell: dict[str, str], method: str, line: int, file: str) -> tuple[NormRow | None, list[Issue]]:
    issues: list[Issue] = []

    def number(name: str, *, integer: bool = False, optional: bool = False) -> float | int | None:
        text = cell[name]
        if text == "":
            if not optional:
                issues.append(Issue("E402", f"{name} is empty", file, line, name,
                                    "write the published number; a value that was not published has no row"))
            return None
        pattern = _INTEGER if integer else _DECIMAL
        if not pattern.match(text):
            kind = "a whole number" if integer else "a plain decimal number"
            issues.append(Issue("E402", f"{name} {text!r} is not {kind}", file, line, name,
                                "use digits and a decimal point only (no exponent, comma or thousands separator)"))
            return None
        return int(text) if integer else float(text)

    stratum = cell["stratum"]
    if not stratum:
        issues.append(Issue("E402", "stratum is empty", file, line, "stratum", "name one of the declared strata"))
    note = cell.get("note", "")
    if method == "mean_sd":
        n = number("n", integer=True, optional=True)
        mean = number("mean")
        sd = number("sd")
        if issues:
            return None, issues
        return NormRow(line, stratum, n=n, mean=mean, sd=sd, note=note), issues  # type: ignore[arg-type]
    raw = number("raw", integer=True)
    value = number("percentile" if method == "percentile" else "t")
    if issues:
        return None, issues
    return NormRow(line, stratum, raw=raw, value=value, note=note), issues  # type: ignore[arg-type]

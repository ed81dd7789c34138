"""Shared handling of response files for ``score``, ``analyze`` and ``change``: options, reading, checks.

Bad input never scores silently: duplicate columns and unreadable files are errors; a file in which no item
column of the instrument was found, or in which more than :data:`MAX_BAD_SHARE` of the cells fail, exits
non-zero (the latter unless ``--allow-bad``); an output path equal to the input is refused.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from scoring.cli import UsageError
from scoring.engine.responses import FAILURE_CODES, MISSING_WORDS
from scoring.errors import PsyscoreError

#: above this share of failing item cells a run stops (exit 1) unless --allow-bad is given
MAX_BAD_SHARE = 0.2
# Failure codes that say an item cell could not be read as an answer. Not counted: answers ignored because their
# gate was closed or the item does not apply (valid data, reported for the record), a sex value (not an item cell)
# and column-level problems (no row).
BAD_CELL_CODES = frozenset(FAILURE_CODES) - {"not_shown", "not_applicable", "unrecognised_sex", "unknown_item",
                                             "missing_column"}

MISSING_HELP = ("Unanswered: an empty cell or one of the words " + ", ".join(repr(w) for w in MISSING_WORDS if w)
                + " (case-insensitive); any other text is a bad cell.")


class BadInputError(PsyscoreError):
    """A response file cannot be scored as it is (exit 1 with a hint)."""


def add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-bad", action="store_true",
                   help=f"go on even when more than {MAX_BAD_SHARE:.0%}% of the item cells fail validation")
    p.add_argument("--accept-integral-floats", action="store_true",
                   help="read answers written as 2.0 (as statistics packages write them) as 2; 2.5 is still "
                        "refused. Off by default on purpose: a decimal code usually means a column of "
                        "computed values, not answers. " + MISSING_HELP)


def check_output(input_path: Path | None, output: Path, *extra: Path) -> None:
    """Refuse writing onto the input; create a missing output folder (and say so)."""
    if input_path is not None:
        for out in (output, *extra):
            if out.resolve() == input_path.resolve() or (out.exists() and out.samefile(input_path)):
                raise UsageError(f"the output {out} is the input file; choose another name (the input is never "
                                 "overwritten)")
    folder = output.parent
    if not folder.exists():
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise UsageError(f"cannot create the output folder {folder}: {exc.strerror}") from exc
        print(f"created the output folder {folder}", file=sys.stderr)
    elif not folder.is_dir():
        raise UsageError(f"cannot write {output}: {folder} is not a folder")


def read_responses(path: Path) -> pd.DataFrame:
    """Read a response table; say which delimiter a CSV used when it is not a comma."""
    from scoring.engine.files import read_table

    data = read_table(path)
    say_delimiter(path, data)
    return data


def say_delimiter(path: Path, data: pd.DataFrame) -> None:
    """Say on stderr which delimiter a CSV file was read with when it is not a comma."""
    from scoring.engine.files import DELIMITER_NAMES

    delimiter = data.attrs.get("delimiter")
    if delimiter is not None and delimiter != ",":
        print(f"{path}: read as {DELIMITER_NAMES[delimiter]}-separated", file=sys.stderr)


def require_items(path: Path | str, columns: Sequence[object], item_ids: Sequence[str], instrument: str) -> None:
    """Exit 1 with a hint when no column of the file is an item of the instrument."""
    names = {str(c).strip().lower() for c in columns}
    if not any(i.lower() in names for i in item_ids):
        shown = ", ".join(repr(str(c)) for c in list(columns)[:5]) + (" …" if len(columns) > 5 else "")
        raise BadInputError(
            f"{path}: no column of the file is an item of {instrument} (columns found: {shown or 'none'}); "
            f"name the item columns by item id ({', '.join(item_ids[:3])} …). If the columns look glued "
            "together, the file uses a delimiter other than comma, semicolon, tab or pipe")


def check_bad_share(path: Path | str, failures: pd.DataFrame, n_cells: int, allow_bad: bool) -> None:
    """Say prominently when more than MAX_BAD_SHARE of the cells failed; exit 1 unless allowed."""
    if not len(failures):
        return
    check_bad_counts(path, bad_cell_counts(failures), n_cells, allow_bad)


def bad_cell_counts(failures: pd.DataFrame) -> Counter[str]:
    """How many cells of each BAD_CELL_CODES code the failures hold (codes in order of first appearance)."""
    bad = failures["row"].notna() & failures["code"].isin(BAD_CELL_CODES)
    return Counter(failures.loc[bad, "code"].tolist())


def check_bad_counts(path: Path | str, codes: Mapping[str, int], n_cells: int, allow_bad: bool) -> None:
    """:func:`check_bad_share` from counts of bad cells by code (``psyscore score`` sums them over chunks)."""
    cell_level = sum(codes.values())
    if n_cells <= 0 or cell_level / n_cells <= MAX_BAD_SHARE:
        return
    share = cell_level / n_cells
    ranked = sorted(codes.items(), key=lambda kv: -kv[1])  # stable: ties keep their order of first appearance
    top = ", ".join(f"{n} {c}" for c, n in ranked[:3])
    msg = (f"{path}: {cell_level} of {n_cells} item cells ({share:.0%}) FAILED validation ({top}), more than "
           f"{MAX_BAD_SHARE:.0%}")
    hint = ("; answers written as 2.0 can be read with --accept-integral-floats" if "bad_number_format" in codes
            else "")
    if allow_bad:
        print(f"WARNING: {msg}; going on because of --allow-bad", file=sys.stderr)
        return
    raise BadInputError(f"{msg}{hint}; fix the file, or pass --allow-bad to go on with them counted as unanswered")


def print_failures(failures: pd.DataFrame, failures_file: Path, *, row_label: Callable[[object], object] | None = None,
                   lead: str | None = None, limit: int = 10, total: int | None = None) -> None:
    """List the first ``limit`` bad cells on stderr (``row N, ITEM`` or ``column ITEM``: value: why [code]) and
    say where the rest are. ``row_label`` turns a failure's row into the row named in the file; ``lead`` names
    a column printed first (``change``: the instrument); ``total`` is the number of failures when ``failures``
    holds only the first of them (a file read in chunks)."""
    for _, row in failures.head(limit).iterrows():
        first = f"{row[lead]} " if lead else ""
        at = row_label(row["row"]) if row_label is not None else row["row"]
        print(f"  {first}{where(at)}{row['item']}: {row['value']!r}: {row['message']} "
              f"[{row['code']}]", file=sys.stderr)
    count = len(failures) if total is None else total
    if count > limit:
        print(f"  … {count - limit} more in {failures_file}", file=sys.stderr)


def where(row: object) -> str:
    """'row N, ' for a cell, '' for a column-level problem (never 'row nan')."""
    if row is None or (isinstance(row, float) and row != row) or row == "":
        return "column "
    return f"row {row}, "

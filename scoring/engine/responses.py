"""Coerce and validate response data into an item matrix plus one tidy table of every bad cell.

Each bad cell (not a number, a float or bool where codes are integers, a string such as ``'1e0'``, out of
range, not an allowed option) is listed in the failures table ``[row, item, value, code, message]`` and
counts as missing. Nothing invalid is scored. The work is done column by column with vectorized pandas
and numpy operations; there is no loop over respondents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.definitions.plan import Plan
from scoring.errors import PsyscoreError, did_you_mean

FAILURE_COLUMNS = ("row", "item", "value", "code", "message")
#: the words that mean "not answered", compared ignoring case and surrounding spaces (an empty cell too);
#: any other text in an item column is a bad cell. Documented in the README and ``psyscore score --help``.
MISSING_WORDS: tuple[str, ...] = ("", "na", "n/a", "nan", "null", "none")
DEFAULT_MISSING = MISSING_WORDS

#: failure code -> what it means (docs and tests read this table)
FAILURE_CODES: dict[str, str] = {
    "unknown_item": "a column named like one of this instrument's items is not one of its items",
    "missing_column": "an item of the instrument has no column; it counts as unanswered in every row",
    "not_a_number": "the cell is text that is not a number",
    "bad_number_format": "a number written in a form not accepted for an integer code (1e0, 1.0, 0x1, +1)",
    "bool_value": "a true/false value where a numeric answer code is expected",
    "not_integer": "a fractional value where the answer codes are whole numbers",
    "out_of_range": "a value below the lowest or above the highest answer code",
    "not_an_option": "a value inside the range that is not one of the item's answer codes",
    "not_finite": "infinity is not an answer",
    "formula": "a spreadsheet formula (=…); nothing computed by a spreadsheet is scored as an answer",
    "not_shown": "an answer to an item whose gate was closed; it is ignored",
    "not_applicable": "an answer to an item that does not apply to this respondent; it is ignored",
    "unrecognised_sex": "a sex value that is not one of the accepted codes, where the instrument has sex-specific "
                        "rules; those rules are unknown for the row",
}

# ASCII digits only: \d would accept other scripts' digits, which the number parser then rejects
_INT_RE = r"-?[0-9]+"
_DEC_RE = r"-?[0-9]+(?:\.[0-9]+)?"
_NUMERIC_LIKE = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|0[xX][0-9a-fA-F]+|[+-]?(?:inf|infinity|nan)"


@dataclass
class ResponseCheck:
    """Validated responses: a float matrix (NaN = missing or invalid) and the failures table."""

    matrix: np.ndarray
    failures: pd.DataFrame
    passthrough: list[str]
    item_ids: tuple[str, ...]
    positions: np.ndarray  # row position of each failure (-1 for a whole column), for merging in order


def empty_failures() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in FAILURE_COLUMNS})


def failure_frame(rows: Sequence[object], item: str, values: Sequence[object], code: str, message: str,
                   positions: Sequence[int] | np.ndarray | None = None) -> pd.DataFrame:
    n = len(rows)
    return pd.DataFrame({
        "_pos": np.asarray(positions if positions is not None else [-1] * n, dtype=np.int64),
        "row": pd.Series(list(rows), dtype=object),
        "item": pd.Series([item] * n, dtype=object),
        "value": pd.Series([_show(v) for v in values], dtype=object),
        "code": pd.Series([code] * n, dtype=object),
        "message": pd.Series([message] * n, dtype=object),
    })


def _show(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def _codes_text(allowed: np.ndarray) -> str:
    vals = [str(int(v)) if float(v).is_integer() else f"{v:g}" for v in allowed]
    if len(vals) > 2 and all(float(v).is_integer() for v in allowed) and allowed[-1] - allowed[0] == len(vals) - 1:
        return f"{vals[0]}–{vals[-1]}"
    return ", ".join(vals)


def check_column(series: pd.Series, item: str, allowed: np.ndarray, missing_values: Sequence[str],
                 *, accept_integral_floats: bool = False) -> tuple[np.ndarray, list[pd.DataFrame]]:
    """Validate one item column. Returns float values (NaN where missing or bad) and failure frames.

    ``missing_values`` are compared ignoring case. With ``accept_integral_floats`` a text cell such as
    ``2.0`` (as written by statistics packages) is read as 2; ``2.5`` is still refused.
    """
    n = len(series)
    index = series.index
    integer_codes = bool(np.all(allowed == np.round(allowed)))
    codes = _codes_text(allowed)
    frames: list[pd.DataFrame] = []

    def fail(mask: np.ndarray, raw: pd.Series | np.ndarray, code: str, message: str) -> None:
        if mask.any():
            raw_vals = np.asarray(raw, dtype=object)[mask]
            frames.append(failure_frame(list(index[mask]), item, list(raw_vals), code, message,
                                         np.flatnonzero(mask)))

    kind = series.dtype.kind
    if kind in "iuf" and str(series.dtype) not in ("boolean",):
        # fast path for numeric columns: one vectorized check; classify only when something is wrong
        values = series.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            ok = np.isin(values, allowed)
        if (ok | np.isnan(values)).all():
            return values, frames
    out = np.full(n, np.nan)
    if kind == "b" or str(series.dtype) == "boolean":
        present = series.notna().to_numpy()
        fail(present, series, "bool_value", f"true/false is not an answer code; use one of {codes}")
        return out, frames
    if kind in "iuf":
        values = series.to_numpy(dtype=float, na_value=np.nan)
        numeric = values
        raw = series
    else:
        # object / string columns: classify cell by cell with vectorized pandas operations
        obj = series.astype(object)
        inferred = pd.api.types.infer_dtype(obj, skipna=True)
        if inferred in ("string", "empty"):
            is_bool = np.zeros(n, bool)
            is_num = np.zeros(n, bool)
        else:  # mixed Python objects: classify each cell's type
            is_bool = obj.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
            is_num = obj.map(lambda v: isinstance(v, (int, float, np.number))).to_numpy(dtype=bool) & ~is_bool
        is_null = obj.isna().to_numpy() & ~is_num
        text = obj.where(~(is_num | is_bool | is_null), "").astype(str).str.strip()
        words = [str(w).strip().lower() for w in missing_values]
        is_missing_token = np.isin(text.str.lower().to_numpy(dtype=object), words) & ~(is_num | is_bool)
        is_formula = text.str.startswith("=").to_numpy(dtype=bool) & ~(is_num | is_bool | is_null)
        is_formula &= ~is_missing_token
        fail(is_formula, obj, "formula", "a spreadsheet formula is not an answer; type the answer code itself "
             f"({codes}) or leave the cell empty")
        is_text = ~(is_num | is_bool | is_null | is_missing_token | is_formula)
        fail(is_bool, obj, "bool_value", f"true/false is not an answer code; use one of {codes}")
        numeric = np.full(n, np.nan)
        if is_num.any():
            numeric[is_num] = pd.to_numeric(obj[is_num], errors="coerce").to_numpy(dtype=float)
        if is_text.any():
            pattern = _INT_RE if integer_codes else _DEC_RE
            if accept_integral_floats and integer_codes:
                pattern = r"-?[0-9]+(?:\.0+)?"
            canonical = text.str.fullmatch(pattern).to_numpy(dtype=bool) & is_text
            numeric[canonical] = pd.to_numeric(text[canonical], errors="coerce").to_numpy(dtype=float)
            unparsed = canonical & np.isnan(numeric)  # never let a cell vanish silently
            canonical &= ~unparsed
            numberish = text.str.fullmatch(_NUMERIC_LIKE).to_numpy(dtype=bool) & is_text & ~canonical
            fail(numberish, obj, "bad_number_format",
                 "write the answer code as a plain whole number" if integer_codes
                 else "write the answer code as a plain decimal number")
            other = is_text & ~canonical & ~numberish  # includes `unparsed`
            fail(other, obj, "not_a_number", f"not a number; expected one of {codes} or an empty cell")
        values = numeric
        raw = obj
    present = ~np.isnan(values)
    infinite = np.isinf(values)
    fail(infinite, raw, "not_finite", f"expected one of {codes}")
    finite = present & ~infinite
    with np.errstate(invalid="ignore"):
        frac = finite & (values != np.round(values)) if integer_codes else np.zeros(n, bool)
        below = finite & ~frac & (values < allowed[0])
        above = finite & ~frac & (values > allowed[-1])
    fail(frac, raw, "not_integer", f"answer codes are whole numbers ({codes})")
    out_range = below | above
    fail(out_range, raw, "out_of_range", f"outside the answer codes {codes}")
    candidate = finite & ~frac & ~out_range
    ok = candidate & np.isin(values, allowed)
    fail(candidate & ~ok, raw, "not_an_option", f"not one of the answer codes {codes}")
    out[ok] = values[ok]
    return out, frames


def check_responses(
    plan: Plan,
    data: pd.DataFrame,
    *,
    missing_values: Sequence[str] = DEFAULT_MISSING,
    accept_integral_floats: bool = False,
) -> ResponseCheck:
    """Validate a responses frame against a compiled plan.

    Parameters
    ----------
    plan
        The compiled instrument (``definition.plan``).
    data
        One row per administration, one column per item id; other columns pass through.
    missing_values
        Text cells that mean "not answered" (compared ignoring case).
    accept_integral_floats
        Read text such as ``2.0`` as the whole number 2 (``2.5`` is still refused).

    Column names are matched to item ids ignoring case and surrounding spaces; two columns that match
    the same name are an error naming both.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"responses must be a pandas DataFrame, not {type(data).__name__}")
    data = match_item_columns(data, plan.item_ids)
    n = len(data)
    # column-major: each item column is written and read contiguously
    matrix = np.empty((n, len(plan.item_ids)), order="F")
    frames: list[pd.DataFrame] = []
    item_set = set(plan.item_ids)
    prefix = f"{plan.instrument_id}_"
    passthrough: list[str] = []
    for col in data.columns:
        name = str(col)
        if name in item_set:
            continue
        if name.startswith(prefix):
            hint = did_you_mean(name, plan.item_ids)
            msg = f"no item {name!r} in {plan.instrument_id} {plan.version}" + (f"; {hint}" if hint else "")
            frames.append(failure_frame([None], name, [""], "unknown_item", msg + "; the column is ignored"))
            continue
        passthrough.append(col)
    for k, item in enumerate(plan.item_ids):
        if item not in data.columns:
            matrix[:, k] = np.nan
            if n and plan.scored[k]:
                frames.append(failure_frame([None], item, [""], "missing_column",
                                             f"no column {item!r}: every row counts it as unanswered"))
            continue
        values, col_frames = check_column(data[item], item, plan.allowed[k], missing_values,
                                          accept_integral_floats=accept_integral_floats)
        matrix[:, k] = values
        frames.extend(col_frames)
    failures, positions = sort_failures(frames, plan.item_ids)
    return ResponseCheck(matrix, failures, passthrough, plan.item_ids, positions)


class DuplicateColumnError(PsyscoreError, ValueError):
    """Two columns of a responses table have the same name (ignoring case)."""


def match_item_columns(data: pd.DataFrame, item_ids: Sequence[str]) -> pd.DataFrame:
    """``data`` with columns renamed to the item id they equal ignoring case and spaces; duplicates refused."""
    groups: dict[str, list[str]] = {}
    for col in data.columns:
        groups.setdefault(str(col).strip().lower(), []).append(str(col))
    dups = [cols for cols in groups.values() if len(cols) > 1]
    if dups:
        listed = "; ".join(" and ".join(repr(c) for c in cols) for cols in dups)
        raise DuplicateColumnError(f"duplicate column names in the responses: {listed} (names are matched "
                                   "ignoring case); keep one column per item — conflicting answers are never "
                                   "resolved silently")
    lookup = {i.lower(): i for i in item_ids}
    rename = {c: lookup[str(c).strip().lower()] for c in data.columns
              if str(c).strip().lower() in lookup and c != lookup[str(c).strip().lower()]}
    return data.rename(columns=rename) if rename else data


def sort_failures(frames: list[pd.DataFrame], item_order: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """One failures table ordered by row position, then item order (column-level problems first).

    Frames carry a helper column ``_pos``; the result drops it and returns the positions beside it.
    """
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty_failures(), np.zeros(0, dtype=np.int64)
    out = pd.concat(frames, ignore_index=True)
    rank = {item: k for k, item in enumerate(item_order)}
    out["_item_rank"] = out["item"].map(lambda i: rank.get(i, -1)).astype(np.int64)
    out = out.sort_values(["_pos", "_item_rank"], kind="stable").reset_index(drop=True)
    positions = out["_pos"].to_numpy(dtype=np.int64)
    return out.drop(columns=["_pos", "_item_rank"]), positions

"""Input and output kinds of :func:`scoring.score`: pandas, Polars and PyArrow, through one thin Arrow path.

A Polars ``DataFrame`` or a ``pyarrow.Table`` is scored like a pandas frame and comes back as the kind it was
given: ``ScoreResult.scores`` and ``.failures`` have the same column names as for pandas input. Polars goes
through Arrow both ways (``DataFrame.to_arrow`` / ``polars.from_arrow``, zero-copy where the types allow), so
there is one mapping to document and test:

===============================  ==============================  =============================================
pandas result column             pyarrow.Table                   Polars
===============================  ==============================  =============================================
score ``float64`` (NaN)          ``double``, null when not       ``Float64``, null when not scorable
                                 scorable
``_band`` ordered categorical    ``dictionary<int8, string>``    ``Enum`` of the band labels in severity order
                                 ordered, every band label       (so ``>`` compares by severity, not letters)
``_severity`` ``Int64``          ``int64`` with nulls            ``Int64`` with nulls
``_n_answered`` ``int64``        ``int64``                       ``Int64``
``bool`` columns                 ``bool``                        ``Boolean``
cut-offs, flags ``boolean``      ``bool`` with nulls (unknown)   ``Boolean`` with nulls (unknown)
other text (categorical)         ``dictionary<int8|16, string>`` ``Categorical``
                                 with the plan's categories
===============================  ==============================  =============================================

Input columns that are not items pass through **as given** (the input's own Arrow/Polars columns, not a
round trip through pandas). ``failures`` is ``row`` (``int64``, null for a problem of a whole column; the row
is the 0-based position in the input — Arrow and Polars have no index), ``item``, ``value``, ``code``,
``message`` (``string``). pandas input is untouched by this module.

Neither polars nor pyarrow is imported unless the caller already did (``import scoring`` stays light): a value
can only be a Polars frame if polars is in :data:`sys.modules`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from scoring.engine.responses import FAILURE_COLUMNS

__all__ = ["Native", "arrow_to_pandas", "from_native", "is_native", "to_native", "to_pandas_failures"]

Kind = Literal["polars", "arrow"]


@dataclass(frozen=True)
class Native:
    """A non-pandas input and the pandas frame the engine scores in its place."""

    kind: Kind
    original: Any  # the polars.DataFrame or pyarrow.Table given
    frame: pd.DataFrame


def _polars() -> Any | None:
    return sys.modules.get("polars")


def _pyarrow() -> Any | None:
    return sys.modules.get("pyarrow")


def kind_of(data: object) -> Kind | None:
    """``"polars"`` or ``"arrow"`` for the kinds converted here, ``None`` for anything else (pandas too)."""
    pl = _polars()
    if pl is not None and isinstance(data, pl.DataFrame):
        return "polars"
    pa = _pyarrow()
    if pa is not None and isinstance(data, pa.Table):
        return "arrow"
    return None


def is_native(data: object) -> bool:
    return kind_of(data) is not None


def _refuse_other(data: object) -> None:
    pl = _polars()
    if pl is not None and isinstance(data, pl.LazyFrame):
        raise TypeError("score() takes a polars DataFrame, not a LazyFrame: call .collect() first (scoring needs "
                        "every row of the columns it reads)")
    pa = _pyarrow()
    if pa is not None and isinstance(data, pa.RecordBatch):
        raise TypeError("score() takes a pyarrow Table, not a RecordBatch: pass pyarrow.Table.from_batches([batch])")


def arrow_to_pandas(table: Any) -> pd.DataFrame:
    """An Arrow table as the pandas frame of raw cells the engine validates.

    Integers and booleans become pandas' nullable ``Int64``/``boolean`` (a null stays missing, and a chunk
    with nulls gets the same dtype as one without); the table's pandas metadata, if any, is ignored, so the
    index is always ``0 … n-1`` and every column is a column.

    The frame equals ``table.to_pandas(types_mapper=…, ignore_metadata=True)`` with that mapping; integer,
    boolean and ``double`` columns (the answers of a response file) are built straight from the Arrow buffers
    and validity bitmaps with numpy (one copy, no per-cell work), every other type goes through pyarrow.
    """
    names = list(table.column_names)
    if len(set(names)) != len(names):  # the caller refuses these; pyarrow's conversion says how it reads them
        return _pyarrow_to_pandas(table)
    built = {k: _fixed_width_column(column) for k, column in enumerate(table.columns)}
    rest = [k for k, array in built.items() if array is None]
    if len(rest) == len(names):  # nothing to build here (also: no columns at all)
        return _pyarrow_to_pandas(table)
    others = _pyarrow_to_pandas(table.select(rest)) if rest else None
    place = {k: j for j, k in enumerate(rest)}
    arrays: dict[str, Any] = {}
    for k, name in enumerate(names):
        array = built[k]
        arrays[name] = array if array is not None else others.iloc[:, place[k]]  # type: ignore[union-attr]
    return pd.DataFrame(arrays, index=pd.RangeIndex(table.num_rows), copy=False)


def _pyarrow_to_pandas(table: Any) -> pd.DataFrame:
    import pyarrow as pa

    mapping: dict[Any, Any] = {t: pd.Int64Dtype() for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64(),
                                            pa.uint8(), pa.uint16(), pa.uint32())}
    mapping[pa.uint64()] = pd.UInt64Dtype()
    mapping[pa.bool_()] = pd.BooleanDtype()
    return table.to_pandas(types_mapper=mapping.get, ignore_metadata=True)


def _bits(buffer: Any, offset: int, n: int) -> np.ndarray:
    """``n`` bits of an Arrow bitmap from bit ``offset`` on, as booleans (LSB first, as Arrow packs them)."""
    packed = np.frombuffer(buffer, dtype=np.uint8, count=(offset + n + 7) // 8)
    return np.unpackbits(packed, count=offset + n, bitorder="little")[offset:].view(bool)


def _fixed_width_column(column: Any) -> Any | None:
    """An integer, boolean or double Arrow column as the pandas array of :func:`arrow_to_pandas`, from its
    buffers: ``Int64`` (``UInt64`` for uint64) and ``boolean`` with the nulls masked, ``float64`` with NaN
    for null. ``None`` for every other type."""
    import pyarrow as pa

    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_float64(kind)):
        return None
    array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    n, offset = len(array), array.offset
    validity, data = array.buffers()[:2]
    missing = (~_bits(validity, offset, n) if validity is not None and array.null_count
               else np.zeros(n, dtype=bool))
    values: np.ndarray
    if n == 0:
        values = np.empty(0, dtype=bool if pa.types.is_boolean(kind) else kind.to_pandas_dtype())
    elif pa.types.is_boolean(kind):
        values = _bits(data, offset, n)
    else:
        values = np.frombuffer(data, dtype=kind.to_pandas_dtype(), count=offset + n)[offset:]
    if pa.types.is_float64(kind):
        out = values.copy()  # writable and owned: the Arrow buffer is neither
        out[missing] = np.nan
        return out
    if pa.types.is_boolean(kind):
        flags = values & ~missing  # a new array; what lies under a null is not read, but is made False
        return pd.arrays.BooleanArray(flags, missing)
    wide = values.astype(np.uint64 if kind == pa.uint64() else np.int64)  # a copy, whatever the width
    wide[missing] = 0
    return pd.arrays.IntegerArray(wide, missing)


def _validity_buffer(missing: np.ndarray) -> Any:
    """An Arrow validity bitmap (1 = a value) for the ``missing`` mask, or ``None`` when nothing is missing."""
    import pyarrow as pa

    return pa.py_buffer(np.packbits(~missing, bitorder="little")) if missing.any() else None


def pandas_to_arrow(series: pd.Series) -> Any:
    """One pandas column as the Arrow array ``pyarrow.Table.from_pandas`` makes of it (same type, values and
    nulls; dictionary values as ``string``), built from its numpy buffers for the engine's result types —
    ``float64`` (NaN → null), ``int64``, ``bool``, ``Int64``/``boolean`` (masked → null) and categoricals of
    text — and by pyarrow for any other type."""
    import pyarrow as pa

    dtype = series.dtype
    n = len(series)
    if isinstance(dtype, pd.CategoricalDtype) and pd.api.types.infer_dtype(dtype.categories) in ("string", "empty"):
        cat = series.array
        codes = np.ascontiguousarray(cat.codes)
        indices = pa.Array.from_buffers(pa.from_numpy_dtype(codes.dtype), n,
                                        [_validity_buffer(codes < 0), pa.py_buffer(codes)])
        dictionary = pa.array(list(dtype.categories), type=pa.string())
        return pa.DictionaryArray.from_arrays(indices, dictionary, ordered=bool(dtype.ordered))
    if dtype == np.float64:
        values = np.ascontiguousarray(series.to_numpy())
        return pa.Array.from_buffers(pa.float64(), n, [_validity_buffer(np.isnan(values)), pa.py_buffer(values)])
    if dtype == np.int64:
        return pa.array(np.ascontiguousarray(series.to_numpy()), type=pa.int64())
    if dtype == np.bool_:
        bits = np.packbits(series.to_numpy(), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(bits)])
    if isinstance(dtype, (pd.Int64Dtype, pd.BooleanDtype)):
        masked = series.array
        data, mask = masked._data, masked._mask
        if isinstance(dtype, pd.BooleanDtype):
            bits = np.packbits(data, bitorder="little")
            return pa.Array.from_buffers(pa.bool_(), n, [_validity_buffer(mask), pa.py_buffer(bits)])
        return pa.Array.from_buffers(pa.int64(), n, [_validity_buffer(mask), pa.py_buffer(np.ascontiguousarray(data))])
    array = pa.Array.from_pandas(series)
    if pa.types.is_dictionary(array.type) and pa.types.is_large_string(array.type.value_type):
        array = array.cast(pa.dictionary(array.type.index_type, pa.string(), array.type.ordered))
    return array


def to_native(data: object) -> Native | None:
    """``None`` for pandas (and anything not converted here), else the input with its pandas stand-in."""
    kind = kind_of(data)
    if kind is None:
        _refuse_other(data)
        return None
    given: Any = data
    table = given.to_arrow() if kind == "polars" else given
    names = list(table.column_names)
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValueError(f"the table has more than one column named {', '.join(map(repr, dups))}; keep one column "
                         "per name (conflicting answers are never resolved silently)")
    return Native(kind, given, arrow_to_pandas(table))


def _scores_table(scores: pd.DataFrame) -> Any:
    """The engine's score columns as Arrow: NaN → null, categoricals → dictionaries with the plan's categories
    (``string`` values), without pandas metadata (it would describe the pandas frame)."""
    import pyarrow as pa

    return pa.Table.from_arrays([pandas_to_arrow(scores[c]) for c in scores.columns],
                                names=[str(c) for c in scores.columns])


def _failures_table(failures: pd.DataFrame) -> Any:
    import pyarrow as pa

    schema = pa.schema([("row", pa.int64()), *((c, pa.string()) for c in FAILURE_COLUMNS[1:])])
    rows = pd.array(failures["row"].astype(object).where(failures["row"].notna(), None).tolist(), dtype="Int64")
    arrays = [pa.array(rows, type=pa.int64()),
              *(pa.array(failures[c].astype(object).tolist(), type=pa.string()) for c in FAILURE_COLUMNS[1:])]
    return pa.Table.from_arrays(arrays, schema=schema)


def from_native(native: Native, scores: pd.DataFrame, failures: pd.DataFrame) -> tuple[Any, Any]:
    """Scores and failures of a run as the kind of ``native``; its own columns pass through as given."""
    given = set(native.frame.columns)
    passthrough = [c for c in scores.columns if c in given]
    computed = scores[[c for c in scores.columns if c not in given]]
    table = _scores_table(computed)
    fail = _failures_table(failures)
    if native.kind == "arrow":
        kept = native.original.select(passthrough)
        for name, column in zip(table.column_names, table.columns, strict=True):
            kept = kept.append_column(table.schema.field(name), column)
        return kept, fail
    import polars as pl

    # ordered categories are an Enum in Polars (Categorical would compare labels alphabetically), made from the
    # category codes as Enum's physical integers: no label lookups, unlike converting a dictionary column
    bands = {c for c in computed.columns
             if isinstance(dtype := computed[c].dtype, pd.CategoricalDtype) and dtype.ordered}
    rest: Any = pl.from_arrow(table.select([c for c in table.column_names if c not in bands]))
    out = pl.DataFrame([_polars_enum(c, computed[c]) if c in bands else rest.get_column(c) for c in computed.columns])
    if passthrough:
        out = pl.concat([native.original.select(passthrough), out], how="horizontal")
    return out, pl.from_arrow(fail)


def _polars_enum(name: str, series: pd.Series) -> Any:
    """An ordered pandas categorical as a Polars ``Enum`` of its categories in order (code -1 → null)."""
    import polars as pl
    import pyarrow as pa

    codes = np.asarray(series.array.codes)
    values = np.where(codes < 0, 0, codes).astype(np.uint32)
    physical = pa.Array.from_buffers(pa.uint32(), len(codes), [_validity_buffer(codes < 0), pa.py_buffer(values)])
    return pl.Series(name, physical).cat.to(pl.Enum(list(series.cat.categories)))


def to_pandas_failures(failures: Any) -> pd.DataFrame:
    """A failures table of any kind as pandas (for summaries); pandas is returned as it is."""
    if isinstance(failures, pd.DataFrame):
        return failures
    table = failures.to_arrow() if kind_of(failures) == "polars" else failures
    return table.to_pandas()

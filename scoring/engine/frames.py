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
    """
    import pyarrow as pa

    mapping: dict[Any, Any] = {t: pd.Int64Dtype() for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64(),
                                            pa.uint8(), pa.uint16(), pa.uint32())}
    mapping[pa.uint64()] = pd.UInt64Dtype()
    mapping[pa.bool_()] = pd.BooleanDtype()
    return table.to_pandas(types_mapper=mapping.get, ignore_metadata=True)


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
    """The engine's score columns as Arrow: NaN → null, categoricals → dictionaries with the plan's categories."""
    import pyarrow as pa

    table = pa.Table.from_pandas(scores, preserve_index=False)
    fields = []
    for field in table.schema:
        if pa.types.is_dictionary(field.type):  # pandas 2 gives string, pandas 3 large_string: make it one type
            field = field.with_type(pa.dictionary(field.type.index_type, pa.string(), field.type.ordered))
        fields.append(field)
    return table.cast(pa.schema(fields))  # without the pandas metadata: it described the pandas frame


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

    out: Any = pl.from_arrow(table)
    bands = [c for c in computed.columns
             if isinstance(dtype := computed[c].dtype, pd.CategoricalDtype) and dtype.ordered]
    if bands:  # ordered categories are an Enum in Polars: Categorical would compare labels alphabetically
        out = out.with_columns(pl.col(c).cast(pl.Enum(list(computed[c].cat.categories))) for c in bands)
    if passthrough:
        out = pl.concat([native.original.select(passthrough), out], how="horizontal")
    return out, pl.from_arrow(fail)


def to_pandas_failures(failures: Any) -> pd.DataFrame:
    """A failures table of any kind as pandas (for summaries); pandas is returned as it is."""
    if isinstance(failures, pd.DataFrame):
        return failures
    table = failures.to_arrow() if kind_of(failures) == "polars" else failures
    return table.to_pandas()

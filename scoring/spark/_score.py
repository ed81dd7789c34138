"""``scoring.spark.score``: the engine run inside Spark, one Arrow batch at a time (``mapInArrow``).

Each Python worker gets the definition once (a Spark broadcast variable: shipped to every executor once and
unpickled once per worker process) and calls :func:`scoring.score` on each Arrow record batch Spark hands it
— the very engine, with the pyarrow input path of :mod:`scoring.engine.frames`. Each batch comes back as its
rows of scores followed by its failures as rows of their own (a hidden kind column tells them apart); the two
result DataFrames are the two kinds of rows of that one computation:

* ``scores``: the input's columns that are not items (as given), then the engine's columns with the Arrow
  types of :mod:`scoring.engine.frames`, mapped to Spark types (a dictionary column — bands, reasons,
  provenance — becomes ``string``: Spark has no categorical type, so compare bands by ``<scale>_severity``);
* ``failures``: ``row, item, value, code, message``. ``row`` is the value of the ``row_id`` column the caller
  names (its own Spark type), or else ``monotonically_increasing_id()`` of the input row (``long``; unique
  and increasing, and the 0-based position only when the input is one partition). Problems of a whole column
  (``missing_column``, ``unknown_item``) are listed once, with a null ``row``, first.

Both are lazy like every DataFrame: writing the scores and then the failures scores the data twice unless the
caller persists ``scores``'s parent (:attr:`SparkScoreResult.combined`), as ``psyscore score --engine spark``
does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from scoring.definitions.library import Definition
from scoring.engine.responses import DEFAULT_MISSING, FAILURE_COLUMNS
from scoring.errors import ResponseValidationError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

__all__ = ["KIND_COLUMN", "ROW_COLUMN", "SparkScoreResult", "score"]

#: hidden column of the combined frame: the generated row id (only when no ``row_id`` is named)
ROW_COLUMN = "__psyscore_row"
#: hidden column of the combined frame: 0 for a row of scores, 1 for a row of the failures table
KIND_COLUMN = "__psyscore_kind"
#: hidden columns of the combined frame holding a failure's item, value, code and message (null in score rows)
FAILURE_FIELDS = {c: f"__psyscore_{c}" for c in ("item", "value", "code", "message")}


@dataclass
class SparkScoreResult:
    """Scores and failures of one :func:`score` call, both Spark DataFrames (lazy).

    Attributes
    ----------
    scores
        The input's non-item columns, then the engine's stable columns (names as :func:`scoring.score`).
    failures
        ``row, item, value, code, message``; see the module docstring for ``row``.
    combined
        The one computation both are selected from (score rows and failure rows, told apart by the hidden
        ``__psyscore_kind`` column); persist it to score once when both are written.
    definition
        The definition scored with.
    row_id
        The column that identifies rows in ``failures`` (``None``: a generated ``long`` id).
    """

    scores: DataFrame
    failures: DataFrame
    combined: DataFrame
    definition: Definition
    row_id: str | None


def _spark_modules() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        from pyspark.sql import functions as F
    except ImportError as exc:  # pragma: no cover - the extra is installed wherever Spark is used
        raise ImportError(f"scoring.spark needs pip install 'psyscore[spark]' ({exc.name} is missing)") from exc
    return pa, F


def map_in_arrow(frame: DataFrame, run: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
                 schema: Any) -> DataFrame:
    """``frame.mapInArrow(run, schema)``, without pyspark's warning about pandas 3 (no pandas crosses here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        return frame.mapInArrow(run, schema)


def _as_string(table: pa.Table) -> pa.Table:
    """Dictionary columns (bands, reasons, provenance) as plain strings: Spark has no dictionary type."""
    import pyarrow as pa

    fields = [f.with_type(pa.string()) if pa.types.is_dictionary(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields))


def _score_kwargs(columns: Any, missing_values: Sequence[str], accept_integral_floats: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"accept_integral_floats": accept_integral_floats}
    if tuple(missing_values) != tuple(DEFAULT_MISSING):
        kwargs["missing_values"] = tuple(missing_values)
    if columns is not None:  # the engine's column mapping (scoring.score(columns=...)), passed as given
        kwargs["columns"] = columns
    return kwargs


#: the engine's provenance columns: one value per definition and engine, the same in every row
PROVENANCE = ("instrument_id", "instrument_version", "instrument_hash", "engine_version")


def _provenance(definition: Definition) -> dict[str, str]:
    from scoring._version import __version__

    plan = definition.plan
    return dict(zip(PROVENANCE, (plan.instrument_id, plan.version, plan.hash, __version__), strict=True))


def _batch_scorer(broadcast: Any, kwargs: dict[str, Any], hidden_row: bool, row_id: str | None, target: pa.Schema
                  ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function each Spark task runs over its Arrow batches (pickled with the broadcast handle only)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.compute as pc

        from scoring.engine import score as engine_score

        definition = broadcast.value  # fetched once per executor, unpickled once per worker
        for batch in batches:
            if batch.num_rows == 0:
                continue
            table = pa.Table.from_batches([batch])
            data = table.drop_columns([ROW_COLUMN]) if hidden_row else table
            result = engine_score(definition, data, **kwargs)
            scores: Any = result.scores  # pyarrow.Tables: the engine returns the kind it was given
            failures: Any = result.failures
            n = table.num_rows
            # the score rows: the engine's columns (provenance left to Spark), failure fields null
            out = {name: scores.column(name) for name in target.names if name in scores.column_names}
            if hidden_row:
                out[ROW_COLUMN] = pa.nulls(n, target.field(ROW_COLUMN).type)
            out[KIND_COLUMN] = pa.array(np.zeros(n, dtype=np.int8))
            out.update({hidden: pa.nulls(n, pa.string()) for hidden in FAILURE_FIELDS.values()})
            yield from pa.table(out).cast(target).to_batches()
            failures = failures.filter(pc.is_valid(failures.column("row")))  # column problems: once, by the driver
            m = failures.num_rows
            if not m:
                continue
            ids = table.column(ROW_COLUMN if hidden_row else row_id).take(failures.column("row"))
            rows = {name: (ids if name == row_id else pa.nulls(m, target.field(name).type))
                    for name in target.names if name in scores.column_names}
            if hidden_row:
                rows[ROW_COLUMN] = ids
            rows[KIND_COLUMN] = pa.array(np.ones(m, dtype=np.int8))
            rows.update({hidden: failures.column(c) for c, hidden in FAILURE_FIELDS.items()})
            yield from pa.table(rows).cast(target).to_batches()

    return run


def _column_failures(definition: Definition, schema: pa.Schema, kwargs: dict[str, Any]
                     ) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The engine's output schema and the problems of whole columns, from scoring on the driver.

    Returns the scores of zero rows (for the schema), the column problems the engine reports even for zero
    rows (``unknown_item``), and those it reports only when there are rows (``missing_column``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from scoring.engine import score as engine_score

    def whole(table: pa.Table) -> tuple[pa.Table, pa.Table]:
        result = engine_score(definition, table, **kwargs)
        failures: Any = result.failures  # a pyarrow.Table: the engine returns the kind it was given
        return _as_string(result.scores), failures.filter(pc.is_null(failures.column("row")))

    scores, always = whole(schema.empty_table())
    _, with_rows = whole(pa.table({f.name: pa.nulls(1, f.type) for f in schema}, schema=schema))
    seen = set(zip(always.column("item").to_pylist(), always.column("code").to_pylist(), strict=True))
    keep = [(i, c) not in seen for i, c in zip(with_rows.column("item").to_pylist(),
                                               with_rows.column("code").to_pylist(), strict=True)]
    return scores, always, with_rows.filter(pa.array(keep, pa.bool_()))


def score(
    definition: Definition,
    spark_df: DataFrame,
    *,
    columns: Mapping[str, str] | str | None = None,
    strict: bool = False,
    row_id: str | None = None,
    missing_values: Sequence[str] = DEFAULT_MISSING,
    accept_integral_floats: bool = False,
) -> SparkScoreResult:
    """Score a Spark DataFrame with the engine, inside Spark, through Arrow.

    Parameters
    ----------
    definition
        A definition from the library (``scoring.load_library()["phq9"]``, or one loaded from your own folder:
        it travels to the executors as a broadcast variable, so they need no definition files).
    spark_df
        One row per administration, one column per item id, as for :func:`scoring.score`; other columns pass
        through.
    columns
        Passed to :func:`scoring.score` as its column mapping, when the engine has one (``None``: item ids).
    strict
        Raise :class:`~scoring.errors.ResponseValidationError` when any cell fails (this runs a Spark job that
        looks for the first failure).
    row_id
        A column identifying each row (kept in ``scores``); ``failures.row`` holds its value. Without it,
        ``failures.row`` is ``monotonically_increasing_id()`` of the input row, which nothing in ``scores``
        carries: name a ``row_id`` to join failures to scores.
    missing_values, accept_integral_floats
        As for :func:`scoring.score`.

    Returns
    -------
    SparkScoreResult
        ``scores`` and ``failures`` (Spark DataFrames), equal row for row to what :func:`scoring.score` gives on
        the same rows (tests/spark).
    """
    pa, F = _spark_modules()
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
    from pyspark.sql.types import ByteType, StringType, StructField, StructType

    if not isinstance(definition, Definition):
        raise TypeError(f"score() takes a Definition (e.g. load_library()['phq9']), not {type(definition).__name__}")
    names = list(spark_df.columns)
    for hidden in (ROW_COLUMN, KIND_COLUMN, *FAILURE_FIELDS.values()):
        if hidden in names:
            raise ValueError(f"the input has a column named {hidden!r}, which scoring.spark uses itself; rename it")
    item_names = {i.lower() for i in definition.plan.item_ids}
    if row_id is not None:
        if row_id not in names:
            raise ValueError(f"row_id column {row_id!r} is not in the input (columns: {', '.join(names)})")
        if row_id.lower() in item_names:
            raise ValueError(f"row_id column {row_id!r} is an item of {definition.id}; name a column that "
                             "identifies rows (an id), not an answer")
    kwargs = _score_kwargs(columns, missing_values, accept_integral_floats)
    in_arrow = to_arrow_schema(spark_df.schema, timezone="UTC")
    computed, always, with_rows = _column_failures(definition, in_arrow, kwargs)
    given = {f.name: f for f in spark_df.schema.fields}
    constants = _provenance(definition)
    fields = [given[n] if n in given else StructField(n, from_arrow_schema(pa.schema([computed.schema.field(n)]))
                                                      .fields[0].dataType, True)
              for n in computed.column_names if n not in constants]
    hidden_row = row_id is None
    source = spark_df.withColumn(ROW_COLUMN, F.monotonically_increasing_id()) if hidden_row else spark_df
    if hidden_row:
        fields.append(StructField(ROW_COLUMN, from_arrow_schema(pa.schema([(ROW_COLUMN, pa.int64())]))
                                  .fields[0].dataType, True))
    fields.append(StructField(KIND_COLUMN, ByteType(), False))
    fields += [StructField(hidden, StringType(), True) for hidden in FAILURE_FIELDS.values()]
    out_schema = StructType(fields)
    target = to_arrow_schema(out_schema, timezone="UTC")
    broadcast = spark_df.sparkSession.sparkContext.broadcast(definition)
    combined = map_in_arrow(source, _batch_scorer(broadcast, kwargs, hidden_row, row_id, target), out_schema)

    # the provenance columns are the same in every row: Spark adds them as literals (no text crosses from Python)
    kind = F.col(f"`{KIND_COLUMN}`")
    scores = combined.filter(kind == 0).select(
        *[F.lit(constants[n]).cast("string").alias(n) if n in constants else F.col(f"`{n}`")
          for n in computed.column_names])
    row_col = F.col(f"`{ROW_COLUMN}`") if hidden_row else F.col(f"`{row_id}`")
    exploded = combined.filter(kind == 1).select(row_col.alias("row"),
                                                 *[F.col(f"`{h}`").alias(c) for c, h in FAILURE_FIELDS.items()])
    row_type = exploded.schema["row"].dataType
    failures = exploded
    column_schema = StructType([StructField("row", row_type, True),
                                *(StructField(c, exploded.schema[c].dataType, True) for c in FAILURE_COLUMNS[1:])])
    spark = spark_df.sparkSession
    parts = []
    for table, only_with_rows in ((always, False), (with_rows, True)):
        if not table.num_rows:
            continue
        rows = [(None, *(table.column(c)[k].as_py() for c in FAILURE_COLUMNS[1:])) for k in range(table.num_rows)]
        part = spark.createDataFrame(rows, column_schema)
        if only_with_rows:  # as the engine: a missing column is a problem only when there are rows to score
            part = part.crossJoin(spark_df.limit(1).select()).select(*column_schema.names)
        parts.append(part)
    if parts:
        head = parts[0]
        for part in parts[1:]:
            head = head.unionByName(part)
        failures = head.unionByName(exploded)
    result = SparkScoreResult(scores, failures, combined, definition, row_id)
    if strict:
        first = failures.limit(1).collect()
        if first:
            import pandas as pd

            f = first[0]
            n_bad = failures.count()
            where = f"row {f['row']}, " if f["row"] is not None else ""
            raise ResponseValidationError(
                pd.DataFrame([f.asDict()], columns=list(FAILURE_COLUMNS)),
                f"{n_bad} bad cell(s) in the responses; first: {where}item {f['item']}, value {f['value']!r}: "
                f"{f['message']} [{f['code']}]",
            )
    return result

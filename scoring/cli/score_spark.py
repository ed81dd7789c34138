"""``psyscore score … --engine spark``: score a Parquet/CSV file or folder on Apache Spark (thin adapter).

The work is :func:`scoring.spark.score`; this module starts (or joins) a Spark session, reads the input,
writes the scores and failures as Spark writes them (a folder of part files each), and tells the same story
as the single-machine command: the failures are summarised on stderr and written whenever there are any,
the 20 % bad-cell rule and ``--strict`` decide before any score is written, and the scores folder appears
only when the run is accepted (it is written beside the target under a temporary name and moved into place).

Input: a ``.parquet`` file or folder, or a ``.csv`` file or folder of comma-separated UTF-8 files with a
header (every cell read as text, validated by the engine like any CSV; a row of another width is an error).
Output: ``OUTPUT.parquet`` or ``OUTPUT.csv`` as a folder; failures in ``OUTPUT.failures.parquet``/``.csv``.
Failures name rows by ``--row-id COLUMN`` when given, else by Spark's ``monotonically_increasing_id()``.
Paths are local (or a shared file system mounted on every node).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from scoring.cli import EXIT_ERROR, EXIT_OK, UsageError
from scoring.definitions.library import Definition

ENGINES = ("pandas", "spark")
SPARK_SUFFIXES = (".parquet", ".csv")
ARROW_BATCH_ROWS = 100_000


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """``--engine``, ``--master`` and ``--row-id`` of ``psyscore score``."""
    p.add_argument("--engine", choices=ENGINES, default="pandas",
                   help="pandas (default): this machine, in chunks; spark: on Apache Spark (pip install "
                        "'psyscore[spark]'; needs Java 17+) reading and writing Parquet or CSV folders")
    p.add_argument("--master", metavar="URL",
                   help="with --engine spark: the Spark master, e.g. local[2] or spark://host:7077 (default: "
                        "spark-submit's, else local[*])")
    p.add_argument("--row-id", metavar="COLUMN",
                   help="with --engine spark: the column that identifies rows in the failures (default: a "
                        "generated id, Spark's monotonically_increasing_id)")


def wants_spark(args: argparse.Namespace) -> bool:
    return getattr(args, "engine", "pandas") == "spark"


def _check_args(args: argparse.Namespace, definitions: Sequence[Definition]) -> str:
    if len(definitions) != 1:
        raise UsageError("--engine spark scores one instrument per run; run it once per instrument")
    if any(getattr(args, o, None) for o in ("column_map", "column_prefix", "column_pattern")):
        raise UsageError("--map/--prefix/--pattern are not available with --engine spark yet; name the item "
                         "columns by item id (a Spark select(...alias(...)) does it), or use --engine pandas")
    if getattr(args, "norms", None):
        raise UsageError("--norms is not available with --engine spark yet; score on Spark, then apply the norms "
                         "with --engine pandas or scoring.apply_norms")
    if getattr(args, "chunk_rows", None):
        raise UsageError("--chunk-rows is for --engine pandas; Spark splits the input into partitions itself")
    out_kind = args.output.suffix.lower()
    if out_kind not in SPARK_SUFFIXES:
        raise UsageError(f"with --engine spark the output must end in .parquet or .csv (a folder), not "
                         f"{args.output.name!r}")
    in_kind = _input_kind(args.input)
    if in_kind is None:
        raise UsageError(f"with --engine spark the input must be a .parquet or .csv file or a folder of them, not "
                         f"{args.input}")
    if not args.input.exists():
        raise UsageError(f"no such file or folder: {args.input}")
    return in_kind


def _input_kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in SPARK_SUFFIXES:
        return suffix[1:]
    if path.is_dir():
        kinds = {f.suffix.lower() for f in path.rglob("*") if f.is_file() and f.suffix.lower() in SPARK_SUFFIXES}
        if len(kinds) == 1:
            return kinds.pop()[1:]
    return None


def _session(master: str | None) -> tuple[Any, bool]:
    """The active Spark session (spark-submit's) or a new one; True when this command started it."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise UsageError("--engine spark needs pip install 'psyscore[spark]' (pyspark is missing)") from exc
    active = SparkSession.getActiveSession()
    if active is not None:  # spark-submit's session, or a caller's: used as it is, never stopped here
        running = active.sparkContext.master
        if master is not None and master != running:
            print(f"a Spark session is running with master {running}; using it, not {master}", file=sys.stderr)
        return active, False
    builder = (SparkSession.builder.appName("psyscore score").config("spark.ui.showConsoleProgress", "false")
               # the engine scores a batch in one vectorized call: bigger Arrow batches, fewer calls
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS)))
    builder = builder.master(master or "local[*]")
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Java missing, a bad master URL: say so without a Java stack trace
        raise UsageError(f"could not start Spark ({type(exc).__name__}: {str(exc).splitlines()[0][:300]}); "
                         "Spark needs Java 17+ (apt-get install default-jre-headless)") from exc
    # Spark's task errors quote the offending record: keep respondent data out of the log (errors are said
    # by this command, naming the input and Spark's error class)
    session.sparkContext.setLogLevel("FATAL")
    return session, True


def _csv_header(path: Path) -> list[str]:
    """The header of every CSV file of ``path``: one and the same in each file, no name twice (ignoring case).

    Spark matches the columns of each file by position and appends the column position to a repeated name
    (``phq9_1`` in the first column becomes ``phq9_10``, a real item id), so both are checked here, before
    Spark reads anything.
    """
    import csv

    from scoring.cli.inputs import BadInputError

    files = [path] if path.is_file() else sorted(f for f in path.rglob("*.csv") if f.is_file())
    header: list[str] | None = None
    for file in files:
        try:
            with file.open(encoding="utf-8-sig", newline="") as fh:
                names = next(csv.reader(fh), [])
        except UnicodeDecodeError as exc:
            raise BadInputError(f"{file}: not UTF-8 in its header (byte {exc.start}); save it as UTF-8") from exc
        seen: dict[str, str] = {}
        for name in names:
            if name.strip().lower() in seen:
                raise BadInputError(f"{file}: duplicate column names {seen[name.strip().lower()]!r} and {name!r} "
                                    "(names are matched ignoring case); keep one column per item — conflicting "
                                    "answers are never resolved silently")
            seen[name.strip().lower()] = name
        if header is None:
            header = names
        elif names != header:
            raise BadInputError(f"{file}: its header differs from that of {files[0]} (Spark would match the "
                                "columns by position); give every file of the folder the same columns in the same "
                                "order")
    return header or []


def _read(spark: Any, path: Path, kind: str) -> Any:
    if kind == "parquet":
        return spark.read.parquet(str(path))
    _csv_header(path)
    # every cell as text (no schema inference), as psyscore reads CSV; a row of another width fails the job
    return (spark.read.option("header", "true").option("mode", "FAILFAST").option("encoding", "UTF-8")
            .option("inferSchema", "false").csv(str(path)))


def _read_checked(spark: Any, args: argparse.Namespace, kind: str, definition: Definition) -> Any:
    """The input as a Spark DataFrame, once its columns hold the items and the ``--row-id`` column."""
    from scoring.cli.inputs import require_items

    frame = _read(spark, args.input, kind)
    require_items(args.input, frame.columns, definition.plan.item_ids, definition.id)
    if args.row_id is not None and args.row_id not in frame.columns:
        raise UsageError(f"--row-id {args.row_id!r} is not a column of {args.input} (columns: "
                         f"{', '.join(frame.columns[:8])}{' …' if len(frame.columns) > 8 else ''})")
    return frame


def _write(frame: Any, target: Path, kind: str) -> None:
    """Write ``frame`` as a folder under a temporary name beside ``target``, then move it into place."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        writer = frame.write.mode("error")
        if kind == "csv":
            writer.option("header", "true").csv(str(temporary))
        else:
            writer.parquet(str(temporary))
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        temporary.rename(target)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def _neutralised(frame: Any) -> Any:
    """Every output: text a spreadsheet would run as a formula gets a leading ``'``, as
    :func:`scoring.engine.files.neutralise` does (same first characters), as a Spark expression."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    from scoring.engine.files import FORMULA_START, neutralise

    def guard(name: str) -> Any:
        col = F.col(f"`{name}`")
        return F.when(F.substring(col, 1, 1).isin(*FORMULA_START), F.concat(F.lit("'"), col)).otherwise(col)

    return frame.select(*[(guard(f.name) if isinstance(f.dataType, StringType) else F.col(f"`{f.name}`"))
                          .alias(neutralise(f.name)) for f in frame.schema.fields])


@contextlib.contextmanager
def _spark_errors(path: Path) -> Iterator[None]:
    """A failed Spark job as a short error naming the input and Spark's error class, not a Java stack trace.

    Spark's messages quote the offending record; they are not printed (no respondent data on stderr).
    """
    from scoring.cli.inputs import BadInputError
    from scoring.errors import PsyscoreError

    try:
        yield
    except (PsyscoreError, UsageError):
        raise
    except Exception as exc:
        text = str(exc)
        if type(exc).__name__ not in ("Py4JJavaError", "PythonException", "AnalysisException") and \
                not type(exc).__module__.startswith(("pyspark", "py4j")):
            raise
        classes = re.findall(r"\[([A-Z][A-Z_]+(?:\.[A-Z_]+)?)\]", text)
        if any(c.startswith("MALFORMED") for c in classes):
            raise BadInputError(f"{path}: a row has another number of cells than the header (a line break or a "
                                "comma inside a cell that is not in double quotes?); Spark stopped reading "
                                f"({classes[-1]})") from None
        python = [ln.strip() for ln in text.splitlines() if re.match(r"\s*[\w.]+(Error|Exception): ", ln)]
        if type(exc).__name__ == "PythonException" and python:
            raise BadInputError(f"{path}: scoring failed in a Spark task: {python[-1][:500]}") from None
        raise BadInputError(f"{path}: the Spark job failed ({classes[-1] if classes else type(exc).__name__}); "
                            "see the Spark logs of the run") from None


def run_spark_score(args: argparse.Namespace, definitions: Sequence[Definition], failures_file: Path) -> int:
    """``psyscore score --engine spark``: score ``args.input`` into ``args.output`` on Spark."""
    from scoring.cli.inputs import BAD_CELL_CODES, check_bad_counts, print_failures
    from scoring.engine.scorer import summarise
    from scoring.spark import score

    kind = _check_args(args, definitions)
    d = definitions[0]
    out_kind = args.output.suffix.lower()[1:]
    spark, started = _session(args.master)
    try:
        with _spark_errors(args.input):
            frame = _read_checked(spark, args, kind, d)
            result = score(d, frame, row_id=args.row_id, accept_integral_floats=args.accept_integral_floats)
            from pyspark import StorageLevel

            result.combined.persist(StorageLevel.MEMORY_AND_DISK)  # scored once, written twice
            try:
                rows = result.scores.count()
                by_code = result.failures.groupBy("code").count().collect()
                counts = Counter({r["code"]: int(r["count"]) for r in by_code})
                if counts:
                    first = result.failures.limit(10).collect()
                    import pandas as pd

                    shown = pd.DataFrame([r.asDict() for r in first],
                                         columns=["row", "item", "value", "code", "message"])
                    print(f"{args.input}: {summarise(rows, dict(counts))}", file=sys.stderr)
                    print_failures(shown, failures_file, limit=10, total=sum(counts.values()))
                    failures = _neutralised(result.failures)
                    _write(failures, failures_file, out_kind)
                    bad = Counter({c: n for c, n in counts.items() if c in BAD_CELL_CODES})
                    check_bad_counts(args.input, bad, rows * len(d.plan.item_ids), args.allow_bad)
                    if args.strict:
                        print("strict mode: no scores written", file=sys.stderr)
                        return EXIT_ERROR
                elif failures_file.exists():  # a stale failures folder from an earlier run would mislead
                    shutil.rmtree(failures_file) if failures_file.is_dir() else failures_file.unlink()
                scores = _neutralised(result.scores)
                _write(scores, args.output, out_kind)
            finally:
                result.combined.unpersist()
    finally:
        if started:
            spark.stop()
    print(f"{rows} administration(s) scored with {d.id} {d.version} on Spark → {args.output}", file=sys.stderr)
    return EXIT_OK


def spark_analyze(args: argparse.Namespace, definition: Definition, missing: Sequence[str]) -> Any:
    """``psyscore analyze --engine spark``: the :class:`~scoring.reliability.ReliabilityReport` of ``args.input``
    computed on Spark (:func:`scoring.spark.analyze`); the caller writes it as for the single machine."""
    from scoring.spark import analyze

    if args.input is None:
        raise UsageError("--engine spark analyses a .parquet or .csv file or folder, not --db")
    kind = _input_kind(args.input)
    if kind is None or not args.input.exists():
        raise UsageError(f"with --engine spark the input must be a .parquet or .csv file or a folder of them, not "
                         f"{args.input}")
    spark, started = _session(args.master)
    try:
        with _spark_errors(args.input):
            frame = _read_checked(spark, args, kind, definition)
            return analyze(definition, frame, missing=missing, ci_level=args.ci_level,
                           accept_integral_floats=args.accept_integral_floats, row_id=args.row_id)
    finally:
        if started:
            spark.stop()

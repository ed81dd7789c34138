"""``psyscore analyze``: reliability of an instrument's scales on a file of responses (thin adapter).

The work is done by :func:`scoring.reliability.analyze`; this module parses options, reads the table,
writes the report and turns problems into exit codes (2 for usage errors: unknown instrument, missing file,
unsupported report type).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scoring.cli import EXIT_OK, UsageError, add_definitions_option, cli_library
from scoring.definitions.library import Definition, Library

if TYPE_CHECKING:
    import pandas as pd

DESCRIPTION = """\
Analyse the reliability of every scale of an instrument on a CSV/XLSX file of responses: Cronbach's alpha
(pairwise and listwise, raw and standardized, Feldt and Duhachek 95% intervals), McDonald's omega total
(one-factor minres), corrected item-total correlations, alpha if item deleted, item means and SDs, floor and
ceiling percentages, and a warning for items that look mis-keyed. Reverse-keyed items of the definition are
reversed first. Statistics are defined as in R's psych package (alpha, omega with nfactors = 1).
"""


ORDER = 60

def register(sub: argparse._SubParsersAction) -> None:
    from scoring.cli.inputs import add_input_options

    p = sub.add_parser(
        "analyze",
        help="reliability of an instrument's scales (alpha, omega, item statistics) on a response file",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, metavar="INPUT", nargs="?",
                   help="CSV or XLSX file with one row per administration and one column per item id "
                        "(or give --db instead)")
    p.add_argument("--db", metavar="URL",
                   help="analyse the completed administrations in the clinic store instead of a file (SQLAlchemy "
                        "URL or a SQLite file path); read through the store's research accessor, audited, "
                        "scored with the definition version each administration was given under")
    p.add_argument("--instrument", required=True, metavar="ID",
                   help="id of the instrument whose scales are analysed (e.g. phq9)")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="REPORT",
                   help="report file; its extension picks the format: .md (Markdown), .json, or .csv "
                        "(scale table; REPORT.items.csv and REPORT.warnings.csv are written beside it)")
    add_definitions_option(p)
    p.add_argument("--instrument-version", metavar="X.Y.Z",
                   help="version of the instrument (default: the latest in the library)")
    p.add_argument("--missing", choices=("both", "pairwise", "listwise"), default="both",
                   help="missing-data handling to report: pairwise-complete covariances (psych's default), "
                        "complete cases only, or both (default)")
    p.add_argument("--ci-level", type=float, default=0.95, metavar="P",
                   help="coverage of alpha's confidence intervals (default 0.95)")
    add_input_options(p)
    from scoring.cli.score_spark import add_engine_options

    add_engine_options(p)  # --engine spark --master URL --row-id COLUMN (scoring/cli/score_spark.py)
    p.set_defaults(func=cmd_analyze)




def cmd_analyze(args: argparse.Namespace) -> int:
    from scoring.cli.inputs import check_bad_share, check_output, read_responses, require_items
    from scoring.reliability import REPORT_SUFFIXES, analyze

    if args.output.suffix.lower() not in REPORT_SUFFIXES:
        raise UsageError(f"report must end in .md, .json or .csv, not {args.output.name!r}")
    if not 0.0 < args.ci_level < 1.0:
        raise UsageError(f"--ci-level must be between 0 and 1, not {args.ci_level}")
    if (args.input is None) == (args.db is None):
        raise UsageError("give either INPUT (a CSV/XLSX file) or --db URL, not both")
    check_output(args.input, args.output)
    lib = cli_library(args.definitions)
    if args.db is not None:
        definition, data = _from_store(args.db, lib, args.instrument, args.instrument_version)
        source = f"{args.db} ({len(data)} completed administration(s))"
    elif getattr(args, "engine", "pandas") == "spark":  # Spark reads the input itself
        definition = lib.get_version(args.instrument, args.instrument_version)
        source = str(args.input)
    else:
        definition = lib.get_version(args.instrument, args.instrument_version)
        data = read_responses(args.input)
        require_items(args.input, list(data.columns), definition.plan.item_ids, definition.id)
        source = str(args.input)
    missing = ("pairwise", "listwise") if args.missing == "both" else (args.missing,)
    if getattr(args, "engine", "pandas") == "spark":  # from per-partition statistics (scoring/cli/score_spark.py)
        from scoring.cli.score_spark import spark_analyze

        report = spark_analyze(args, definition, missing)
    else:
        report = analyze(definition, data, missing=missing, ci_level=args.ci_level,
                         accept_integral_floats=args.accept_integral_floats)
    n_rows = report.n_rows
    if args.input is not None:
        check_bad_share(source, report.failures, n_rows * len(definition.plan.item_ids), args.allow_bad)
    written = report.write(args.output)
    if len(report.failures):
        print(f"{source}: {len(report.failures)} bad cell(s) analysed as missing; run 'psyscore score' "
              "to list them", file=sys.stderr)
    for w in report.warnings.itertuples():
        print(f"warning: {w.scale_id} ({w.missing}): {w.message}", file=sys.stderr)
    print(f"{n_rows} row(s) analysed with {definition.id} {definition.version} → "
          + ", ".join(str(p) for p in written), file=sys.stderr)
    return EXIT_OK


def _from_store(url: str, library: Library, instrument_id: str, version: str | None
                ) -> tuple[Definition, pd.DataFrame]:
    """(pinned definition, item answers) of one instrument version's completed administrations in the store.

    Without ``version`` the newest version with administrations is analysed: answers given under different
    definitions are not pooled.
    """
    from scoring.cli.export_cmds import sqlite_file
    from scoring.store import Actor, Clinic, Store

    file = sqlite_file(url)
    if file is not None and not file.is_file():
        raise UsageError(f"no such database file: {file}")
    actor = Actor.system("psyscore analyze")
    with Store(url) as store:
        clinic = Clinic(store, library)
        present = [c for c in clinic.research.instruments(actor) if c.instrument_id == instrument_id]
        if version is not None:
            present = [c for c in present if c.version == version]
        if not present:
            what = instrument_id + (f" {version}" if version else "")
            raise UsageError(f"the store has no completed {what} administrations")
        chosen = max(present, key=lambda c: tuple(int(p) for p in c.version.split(".")))
        definition = clinic.research.definition(actor, instrument_id, chosen.version)
        frame = clinic.research.administrations(actor, instrument_id, version=chosen.version,
                                                purpose="reliability analysis (CLI)")
    import pandas as pd

    items = [i for i in definition.plan.item_ids if i in frame.columns]
    return definition, pd.DataFrame(frame[items].to_numpy(dtype=float), columns=items)

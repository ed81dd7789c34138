"""``psyscore change`` and ``psyscore chart``: score histories with reliable change, and charts (thin adapters).

The work is done by :func:`scoring.change.timeline.history` and :mod:`scoring.charts`; this module parses
options, reads and writes files and turns problems into exit codes (2 for usage errors).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scoring.cli import EXIT_OK, UsageError, add_definitions_option, cli_library
from scoring.cli.inputs import add_input_options
from scoring.errors import PsyscoreError

ORDER = 40

CHANGE_DESCRIPTION = """\
Turn a long CSV/XLSX file of administrations (columns patient, date, instrument, then the item answers in
columns named by item id, or the scores in columns named by scale id) into one row per patient ×
administration × scale: score, band, severity, and the change from the patient's baseline and previous
administration (difference, Jacobson-Truax RCI, reliable change by the published threshold where the
definition declares one, classification as recovered / reliably_improved / no_reliable_change /
reliably_deteriorated, MCID met), with every parameter used and the instrument version and hash.
Bad cells count as unanswered and are listed in OUTPUT.failures.csv/.xlsx. The file is read as for
'psyscore score': the delimiter is detected, column names are matched ignoring case, duplicate columns are
an error, and more than 20% bad item cells stop the run unless --allow-bad.
"""

CHART_DESCRIPTION = """\
Draw a chart from a long CSV/XLSX file of administrations (as for 'psyscore change'): a trend of one
patient's scores over the severity bands with the clinical cut-off, reliable-change markers and optional
events; a heatmap of one patient's item answers over time; or a Jacobson plot (baseline vs latest) of every
patient in the file. The output type follows the extension: .png, .svg, .json (Vega-Lite) or .html.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("change", help="score histories with change from baseline and previous (reliable change)",
                       description=CHANGE_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", type=Path, metavar="INPUT",
                   help="CSV or XLSX: patient, date, instrument and item answers (or scale scores)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUTPUT",
                   help="history table, .csv or .xlsx (one row per patient × administration × scale)")
    p.add_argument("--instrument", action="append", metavar="ID",
                   help="keep only this instrument (repeatable; default: every instrument in the file)")
    p.add_argument("--z", type=float, default=1.96, metavar="Z",
                   help="criterion for the Jacobson-Truax RCI (default 1.96, i.e. 95%% two-tailed)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 without writing the history if any answer fails validation")
    add_input_options(p)
    add_definitions_option(p)
    from scoring.cli.redcap_cmds import add_redcap_options

    add_redcap_options(p, date=True)  # --redcap: a REDCap record export read as the long history
    p.set_defaults(func=cmd_change)

    p = sub.add_parser("chart", help="draw a trend, item heatmap or Jacobson plot (PNG, SVG, JSON, HTML)",
                       description=CHART_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", type=Path, metavar="INPUT",
                   help="CSV or XLSX: patient, date, instrument and item answers (or scale scores)")
    p.add_argument("--instrument", required=True, metavar="ID", help="instrument id, e.g. phq9")
    p.add_argument("--patient", metavar="ID", help="patient id (required for --kind trend and heatmap)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE",
                   help="chart file: .png, .svg, .json (Vega-Lite specification) or .html")
    p.add_argument("--kind", choices=("trend", "heatmap", "jacobson"), default="trend",
                   help="trend (default), heatmap of item answers, or jacobson (baseline vs latest, all patients)")
    p.add_argument("--scale", metavar="SCALE", help="scale id (default: the only scale, or total)")
    p.add_argument("--events", type=Path, metavar="EVENTS",
                   help="CSV/XLSX with date and label columns (optional patient column) drawn as labelled rules "
                        "on a trend chart")
    p.add_argument("--title", help="chart title (default: instrument, scale and patient)")
    add_definitions_option(p)
    p.set_defaults(func=cmd_chart)






def _read(path: Path):
    import pandas as pd

    from scoring.cli.inputs import read_responses

    data = read_responses(path)
    data.index = pd.RangeIndex(1, len(data) + 1)  # messages name rows as in the file: data row 1 follows the header
    return data


def cmd_change(args: argparse.Namespace) -> int:
    from scoring.change.timeline import history
    from scoring.cli.library_cmds import failures_path
    from scoring.engine.files import write_table

    if args.output.suffix.lower() not in (".csv", ".xlsx"):
        raise UsageError(f"output must end in .csv or .xlsx, not {args.output.name!r}")
    if not args.z > 0:
        raise UsageError(f"--z must be positive, not {args.z}")
    import pandas as pd

    from scoring.cli.inputs import check_bad_share, check_output, print_failures, read_responses

    fpath = failures_path(args.output)
    check_output(args.input, args.output, fpath)
    lib = cli_library(args.definitions)
    data = read_responses(args.input)
    data.index = pd.RangeIndex(1, len(data) + 1)  # messages name rows as in the file: data row 1 follows the header
    from scoring.cli.redcap_cmds import options_given, redcap_history

    annotate = None
    if options_given(args):  # record_id → patient, date field or survey timestamp → date, events/instances in order
        data, annotate = redcap_history(args, lib, data)
    result = history(lib, data, instrument=args.instrument, z=args.z, strict=args.strict,
                     accept_integral_floats=args.accept_integral_floats)
    frame, failures = result.frame.copy(), result.failures
    if annotate is not None:  # the export's row, event and instance beside each history row and bad cell
        frame, failures = annotate(frame, failures)
    if not failures.empty:
        print(f"{args.input}: {len(failures)} bad cell(s) counted as unanswered; see {fpath}", file=sys.stderr)
        print_failures(failures, fpath, lead="instrument")
        write_table(failures, fpath)
        check_bad_share(args.input, failures, result.cells, args.allow_bad)
    elif fpath.exists():
        fpath.unlink()  # a stale failures file from an earlier run would mislead
    for col in ("date", "baseline_date", "previous_date"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    write_table(frame, args.output)
    n_patients = frame["patient"].nunique()
    print(f"{len(frame)} row(s) for {n_patients} patient(s) → {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_chart(args: argparse.Namespace) -> int:
    try:
        from scoring import charts
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise UsageError("charts need Altair and vl-convert-python: pip install 'psyscore[charts]'") from exc
    from scoring.change.timeline import history

    if args.output.suffix.lower() not in charts.CHART_SUFFIXES:
        raise UsageError(f"output must end in {', '.join(charts.CHART_SUFFIXES)}, not {args.output.name!r}")
    if args.kind in ("trend", "heatmap") and not args.patient:
        raise UsageError(f"--kind {args.kind} needs --patient ID")
    if args.events is not None and args.kind != "trend":
        raise UsageError("--events applies to --kind trend only")
    lib = cli_library(args.definitions)
    definition = lib.get_version(args.instrument)
    if args.scale is not None and args.scale not in [s.id for s in definition.instrument.scales]:
        raise UsageError(f"{definition.id} has no scale {args.scale!r}; its scales are "
                         f"{', '.join(s.id for s in definition.instrument.scales)}")
    data = _read(args.input)
    if args.patient and "patient" in data.columns and not (data["patient"].astype(str) == args.patient).any():
        raise UsageError(f"{args.input}: no rows for patient {args.patient!r}")
    try:
        if args.kind == "heatmap":
            chart = charts.item_heatmap(data, definition, patient=args.patient, title=args.title)
        else:
            frame = history(lib, data, instrument=definition.id).frame
            if args.kind == "trend":
                events = _read(args.events) if args.events is not None else None
                chart = charts.trend_chart(frame, definition, scale=args.scale, patient=args.patient,
                                           events=events, title=args.title)
            else:
                chart = charts.jacobson_plot(frame, definition, scale=args.scale, title=args.title)
    except ValueError as exc:
        if isinstance(exc, PsyscoreError):  # bad data in the file: exit 1 with the located message
            raise
        raise UsageError(str(exc)) from exc
    charts.save_chart(chart, args.output)
    print(f"{args.kind} chart → {args.output}", file=sys.stderr)
    return EXIT_OK

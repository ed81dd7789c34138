"""``psyscore redcap dictionary`` and the ``--redcap`` option of ``psyscore score`` and ``psyscore change``.

Thin: :mod:`scoring.redcap` builds the dictionary and reads the exports; this module parses options, writes
files and says on stderr what the reading did (rows left out, missing-data codes counted as unanswered).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from scoring.cli import EXIT_OK, UsageError, add_definitions_option, cli_library

if TYPE_CHECKING:
    import pandas as pd

    from scoring.definitions.library import Definition, Library

ORDER = 76

DICTIONARY_DESCRIPTION = """\
Write a REDCap data dictionary (CSV, REDCap's 18 columns) for one or more instruments, to build a REDCap project
from psyscore's definitions: the record identifier first, then one form per instrument named by its id, one radio
field per item (field name = item id, shortened deterministically when it breaks REDCap's rules: lowercase
letters, digits and underscores, at most 26 characters), choices 'code, label | ...' as the engine scores them,
gates as branching logic, the copyright and licence in the first item's field note, and per scale a calc field
<id>_<scale> that reproduces psyscore's rule exactly (missing answers and missing-data codes included) or, where
REDCap's calc syntax cannot, a descriptive field saying why (then score the export with psyscore). Instruments
whose licence allows no item text get psyscore's descriptors, never the wording. REDCap has no dictionary
column for translations: --language writes the whole dictionary in one translation.
"""

REDCAP_HELP = ("read INPUT as a REDCap record export (raw data CSV/XLSX): record identifier, redcap_event_name, "
               "redcap_repeat_instrument/_instance and the form's fields (named as 'psyscore redcap dictionary' "
               "names them); checkbox columns field___code are joined; missing-data codes count as unanswered")


def register(sub: argparse._SubParsersAction) -> None:
    redcap = sub.add_parser("redcap", help="REDCap: a data dictionary from definitions (exports: score/change "
                                           "--redcap)",
                            description="REDCap interoperability. Score a REDCap record export with 'psyscore score "
                            "ID export.csv --redcap -o scores.csv'; read one as a history with 'psyscore change "
                            "export.csv --redcap -o history.csv'.")
    rsub = redcap.add_subparsers(dest="redcap_command", metavar="SUBCOMMAND", required=True,
                                 help="dictionary: write a REDCap data dictionary")
    p = rsub.add_parser("dictionary", help="write a REDCap data dictionary (CSV) for instruments",
                        description=DICTIONARY_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ids", nargs="+", metavar="ID", help="instrument ids (ID@VERSION for a pinned version)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the data dictionary, .csv")
    p.add_argument("--language", help="language of the labels (default: each definition's own)")
    p.add_argument("--record-id", default="record_id", metavar="NAME",
                   help="name of the record identifier field (default record_id)")
    add_definitions_option(p)
    p.set_defaults(func=cmd_dictionary)
    # 'psyscore score' is registered by library_cmds (ORDER 10, before this module): its REDCap options live here,
    # beside the code that reads them (scoring/cli/score_file.py calls redcap_chunks when --redcap is given)
    score = sub.choices.get("score")
    if score is not None:
        add_redcap_options(score, form=True)


def add_redcap_options(p: argparse.ArgumentParser, *, form: bool = False, date: bool = False) -> None:
    """``--redcap`` and the options of reading a REDCap export (``score``: ``form``; ``change``: ``date``)."""
    from scoring.redcap.records import DEFAULT_MISSING_CODES

    g = p.add_argument_group("REDCap exports")
    g.add_argument("--redcap", action="store_true", help=REDCAP_HELP)
    g.add_argument("--missing-codes", metavar="CODES", type=_codes, default=DEFAULT_MISSING_CODES,
                   help="with --redcap: the project's missing-data codes, comma-separated (default: REDCap's "
                        f"suggested codes {','.join(DEFAULT_MISSING_CODES)}); '' for none")
    g.add_argument("--record-id", dest="redcap_record_id", metavar="FIELD",
                   help="with --redcap: the record identifier column (default record_id, else the first column)")
    if form:
        g.add_argument("--form", dest="redcap_form", metavar="NAME",
                       help="with --redcap: the REDCap form (instrument) name, for redcap_repeat_instrument and "
                            "<form>_timestamp (default: the instrument id)")
    if date:
        g.add_argument("--date-field", dest="redcap_date_field", metavar="FIELD",
                       help="with --redcap: the date of each administration (default: the form's survey timestamp "
                            "<form>_timestamp)")


def _codes(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


def _check(args: argparse.Namespace) -> None:
    if not getattr(args, "redcap", False):
        used = [o for o, a in (("--record-id", "redcap_record_id"), ("--form", "redcap_form"),
                               ("--date-field", "redcap_date_field")) if getattr(args, a, None)]
        if used:
            raise UsageError(f"{', '.join(used)} applies with --redcap only")


def cmd_dictionary(args: argparse.Namespace) -> int:
    from scoring.redcap import RedcapError, data_dictionary, write_dictionary

    if args.output.suffix.lower() != ".csv":
        raise UsageError(f"the data dictionary is a .csv file, not {args.output.name!r}")
    lib = cli_library(args.definitions)
    defs = []
    for spec in args.ids:
        inst_id, _, version = spec.partition("@")
        defs.append(lib.get_version(inst_id, version or None))
    try:
        rows = data_dictionary(defs, language=args.language, record_id=args.record_id)
    except RedcapError as exc:
        raise UsageError(str(exc)) from exc
    if not args.output.parent.exists():
        args.output.parent.mkdir(parents=True)
    write_dictionary(rows, args.output)
    calcs = sum(1 for r in rows if r["Field Type"] == "calc")
    without = sum(1 for r in rows if r["Field Type"] == "descriptive")
    print(f"{len(rows)} field(s) for {len(defs)} instrument(s), {calcs} calc field(s)"
          + (f", {without} scale(s) without a REDCap calculation (see their field notes)" if without else "")
          + f" → {args.output}", file=sys.stderr)
    return EXIT_OK


def redcap_chunks(args: argparse.Namespace, definitions: Sequence[Definition], chunks: Iterable[pd.DataFrame],
                  row_label: Callable[[object], object]
                  ) -> tuple[Iterator[pd.DataFrame], Callable[[object], object]]:
    """``psyscore score --redcap``: the export's chunks as response tables, and the row labels naming records
    (``12 (record_id 3, event baseline_arm_1)``; the row number alone for a Parquet failures file, whose row
    column is a number). What the reading did is said on stderr at the end."""
    from scoring.redcap.records import ExportReader

    if len(definitions) != 1:
        raise UsageError("--redcap scores one instrument at a time: run psyscore score once per instrument")
    reader = ExportReader(definitions[0], form=getattr(args, "redcap_form", None), missing_codes=args.missing_codes,
                          record_id=getattr(args, "redcap_record_id", None))

    def converted() -> Iterator[pd.DataFrame]:
        yield from reader.convert_chunks(chunks)
        print(f"{args.input}: {reader.summary()}", file=sys.stderr)

    parquet = args.output.suffix.lower() == ".parquet"
    return converted(), (row_label if parquet else reader.label)


def options_given(args: argparse.Namespace) -> bool:
    """True when --redcap is given; a REDCap-only option without it is a usage error."""
    _check(args)
    return bool(getattr(args, "redcap", False))


def redcap_history(args: argparse.Namespace, library: Library, data: pd.DataFrame
                   ) -> tuple[pd.DataFrame, Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]]:
    """``psyscore change --redcap``: the export as the long table of history, and a function adding the record's
    export row, event and instance to the history frame and failures (by their ``source_row``/``row``)."""
    from scoring.redcap import RedcapError
    from scoring.redcap.records import to_history

    try:
        long, readers = to_history(data, library, args.instrument, date_field=getattr(args, "redcap_date_field", None),
                                   missing_codes=args.missing_codes,
                                   record_id=getattr(args, "redcap_record_id", None))
    except RedcapError as exc:
        raise UsageError(f"{args.input}: {exc}") from exc
    for reader in readers:
        print(f"{args.input}: {reader.definition.id}: {reader.summary()}", file=sys.stderr)
    extra = [c for c in ("export_row", "redcap_event_name", "redcap_repeat_instance") if c in long.columns]
    lookup = long[extra]

    record = readers[0].record_name if readers else "record_id"
    labels = long["export_row"].astype(str) + f" ({record} " + long["patient"].astype(str)
    for name, col in (("event", "redcap_event_name"), ("instance", "redcap_repeat_instance")):
        if col in long.columns:
            text = long[col].astype(object).where(long[col].notna(), "").astype(str).str.strip()
            labels = labels + (f", {name} " + text).where(text != "", "")
    labels = labels + ")"

    def annotate(frame: pd.DataFrame, failures: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        frame = frame.join(lookup, on="source_row") if len(frame) else frame.assign(**{c: None for c in extra})
        if len(failures):  # a bad cell named by the export's row and the record: '12 (record_id 3, event …)'
            failures = failures.join(lookup, on="row")
            failures["row"] = failures["row"].map(lambda r: labels.get(r, r) if r == r and r is not None else r)
        return frame, failures

    return long, annotate

"""``psyscore export`` and ``psyscore export-key``: the research export (thin adapter over scoring.export)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scoring.cli import EXIT_OK, UsageError, add_definitions_option, cli_library
from scoring.definitions.library import Library

if TYPE_CHECKING:
    from scoring.export import ExportResult

ORDER = 70

DESCRIPTION = """\
Write de-identified outcome data for research, with a codebook (CSV, Markdown, and a sheet of the XLSX)
and a manifest (settings, instruments with versions and content hashes, counts, k-anonymity, SHA-256 of
every file). Only allowlisted data leaves: a research id, the year of each administration (or, with
--dates relative under the pseudonymised profile, days since the patient's first exported administration),
sex and age band (ages over 89 as 90+), instrument id and version, item answers and scores. Every other
input column is dropped.

Profiles: safe_harbor (HIPAA 45 CFR 164.514(b)(2): research ids are random for every export and derived
from nothing) or pseudonymised (GDPR Art. 4(5): HMAC-SHA256 of the internal patient id under a study key
file of at least 256 bits, so the same patient has the same id in every export of the study; create the
key with 'psyscore export-key FILE' and keep it away from the exports).

--dates relative is refused under safe_harbor: days since a patient's first administration are derived from
the administration dates, of which Safe Harbor releases the year only (164.514(b)(2)(i)(C)). It is offered
under pseudonymised, whose output is personal data (GDPR) and, as HIPAA data, needs an Expert Determination
(164.514(b)(1)) or a data use agreement.
"""

EPILOG = """\
--db reads the store's completed administrations (internal patient id, completion date in UTC, instrument
and the version it was given under, answers, sex, age at the administration) through its research
accessor, scored again from the raw answers with the pinned definitions.

input file (--input): a CSV or XLSX file, one row per administration, with the columns
  patient_id          internal patient id (required; never written)
  date                administration date, YYYY-MM-DD (required; written as year or relative days)
  instrument          instrument id, e.g. phq9 (required)
  instrument_version  optional (default: the latest version in the library)
  <item ids>          answer codes, e.g. phq9_1 … phq9_10 (items of other instruments left empty)
  sex                 optional: female, male, other, or empty
  age | birth_year | birth_date   optional, to derive the age band (birth_date is never written)
Any other column (names, contacts, record numbers, notes …) is dropped and never read further.

date filters: --from and --to are widened to whole years (--from 2024-03-14 applies from 2024-01-01,
--to 2024-03-14 up to 2024-12-31): an export releases the year of an administration, never its day, and two
exports whose range differed by one day would otherwise differ by exactly that day's administrations. The
manifest and codebook state the range applied; the store's audit log records the range asked and applied.

k-anonymity: every combination of the quasi-identifiers (default year of the first administration, age
band, sex) must be shared by at least k patients (default 5). With --suppression values (default), the
quasi-identifiers of patients in smaller groups are withheld (written as -9) one at a time in the order
given; patients still in a group smaller than k are left out. With --suppression records they are left
out at once. The manifest reports k achieved and what was suppressed.
"""


def register(sub: argparse._SubParsersAction) -> None:
    from scoring.export import DATE_MODES, DEFAULT_AGE_EDGES, FORMATS, LAYOUTS, PROFILES

    p = sub.add_parser("export", help="write a de-identified research export (data, codebook, manifest)",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", required=True, choices=PROFILES,
                   help="de-identification profile: safe_harbor (random research ids, new for every export) or "
                        "pseudonymised (keyed HMAC research ids, stable within a study; needs --key-file)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, metavar="FILE",
                        help="long CSV/XLSX file of administrations (columns: see below)")
    source.add_argument("--db", metavar="URL",
                        help="the clinic store (SQLAlchemy URL, e.g. sqlite:///clinic.db or postgresql://…, or a "
                             "SQLite file path): completed administrations read through its research accessor, "
                             "which never reads the identifier table; each read is audited")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                   help="new or empty folder to write the export to")
    p.add_argument("--key-file", type=Path, metavar="FILE",
                   help="study key file for --profile pseudonymised (at least 256 bits, mode 0600)")
    p.add_argument("--instrument", action="extend", nargs="+", metavar="ID",
                   help="export only these instruments (repeatable; default: every instrument in the input)")
    p.add_argument("--from", dest="date_from", metavar="DATE",
                   help="first administration date to include, YYYY-MM-DD (inclusive), widened to the first day "
                        "of its year (exports release years, not days; the manifest gives the range applied)")
    p.add_argument("--to", dest="date_to", metavar="DATE",
                   help="last administration date to include, YYYY-MM-DD (inclusive), widened to the last day "
                        "of its year")
    p.add_argument("--layout", choices=LAYOUTS, default="long",
                   help="long: one row per administration (default); wide: one row per patient, variables "
                        "repeated per occasion as <variable>_t1, _t2, …")
    p.add_argument("--format", dest="formats", action="append", choices=FORMATS, metavar="FORMAT",
                   help=f"data file format: {', '.join(FORMATS)} (repeatable; default csv)")
    p.add_argument("--dates", choices=DATE_MODES, default="year",
                   help="year of each administration (default); relative: days since the patient's first "
                        "exported administration plus that year (opt-in, pseudonymised only: refused under "
                        "safe_harbor); none: order only")
    p.add_argument("--demographics", default="sex,age_band", metavar="LIST",
                   help="comma-separated demographics to write: sex, age_band (default both; '' for none)")
    p.add_argument("-k", type=int, default=5, metavar="K",
                   help="k-anonymity: minimum number of patients sharing each quasi-identifier combination "
                        "(default 5)")
    p.add_argument("--quasi-identifiers", default="year,age_band,sex", metavar="LIST",
                   help="comma-separated quasi-identifiers in suppression order (first withheld first); "
                        "from year, age_band, sex (default year,age_band,sex)")
    p.add_argument("--suppression", choices=("values", "records"), default="values",
                   help="values: withhold quasi-identifier values, then drop patients still in small groups "
                        "(default); records: drop patients in small groups")
    p.add_argument("--age-bands", default=",".join(map(str, DEFAULT_AGE_EDGES)), metavar="EDGES",
                   help="lower edges of the age bands; the last opens the top band and must be 90 or lower "
                        f"(default {','.join(map(str, DEFAULT_AGE_EDGES))})")
    add_definitions_option(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("export-key", help="create a study key file for pseudonymised exports",
                       description="Create a random study key (256 bits by default) in a new file with mode 0600. "
                       "Keep it outside the database and away from every export: whoever holds it can link "
                       "the pseudonyms of this study. Losing it ends linkage with earlier exports.")
    p.add_argument("file", type=Path, metavar="FILE", help="the key file to create (must not exist)")
    p.add_argument("--bits", type=int, default=256, help="key length in bits (at least 256, a multiple of 8)")
    p.set_defaults(func=cmd_export_key)




def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be a date written YYYY-MM-DD, not {text!r}") from None


def _list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def cmd_export(args: argparse.Namespace) -> int:
    from scoring.export import ExportError, export, read_input
    from scoring.export.table import check_date_mode

    if args.profile == "pseudonymised" and args.key_file is None:
        raise UsageError("--profile pseudonymised needs --key-file FILE (create one with: psyscore export-key FILE)")
    if args.profile == "safe_harbor" and args.key_file is not None:
        raise UsageError("--profile safe_harbor uses random research ids and no key; drop --key-file")
    try:
        check_date_mode(args.profile, args.dates)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    out: Path = args.output
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} is not an empty folder; write each export to a new folder")
    try:
        edges = tuple(int(e) for e in _list(args.age_bands))
    except ValueError:
        raise UsageError(f"--age-bands must be comma-separated whole numbers, not {args.age_bands!r}") from None
    library = cli_library(args.definitions)
    options = dict(
        profile=args.profile, formats=args.formats or ["csv"], key=args.key_file, instruments=args.instrument,
        date_from=_date(args.date_from, "--from"), date_to=_date(args.date_to, "--to"), layout=args.layout,
        dates=args.dates, demographics=_list(args.demographics), k=args.k,
        quasi_identifiers=_list(args.quasi_identifiers), suppression=args.suppression, age_bands=edges,
        library=library,
    )
    if args.db is not None:
        result = _export_from_store(args.db, library, out, options)
    else:
        result = export(read_input(args.input), out, **options)
    m = result.manifest
    counts, kan = _section(m, "counts"), _section(m, "k_anonymity")
    applied = _section(m, "filters")
    if applied["date_granularity"] and (applied["from"], applied["to"]) != (args.date_from, args.date_to):
        print(f"date range widened to whole years (exports release years, not days): from "
              f"{applied['from'] or 'the start'} to {applied['to'] or 'the end'}", file=sys.stderr)
    if result.dropped_columns:
        print(f"dropped {len(result.dropped_columns)} input column(s) that are not on the allowlist: "
              + ", ".join(result.dropped_columns), file=sys.stderr)
    invalid = sum(counts["invalid_answer_cells"].values())
    if invalid:
        print(f"{invalid} invalid answer cell(s) exported as unanswered; run 'psyscore score' on the input to "
              "list them", file=sys.stderr)
    print(f"k-anonymity (k = {kan['k']} over {', '.join(kan['quasi_identifiers']) or 'no quasi-identifiers'}): "
          f"k achieved {kan['k_achieved']}; values withheld: "
          + (", ".join(f"{q} {n}" for q, n in kan["suppressed_values"].items()) or "none")
          + f"; patients left out: {kan['suppressed_patients']} ({kan['suppressed_rows']} administrations)",
          file=sys.stderr)
    if counts["patients_exported"] == 0 and kan["patients_before"]:
        print(f"warning: no patient is in a group of at least k = {kan['k']}; the export is empty. Lower -k, "
              "export fewer quasi-identifiers or widen the date range", file=sys.stderr)
    print(f"{counts['administrations_exported']} administration(s) of {counts['patients_exported']} patient(s) "
          f"({m['profile']}, {m['layout']}) → {out}: " + ", ".join(p.name for p in result.paths), file=sys.stderr)
    return EXIT_OK


def _section(manifest: Mapping[str, object], key: str) -> Mapping[str, Any]:
    """A part of the manifest that is a dict (counts, k_anonymity, filters), checked as one."""
    value = manifest[key]
    if not isinstance(value, dict):
        raise TypeError(f"manifest[{key!r}] must be the dict the export made, not {type(value).__name__}")
    return value


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL or path (None for other databases and in-memory SQLite)."""
    if "://" not in url:
        return Path(url).expanduser()
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url[len("sqlite:///"):])
    return None


def _export_from_store(url: str, library: Library, out: Path, options: dict[str, Any]) -> ExportResult:
    """Export through the store's research accessor as the system actor of the command line."""
    try:
        from scoring.store import Actor, Clinic, Store
    except ImportError:  # pragma: no cover - the store's dependencies are core
        raise UsageError("--db needs the store's packages (SQLAlchemy, Alembic): pip install psyscore") from None
    from scoring.export import StoreSource, export

    file = sqlite_file(url)
    if file is not None and not file.is_file():
        raise UsageError(f"no such database file: {file}")
    with Store(url) as store:
        clinic = Clinic(store, library)
        actor = Actor.system("psyscore export")
        source = StoreSource(clinic.research, actor, purpose="research export (CLI)")
        result = export(source, out, **options)
        clinic.record_audit(actor, "export_written",
                            detail={"profile": options["profile"], "formats": options["formats"],
                                    "rows": len(result.data), "filters": result.audit_filters})
        return result


def cmd_export_key(args: argparse.Namespace) -> int:
    from scoring.export import create_key_file

    if args.file.exists():
        raise UsageError(f"{args.file} already exists; a study keeps its key: choose another file name")
    path = create_key_file(args.file, bits=args.bits)
    print(f"created study key {path} (mode 0600); keep it outside the database and away from the exports",
          file=sys.stderr)
    return EXIT_OK

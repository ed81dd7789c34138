"""``psyscore norms``: list the norm tables, or validate norm files (``--validate``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scoring.cli import EXIT_ERROR, EXIT_OK, UsageError

ORDER = 40


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "norms", help="list the norm tables, or validate norm files (--validate)",
        description="List the norm tables (bundled plus PSYSCORE_NORMS_PATH folders): id, instrument, scale, "
        "population, N, method, evidence level and citation. With --validate, check norm files in two passes "
        "(metadata shape, then meaning: CSV parses, strata present, score range covered, values monotone, "
        "instrument and scale exist) and report every issue as file:line path: severity CODE: message — hint.")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="norm files (<id>.yaml) or folders to read instead of the configured ones")
    p.add_argument("--instrument", metavar="ID", help="only tables for this instrument id")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--validate", action="store_true", help="validate the norm files; exit 1 on any error")
    p.add_argument("--definitions", action="append", type=Path, metavar="DIR",
                   help="also load instrument definitions from this folder (repeatable)")
    p.set_defaults(func=cmd_norms)


def cmd_norms(args: argparse.Namespace) -> int:
    from scoring.cli.library_cmds import library_from_args
    from scoring.norms import load_norms

    for path in args.paths:
        if not Path(path).exists():
            raise UsageError(f"no such file or folder: {path}")
    lib = library_from_args(args)
    norms = load_norms(args.paths or None, library=lib)
    if args.validate:
        return _report(norms, args.json)
    if args.instrument and args.instrument not in lib:
        from scoring.errors import UnknownInstrumentError

        raise UnknownInstrumentError(args.instrument, lib)
    tables = norms.for_instrument(args.instrument) if args.instrument else [norms[i] for i in norms]
    if args.json:
        print(json.dumps([t.summary() for t in tables], indent=2, ensure_ascii=False))
        return EXIT_OK
    for t in tables:
        n = f"N = {t.meta.n:,}" if t.meta.n else "N not stated"
        print(f"{t.id}  ({t.instrument_id}.{t.scale}, {t.method}, {t.evidence} evidence, {n})")
        print(f"    population: {' '.join(t.meta.population.split())}")
        print(f"    strata: {', '.join(s.id for s in t.strata)}")
        print(f"    citation: {t.citation}")
    if not tables:
        print("no norm tables" + (f" for {args.instrument}" if args.instrument else ""))
    if norms.report.errors:
        print(f"\n{len(norms.report.errors)} norm error(s) kept tables out; run 'psyscore norms --validate'",
              file=sys.stderr)
    return EXIT_OK


def _report(norms, as_json: bool) -> int:
    report = norms.report
    if as_json:
        print(json.dumps({"ok": report.ok, "tables": len(norms),
                          "issues": [i.to_dict() for i in report.issues]}, indent=2, ensure_ascii=False))
    else:
        for issue in report.issues:
            print(issue, file=sys.stderr if issue.severity == "error" else sys.stdout)
        print(f"{len(norms)} valid norm table(s); {len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return EXIT_OK if report.ok else EXIT_ERROR

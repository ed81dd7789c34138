"""Commands over the instrument library: instruments, show, validate, schema, score, explain."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scoring.cli import EXIT_ERROR, EXIT_OK, UsageError, add_definitions_option, cli_library
from scoring.definitions.issues import codes_markdown
from scoring.definitions.library import Definition, Library, iter_definition_files, load_library, looks_like_norm_file
from scoring.definitions.loading import read_yaml_file
from scoring.errors import CATALOG, ValidationReport

ORDER = 10

def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("instruments", help="list the instruments in the library",
                       description="List every valid instrument definition (bundled and configured).")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_definitions_option(p)
    p.set_defaults(func=cmd_instruments)

    p = sub.add_parser("show", help="show one instrument definition",
                       description="Show an instrument: items in administration order, scales and bands.")
    p.add_argument("id", help="instrument id, e.g. phq9")
    p.add_argument("--version", dest="instrument_version", help="a specific version (default: latest)")
    p.add_argument("--json", action="store_true", help="print the full definition as JSON")
    add_definitions_option(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("validate", help="validate definition files (exit 1 on any error)",
                       description="Validate definitions in two passes (shape, then meaning) and report every "
                       "issue as file:line path: severity CODE: message — hint. Norm-table files (norms/<id>.yaml, "
                       "or the <id>.csv beside one) among the PATHs are recognised and checked with the norm rules, "
                       "as by 'psyscore norms --validate', against the configured library plus the definitions "
                       "given.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: the configured library)")
    p.add_argument("--json", action="store_true", help="print the issues as JSON")
    p.add_argument("--codes", action="store_true", help="list every issue code and exit")
    p.add_argument("--markdown", action="store_true",
                   help="with --codes: print the catalogue of codes, message templates and hints as Markdown "
                   "(docs/issue-codes.md)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of the definition format",
                       description="Print the JSON Schema generated from the definition models.")
    p.set_defaults(func=cmd_schema)

    from scoring.cli.inputs import MISSING_HELP, add_input_options
    from scoring.cli.score_file import add_mapping_options

    p = sub.add_parser("score", help="score a CSV/XLSX/Parquet file of responses",
                       description="Score one row per administration (one column per item id, matched ignoring "
                       "case; a CSV's delimiter is detected). Bad cells are listed in OUTPUT's failures file "
                       "(<output>.failures.<ext>) and counted as unanswered. The file is read and written in "
                       "chunks of rows (--chunk-rows), so its size is not limited by memory; the scores file "
                       "appears only when the whole file was read and the run is accepted. " + MISSING_HELP)
    p.add_argument("id", help="instrument id, e.g. phq9, or several held in one file: phq9,gad7 (score columns "
                   "then prefixed by the instrument id: phq9.total)")
    p.add_argument("input", type=Path, help="responses, .csv, .xlsx or .parquet")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="scores, .csv, .parquet (both written as the chunks come) or .xlsx (at most 1,048,575 rows)")
    p.add_argument("--chunk-rows", type=_positive, default=None, metavar="N",
                   help="rows read, scored and written at a time (default 1,000,000); memory grows with N, not "
                   "with the file")
    p.add_argument("--strict", action="store_true", help="exit 1 without writing scores if any cell fails")
    p.add_argument("--version", dest="instrument_version", help="score with this version (default: latest)")
    p.add_argument("--norms", metavar="NORM_ID",
                   help="add percentile/z/T columns from this norm table (see 'psyscore norms'); uses the input's "
                   "age (completed years) and sex columns where the table is stratified by them")
    add_mapping_options(p)
    add_input_options(p)
    add_definitions_option(p)
    from scoring.cli.score_spark import add_engine_options

    add_engine_options(p)  # --engine spark --master URL --row-id COLUMN (scoring/cli/score_spark.py)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("explain", help="print how a response vector is scored (a score receipt)",
                       description="Print the derivation of every score of one administration: items used, "
                       "reversals, missing data, arithmetic, band rule, cut-offs and critical items.")
    p.add_argument("id", help="instrument id, e.g. phq9")
    p.add_argument("--responses", required=True,
                   help="comma-separated answers in administration order; empty or NA = unanswered")
    p.add_argument("--sex", help="respondent sex (female/male) for sex-specific rules")
    p.add_argument("--json", action="store_true", help="print the receipt as JSON")
    add_definitions_option(p)
    p.set_defaults(func=cmd_explain)




def library_from_args(args: argparse.Namespace) -> Library:
    return cli_library(getattr(args, "definitions", None))


def _get(lib: Library, instrument_id: str, version: str | None = None) -> Definition:
    return lib.get_version(instrument_id, version)


def summary(d: Definition) -> dict[str, Any]:
    ins = d.instrument
    return {
        "id": ins.id,
        "version": ins.version,
        "name": ins.name,
        "abbreviation": ins.abbreviation,
        "items": len(ins.items),
        "scales": [s.id for s in ins.scales],
        "licence": ins.licence.redistribution,
        "hash": d.hash,
    }


def cmd_instruments(args: argparse.Namespace) -> int:
    lib = library_from_args(args)
    rows = [summary(lib[i]) for i in lib]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{'id':<16}{'version':<9}{'items':>6}  {'licence':<15}name")
    for r in rows:
        print(f"{r['id']:<16}{r['version']:<9}{r['items']:>6}  {r['licence']:<15}{r['name']}")
    if lib.report.errors:
        print(f"\n{len(lib.report.errors)} definition error(s) kept files out of the library; "
              "run 'psyscore validate'", file=sys.stderr)
    return EXIT_OK


def definition_json(d: Definition) -> dict[str, Any]:
    """The definition as JSON with provenance; items stay in administration order."""
    data = d.instrument.model_dump(mode="json", exclude_none=True)
    data["hash"] = d.hash
    return data


def cmd_show(args: argparse.Namespace) -> int:
    lib = library_from_args(args)
    d = _get(lib, args.id, args.instrument_version)
    if args.json:
        print(json.dumps(definition_json(d), indent=2, ensure_ascii=False))
        return EXIT_OK
    ins = d.instrument
    print(f"{ins.name} ({ins.abbreviation}) {ins.id} {ins.version}  hash {d.hash[:12]}")
    print(f"Licence: {ins.licence.redistribution} — {ins.licence.statement}")
    print(f"Copyright: {ins.copyright.strip()}")
    for citation in ins.citations:
        print(f"Citation: {citation}")
    if ins.instructions:
        print(f"\n{ins.instructions}")
    sets = {s.id: s for s in ins.option_sets}
    print("\nItems:")
    for item in ins.items:
        text = item.text or item.descriptor or ""
        flags = " (reverse)" if item.reverse else ""
        flags += " (not scored)" if not item.scored else ""
        print(f"  {item.id:<14}{text}{flags}")
        print(f"  {'':<14}options: " + ", ".join(f"{o.value}={o.label}" for o in sets[item.options].options))
    print("\nScales:")
    for s in ins.scales:
        print(f"  {s.id}: {s.name}; {s.method} of {len(s.items)} items, range {s.range[0]}–{s.range[1]}, "
              f"missing: {s.missing.rule}")
        for k, band_set in enumerate(((s.bands,) if s.bands else ()) + tuple(s.band_sets)):
            column = f"{s.id}_band" if k == 0 else f"{s.id}_band_{band_set.id}"
            if band_set.id or s.band_sets:  # name the sets where there is more than one, or a named one
                print(f"    band set {band_set.id or '(default)'} ({column})"
                      + (f": {band_set.name}" if band_set.name else ""))
            for b in band_set.ranges:
                print(f"    {b.min}–{b.max}: {b.label}")
        for cut in s.cutoffs:
            if cut.range is not None:
                used = d.cutoff_values.get(f"{s.id}.{cut.id}", float(cut.value))
                whose = ("the definition's choice" if used == cut.value
                         else f"this deployment's choice; the definition's is {cut.value}")
                print(f"    cut-off {cut.id}: {s.id} {cut.op} {used:g} ({whose}; published range "
                      f"{cut.range[0]}–{cut.range[1]}; a deployment may choose within it: "
                      f"PSYSCORE_CUTOFFS={ins.id}.{s.id}.{cut.id}=VALUE)")
    if ins.critical_items:
        print("\nCritical items:")
        for c in ins.critical_items:
            value = list(c.value) if isinstance(c.value, tuple) else c.value  # as written: [1, 2]
            print(f"  {c.item} {c.op} {value}: {c.message.strip()}")
    return EXIT_OK


def split_norm_files(paths: Sequence[Path | str]) -> tuple[list[Path], list[Path]]:
    """(definition files, norm-table files) among ``paths``: a YAML file is a norm table's metadata when its keys
    say so (:func:`~scoring.definitions.library.looks_like_norm_file`); a ``.csv`` stands for the ``.yaml`` of
    the same name beside it. Files that cannot be read go with the definitions, which report why."""
    definitions: list[Path] = []
    norms: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.suffix == ".csv" and p.is_file() and p.with_suffix(".yaml").is_file():
            norms.append(p.with_suffix(".yaml"))
            continue
        for file in iter_definition_files([p]):
            doc, _ = read_yaml_file(file)
            (norms if doc is not None and looks_like_norm_file(doc.data) else definitions).append(file)
    return definitions, list(dict.fromkeys(norms))


def cmd_validate(args: argparse.Namespace) -> int:
    if args.codes:
        if args.markdown:
            print(codes_markdown(), end="")
            return EXIT_OK
        for code, (severity, title) in CATALOG.items():
            print(f"{code}  {severity:<8}{title}")
        return EXIT_OK
    for p in args.paths:
        if not Path(p).exists():
            raise UsageError(f"no such file or folder: {p}")
    definition_files, norm_files = split_norm_files(args.paths) if args.paths else ([], [])
    if not norm_files:
        lib = load_library(args.paths or None)
        report = lib.report
        tables = None
    else:
        from scoring.norms import load_norms

        lib = load_library(definition_files) if definition_files else Library()
        against = load_library()  # the configured library plus the definitions given
        for d in lib.definitions.values():
            against.add(d)
        norms = load_norms(norm_files, library=against)
        report = ValidationReport([*lib.report.issues, *norms.report.issues])
        tables = len(norms)
    if args.json:
        result: dict[str, Any] = {"ok": report.ok, "definitions": len(lib.definitions)}
        if tables is not None:
            result["norm_tables"] = tables
        result["issues"] = [i.to_dict() for i in report.issues]
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        for issue in report.issues:
            print(issue, file=sys.stderr if issue.severity == "error" else sys.stdout)
        counted = f"{len(lib.definitions)} valid definition(s)"
        if tables is not None:
            counted += f", {tables} valid norm table(s)"
        print(f"{counted}; {len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return EXIT_OK if report.ok else EXIT_ERROR


def cmd_schema(args: argparse.Namespace) -> int:
    from scoring.definitions.schema import definition_json_schema

    print(json.dumps(definition_json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def failures_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.failures{output.suffix}")


def _positive(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def cmd_score(args: argparse.Namespace) -> int:
    from scoring.cli.inputs import check_output
    from scoring.cli.score_file import instrument_ids, run_score
    from scoring.engine.chunks import OUTPUT_SUFFIXES

    if args.output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UsageError(f"output must end in .csv, .xlsx or .parquet, not {args.output.name!r}")
    fpath = failures_path(args.output)
    check_output(args.input, args.output, fpath)
    lib = library_from_args(args)
    defs = [_get(lib, i, args.instrument_version) for i in instrument_ids(args)]  # phq9,gad7: several
    d = defs[0]
    norms = (lambda columns: _norm_table(args, lib, d, columns)) if getattr(args, "norms", None) else None
    from scoring.cli.score_spark import run_spark_score, wants_spark

    if wants_spark(args):  # on Apache Spark: Parquet/CSV folders in and out (scoring/cli/score_spark.py)
        return run_spark_score(args, defs, fpath)
    # read, score and write in chunks (scoring/cli/score_file.py): one path for every file size
    return run_score(args, defs if len(defs) > 1 else d, norms, fpath, _row_label)


def _norm_table(args: argparse.Namespace, lib: Library, d: Definition, columns: list[str]):  # -> NormTable
    from scoring.norms import NormError, UnknownNormError, load_norms
    from scoring.norms.apply import check_applicable

    norms = load_norms(library=lib)
    try:
        table = norms.get(args.norms)
        check_applicable(d, table)
    except (UnknownNormError, NormError) as exc:
        raise UsageError(str(exc)) from exc
    needed = [c for c, need in (("age", table.needs_age), ("sex", table.needs_sex)) if need and c not in columns]
    if needed:
        raise UsageError(f"norm table {table.id} is stratified by {' and '.join(needed)}: add the column(s) "
                         f"{', '.join(needed)} to {args.input} (age in completed years at the administration; "
                         "sex as f/female/w/woman or m/male/man)")
    return table


def _row_label(row: object) -> object:
    """Failures name rows as in the file: data row 1 is the line after the header."""
    if row is None:
        return ""
    return int(row) + 1 if isinstance(row, int) else row


def cmd_explain(args: argparse.Namespace) -> int:
    from scoring.engine.receipt import explain

    lib = library_from_args(args)
    d = _get(lib, args.id)
    values = [v.strip() for v in args.responses.split(",")]
    try:
        receipt = explain(d, values, respondent={"sex": args.sex} if args.sex else None)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print(json.dumps(receipt.to_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        print(receipt)
    return EXIT_ERROR if receipt.failures else EXIT_OK

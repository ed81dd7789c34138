"""``psyscore fhir``: definitions as FHIR R4 Questionnaires, QuestionnaireResponses scored.

Needs the optional extra ``psyscore[fhir]`` (``fhir.resources``, ``fhirpathpy``), imported only when a
``fhir`` command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scoring.cli import EXIT_ERROR, EXIT_OK, UsageError, add_definitions_option

ORDER = 75


def register(sub: argparse._SubParsersAction) -> None:
    fhir = sub.add_parser("fhir", help="FHIR R4: Questionnaires from definitions, score QuestionnaireResponses",
                          description="FHIR R4 (HL7 SDC) interoperability; needs pip install 'psyscore[fhir]'.")
    fsub = fhir.add_subparsers(dest="fhir_command", metavar="SUBCOMMAND", required=True,
                               help="questionnaire: write a Questionnaire; score: score QuestionnaireResponses")

    p = fsub.add_parser("questionnaire", help="write an instrument as a FHIR R4 Questionnaire (JSON)",
                        description="Write the definition as a FHIR R4 Questionnaire following HL7 SDC: canonical "
                        "url and version, content hash, copyright, linkIds = item ids, answer codings with the item "
                        "score in ordinalValue, enableWhen for gates, translations, and each scale as a read-only "
                        "item with a FHIRPath calculatedExpression where its rule can be written in FHIRPath.")
    p.add_argument("id", help="instrument id, e.g. phq9")
    p.add_argument("--version", dest="instrument_version", help="definition version (default: latest)")
    p.add_argument("--language", help="language of the text (default: the definition's); others become "
                                      "translation extensions")
    p.add_argument("-o", "--output", type=Path, help="write here (default: standard output)")
    add_definitions_option(p)
    p.set_defaults(func=cmd_questionnaire)

    p = fsub.add_parser("score", help="score QuestionnaireResponses (a file, a Bundle or a folder)",
                        description="Score FHIR QuestionnaireResponses to psyscore Questionnaires: a "
                        "QuestionnaireResponse or Bundle .json file, or a folder of them. A response with any problem "
                        "(unknown questionnaire, code not in the option set, unknown linkId, malformed JSON, wrong "
                        "resource type, …) is not scored; each problem is a row of OUTPUT's failures file "
                        "(<output>.failures.<ext>: file, response, link_id, value, code, message, hint).")
    p.add_argument("input", type=Path, help="QuestionnaireResponse or Bundle .json, or a folder of .json files")
    p.add_argument("-o", "--output", type=Path, required=True, help="scores, .csv or .xlsx")
    p.add_argument("--strict", action="store_true", help="exit 1 without writing scores if any response fails")
    p.add_argument("--allow-bad", action="store_true",
                   help="go on even when more than 20%% of the responses fail")
    add_definitions_option(p)
    p.set_defaults(func=cmd_score)


def _require() -> None:
    from scoring.fhir import FhirError
    from scoring.fhir.questionnaire import require_fhir

    try:
        require_fhir()
    except FhirError as exc:
        raise UsageError(str(exc)) from exc


def cmd_questionnaire(args: argparse.Namespace) -> int:
    from scoring.cli.library_cmds import library_from_args

    _require()
    from scoring.fhir import FhirError, to_questionnaire

    lib = library_from_args(args)
    d = lib.get_version(args.id, args.instrument_version)
    try:
        q = to_questionnaire(d, language=args.language)
    except FhirError as exc:
        raise UsageError(str(exc)) from exc
    text = json.dumps(q, indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    from scoring.cli.inputs import check_output

    check_output(None, args.output)
    args.output.write_text(text, encoding="utf-8")
    print(f"{d.id} {d.version} → {args.output} (Questionnaire {q['url']}|{q['version']})", file=sys.stderr)
    return EXIT_OK


def cmd_score(args: argparse.Namespace) -> int:
    import pandas as pd

    from scoring.cli.inputs import MAX_BAD_SHARE, BadInputError, check_output
    from scoring.cli.library_cmds import failures_path, library_from_args
    from scoring.engine.files import write_table

    _require()
    from scoring.fhir import read_responses, score_responses

    if args.output.suffix.lower() not in (".csv", ".xlsx"):
        raise UsageError(f"output must end in .csv or .xlsx, not {args.output.name!r}")
    if not args.input.exists():
        raise UsageError(f"no such file or folder: {args.input}")
    fpath = failures_path(args.output)
    check_output(args.input if args.input.is_file() else None, args.output, fpath)
    lib = library_from_args(args)
    frame, failures = read_responses(lib, args.input)
    scores, cell_failures = score_responses(lib, frame)
    bad_responses = failures[["file", "response"]].drop_duplicates()
    n_bad = len(bad_responses)
    total = n_bad + len(frame)
    if not failures.empty or not cell_failures.empty:
        for _, row in failures.head(10).iterrows():
            at = f", {row['link_id']}" if row["link_id"] else ""
            where = f"{row['file']} {row['response']}".strip()
            print(f"  {where}{at}: {row['message']} [{row['code']}] — {row['hint']}",
                  file=sys.stderr)
        if len(failures) > 10:
            print(f"  … {len(failures) - 10} more in {fpath}", file=sys.stderr)
        out = failures.copy()
        if not cell_failures.empty:
            extra = cell_failures.rename(columns={"item": "link_id"}).assign(
                hint="ignored; the response is scored without it")
            out = extra[out.columns] if out.empty else pd.concat([out, extra[out.columns]], ignore_index=True)
        write_table(out, fpath)
        print(f"{args.input}: {n_bad} of {total} response(s) not scored, {len(cell_failures)} answer(s) ignored by "
              f"the engine; see {fpath}", file=sys.stderr)
        if args.strict:
            print("strict mode: no scores written", file=sys.stderr)
            return EXIT_ERROR
        if total and n_bad / total > MAX_BAD_SHARE and not args.allow_bad:
            raise BadInputError(f"{args.input}: {n_bad} of {total} responses ({n_bad / total:.0%}) FAILED, more "
                                f"than {MAX_BAD_SHARE:.0%}; fix them, or pass --allow-bad to score the others")
    elif fpath.exists():
        fpath.unlink()  # a stale failures file from an earlier run would mislead
    if frame.empty:
        print(f"{args.input}: no response could be scored", file=sys.stderr)
        return EXIT_ERROR
    write_table(scores, args.output)
    print(f"{len(scores)} response(s) scored → {args.output}", file=sys.stderr)
    return EXIT_OK

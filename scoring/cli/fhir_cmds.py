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
                               help="questionnaire: write a Questionnaire; score: score QuestionnaireResponses; "
                                    "export: a patient's record as a Bundle")

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
    p.add_argument("--observations", type=Path, metavar="OUT.json",
                   help="also write the scores as FHIR Observations (one per response × scale: band, reliable "
                        "change between responses of one subject, derivedFrom QuestionnaireResponse/<id>) in a "
                        "transaction Bundle")
    add_definitions_option(p)
    p.set_defaults(func=cmd_score)

    p = fsub.add_parser("import", help="a FHIR Questionnaire as a definition draft (YAML with TODOs)",
                        description="Read a FHIR Questionnaire (.json; R4/R4B, or R5 itemWeight) into a definition "
                        "draft: items with their verbatim text, option sets with the item scores (ordinalValue/"
                        "itemWeight), LOINC codes, translations, enableWhen gates, and each score whose SDC "
                        "calculatedExpression is a plain sum of item scores. What FHIR cannot tell (citations, "
                        "bands, which way is worse, other scoring rules, the licence) is marked '# TODO' or "
                        "'TODO: …'; 'psyscore validate' reports each (E229) at its line until it is completed.")
    p.add_argument("input", type=Path, help="the Questionnaire .json file")
    p.add_argument("-o", "--output", type=Path,
                   help="the draft .yaml, or a folder to write <id>.yaml in (default: standard output)")
    p.set_defaults(func=cmd_import)

    p = fsub.add_parser("export", help="one patient's Questionnaires, responses and score Observations from the "
                                       "store as a FHIR transaction Bundle",
                        description="Write a stored patient's completed administrations as a FHIR R4 transaction "
                        "Bundle: the Questionnaires given, one QuestionnaireResponse per administration and one "
                        "Observation per administration × scale (score, band, reliable change). The Patient entry "
                        "carries no name, birth date, contact or record number: by default only a random reference "
                        "made for this export. The export is audited.")
    p.add_argument("patient", metavar="PATIENT", help="internal patient id, or an external id")
    p.add_argument("-o", "--output", type=Path, required=True, help="the Bundle, .json")
    p.add_argument("--subject", choices=["random", "internal", "pseudonym"], default=None,
                   help="how the Patient is identified: random (default; no identifier), internal (the store's "
                        "patient id), pseudonym (the --pseudonym text)")
    p.add_argument("--pseudonym", metavar="TEXT", help="the identifier to write (implies --subject pseudonym)")
    p.add_argument("--include-sex", action="store_true",
                   help="write the recorded sex as the Patient's gender (needed to re-score sex-specific rules)")
    p.add_argument("--db", metavar="URL",
                   help="database URL or SQLite file (default: $PSYSCORE_DATABASE_URL, else ./data/psyscore.db); "
                        "PostgreSQL: postgresql+psycopg://user@host/dbname")
    p.set_defaults(func=cmd_export)


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
    if args.observations is not None and args.observations.suffix.lower() != ".json":
        raise UsageError(f"--observations is a JSON Bundle: the name must end in .json, not "
                         f"{args.observations.name!r}")
    fpath = failures_path(args.output)
    check_output(args.input if args.input.is_file() else None, args.output, fpath,
                 *([args.observations] if args.observations is not None else []))
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
    if args.observations is not None:
        from scoring.fhir.bundle import observations_bundle

        result = observations_bundle(lib, frame)
        check_output(None, args.observations)  # creates a missing folder (and says so)
        args.observations.write_text(json.dumps(result.bundle, indent=2, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
        print(f"{result.observations} Observation(s) → {args.observations}", file=sys.stderr)
        if result.without_subject:
            print(f"  {result.without_subject} response(s) without a subject the Bundle can name (none, or a "
                  "urn: reference into the input): their Observations have no subject", file=sys.stderr)
        if result.without_source:
            print(f"  {result.without_source} response(s) without an id: their Observations have no derivedFrom",
                  file=sys.stderr)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from scoring.cli.inputs import check_output
    from scoring.cli.store_cmds import open_clinic
    from scoring.store import Actor, StoreError
    from scoring.store.fhir_export import SubjectMode, export_patient

    _require()
    if args.output.suffix.lower() != ".json":
        raise UsageError(f"the Bundle is JSON: the output must end in .json, not {args.output.name!r}")
    if args.pseudonym is not None and args.subject not in (None, "pseudonym"):
        raise UsageError(f"--pseudonym goes with --subject pseudonym, not --subject {args.subject}")
    subject: SubjectMode = "pseudonym" if args.pseudonym is not None else (args.subject or "random")
    if subject == "pseudonym" and not (args.pseudonym or "").strip():
        raise UsageError("--subject pseudonym needs --pseudonym TEXT (the identifier to write)")
    check_output(None, args.output)
    with open_clinic(args) as clinic:
        try:
            actor = Actor.system("cli")  # as every store command: whoever runs the CLI can read the database
            pid = int(args.patient) if args.patient.isdigit() else clinic.patients.find(actor, args.patient)
            bundle = export_patient(clinic, actor, pid,
                                    subject=subject, pseudonym=args.pseudonym, include_sex=args.include_sex)
        except StoreError as exc:
            raise UsageError(str(exc)) from exc
    args.output.write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    kinds: dict[str, int] = {}
    for entry in bundle.get("entry", []):
        kinds[entry["resource"]["resourceType"]] = kinds.get(entry["resource"]["resourceType"], 0) + 1
    print(", ".join(f"{n} {k}" for k, n in kinds.items()) + f" → {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    _require()
    from scoring.fhir.importer import read_questionnaire

    draft = read_questionnaire(args.input)
    summary = (f"{len(draft.todos)} TODO(s) to complete from the published source; 'psyscore validate' lists "
               "them (E229)")
    if args.output is None:
        sys.stdout.write(draft.text)
        print(f"{args.input} → draft {draft.file_name}: {summary}", file=sys.stderr)
        return EXIT_OK
    from scoring.cli.inputs import check_output

    out = args.output / draft.file_name if args.output.is_dir() else args.output
    check_output(args.input, out)
    out.write_text(draft.text, encoding="utf-8")
    print(f"{args.input} → {out}: {summary}", file=sys.stderr)
    if out.name.split(".")[0].split("@")[0] != draft.instrument_id:
        print(f"note: the draft defines id {draft.instrument_id!r}; psyscore validate expects it in a file named "
              f"{draft.file_name} (E222 otherwise)", file=sys.stderr)
    return EXIT_OK

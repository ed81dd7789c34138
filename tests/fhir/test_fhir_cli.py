"""``psyscore fhir questionnaire`` and ``psyscore fhir score``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from fhir.resources.R4B.questionnaire import Questionnaire

from scoring.definitions.library import Library
from tests.conftest import Cli
from tests.fhir.responses import bundle, response


def test_questionnaire_in_spanish_to_a_file(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "new" / "q.json"
    code, _, err = cli("fhir", "questionnaire", "phq9", "--language", "es", "-o", out)
    assert code == 0, err
    q = json.loads(out.read_text(encoding="utf-8"))
    Questionnaire.model_validate(q)
    assert q["language"] == "es" and "Questionnaire https://psyscore.org/fhir/Questionnaire/phq9|1.1.0" in err


def test_questionnaire_to_stdout_and_usage_errors(cli: Cli) -> None:
    code, out, _ = cli("fhir", "questionnaire", "gad7")
    assert code == 0 and json.loads(out)["resourceType"] == "Questionnaire"
    code, _, err = cli("fhir", "questionnaire", "gad7", "--language", "fr")
    assert code == 2 and "no 'fr' translation" in err
    code, _, err = cli("fhir", "questionnaire", "nope")
    assert code == 2


def _answers(library: Library, instrument: str, value: float) -> dict[str, float]:
    return dict.fromkeys([i.id for i in library[instrument].instrument.items], value)


def test_score_a_bundle_writes_scores_and_failures(cli: Cli, library: Library, tmp_path: Path) -> None:
    good = [response(library["phq9"], _answers(library, "phq9", 2.0), rid=f"ok{n}") for n in range(4)]
    bad = response(library["phq9"], _answers(library, "phq9", 2.0), rid="bad")
    bad["item"][0]["answer"] = [{"valueInteger": 5}]
    src = tmp_path / "bundle.json"
    src.write_text(json.dumps(bundle([*good, bad])), encoding="utf-8")
    out = tmp_path / "scores.csv"
    code, _, err = cli("fhir", "score", src, "-o", out)
    assert code == 0, err
    scores = pd.read_csv(out)
    assert scores["total"].tolist() == [18.0] * 4 and scores["instrument_id"].tolist() == ["phq9"] * 4
    failures = pd.read_csv(tmp_path / "scores.failures.csv")
    assert failures[["response", "link_id", "code"]].values.tolist() == [["entry 5 (bad)", "phq9_1", "not_an_option"]]
    assert "1 of 5 response(s) not scored" in err and "phq9_1" in err
    assert failures["file"].tolist() == [str(src)]
    code, _, err = cli("fhir", "score", src, "-o", tmp_path / "strict.csv", "--strict")
    assert code == 1 and not (tmp_path / "strict.csv").exists()


def test_score_refuses_when_too_many_responses_fail(cli: Cli, library: Library, tmp_path: Path) -> None:
    qr = response(library["phq9"], _answers(library, "phq9", 1.0))
    qr["questionnaire"] = "http://example.org/Questionnaire/x"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "qr.json").write_text(json.dumps(qr), encoding="utf-8")
    (tmp_path / "in" / "ok.json").write_text(json.dumps(response(library["gad7"], _answers(library, "gad7", 1.0))),
                                             encoding="utf-8")
    code, _, err = cli("fhir", "score", tmp_path / "in", "-o", tmp_path / "s.csv")
    assert code == 1 and "1 of 2 responses (50%) FAILED" in err and "--allow-bad" in err
    code, _, err = cli("fhir", "score", tmp_path / "in", "-o", tmp_path / "s.csv", "--allow-bad")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "s.csv")["total"].tolist() == [7.0]


def test_score_usage_errors(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("fhir", "score", tmp_path / "missing.json", "-o", tmp_path / "s.csv")
    assert code == 2 and "no such file or folder" in err
    src = tmp_path / "x.json"
    src.write_text("{}", encoding="utf-8")
    code, _, err = cli("fhir", "score", src, "-o", tmp_path / "s.txt")
    assert code == 2 and ".csv or .xlsx" in err
    code, _, err = cli("fhir", "score", src, "-o", tmp_path / "s.csv")
    assert code == 1 and "x.json: a JSON object without resourceType" in err and "1 of 1 responses" in err
    code, _, err = cli("fhir", "score", src, "-o", tmp_path / "s.csv", "--allow-bad")
    assert code == 1 and "no response could be scored" in err


def test_answers_the_engine_ignores_go_to_the_failures_file(cli: Cli, library: Library, tmp_path: Path) -> None:
    qr = response(library["phq15"], _answers(library, "phq15", 1.0), rid="m")
    qr["subject"] = {"reference": "Patient/p1"}
    b = bundle([qr])
    b["entry"].append({"resource": {"resourceType": "Patient", "id": "p1", "gender": "male"}})
    src = tmp_path / "b.json"
    src.write_text(json.dumps(b), encoding="utf-8")
    code, _, err = cli("fhir", "score", src, "-o", tmp_path / "s.csv")
    assert code == 0, err
    assert "0 of 1 response(s) not scored, 1 answer(s) ignored" in err
    failures = pd.read_csv(tmp_path / "s.failures.csv")
    assert failures[["file", "response", "link_id", "code"]].values.tolist() == [
        [str(src), "entry 1 (m)", "phq15_4", "not_applicable"]]
    assert pd.read_csv(tmp_path / "s.csv")["total_n_answered"].tolist() == [14]

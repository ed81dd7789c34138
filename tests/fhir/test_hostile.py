"""Bad FHIR input: one clear failure row per problem (file, response, linkId, value, why, how to fix), the
response left out of the frame — never scored with the bad answer dropped — and nothing crashes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from scoring.definitions.library import Library
from scoring.fhir import FAILURE_COLUMNS, read_responses
from scoring.fhir.responses import MAX_DEPTH, FhirInputError
from tests.fhir.responses import bundle, response


def _phq9(library: Library, **kw: Any) -> dict[str, Any]:
    d = library["phq9"]
    return response(d, dict.fromkeys([i.id for i in d.instrument.items], 1.0), **kw)


def _one_failure(library: Library, source: Any) -> dict[str, Any]:
    frame, failures = read_responses(library, source)
    assert frame.empty, "a response with a problem is never scored"
    assert tuple(failures.columns) == FAILURE_COLUMNS
    assert len(failures) == 1, failures.to_dict("records")
    row = failures.iloc[0].to_dict()
    assert row["message"] and row["hint"]
    return row


def test_unknown_questionnaire(library: Library) -> None:
    qr = _phq9(library)
    qr["questionnaire"] = "http://example.org/Questionnaire/phq9|1.0.0"
    row = _one_failure(library, qr)
    assert row["code"] == "unknown_questionnaire" and row["response"] == "r1"
    assert "example.org" in row["value"]


def test_missing_questionnaire_and_unknown_version(library: Library) -> None:
    qr = _phq9(library)
    del qr["questionnaire"]
    assert _one_failure(library, qr)["code"] == "no_questionnaire"
    qr = _phq9(library)
    qr["questionnaire"] = "https://psyscore.org/fhir/Questionnaire/phq9|9.9.9"
    row = _one_failure(library, qr)
    assert row["code"] == "unknown_version" and "known: 1.0.0" in row["message"]


def test_code_not_in_the_option_set(library: Library) -> None:
    qr = _phq9(library)
    qr["item"][2]["answer"] = [{"valueCoding": {"system": "https://psyscore.org/fhir/CodeSystem/phq9/frequency",
                                                "code": "7"}}]
    row = _one_failure(library, qr)
    assert (row["code"], row["link_id"]) == ("not_an_option", "phq9_3")
    assert "0, 1, 2, 3" in row["hint"] and '"7"' in row["value"]


def test_code_of_another_system_without_an_item_score(library: Library) -> None:
    qr = _phq9(library)
    qr["item"][0]["answer"] = [{"valueCoding": {"system": "http://loinc.org", "code": "LA6568-5"}}]
    row = _one_failure(library, qr)
    assert row["code"] == "not_an_option" and "http://loinc.org" in row["message"]


def test_code_and_item_score_that_disagree(library: Library) -> None:
    qr = _phq9(library)
    qr["item"][0]["answer"][0]["valueCoding"]["extension"] = [
        {"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 3}]
    assert _one_failure(library, qr)["code"] == "conflicting_answer"


def test_unknown_link_id(library: Library) -> None:
    qr = _phq9(library)
    qr["item"].append({"linkId": "phq9_11", "answer": [{"valueInteger": 1}]})
    row = _one_failure(library, qr)
    assert (row["code"], row["link_id"]) == ("unknown_link_id", "phq9_11")


@pytest.mark.parametrize(("answer", "code"), [
    ([{"valueString": "often"}], "unsupported_answer"),
    ([{"valueInteger": 4}], "not_an_option"),
    ([{"valueDecimal": 1.5}], "not_an_option"),
    ([{"valueInteger": True}], "not_an_option"),
    ([{"valueInteger": 1}, {"valueInteger": 2}], "several_answers"),
    ([{"valueCoding": "1"}], "bad_answer"),
])
def test_bad_answers(library: Library, answer: list, code: str) -> None:
    qr = _phq9(library)
    qr["item"][4]["answer"] = answer
    row = _one_failure(library, qr)
    assert (row["code"], row["link_id"]) == (code, "phq9_5")


def test_duplicate_link_id(library: Library) -> None:
    qr = _phq9(library)
    qr["item"].append(qr["item"][0])
    assert _one_failure(library, qr)["code"] == "duplicate_answer"


def test_entered_in_error(library: Library) -> None:
    qr = _phq9(library)
    qr["status"] = "entered-in-error"
    assert _one_failure(library, qr)["code"] == "entered_in_error"


def test_deep_nesting(library: Library) -> None:
    qr = _phq9(library)
    group: dict[str, Any] = {"linkId": "g0"}
    inner = group
    for n in range(1, MAX_DEPTH + 5):
        inner["item"] = [{"linkId": f"g{n}"}]
        inner = inner["item"][0]
    qr["item"].append(group)
    row = _one_failure(library, qr)
    assert row["code"] == "too_deep"


def test_items_wrapped_in_a_group_are_read(library: Library) -> None:
    qr = _phq9(library)
    qr["item"] = [{"linkId": "phq9-group", "item": qr["item"]}]
    frame, failures = read_responses(library, qr)
    assert failures.empty and frame["phq9_1"].tolist() == [1.0]


def test_malformed_json_and_wrong_types_in_a_folder(library: Library, tmp_path: Path) -> None:
    (tmp_path / "a_bad.json").write_text('{"resourceType": "QuestionnaireResponse", ', encoding="utf-8")
    (tmp_path / "b_patient.json").write_text(json.dumps({"resourceType": "Patient", "id": "x"}), encoding="utf-8")
    (tmp_path / "c_list.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "d_latin1.json").write_bytes('{"a": "é"}'.encode("latin-1"))
    (tmp_path / "e_deep.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    mixed = bundle([_phq9(library, rid="good"), {"resourceType": "Condition"}])
    mixed["entry"].append("not an entry")
    (tmp_path / "f_bundle.json").write_text(json.dumps(mixed), encoding="utf-8")
    frame, failures = read_responses(library, tmp_path)
    assert frame["response"].tolist() == ["entry 1 (good)"]
    got = [(Path(f).name, c) for f, c in zip(failures["file"], failures["code"], strict=True)]
    assert got == [("a_bad.json", "malformed_json"), ("b_patient.json", "wrong_resource_type"),
                   ("c_list.json", "wrong_resource_type"), ("d_latin1.json", "not_utf8"),
                   ("e_deep.json", "too_deep"), ("f_bundle.json", "wrong_resource_type"),
                   ("f_bundle.json", "wrong_resource_type")]
    assert "line 1" in failures["message"].iloc[0]
    assert failures.loc[5, "response"] == "entry 2" and "Condition" in failures.loc[5, "message"]


def test_one_bad_response_does_not_stop_the_others(library: Library) -> None:
    bad = _phq9(library, rid="bad")
    bad["item"][0]["answer"] = [{"valueInteger": 9}]
    frame, failures = read_responses(library, bundle([_phq9(library, rid="a"), bad, _phq9(library, rid="b")]))
    assert frame["response"].tolist() == ["entry 1 (a)", "entry 3 (b)"]
    assert failures["response"].tolist() == ["entry 2 (bad)"]


def test_no_such_source(library: Library, tmp_path: Path) -> None:
    with pytest.raises(FhirInputError, match="no such file or folder"):
        read_responses(library, tmp_path / "missing.json")


def test_empty_frame_has_the_columns(library: Library) -> None:
    frame, failures = read_responses(library, bundle([]))
    assert frame.empty and "response" in frame.columns
    assert failures["code"].tolist() == ["no_responses"]  # an empty Bundle is said, not read as nothing
    assert isinstance(frame, pd.DataFrame)

"""Scores → FHIR Observations and QuestionnaireResponses (scoring.fhir.observations / bundle).

Every shipped instrument: each Observation validates with fhir.resources' R4B model (re-read from JSON), its
value is the engine's score (:func:`scoring.score` on the same answers), its band the engine's band, LOINC only
where the definition has a code; the change components equal :func:`scoring.history`'s columns. The PHQ-9 change
case is the one documented in scoring.history (18 → 11 → 8: reliably improved, then recovered, with PHQ-9's
published cut-off of 10 and reliable-change threshold as the definition cites them).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.definitions.library import Definition, Library
from scoring.fhir import FhirError, read_responses, urls
from scoring.fhir.bundle import (
    Entry,
    new_reference,
    observations_bundle,
    response_id,
    to_questionnaire_response,
    transaction_bundle,
)
from scoring.fhir.observations import (
    COMPONENT_SYSTEM,
    SCORE_UNIT,
    band_code,
    band_system,
    fhir_date_time,
    scale_system,
    to_observations,
)
from tests.fhir.responses import bundle, random_answers, response

SUBJECT = "urn:uuid:7d1e4c1a-52a8-4f7e-9d36-1b0c54a4a001"


def _validate(resource: dict) -> None:
    from fhir.resources.R4B.observation import Observation

    Observation.model_validate_json(json.dumps(resource))  # what a receiver parses: the JSON text


def _latest(library: Library) -> list[Definition]:
    return [library[i] for i in sorted(library)]


def _component(obs: dict, code: str) -> dict | None:
    return next((c for c in obs.get("component", []) if c["code"]["coding"][0]["code"] == code), None)


def test_every_instrument_observations_validate_and_equal_the_engine(library: Library) -> None:
    rng = np.random.default_rng(12)
    checked = 0
    for d in _latest(library):
        answers = pd.DataFrame([random_answers(d, rng, missing=0.1 if k % 3 else 0.0) for k in range(6)])
        engine = scoring.score(d, answers).scores
        data = pd.concat([pd.DataFrame({"patient": ["a", "a", "a", "b", "b", "b"],
                                        "date": ["2025-01-06", "2025-02-03", "2025-03-03"] * 2,
                                        "instrument": d.id}), answers], axis=1)
        rows = scoring.history(library, data).frame
        refs = [f"QuestionnaireResponse/r{int(r)}" for r in rows["source_row"]]
        observations = to_observations(rows, d, subject=SUBJECT, derived_from=refs)
        assert len(observations) == len(rows) == len(answers) * len(d.instrument.scales)
        scales = {s.id: s for s in d.instrument.scales}
        for obs, row in zip(observations, rows.to_dict("records"), strict=True):
            _validate(obs)
            scale = scales[row["scale"]]
            r = int(row["source_row"])
            assert obs["status"] == "final" and obs["subject"] == {"reference": SUBJECT}
            assert obs["derivedFrom"] == [{"reference": f"QuestionnaireResponse/r{r}"}]
            codings = obs["code"]["coding"]
            loinc = [c["code"] for c in codings if c["system"] == urls.LOINC]
            assert loinc == ([scale.loinc] if scale.loinc else []), (d.id, scale.id)
            assert {"system": scale_system(d.id), "code": scale.id, "display": scale.name} in codings
            assert obs["method"]["coding"][0]["code"] == d.id
            assert obs["method"]["coding"][0]["version"] == d.version
            assert d.hash in obs["method"]["text"] and obs["meta"]["tag"][0]["code"] == d.hash
            expected = engine[scale.id].iloc[r]
            valid = bool(engine[f"{scale.id}_valid"].iloc[r])
            if valid and not math.isnan(expected):
                assert obs["valueQuantity"]["value"] == pytest.approx(float(expected), abs=1e-12), (d.id, scale.id)
                assert obs["valueQuantity"]["unit"] == obs["valueQuantity"]["code"] == SCORE_UNIT
                band = engine[f"{scale.id}_band"].iloc[r] if f"{scale.id}_band" in engine else None
                if isinstance(band, str):
                    assert obs["interpretation"][0]["coding"][0] == {
                        "system": band_system(d.id, scale.id), "code": band_code(band), "display": band}
                else:
                    assert "interpretation" not in obs
                checked += 1
            else:
                assert "valueQuantity" not in obs and "dataAbsentReason" in obs
                assert "interpretation" not in obs and "component" not in obs
    assert checked > 100


def test_phq9_change_components_are_the_history_columns(library: Library) -> None:
    data = pd.DataFrame({"patient": ["p"] * 3, "date": ["2024-01-08", "2024-02-05", "2024-03-04"],
                         "instrument": "phq9", "total": [18, 11, 8]})
    rows = scoring.history(library, data).frame
    obs = to_observations(rows, library["phq9"])
    assert [o["valueQuantity"]["value"] for o in obs] == [18, 11, 8]
    assert [o["interpretation"][0]["coding"][0]["code"] for o in obs] == ["moderately-severe", "moderate", "mild"]
    assert [o["effectiveDateTime"] for o in obs] == ["2024-01-08T00:00:00Z", "2024-02-05T00:00:00Z",
                                                     "2024-03-04T00:00:00Z"]
    assert _component(obs[0], "baseline-difference") is None  # the baseline has nothing to compare with
    assert _component(obs[0], "severity")["valueInteger"] == int(rows["severity"].iloc[0])
    for o, row in zip(obs[1:], rows.iloc[1:].to_dict("records"), strict=True):
        for which in ("baseline", "previous"):
            diff = _component(o, f"{which}-difference")
            assert diff["valueQuantity"]["value"] == row[f"{which}_difference"]
            assert diff["code"]["coding"][0]["system"] == COMPONENT_SYSTEM
            cls = _component(o, f"{which}-classification")["valueCodeableConcept"]["coding"][0]["code"]
            assert cls == row[f"{which}_classification"]
            rci = _component(o, f"{which}-rci")
            if pd.isna(row[f"{which}_rci"]):
                assert rci is None
            else:
                assert rci["valueQuantity"]["value"] == pytest.approx(row[f"{which}_rci"], abs=1e-4)
    assert _component(obs[2], "baseline-classification")["valueCodeableConcept"]["coding"][0]["code"] == "recovered"
    assert _component(obs[1], "previous-classification")["valueCodeableConcept"]["coding"][0]["code"] == \
        "reliably_improved"


def test_bad_rows_are_refused_with_the_reason(library: Library) -> None:
    data = pd.DataFrame({"patient": ["p"], "date": ["2024-01-08"], "instrument": "phq9", "total": [18]})
    rows = scoring.history(library, data).frame
    with pytest.raises(FhirError, match="rows of phq9 given with the definition of gad7"):
        to_observations(rows, library["gad7"])
    with pytest.raises(FhirError, match=r"lack the column.*band"):
        to_observations(rows.drop(columns=["band"]), library["phq9"])
    with pytest.raises(FhirError, match="derived_from has 2 values for 1 history rows"):
        to_observations(rows, library["phq9"], derived_from=["a", "b"])


def test_fhir_date_time() -> None:
    assert fhir_date_time("2026-01-05") == "2026-01-05"  # a date stays a date
    assert fhir_date_time("2026-01-05T10:11:12+02:00") == "2026-01-05T10:11:12+02:00"
    assert fhir_date_time(pd.Timestamp("2026-01-05 10:11:12")) == "2026-01-05T10:11:12Z"  # naive = UTC
    assert fhir_date_time(pd.Timestamp("2026-01-05 10:11:12.5", tz="Europe/Berlin")) == "2026-01-05T09:11:12.500000Z"
    assert fhir_date_time("5 Jan 2026") is None and fhir_date_time(None) is None and fhir_date_time(math.nan) is None


def test_questionnaire_responses_read_back_to_the_same_answers(library: Library) -> None:
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    rng = np.random.default_rng(5)
    for d in _latest(library):
        answers = [random_answers(d, rng, missing=0.2) for _ in range(3)]
        docs = [to_questionnaire_response(d, a, subject=SUBJECT, authored="2025-01-06") | {"id": f"r{k}"}
                for k, a in enumerate(answers)]
        for doc in docs:
            QuestionnaireResponse.model_validate_json(json.dumps(doc))
            assert doc["questionnaire"] == f"{urls.questionnaire_url(d.id)}|{d.version}"
            if d.instrument.licence.redistribution == "no_item_text":
                assert "display" not in json.dumps(doc)  # no proprietary option labels
        frame, failures = read_responses(library, bundle(docs))
        assert failures.empty, failures.to_dict("records")
        got = frame[list(d.plan.item_ids)].to_numpy(dtype=float)
        want = pd.DataFrame(answers)[list(d.plan.item_ids)].to_numpy(dtype=float)
        np.testing.assert_array_equal(got, want, err_msg=d.id)


def test_questionnaire_response_refuses_unknown_items_and_values(library: Library) -> None:
    with pytest.raises(FhirError, match=r"phq9 1.1.0 has no item phq9_99"):
        to_questionnaire_response(library["phq9"], {"phq9_99": 1})
    with pytest.raises(FhirError, match="phq9_1: 7 is not one of its option values"):
        to_questionnaire_response(library["phq9"], {"phq9_1": 7})


def test_transaction_bundle_checks_references() -> None:
    patient = new_reference()
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
           "subject": {"reference": patient}}
    b = transaction_bundle([Entry(patient, {"resourceType": "Patient"}), Entry(new_reference(), obs)])
    assert [e["request"] for e in b["entry"]] == [{"method": "POST", "url": "Patient"},
                                                  {"method": "POST", "url": "Observation"}]
    with pytest.raises(FhirError, match=r"refers to urn:uuid:.*which is not in the Bundle"):
        transaction_bundle([Entry(new_reference(), obs)])
    with pytest.raises(FhirError, match="two entries of the Bundle have the fullUrl"):
        transaction_bundle([Entry(patient, {"resourceType": "Patient"}), Entry(patient, {"resourceType": "Patient"})])


def test_response_id_reads_the_labels_of_read_responses(library: Library) -> None:
    d = library["phq9"]
    docs = [response(d, {"phq9_1": 1}, rid="abc-1"), response(d, {"phq9_1": 1}, rid="")]
    docs[1].pop("id")
    frame, _ = read_responses(library, bundle(docs))
    assert [response_id(r) for r in frame["response"]] == ["abc-1", None]
    frame, _ = read_responses(library, response(d, {"phq9_1": 1}, rid="r.7"))
    assert [response_id(r) for r in frame["response"]] == ["r.7"]


def test_observations_bundle_of_read_responses(library: Library) -> None:
    d = library["phq9"]
    first = response(d, dict.fromkeys(d.plan.item_ids, 2.0), rid="r1") | {
        "subject": {"reference": "Patient/p1"}, "authored": "2025-01-06"}
    later = response(d, dict.fromkeys(d.plan.item_ids, 0.0), rid="r2") | {
        "subject": {"reference": "Patient/p1"}, "authored": "2025-03-03T09:30:00Z"}
    inner = response(d, dict.fromkeys(d.plan.item_ids, 1.0), rid="r3") | {"subject": {"reference": "urn:uuid:x"}}
    frame, failures = read_responses(library, bundle([first, later, inner]))
    assert failures.empty
    result = observations_bundle(library, frame)
    assert (result.observations, result.without_subject, result.without_source) == (3, 1, 0)
    obs = [e["resource"] for e in result.bundle["entry"]]
    by_source = {o["derivedFrom"][0]["reference"]: o for o in obs}
    engine = scoring.score(d, frame[list(d.plan.item_ids)]).scores["total"].tolist()
    assert [by_source[f"QuestionnaireResponse/r{k}"]["valueQuantity"]["value"] for k in (1, 2, 3)] == engine
    assert by_source["QuestionnaireResponse/r2"]["effectiveDateTime"] == "2025-03-03T09:30:00Z"
    assert by_source["QuestionnaireResponse/r1"]["effectiveDateTime"] == "2025-01-06"
    assert by_source["QuestionnaireResponse/r2"]["subject"] == {"reference": "Patient/p1"}
    assert "subject" not in by_source["QuestionnaireResponse/r3"]  # a urn: into the input Bundle is not copied
    change = _component(by_source["QuestionnaireResponse/r2"], "previous-difference")
    assert change["valueQuantity"]["value"] == engine[1] - engine[0]  # the same subject, dated: change
    assert _component(by_source["QuestionnaireResponse/r3"], "previous-difference") is None
    assert all(e["request"] == {"method": "POST", "url": "Observation"} for e in result.bundle["entry"])


def test_fhir_score_observations_option(cli, library: Library, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fhir.resources.R4B.bundle import Bundle

    d = library["gad7"]
    docs = [response(d, dict.fromkeys(d.plan.item_ids, float(v)), rid=f"g{v}") | {
        "subject": {"reference": "Patient/p9"}, "authored": f"2025-0{v + 1}-01"} for v in (3, 1)]
    source = tmp_path / "in.json"
    source.write_text(json.dumps(bundle(docs)), encoding="utf-8")
    out = tmp_path / "obs" / "observations.json"
    code, _, err = cli("fhir", "score", source, "-o", tmp_path / "s.csv", "--observations", out)
    assert code == 0, err
    assert "2 Observation(s) →" in err
    doc = json.loads(out.read_text(encoding="utf-8"))
    Bundle.model_validate(doc)
    obs = [e["resource"] for e in doc["entry"]]
    scores = pd.read_csv(tmp_path / "s.csv")
    assert sorted(o["valueQuantity"]["value"] for o in obs) == sorted(scores["total"].tolist()) == [7, 21]
    later = next(o for o in obs if o["derivedFrom"] == [{"reference": "QuestionnaireResponse/g3"}])  # April
    assert _component(later, "previous-difference")["valueQuantity"]["value"] == 14
    code, _, err = cli("fhir", "score", source, "-o", tmp_path / "s.csv", "--observations", tmp_path / "o.csv")
    assert code == 2 and "must end in .json" in err

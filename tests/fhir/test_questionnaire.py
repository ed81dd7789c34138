"""Definition → FHIR R4 Questionnaire: valid R4B, SDC shape, codes only where the definition has them."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from scoring.definitions.library import Library
from scoring.fhir import FhirError, to_questionnaire, urls
from tests.support.shipped import shipped_library

IDS = sorted(shipped_library())


def _items(q: dict) -> dict[str, dict]:
    return {i["linkId"]: i for i in q["item"]}


@pytest.mark.parametrize("instrument", IDS)
def test_every_instrument_is_a_valid_r4b_questionnaire(library: Library, instrument: str) -> None:
    d = library[instrument]
    q = to_questionnaire(d)
    Questionnaire.model_validate(q)  # again, from the JSON-ready dict
    ins = d.instrument
    assert q["url"] == f"https://psyscore.org/fhir/Questionnaire/{ins.id}" and q["version"] == ins.version
    assert q["identifier"] == [{"system": urls.HASH_SYSTEM, "value": d.hash}]
    assert {"system": urls.HASH_SYSTEM, "code": d.hash} .items() <= q["meta"]["tag"][0].items()
    assert ins.copyright in q["copyright"] and ins.licence.statement in q["copyright"]
    items = _items(q)
    assert len(items) == len(q["item"]), "linkIds are unique"
    for item in ins.items:
        entry = items[item.id]
        assert entry["type"] == "choice"
        assert entry.get("code", []) == ([{"system": urls.LOINC, "code": item.loinc}] if item.loinc else [])
        oset = next(s for s in ins.option_sets if s.id == item.options)
        lo, hi = min(o.value for o in oset.options), max(o.value for o in oset.options)
        got = [(o["valueCoding"]["code"], o["valueCoding"]["extension"][0]["valueDecimal"])
               for o in entry["answerOption"]]
        want = [(urls.option_code(o.value), (lo + hi - o.value) if item.reverse else o.value) for o in oset.options]
        assert got == want
        assert all(o["valueCoding"]["system"] == urls.answer_system(ins.id, oset.id) for o in entry["answerOption"])
        assert ("enableWhen" in entry) == (item.shown_if is not None)
    for scale in ins.scales:
        entry = items[f"score.{scale.id}"]
        assert entry["readOnly"] is True
        assert entry.get("code", []) == ([{"system": urls.LOINC, "code": scale.loinc}] if scale.loinc else [])
    assert q.get("code", []) == ([{"system": urls.LOINC, "code": ins.loinc_panel}] if ins.loinc_panel else [])


@pytest.mark.parametrize("instrument", [i for i in IDS if shipped_library()[i].instrument.licence.redistribution
                                        == "no_item_text"])
def test_no_item_text_instruments_carry_descriptors_only(library: Library, instrument: str) -> None:
    d = library[instrument]
    q = to_questionnaire(d)
    items = _items(q)
    for item in d.instrument.items:
        assert items[item.id]["text"] == (item.descriptor or item.id)
        if item.text:
            assert item.text not in str(q)
    assert "no_item_text" in q["description"]


def test_phq9_in_spanish_with_english_as_translation(library: Library) -> None:
    d = library["phq9"]
    q = to_questionnaire(d, language="es")
    assert q["language"] == "es"
    item = _items(q)["phq9_1"]
    es = d.instrument.translations["es"]
    assert item["text"] == es.items["phq9_1"]
    ext = item["_text"]["extension"][0]
    assert ext["url"] == urls.TRANSLATION
    assert {e["url"]: next(v for k, v in e.items() if k.startswith("value")) for e in ext["extension"]} == {
        "lang": "en", "content": d.instrument.items[0].text}
    first = item["answerOption"][0]["valueCoding"]
    assert first["display"] == es.option_sets["frequency"][0]
    assert first["_display"]["extension"][0]["extension"][1]["valueString"] == "Not at all"
    english = to_questionnaire(d)
    exts = {e["extension"][0]["valueCode"]: e["extension"][1]["valueString"]
            for e in _items(english)["phq9_1"]["_text"]["extension"]}
    assert exts["es"] == es.items["phq9_1"]


def test_unknown_language_is_refused_naming_the_known_ones(library: Library) -> None:
    with pytest.raises(FhirError, match=r"no 'fr' translation \(languages: de, en, es\)"):
        to_questionnaire(library["gad7"], language="fr")


def test_gates_become_enable_when_on_the_opening_answers(library: Library) -> None:
    q = to_questionnaire(library["audit_c"])
    gated = _items(q)["audit_c_2"]
    opening = [c["answerCoding"]["code"] for c in gated["enableWhen"]]
    assert opening == ["1", "2", "3", "4"] and gated["enableBehavior"] == "any"
    assert all(c["question"] == "audit_c_1" and c["operator"] == "=" for c in gated["enableWhen"])
    single = _items(to_questionnaire(library["pc_ptsd5"]))["pc_ptsd5_1"]
    assert [c["answerCoding"]["code"] for c in single["enableWhen"]] == ["1"] and "enableBehavior" not in single


@pytest.mark.parametrize(("instrument", "scale", "why"), [
    ("core10", "total", "mean"), ("swemwbs", "total", "conversion table"), ("phq15", "total", "respondents")])
def test_rules_beyond_fhirpath_have_no_expression_and_say_why(library: Library, instrument: str, scale: str,
                                                               why: str) -> None:
    entry = _items(to_questionnaire(library[instrument]))[f"score.{scale}"]
    assert [e["url"] for e in entry["extension"]] == [urls.NOT_CALCULATED]
    assert why in entry["extension"][0]["valueString"]
    assert "Not calculated in the form" in entry["item"][0]["text"]


def test_import_scoring_does_not_import_the_fhir_libraries() -> None:
    import subprocess
    import sys

    code = ("import sys, scoring; scoring.load_library(); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('fhir', 'fhirpathpy', 'fhir_core') "
            "or m.startswith('scoring.fhir')]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

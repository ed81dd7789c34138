"""The tablet's message catalogues: every shipped language complete (same keys, same {placeholders}), the
check itself catches each kind of gap, no patient-facing literal left in the kiosk page, and the support
message configurable per language without invented phone numbers."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from scoring import messages

from .conftest import APP_DIR

KIOSK_PAGE = APP_DIR / "app_pages" / "kiosk.py"
RENDER = {"title", "header", "subheader", "markdown", "caption", "error", "info", "warning", "success", "button",
          "text", "write", "toast", "form_submit_button", "flash"}


def test_every_shipped_language_is_complete() -> None:
    assert {"en", "es"} <= set(messages.shipped_languages())
    assert messages.catalogue_problems() == []
    for code in messages.shipped_languages():
        assert messages.catalogue(code).keys() == messages.catalogue("en").keys()


def test_the_check_names_missing_extra_and_placeholder_mismatches(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    en = messages.catalogue("en")
    broken = dict(messages.catalogue("es"))
    del broken["thanks"]
    broken["surplus"] = "Sobra"
    broken["question"] = "Pregunta {k} de {total}"
    broken["finish"] = " "
    for code, data in (("en", en), ("xx", broken)):
        (tmp_path / f"{code}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(messages.resources, "files", lambda _pkg: tmp_path)
    messages._load.cache_clear()
    try:
        problems = messages.catalogue_problems()
    finally:
        messages._load.cache_clear()
    assert any("xx.json: key 'thanks' is missing" in p for p in problems)
    assert any("xx.json: key 'surplus' is not in en.json" in p for p in problems)
    assert any("xx.json: 'question' uses ['k', 'total'], English uses ['k', 'n']" in p for p in problems)
    assert any("xx.json: 'finish' is empty" in p for p in problems)
    assert len(problems) == 4


def test_message_lookup_and_fallback() -> None:
    assert messages.message("question", "es", k=2, n=9) == "Pregunta 2 de 9"
    assert messages.message("question", "es-US", k=2, n=9) == "Pregunta 2 de 9"
    assert messages.message("question", "de", k=2, n=9) == "Frage 2 von 9"
    assert messages.message("question", "sv", k=2, n=9) == "Question 2 of 9"  # not shipped: English whole
    with pytest.raises(KeyError):
        messages.message("no_such_key", "en")


def _literal_text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return ""


def test_no_patient_facing_literal_in_the_kiosk_page() -> None:
    tree = ast.parse(KIOSK_PAGE.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RENDER:
            args = list(node.args[:1]) + [k.value for k in node.keywords if k.arg in ("label", "body")]
            for arg in args:
                words = re.sub(r"<[^>]*>", " ", _literal_text(arg))  # markup is not text
                if re.search(r"[A-Za-zÀ-ÿ]{2,}", words):
                    found.append(f"line {node.lineno}: {words.strip()!r}")
    assert found == [], "patient-facing text outside the catalogue (use t(key, lang)): " + "; ".join(found)


def test_support_message_per_language_configurable_and_without_phone_numbers(tmp_path: Path) -> None:
    from ui.settings import load_settings

    for code in messages.shipped_languages():
        default = messages.message("support_default", code)
        assert not re.search(r"\d", default), f"{code}: a default must not name a phone number: {default}"
    cfg = load_settings({})
    assert cfg.support_message("es") == messages.message("support_default", "es")
    assert cfg.support_message("fr") == messages.message("support_default", "en")
    es_file = tmp_path / "crisis_es.txt"
    es_file.write_text("Línea de crisis de la clínica: 000 000 000\n", encoding="utf-8")
    cfg = load_settings({"PSYSCORE_KIOSK_SUPPORT_MESSAGE": "Clinic crisis line: 000 000 000",
                         "PSYSCORE_KIOSK_SUPPORT_FILE_ES": str(es_file)})
    assert cfg.support_message("en") == "Clinic crisis line: 000 000 000"
    assert cfg.support_message("es-US") == "Línea de crisis de la clínica: 000 000 000"

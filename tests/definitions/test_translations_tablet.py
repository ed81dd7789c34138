"""Translations of the tablet instruments (PHQ-9, GAD-7): every language is whole (stem, every item with text,
every option of the sets the items use), has no English left in it, records where its wording comes from,
and has the tablet's own words (scoring/messages/<code>.json) so no screen mixes two languages.

The German texts are pinned word for word to the official PHQ-D wording (Löwe, Spitzer, Zipfel & Herzog;
sources recorded in each definition's ``translations.de.source``): a changed letter is a changed
instrument and fails here before a patient reads it.
"""

from __future__ import annotations

import re

import pytest

from scoring import messages
from scoring.definitions.library import Library
from scoring.definitions.schema import Instrument

TABLET = ("phq9", "gad7")
#: the languages shipped for both tablet instruments
SHIPPED = ("es", "de")
#: English words of the stems, items and labels that no translation may keep
ENGLISH = re.compile(r"\b(the|of|or|and|you|your|days|not at all|nearly|every|feeling|trouble|difficult)\b",
                     re.IGNORECASE)

DE_FREQUENCY = {0: "Überhaupt nicht", 1: "An einzelnen Tagen", 2: "An mehr als der Hälfte der Tage",
                3: "Beinahe jeden Tag"}
DE_STEM = "Wie oft fühlten Sie sich im Verlauf der letzten 2 Wochen durch die folgenden Beschwerden beeinträchtigt?"


def _ins(library: Library, instrument_id: str) -> Instrument:
    return library[instrument_id].instrument


def _texts(ins: Instrument, lang: str) -> list[tuple[str, str]]:
    tr = ins.translations[lang]
    out = [("instructions", tr.instructions or "")] + [(f"items.{k}", v) for k, v in tr.items.items()]
    out += [(f"option_sets.{s}.{v}", label) for s, labels in tr.option_sets.items() for v, label in labels.items()]
    return out


@pytest.mark.parametrize("instrument_id", TABLET)
@pytest.mark.parametrize("lang", SHIPPED)
def test_every_item_option_and_instruction_is_translated(library: Library, instrument_id: str, lang: str) -> None:
    ins = _ins(library, instrument_id)
    assert lang in ins.translations, f"{instrument_id} has no {lang} translation"
    tr = ins.translations[lang]
    assert set(tr.items) == {i.id for i in ins.items if i.text is not None}
    for option_set in ins.option_sets:
        if any(i.options == option_set.id for i in ins.items):
            assert set(tr.option_sets[option_set.id]) == {int(o.value) for o in option_set.options}
    assert ins.instructions and tr.instructions
    assert all(text.strip() == text and text for _, text in _texts(ins, lang))


@pytest.mark.parametrize("instrument_id", TABLET)
@pytest.mark.parametrize("lang", SHIPPED)
def test_no_english_left(library: Library, instrument_id: str, lang: str) -> None:
    ins = _ins(library, instrument_id)
    english = {ins.instructions, *(i.text for i in ins.items), *(o.label for s in ins.option_sets for o in s.options)}
    left = [(where, text) for where, text in _texts(ins, lang) if text in english or ENGLISH.search(text)]
    assert left == [], f"{instrument_id} {lang}: English text left: {left}"


@pytest.mark.parametrize("instrument_id", TABLET)
@pytest.mark.parametrize("lang", SHIPPED)
def test_source_is_recorded_and_the_tablet_speaks_the_language(library: Library, instrument_id: str,
                                                                lang: str) -> None:
    tr = _ins(library, instrument_id).translations[lang]
    assert "phqscreeners.com" in tr.source and len(tr.source) > 200  # where it comes from and how it was checked
    assert lang in messages.shipped_languages() and messages.catalogue_problems() == []


def test_german_phq9_is_the_official_wording(library: Library) -> None:
    tr = _ins(library, "phq9").translations["de"]
    assert tr.instructions == DE_STEM
    assert dict(tr.option_sets["frequency"]) == DE_FREQUENCY
    assert dict(tr.option_sets["difficulty"]) == {0: "Überhaupt nicht erschwert", 1: "Etwas erschwert",
                                                  2: "Relativ stark erschwert", 3: "Sehr stark erschwert"}
    assert tr.items["phq9_1"] == "Wenig Interesse oder Freude an Ihren Tätigkeiten"
    assert tr.items["phq9_2"] == "Niedergeschlagenheit, Schwermut oder Hoffnungslosigkeit"
    assert tr.items["phq9_3"] == "Schwierigkeiten ein- oder durchzuschlafen oder vermehrter Schlaf"
    assert tr.items["phq9_8"].startswith("Waren Ihre Bewegungen oder Ihre Sprache so verlangsamt, dass es auch "
                                         "anderen auffallen würde? Oder waren Sie im Gegenteil „zappelig“")
    # the critical item: an alert is raised on it, its wording must be the validated one
    assert tr.items["phq9_9"] == "Gedanken, dass Sie lieber tot wären oder sich Leid zufügen möchten"


def test_german_gad7_is_the_official_wording_and_shares_the_phq_stem_and_labels(library: Library) -> None:
    tr = _ins(library, "gad7").translations["de"]
    assert tr.instructions == DE_STEM and dict(tr.option_sets["frequency"]) == DE_FREQUENCY
    assert [tr.items[f"gad7_{k}"] for k in range(1, 8)] == [
        "Nervosität, Ängstlichkeit oder Anspannung",
        "Nicht in der Lage sein, Sorgen zu stoppen oder zu kontrollieren",
        "Übermäßige Sorgen bezüglich verschiedener Angelegenheiten",
        "Schwierigkeiten zu entspannen",
        "Rastlosigkeit, so dass Stillsitzen schwer fällt",
        "Schnelle Verärgerung oder Gereiztheit",
        "Gefühl der Angst, so als würde etwas Schlimmes passieren",
    ]


@pytest.mark.parametrize(("instrument_id", "before", "after"), [("phq9", "1.0.0", "1.1.0"), ("gad7", "1.1.0", "1.2.0")])
def test_adding_german_was_a_new_version_and_the_old_one_stays(library: Library, instrument_id: str, before: str,
                                                               after: str) -> None:
    a = library.get_version(instrument_id, before).instrument
    b = library.get_version(instrument_id, after).instrument
    assert "de" not in a.translations and "de" in b.translations
    assert dict(a.translations) == {k: v for k, v in b.translations.items() if k != "de"}
    assert a.model_dump(exclude={"version", "translations"}) == b.model_dump(exclude={"version", "translations"})

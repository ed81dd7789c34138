"""Patient-facing text of the tablet: one message catalogue per language (``<code>.json`` in this folder).

English is the reference catalogue. :func:`catalogue_problems` lists, for every shipped language, the keys
that are missing or extra and the messages whose ``{placeholders}`` differ from English, so a test (and
``check``) fails before a patient sees a half-translated screen. :func:`message` falls back to English for
a language that is not shipped — never key by key within a shipped language, since every shipped
catalogue is complete.
"""

from __future__ import annotations

import json
import string
from functools import cache
from importlib import resources

REFERENCE = "en"


@cache
def _load(code: str) -> dict[str, str]:
    path = resources.files(__package__).joinpath(f"{code}.json")
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"scoring/messages/{code}.json: every entry must be \"key\": \"text\"")
    return data


def shipped_languages() -> tuple[str, ...]:
    """Language codes with a catalogue, English first."""
    codes = sorted(p.name.removesuffix(".json") for p in resources.files(__package__).iterdir()
                   if p.name.endswith(".json"))
    return (REFERENCE, *(c for c in codes if c != REFERENCE))


def catalogue(code: str) -> dict[str, str]:
    """The whole catalogue of ``code`` (a copy). Raises ``KeyError`` when the language is not shipped."""
    if code not in shipped_languages():
        raise KeyError(code)
    return dict(_load(code))


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a message formats."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def catalogue_problems() -> list[str]:
    """Every difference of a shipped catalogue from English (empty when all are complete)."""
    ref = _load(REFERENCE)
    problems: list[str] = []
    for code in shipped_languages()[1:]:
        other = _load(code)
        problems += [f"{code}.json: key {k!r} is missing (English: {ref[k]!r})" for k in sorted(ref.keys() - other)]
        problems += [f"{code}.json: key {k!r} is not in en.json" for k in sorted(other.keys() - ref)]
        for k in sorted(ref.keys() & other.keys()):
            if placeholders(ref[k]) != placeholders(other[k]):
                problems.append(f"{code}.json: {k!r} uses {sorted(placeholders(other[k]))}, English uses "
                                f"{sorted(placeholders(ref[k]))}")
            if not other[k].strip():
                problems.append(f"{code}.json: {k!r} is empty")
    return problems


def resolve_language(language: str | None) -> str:
    """The shipped catalogue used for ``language`` (``es-US`` → ``es``; English when not shipped)."""
    base = (language or REFERENCE).split("-")[0].lower()
    return base if base in shipped_languages() else REFERENCE


def message(key: str, language: str | None = REFERENCE, **values: object) -> str:
    """The text of ``key`` in ``language``, formatted with ``values``. Raises ``KeyError`` for an unknown key."""
    return _load(resolve_language(language))[key].format(**values)


#: Each language named in itself, as the language buttons show it (the same in every catalogue).
ENDONYMS: dict[str, str] = {"en": "English", "es": "Español", "de": "Deutsch", "fr": "Français", "it": "Italiano",
                            "pt": "Português", "nl": "Nederlands", "pl": "Polski", "tr": "Türkçe",
                            "uk": "Українська", "ar": "العربية"}

#: Languages written right to left (ISO 639-1): their screens are laid out from the right.
RTL_LANGUAGES: frozenset[str] = frozenset({"ar", "fa", "he", "ur"})


def is_rtl(language: str | None) -> bool:
    """True when ``language`` (``ar``, ``ar-EG`` …) is written right to left."""
    return (language or "").split("-")[0].lower() in RTL_LANGUAGES

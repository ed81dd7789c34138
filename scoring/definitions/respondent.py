"""Respondent attributes every stage reads the same way: recorded sex and age in completed years.

One list of sex codes (:data:`SEX_WORDS`) and one age rule (:func:`age_in_completed_years`) serve the
engine (sex-specific cut-offs, item applicability), the norms (strata), the store (patients' records,
the kiosk), the export (anonymised codes) and the reports. Nothing else may keep its own copy: tests
check every consumer against these.

Sex
    Text, compared ignoring case and surrounding spaces. ``female`` is ``f``, ``female``, ``w``,
    ``woman``, ``women``; ``male`` is ``m``, ``male``, ``man``, ``men``; ``other`` is ``o``, ``other``,
    ``x``, ``d``, ``diverse``, ``intersex``, ``nonbinary``, ``non-binary``, ``non binary``. Not recorded:
    an empty cell, ``unknown``, ``u``, ``na``, ``n/a``, ``not stated``, ``not recorded``. Anything else
    is refused — in particular numbers: 1 and 2 mean different sexes in different data sets, so
    numeric codings are never guessed. Sex-specific rules (cut-offs, applicability, norm strata) know
    ``female`` and ``male``; for ``other`` and not recorded they are unknown.
Age
    Completed years at a date: someone born on 29 February turns a year older on 1 March in common years.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import pandas as pd

from scoring.errors import PsyscoreError

__all__ = [
    "SEX_CODES",
    "SEX_WORDS",
    "Sex",
    "SexValueError",
    "age_in_completed_years",
    "completed_years",
    "parse_sex",
    "sex_codes",
]


class Sex(StrEnum):
    """Recorded sex, as stored (``"female"``, ``"male"``, ``"other"``)."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class SexValueError(PsyscoreError, ValueError):
    """A recorded sex that is not one of :data:`SEX_WORDS`."""


#: every accepted spelling (lower case, spaces trimmed) → the sex it records; ``None`` = not recorded
SEX_WORDS: Mapping[str, Sex | None] = MappingProxyType({
    "f": Sex.FEMALE, "female": Sex.FEMALE, "w": Sex.FEMALE, "woman": Sex.FEMALE, "women": Sex.FEMALE,
    "m": Sex.MALE, "male": Sex.MALE, "man": Sex.MALE, "men": Sex.MALE,
    "o": Sex.OTHER, "other": Sex.OTHER, "x": Sex.OTHER, "d": Sex.OTHER, "diverse": Sex.OTHER,
    "intersex": Sex.OTHER, "nonbinary": Sex.OTHER, "non-binary": Sex.OTHER, "non binary": Sex.OTHER,
    "": None, "unknown": None, "u": None, "na": None, "n/a": None, "not stated": None, "not recorded": None,
})

#: integer codes of the export and the vectorised stages; 0 = not recorded
SEX_CODES: Mapping[Sex, int] = MappingProxyType({Sex.FEMALE: 1, Sex.MALE: 2, Sex.OTHER: 3})

_HINT = "use female (f, w, woman), male (m, man), other (x, diverse) or leave it empty when not recorded"


def _is_blank(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value  # NaN


def parse_sex(value: object) -> Sex | None:
    """The recorded sex of ``value``; ``None`` when not recorded. Refuses anything not in :data:`SEX_WORDS`.

    >>> parse_sex(" W "), parse_sex("male"), parse_sex(""), parse_sex(None)
    (<Sex.FEMALE: 'female'>, <Sex.MALE: 'male'>, None, None)
    >>> parse_sex(1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scoring.definitions.respondent.SexValueError: sex 1 is not a recognised value (numeric codings are not ...
    """
    if isinstance(value, Sex):
        return value
    if _is_blank(value):
        return None
    if not isinstance(value, str):
        raise SexValueError(f"sex {value!r} is not a recognised value (numeric codings are not guessed); {_HINT}")
    key = value.strip().lower()
    if key not in SEX_WORDS:
        raise SexValueError(f"sex {value!r} is not a recognised value; {_HINT}")
    return SEX_WORDS[key]


_WORD_CODES: Mapping[str, int] = MappingProxyType(
    {w: (0 if s is None else SEX_CODES[s]) for w, s in SEX_WORDS.items()})


def sex_codes(values: pd.Series | np.ndarray | list[object]) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`parse_sex`: int8 codes (0 not recorded, 1 female, 2 male, 3 other) and a mask of
    refused cells (code 0; the caller reports them by position — their content may identify someone).

    >>> codes, bad = sex_codes(pd.Series(["F", "man", None, "x", "1", 2]))
    >>> codes.tolist(), bad.tolist()
    ([1, 2, 0, 3, 0, 0], [False, False, False, False, True, True])
    """
    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object)
    s = s.reset_index(drop=True)
    blank = s.isna().to_numpy(dtype=bool)
    is_text = s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    text = s.where(is_text, "").astype(str).str.strip().str.lower()
    mapped = text.map(_WORD_CODES)
    known = mapped.notna().to_numpy(dtype=bool) & is_text
    codes = np.where(known, mapped.fillna(0).to_numpy(dtype=np.int64), 0).astype(np.int8)
    bad = ~known & ~blank
    return codes, bad


def _as_date(value: date | datetime | str | pd.Timestamp, name: str) -> date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ValueError(f"{name} {value!r} is not a date; give it as YYYY-MM-DD")


def age_in_completed_years(birth: date | datetime | str | pd.Timestamp,
                           on: date | datetime | str | pd.Timestamp) -> int:
    """Age in completed years on the day ``on`` for someone born on ``birth``.

    Raises :class:`ValueError` when ``on`` is before ``birth`` or a value is not a date.

    >>> age_in_completed_years(date(2000, 2, 29), date(2023, 2, 28)), age_in_completed_years("2000-02-29", "2023-03-01")
    (22, 23)
    """
    b = _as_date(birth, "date of birth")
    d = _as_date(on, "date")
    if d < b:
        raise ValueError(f"the date {d.isoformat()} is before the date of birth; check the date of birth")
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def _dates(col: pd.Series | np.ndarray | list[object]) -> pd.Series:
    s = col if isinstance(col, pd.Series) else pd.Series(col)
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.reset_index(drop=True)
    return pd.to_datetime(s.astype(object).where(s.notna(), None), errors="coerce",
                          format="ISO8601").reset_index(drop=True)


def completed_years(birth: pd.Series | np.ndarray | list[object],
                    on: pd.Series | np.ndarray | list[object]) -> np.ndarray:
    """Vectorised :func:`age_in_completed_years`: float years, NaN where a date is missing, unreadable or
    ``on`` is before ``birth``. Dates are datetime values or ISO 8601 text (``2024-03-01``).

    >>> completed_years(pd.Series(["1990-06-15", "2000-02-29"]), pd.Series(["2024-06-14", "2023-03-01"]))
    array([33., 23.])
    """
    b = _dates(birth)
    d = _dates(on)
    years = (d.dt.year - b.dt.year).to_numpy(dtype=float, na_value=np.nan)
    before = (d.dt.month < b.dt.month) | ((d.dt.month == b.dt.month) & (d.dt.day < b.dt.day))
    years = years - before.to_numpy(dtype=float, na_value=np.nan)
    years[years < 0] = np.nan
    return years

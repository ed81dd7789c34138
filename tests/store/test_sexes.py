"""The stored sex codes have one source (the respondent module), and the model's CHECK constraint still says
exactly what migration 0001 created, so deriving them changed no database schema."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import CheckConstraint

import scoring.store
from scoring.definitions.respondent import SEX_CODES, SEX_WORDS, Sex
from scoring.store.models import SEXES, Patient

MIGRATION_0001 = Path(scoring.store.__file__).parent / "migrations" / "versions" / "0001_initial_schema.py"


def _model_sex_check() -> str:
    checks = [c for c in Patient.__table__.constraints
              if isinstance(c, CheckConstraint) and str(c.name).endswith("sex")]
    assert len(checks) == 1, checks
    return str(checks[0].sqltext)  # the text it was built from


def test_sexes_are_the_respondent_codes_in_order() -> None:
    assert SEXES == tuple(s.value for s in Sex) == ("female", "male", "other")
    assert set(SEXES) == {s.value for s in SEX_CODES} == {s.value for s in SEX_WORDS.values() if s is not None}


def test_check_constraint_is_byte_identical_to_migration_0001() -> None:
    written = re.findall(r'CheckConstraint\("(sex IN \([^"]*\))", name=op\.f\("ck_patients_sex"\)\)',
                         MIGRATION_0001.read_text(encoding="utf-8"))
    assert written == ["sex IN ('female', 'male', 'other')"]
    assert _model_sex_check() == written[0]


def test_check_constraint_lists_exactly_the_respondent_codes() -> None:
    match = re.fullmatch(r"sex IN \((.*)\)", _model_sex_check())
    assert match is not None
    assert tuple(v.strip().strip("'") for v in match.group(1).split(",")) == tuple(s.value for s in Sex)

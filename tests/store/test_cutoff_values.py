"""The cut-point in effect is recorded with every stored result, and rescoring uses it (issue 14, migration 0012).

PCL-5 2.0.0's ``probable_ptsd`` has the published range 31-33 (Bovin et al. 2016) and the chosen value 33; a
deployment chose 31 (``PSYSCORE_CUTOFFS=pcl5.total.probable_ptsd=31``). Items 1-16 at 2 and 17-20 at 0 give 32:
met at 31, not at 33. Runs on SQLite and PostgreSQL (tests/store/conftest.py).
"""

from __future__ import annotations

from sqlalchemy import select, update

from scoring.definitions.library import Library, Settings, load_library
from scoring.store import Clinic, password_hasher
from scoring.store.models import Administration, Score

ANSWERS_32 = {f"pcl5_{i}": (2 if i <= 16 else 0) for i in range(1, 21)}


def _library_at_31() -> Library:
    lib = load_library(settings=Settings.from_env({"PSYSCORE_CUTOFFS": "pcl5.total.probable_ptsd=31"}))
    assert lib.report.ok, str(lib.report)
    return lib


def _stored(clinic: Clinic, administration_id: int) -> tuple[dict | None, dict | None, dict | None]:
    with clinic.store.read() as s:
        adm = s.get(Administration, administration_id)
        row = s.scalar(select(Score).where(Score.administration_id == administration_id, Score.scale_id == "total"))
        assert adm is not None and row is not None
        return adm.cutoff_values, row.cutoff_values, row.cutoffs


def test_the_deployments_cut_point_is_stored_and_rescoring_keeps_it(clinic: Clinic, therapist, patient: int) -> None:
    at_31 = Clinic(clinic.store, _library_at_31(), hasher=password_hasher(fast=True))
    done = at_31.administrations.record(therapist, patient, "pcl5", ANSWERS_32)
    total = next(sc for sc in done.scores if sc.scale_id == "total")
    assert (total.value, total.cutoffs, total.cutoff_values) == (32.0, {"probable_ptsd": True}, {"probable_ptsd": 31.0})
    assert _stored(at_31, done.administration_id) == (
        {"total.probable_ptsd": 31.0}, {"probable_ptsd": 31.0}, {"probable_ptsd": True})

    # the same store under the definition's own value (33): new results at 33, the old one rescored at its 31
    default = clinic.administrations.record(therapist, patient, "pcl5", ANSWERS_32)
    assert _stored(clinic, default.administration_id) == (
        {"total.probable_ptsd": 33.0}, {"probable_ptsd": 33.0}, {"probable_ptsd": False})
    assert clinic.rescore_check().ok
    assert at_31.rescore_check().ok


def test_a_cut_point_changed_in_the_database_is_a_rescore_mismatch(clinic: Clinic, therapist, patient: int) -> None:
    done = clinic.administrations.record(therapist, patient, "pcl5", ANSWERS_32)
    with clinic.store.write() as s:
        s.execute(update(Score).where(Score.administration_id == done.administration_id, Score.scale_id == "total")
                  .values(cutoff_values={"probable_ptsd": 32.0}))
    report = clinic.rescore_check()
    assert [m.field for m in report.mismatches] == ["total.cutoff_values"]
    assert (report.mismatches[0].stored, report.mismatches[0].recomputed) == (
        {"probable_ptsd": 32.0}, {"probable_ptsd": 33.0})


def test_an_instrument_without_a_range_records_nothing(clinic: Clinic, therapist, patient: int) -> None:
    done = clinic.administrations.record(therapist, patient, "phq2", {"phq2_1": 2, "phq2_2": 1})
    assert _stored(clinic, done.administration_id)[:2] == (None, None)
    assert all(sc.cutoff_values == {} for sc in done.scores)

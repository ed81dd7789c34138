"""What the research export may read: non-identifying tables plus derived demographics.

:class:`ResearchSource` reads only the tables in :data:`EXPORTABLE_TABLES` — never
``patient_identifiers``, ``events`` (free text), alert notes or the audit log — and returns the internal
patient id (a pseudonymous integer, to be replaced by the export's surrogate or HMAC), sex, year of
birth and the age in whole years at the administration (derived when the administration was created).
Banding (ages over 89 → "90+", k-anonymity) is the export's job. Each read is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from scoring.definitions.library import Definition
from scoring.store import audit
from scoring.store.audit import Actor
from scoring.store.context import Context
from scoring.store.models import Administration, Patient, Score, StoredDefinition
from scoring.store.results import current_answers

#: The only tables the export reads (tests assert that the queries touch nothing else).
EXPORTABLE_TABLES = ("patients", "administrations", "answers", "scores", "definitions")
#: Columns of :meth:`ResearchSource.administrations` before the item and score columns.
BASE_COLUMNS = ("patient_id", "administration_id", "instrument_id", "instrument_version", "instrument_hash",
                "language", "started_at", "completed_at", "age_years", "sex", "birth_year")
SCORE_SUFFIXES = ("band", "severity", "valid", "prorated", "n_answered")
READERS = ("admin", "researcher")


@dataclass(frozen=True)
class InstrumentCount:
    instrument_id: str
    version: str
    hash: str
    administrations: int


class ResearchSource:
    """Read access for the export engine. Obtain from :attr:`scoring.store.Clinic.research`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def instruments(self, actor: Actor) -> list[InstrumentCount]:
        """Instrument versions with completed administrations."""
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, READERS)
            rows = s.execute(select(Administration.instrument_id, Administration.instrument_version,
                                    Administration.instrument_hash, func.count())
                             .where(Administration.status == "completed")
                             .group_by(Administration.instrument_id, Administration.instrument_version,
                                       Administration.instrument_hash)
                             .order_by(Administration.instrument_id, Administration.instrument_version))
            return [InstrumentCount(*r) for r in rows]

    def definition(self, actor: Actor, instrument_id: str, version: str) -> Definition:
        """The pinned definition an administration was given under (for the codebook)."""
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, READERS)
            return self._ctx.pinned.get(s, instrument_id, version)

    def administrations(self, actor: Actor, instrument_id: str, *, version: str | None = None,
                        completed_from: datetime | None = None, completed_to: datetime | None = None,
                        purpose: str = "export") -> pd.DataFrame:
        """Completed administrations of one instrument: one row each, wide.

        Columns: :data:`BASE_COLUMNS`, then one float column per item of the pinned definition (the current
        answer; NaN = unanswered), then per scale ``<scale>`` and ``<scale>_band``, ``_severity``,
        ``_valid``, ``_prorated``, ``_n_answered`` from the stored scores. Rows of several versions are
        stacked (item columns are the union, in order). The read is audited with its filters and row count.
        """
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_user(s, actor, READERS)
            q = (select(Administration.patient_id, Administration.id, Administration.instrument_id,
                        Administration.instrument_version, Administration.instrument_hash, Administration.language,
                        Administration.started_at, Administration.completed_at, Administration.age_years,
                        Administration.respondent_sex, Patient.birth_year)
                 .join(Patient, Patient.id == Administration.patient_id)
                 .where(Administration.status == "completed", Administration.instrument_id == instrument_id)
                 .order_by(Administration.patient_id, Administration.completed_at, Administration.id))
            if version is not None:
                q = q.where(Administration.instrument_version == version)
            if completed_from is not None:
                q = q.where(Administration.completed_at >= completed_from)
            if completed_to is not None:
                q = q.where(Administration.completed_at < completed_to)
            base = pd.DataFrame.from_records(s.execute(q).all(), columns=list(BASE_COLUMNS))
            ids = [int(i) for i in base["administration_id"]]
            items: list[str] = []
            scales: list[str] = []
            versions = sorted(set(base["instrument_version"]))
            for v in versions:
                stored = s.get(StoredDefinition, (instrument_id, v))
                if stored is None:
                    continue
                d = self._ctx.pinned.from_row(stored)
                items += [i for i in d.plan.item_ids if i not in items]
                scales += [sp.id for sp in d.plan.scales if sp.id not in scales]
            answers = current_answers(s, ids)
            matrix = np.full((len(ids), len(items)), np.nan)
            pos = {item: k for k, item in enumerate(items)}
            for r, adm_id in enumerate(ids):
                for item, value in answers[adm_id].items():
                    if value is not None and item in pos:
                        matrix[r, pos[item]] = value
            score_rows = s.execute(select(Score.administration_id, Score.scale_id, Score.value, Score.band,
                                          Score.severity, Score.valid, Score.prorated, Score.n_answered)
                                   .where(Score.administration_id.in_(ids))).all() if ids else []
            audit.record(s, now, actor, "export_read", object_type="instrument", object_id=instrument_id,
                         detail={"purpose": purpose, "version": version, "rows": len(ids),
                                 "from": completed_from.isoformat() if completed_from else None,
                                 "to": completed_to.isoformat() if completed_to else None})
        out = pd.concat([base, pd.DataFrame(matrix, columns=items, index=base.index)], axis=1)
        row_of = {adm_id: r for r, adm_id in enumerate(ids)}
        cols: dict[str, list[object]] = {}
        for scale in scales:
            cols[scale] = [np.nan] * len(ids)
            for suffix in SCORE_SUFFIXES:
                cols[f"{scale}_{suffix}"] = [None] * len(ids)
        for adm_id, scale_id, value, band, severity, valid, prorated, n_answered in score_rows:
            r = row_of[adm_id]
            cols[scale_id][r] = np.nan if value is None else value
            for suffix, v in zip(SCORE_SUFFIXES, (band, severity, valid, prorated, n_answered), strict=True):
                cols[f"{scale_id}_{suffix}"][r] = v
        scores = pd.DataFrame(cols, index=base.index)
        for scale in scales:
            scores[scale] = scores[scale].astype(float)
            scores[f"{scale}_severity"] = scores[f"{scale}_severity"].astype("Int64")
            scores[f"{scale}_n_answered"] = scores[f"{scale}_n_answered"].astype("Int64")
            scores[f"{scale}_valid"] = scores[f"{scale}_valid"].astype("boolean")
            scores[f"{scale}_prorated"] = scores[f"{scale}_prorated"].astype("boolean")
        out = pd.concat([out, scores], axis=1)
        for col in ("age_years", "birth_year"):
            out[col] = out[col].astype("Int64")
        return out

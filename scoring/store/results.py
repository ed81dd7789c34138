"""Scoring stored answers with the pinned definition, storing scores, and checking them by rescoring.

Scores are derived data: :func:`rescore_check` recomputes every stored score from the raw answers with
the definition each administration was given under and lists every difference.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scoring._version import __version__
from scoring.definitions.library import Definition
from scoring.engine import ScoreResult, score
from scoring.store.definitions import PinnedDefinitions
from scoring.store.models import Administration, Answer, Score, StoredDefinition


@dataclass(frozen=True)
class ScaleScore:
    """One stored scale score of one administration."""

    scale_id: str
    value: float | None
    band: str | None
    severity: int | None
    n_answered: int
    prorated: bool
    valid: bool
    reason: str | None
    cutoffs: dict[str, bool | None] = field(default_factory=dict)
    #: the cut-point in effect of each cut-off with a published range (``<scale>_<cutoff>_value``)
    cutoff_values: dict[str, float] = field(default_factory=dict)


def current_answers(session: Session, administration_ids: Sequence[int]) -> dict[int, dict[str, float | None]]:
    """The latest revision of every answered item, per administration (None = cleared)."""
    if not administration_ids:
        return {}
    latest = (select(Answer.administration_id, Answer.item_id, func.max(Answer.revision).label("rev"))
              .where(Answer.administration_id.in_(administration_ids))
              .group_by(Answer.administration_id, Answer.item_id).subquery())
    rows = session.execute(
        select(Answer.administration_id, Answer.item_id, Answer.value)
        .join(latest, (Answer.administration_id == latest.c.administration_id)
              & (Answer.item_id == latest.c.item_id) & (Answer.revision == latest.c.rev))
    )
    out: dict[int, dict[str, float | None]] = {i: {} for i in administration_ids}
    for adm_id, item_id, value in rows:
        out[adm_id][item_id] = value
    return out


def answers_frame(definition: Definition, answers: Sequence[Mapping[str, float | None]],
                  sexes: Sequence[str | None]) -> pd.DataFrame:
    """One row per administration, one float column per item (NaN = unanswered) and ``sex``."""
    items = definition.plan.item_ids
    matrix = np.full((len(answers), len(items)), np.nan)
    pos = {item: k for k, item in enumerate(items)}
    for r, row in enumerate(answers):
        for item, value in row.items():
            k = pos.get(item)
            if k is not None and value is not None:
                matrix[r, k] = value
    frame = pd.DataFrame(matrix, columns=list(items))
    frame["sex"] = pd.Series(list(sexes), dtype=object)
    return frame


def with_recorded_cutoffs(definition: Definition, recorded: Mapping[str, Any] | None) -> Definition:
    """The definition at the cut-points recorded with an administration (``administrations.cutoff_values``).

    Without a record (no cut-off with a published range), the definition's own values: a choice a deployment
    makes today never reaches an administration recorded without it.
    """
    if recorded:
        return definition.with_cutoffs({k: float(v) for k, v in recorded.items()})
    if definition.cutoff_choices:
        return Definition(definition.instrument, definition.path)
    return definition


def score_answers(definition: Definition, answers: Sequence[Mapping[str, float | None]],
                  sexes: Sequence[str | None]) -> ScoreResult:
    """Score stored answers (already validated when saved) with the engine."""
    return score(definition, answers_frame(definition, answers, sexes))


def _opt_float(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    f = float(value)
    return None if math.isnan(f) else f


def _opt_bool(value: Any) -> bool | None:
    if value is None or value is pd.NA:
        return None
    return bool(value)


def _opt_str(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def extract(definition: Definition, result: ScoreResult, row: int) -> tuple[list[ScaleScore], dict[str, Any], str]:
    """Scale scores, flags and critical items of one row of a score result, as plain Python values."""
    frame = result.scores
    scales = []
    for sp in definition.plan.scales:
        reason = _opt_str(frame[f"{sp.id}_reason"].iloc[row])
        severity = frame[f"{sp.id}_severity"].iloc[row]
        scales.append(ScaleScore(
            scale_id=sp.id,
            value=_opt_float(frame[sp.id].iloc[row]),
            band=_opt_str(frame[f"{sp.id}_band"].iloc[row]),
            severity=None if severity is None or severity is pd.NA else int(severity),
            n_answered=int(frame[f"{sp.id}_n_answered"].iloc[row]),
            prorated=bool(frame[f"{sp.id}_prorated"].iloc[row]),
            valid=bool(frame[f"{sp.id}_valid"].iloc[row]),
            reason=reason or None,
            cutoffs={c.id: _opt_bool(frame[c.column].iloc[row]) for c in sp.cutoffs},
            cutoff_values={c.id: float(frame[c.value_column].iloc[row]) for c in sp.cutoffs
                           if c.value_column is not None},
        ))
    flags = {f.id: _opt_bool(frame[f.id].iloc[row]) for f in definition.plan.flags}
    critical = _opt_str(frame["critical_items"].iloc[row]) or ""
    return scales, flags, critical


def store_scores(session: Session, administration: Administration, definition: Definition,
                 scales: Iterable[ScaleScore], now: datetime, norm_table_id: str | None = None) -> None:
    """Insert one score row per scale, stamped with engine version, instrument hash and norm table id."""
    for s in scales:
        session.add(Score(
            administration_id=administration.id, scale_id=s.scale_id, value=s.value, band=s.band,
            severity=s.severity, n_answered=s.n_answered, prorated=s.prorated, valid=s.valid, reason=s.reason,
            cutoffs=s.cutoffs or None, cutoff_values=s.cutoff_values or None, engine_version=__version__,
            instrument_hash=definition.hash, norm_table_id=norm_table_id, computed_at=now,
        ))


@dataclass(frozen=True)
class Mismatch:
    """A stored value that rescoring from the raw answers does not reproduce."""

    administration_id: int
    instrument_id: str
    instrument_version: str
    field: str
    stored: Any
    recomputed: Any


@dataclass
class RescoreReport:
    """What :func:`rescore_check` compared and every difference it found."""

    administrations: int = 0
    scores: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def rescore_check(session: Session, pinned: PinnedDefinitions, batch: int = 2000) -> RescoreReport:
    """Recompute every stored score from the raw answers with the pinned definitions; list differences.

    Compared per scale: value (exactly), band, severity, answered count, prorated, valid, reason, cut-offs,
    the provenance stamps (engine version, instrument hash); per administration: flags and critical items.
    """
    report = RescoreReport()
    groups = session.execute(
        select(Administration.instrument_id, Administration.instrument_version)
        .where(Administration.status == "completed").distinct()
        .order_by(Administration.instrument_id, Administration.instrument_version)
    ).all()
    for instrument_id, version in groups:
        stored_def = session.get(StoredDefinition, (instrument_id, version))
        definition = pinned.from_row(stored_def) if stored_def is not None else None
        ids = list(session.scalars(
            select(Administration.id).where(Administration.status == "completed",
                                            Administration.instrument_id == instrument_id,
                                            Administration.instrument_version == version)
            .order_by(Administration.id)))
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            _check_chunk(session, definition, instrument_id, version, chunk, report)
    return report


def _check_chunk(session: Session, definition: Definition | None, instrument_id: str, version: str,
                 chunk: list[int], report: RescoreReport) -> None:
    adms = {a.id: a for a in session.scalars(select(Administration).where(Administration.id.in_(chunk)))}
    stored: dict[int, dict[str, Score]] = {i: {} for i in chunk}
    for stored_score in session.scalars(select(Score).where(Score.administration_id.in_(chunk))):
        stored[stored_score.administration_id][stored_score.scale_id] = stored_score
    report.administrations += len(chunk)

    def miss(adm_id: int, what: str, a: Any, b: Any) -> None:
        report.mismatches.append(Mismatch(adm_id, instrument_id, version, what, a, b))

    if definition is None:
        for adm_id in chunk:
            miss(adm_id, "definition", f"{instrument_id} {version}", None)
        return
    answers = current_answers(session, chunk)
    # administrations given at other cut-points (a deployment's choice within a published range) are rescored
    # at theirs: one scoring run per distinct record, usually one
    by_choice: dict[str, list[int]] = {}
    for adm_id in chunk:
        by_choice.setdefault(json.dumps(adms[adm_id].cutoff_values or {}, sort_keys=True), []).append(adm_id)
    for recorded, group in by_choice.items():
        chosen = with_recorded_cutoffs(definition, json.loads(recorded))
        result = score_answers(chosen, [answers[i] for i in group], [adms[i].respondent_sex for i in group])
        _compare_group(chosen, result, group, adms, stored, report, miss)


def _compare_group(definition: Definition, result: ScoreResult, group: list[int], adms: Mapping[int, Administration],
                   stored: dict[int, dict[str, Score]], report: RescoreReport, miss: Any) -> None:
    for row, adm_id in enumerate(group):
        adm = adms[adm_id]
        scales, flags, critical = extract(definition, result, row)
        if adm.instrument_hash != definition.hash:
            miss(adm_id, "instrument_hash", adm.instrument_hash, definition.hash)
        if (adm.flags or {}) != flags:
            miss(adm_id, "flags", adm.flags, flags)
        if (adm.critical_items or "") != critical:
            miss(adm_id, "critical_items", adm.critical_items, critical)
        for s in scales:
            report.scores += 1
            row_stored = stored[adm_id].pop(s.scale_id, None)
            if row_stored is None:
                miss(adm_id, f"{s.scale_id}", None, s.value)
                continue
            for name in ("value", "band", "severity", "n_answered", "prorated", "valid", "reason"):
                a, b = getattr(row_stored, name), getattr(s, name)
                if not _same(a, b):
                    miss(adm_id, f"{s.scale_id}.{name}", a, b)
            if (row_stored.cutoffs or {}) != s.cutoffs:
                miss(adm_id, f"{s.scale_id}.cutoffs", row_stored.cutoffs, s.cutoffs)
            if (row_stored.cutoff_values or {}) != s.cutoff_values:
                miss(adm_id, f"{s.scale_id}.cutoff_values", row_stored.cutoff_values, s.cutoff_values)
            if row_stored.instrument_hash != definition.hash:
                miss(adm_id, f"{s.scale_id}.instrument_hash", row_stored.instrument_hash, definition.hash)
            if row_stored.engine_version != __version__:
                miss(adm_id, f"{s.scale_id}.engine_version", row_stored.engine_version, __version__)
        for extra in stored[adm_id]:
            miss(adm_id, f"{extra}", "stored", None)

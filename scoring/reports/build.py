"""Assemble a patient report from plain data: a history frame, raw answers, events and alerts.

Nothing here knows about PDF or XLSX; :mod:`scoring.reports.pdf` and :mod:`scoring.reports.xlsx` render the
:class:`~scoring.reports.model.Report` this module builds. Every number comes from the history frame
(:func:`scoring.history`) or from a score receipt (:func:`scoring.explain`) of the same answers; where the
two disagree the report says so rather than choosing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from scoring._version import __version__ as ENGINE_VERSION
from scoring.change import change_parameters
from scoring.definitions.library import Definition, Library
from scoring.definitions.respondent import age_in_completed_years
from scoring.engine import score
from scoring.engine.receipt import explain
from scoring.errors import PsyscoreError
from scoring.reports.model import (
    AlertEntry,
    InstrumentSection,
    NormInfo,
    Receipt,
    Report,
    ReportInputError,
    ScaleSection,
)
from scoring.reports.text import change_lines, fmt_date, fmt_num, is_missing

__all__ = ["patient_report"]

_NEEDED = ("patient", "date", "instrument", "scale", "source_row", "score", "band", "valid", "instrument_version",
           "baseline_classification", "baseline_difference", "previous_difference", "criterion", "threshold")
_RESPONDENT = ("sex", "age")


def patient_report(
    history: pd.DataFrame,
    library: Library,
    *,
    administrations: pd.DataFrame | Mapping[Hashable, Mapping[str, Any]] | None,
    patient_label: str,
    events: pd.DataFrame | Sequence[Any] | None = None,
    alerts: pd.DataFrame | Sequence[Any] | None = None,
    clinic_name: str | None = None,
    norms: Any = None,
    patient: object = None,
    instruments: Sequence[str] | None = None,
    generated_at: dt.datetime | None = None,
    charts: bool = True,
) -> Report:
    """Build the patient report a therapist downloads (render it with ``to_pdf`` / ``to_xlsx``).

    Parameters
    ----------
    history
        From :func:`scoring.history` (one patient, or name one with ``patient``).
    library
        From :func:`scoring.load_library`; gives each instrument's definition, citation and copyright.
    administrations
        The raw answers, for the score receipts: the long frame that was passed to :func:`scoring.history`
        (its index labels are the history's ``source_row``; item columns named by item id; ``sex``, ``age`` or
        ``birth_date`` columns are used as respondent data), or a mapping ``source_row → {item id: answer}``
        (respondent keys such as ``"sex"`` may sit beside the items). ``None``: no receipts (the appendix
        says so for every administration).
    patient_label
        What identifies the patient on every page, exactly as the caller wants it shown (a name, a record
        number, a pseudonym). The history's internal ``patient`` id is never printed.
    events
        Optional ``date`` and ``label`` (a frame, mappings, or objects with those attributes): drawn on the
        charts and listed.
    alerts
        Optional alerts (frame, mappings, or :class:`scoring.store.alerts.AlertInfo`-like objects with
        ``instrument_id``, ``item_id``, ``message``, ``status``, ``raised_at``, ``still_critical``); resolved
        ones are left out.
    clinic_name
        Shown in the header.
    norms
        The :class:`~scoring.norms.NormTable` (or sequence) the history was built with, for the receipts' norm
        lines. Default: the tables named in the history's ``norm_id``, from :func:`scoring.load_norms`.
    patient
        The history's patient id, when it holds several patients.
    instruments
        Keep only these instrument ids (default: every instrument in the history).
    generated_at
        Timestamp printed in the header (default: now, local time with its UTC offset).
    charts
        Draw the trend charts (needs ``altair`` and ``vl-convert-python``: ``pip install 'psyscore[reports]'``).

    Returns
    -------
    Report
        ``report.to_pdf()`` / ``report.to_xlsx()`` return bytes (and write to a path or binary buffer if given).

    Examples
    --------
    >>> import pandas as pd, scoring
    >>> from scoring.reports import patient_report
    >>> lib = scoring.load_library()
    >>> data = pd.DataFrame({"patient": "p1", "date": ["2024-01-08", "2024-02-05"], "instrument": "phq9",
    ...                      **{f"phq9_{i}": [2, 1] for i in range(1, 10)}})
    >>> report = patient_report(scoring.history(lib, data).frame, lib, administrations=data,
    ...                         patient_label="Jane Doe", charts=False)
    >>> report.summary()[["instrument", "scale", "baseline_score", "latest_score", "classification"]]
      instrument  scale  baseline_score  latest_score classification
    0      PHQ-9  total            18.0           9.0      recovered
    >>> report.to_pdf()[:5]
    b'%PDF-'
    """
    if not isinstance(history, pd.DataFrame):
        raise TypeError(f"patient_report() takes the frame of scoring.history() (its .frame), not "
                        f"{type(history).__name__}")
    if not isinstance(library, Library):
        raise TypeError(f"patient_report() takes a Library (scoring.load_library()), not {type(library).__name__}")
    if not isinstance(patient_label, str) or not patient_label.strip():
        raise ReportInputError("patient_label must be a non-empty text: it identifies the patient on every page")
    missing = [c for c in _NEEDED if c not in history.columns]
    if missing:
        raise ReportInputError(f"the history frame has no column {', '.join(missing)}; build it with "
                               "scoring.history()")
    rows = _one_patient(history, patient)
    if instruments is not None:
        wanted = [instruments] if isinstance(instruments, str) else list(instruments)
        rows = rows[rows["instrument"].isin(wanted)]
    if rows.empty:
        raise ReportInputError("the history has no rows for this patient" +
                               (f" and instruments {', '.join(wanted)}" if instruments is not None else ""))
    rows = rows.assign(date=pd.to_datetime(rows["date"])).reset_index(drop=True)
    if generated_at is None:
        generated_at = dt.datetime.now().astimezone()
    adm = _answers_source(administrations)
    tables = _norm_tables(norms)
    warnings: list[str] = []
    alert_list = _alerts(alerts)
    order = rows.groupby("instrument", sort=False)["date"].min().sort_values(kind="stable")
    sections = []
    for inst_id in sorted(order.index, key=lambda i: (order[i], i)):
        inst_rows = rows[rows["instrument"] == inst_id]
        sections.append(_section(inst_rows, library, adm, tables, alert_list, warnings))
    norm_infos = _norm_infos(rows, tables, warnings)
    engines = tuple(sorted({str(v) for v in rows.get("engine_version", pd.Series(dtype=object)).dropna()}))
    return Report(
        patient_label=patient_label.strip(),
        clinic_name=clinic_name.strip() if isinstance(clinic_name, str) and clinic_name.strip() else None,
        generated_at=generated_at,
        engine_version=ENGINE_VERSION,
        score_engine_versions=engines,
        period=(rows["date"].min(), rows["date"].max()),
        sections=tuple(sections),
        events=_events(events, patient),
        alerts=tuple(alert_list),
        norm_tables=tuple(norm_infos),
        warnings=tuple(warnings),
        include_charts=charts,
        receipts_supplied=adm is not None,
    )


# -- inputs -----------------------------------------------------------------------------------------------
def _one_patient(history: pd.DataFrame, patient: object) -> pd.DataFrame:
    ids = history["patient"].astype(str)
    if patient is not None:
        rows = history[ids == str(patient)]
        if rows.empty:
            raise ReportInputError("the history has no rows for the patient given with patient=")
        return rows
    if ids.nunique() > 1:
        raise ReportInputError("the history holds several patients; name one with patient=")
    return history


def _answers_source(administrations: Any) -> pd.DataFrame | Mapping[Hashable, Mapping[str, Any]] | None:
    if administrations is None:
        return None
    if isinstance(administrations, pd.DataFrame):
        if not administrations.index.is_unique:
            dup = administrations.index[administrations.index.duplicated()][0]
            raise ReportInputError(f"the administrations frame repeats the index label {dup!r}; its index must be "
                                   "the one passed to scoring.history (one label per administration)")
        return administrations
    if isinstance(administrations, Mapping):
        return administrations
    raise TypeError("administrations must be a DataFrame (the frame passed to scoring.history) or a mapping "
                    f"source_row → {{item id: answer}}, not {type(administrations).__name__}")


def _answers_for(adm: Any, source_row: Hashable) -> dict[str, Any] | None:
    """The answers and respondent values of one administration, or None when not supplied."""
    if adm is None:
        return None
    if isinstance(adm, pd.DataFrame):
        if source_row not in adm.index:
            return None
        row = adm.loc[source_row]  # type: ignore[call-overload]  # pandas-stubs take no bare Hashable label
        return {str(k): (None if is_missing(v) else v) for k, v in row.items()}
    value = adm.get(source_row)
    if value is None:
        value = adm.get(str(source_row))
    if value is None:
        return None
    return {str(k): (None if is_missing(v) else v) for k, v in dict(value).items()}


def _norm_tables(norms: Any) -> list[Any]:
    if norms is None:
        return []
    from scoring.norms import NormTable

    tables = [norms] if isinstance(norms, NormTable) else list(norms)
    for t in tables:
        if not isinstance(t, NormTable):
            raise TypeError(f"norms must be NormTable objects (scoring.load_norms().get(id)), not {type(t).__name__}")
    return tables


def _tables_for(d: Definition, rows: pd.DataFrame, given: list[Any], warnings: list[str]) -> list[Any]:
    """The norm tables of this instrument: those given, else the ones the history names."""
    if given:
        return [t for t in given if t.instrument_id == d.id and d.version in t.versions]
    ids = sorted({str(v) for v in rows["norm_id"].dropna()}) if "norm_id" in rows.columns else []
    if not ids:
        return []
    from scoring.norms import load_norms

    out = []
    lib = load_norms()
    for norm_id in ids:
        try:
            table = lib.get(norm_id)
        except (PsyscoreError, KeyError):
            warnings.append(f"norm table {norm_id} (named in the history) was not found: the receipts of "
                            f"{d.id} have no norm line; pass norms= to patient_report")
            continue
        if d.version in table.versions:
            out.append(table)
    return out


def _events(events: Any, patient: object) -> pd.DataFrame:
    empty = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "label": pd.Series(dtype=object)})
    if events is None:
        return empty
    if isinstance(events, pd.DataFrame):
        frame = events
    else:
        frame = pd.DataFrame([_fields(e, ("date", "label", "patient")) for e in events])
    if frame.empty:
        return empty
    missing = [c for c in ("date", "label") if c not in frame.columns]
    if missing:
        raise ReportInputError(f"events need columns date and label (missing: {', '.join(missing)})")
    if "patient" in frame.columns and patient is not None:
        frame = frame[frame["patient"].astype(str) == str(patient)]
    dates = pd.to_datetime(frame["date"], errors="coerce", format="mixed")
    if dates.isna().any():
        raise ReportInputError(f"event date {frame['date'][dates.isna()].iloc[0]!r} is not a date; write YYYY-MM-DD")
    labels = frame["label"].map(lambda v: "" if is_missing(v) else str(v).strip())
    out = pd.DataFrame({"date": dates.astype("datetime64[ns]").to_numpy(), "label": labels.to_numpy(dtype=object)})
    return out.sort_values("date", kind="stable").reset_index(drop=True)


def _fields(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return {n: obj[n] for n in names if n in obj}
    return {n: getattr(obj, n) for n in names if hasattr(obj, n)}


def _alerts(alerts: Any) -> list[AlertEntry]:
    if alerts is None:
        return []
    names = ("instrument_id", "instrument", "item_id", "item", "message", "status", "raised_at", "date",
             "still_critical")
    records = alerts.to_dict("records") if isinstance(alerts, pd.DataFrame) else [_fields(a, names) for a in alerts]
    out = []
    for r in records:
        status = "open" if is_missing(r.get("status")) else str(r["status"])
        if status == "resolved":
            continue
        raised = r.get("raised_at", r.get("date"))
        still = r.get("still_critical")
        out.append(AlertEntry(
            instrument_id=str(r.get("instrument_id", r.get("instrument")) or ""),
            item_id=str(r.get("item_id", r.get("item")) or ""),
            message=str(r.get("message") or ""),
            status=status,
            raised_at=None if raised is None or is_missing(raised) else pd.Timestamp(raised),
            still_critical=None if is_missing(still) else bool(still),
        ))
    return out


# -- one instrument ---------------------------------------------------------------------------------------
def _section(rows: pd.DataFrame, library: Library, adm: Any, given_norms: list[Any], alerts: list[AlertEntry],
             warnings: list[str]) -> InstrumentSection:
    inst_id = str(rows["instrument"].iloc[0])
    versions = sorted({str(v) for v in rows["instrument_version"]}, key=lambda v: tuple(int(p) for p in v.split(".")))
    definitions = {v: library.get_version(inst_id, v) for v in versions}
    latest = definitions[versions[-1]]
    receipts = _receipts(rows, definitions, adm, given_norms, warnings)
    # every history row of an administration points to its one receipt: a history built from stored scores has
    # one source row per scale (WHO-5 raw and percentage), a history of item answers one per administration
    by_adm = {r.administration: r for r in receipts}
    by_row = {sr: by_adm[int(a)] for sr, a in zip(rows["source_row"], rows["administration"], strict=True)
              if int(a) in by_adm}
    scales = []
    for sc in latest.instrument.scales:
        srows = rows[rows["scale"] == sc.id].sort_values(["date", "administration"], kind="stable")
        if srows.empty:
            continue
        scales.append(_scale_section(latest, sc, srows.reset_index(drop=True), by_row))
    return InstrumentSection(
        instrument_id=inst_id,
        definition=latest,
        versions=tuple((v, definitions[v].hash) for v in versions),
        scales=tuple(scales),
        receipts=tuple(receipts),
        alerts=tuple(a for a in alerts if a.instrument_id == inst_id),
    )


def _scale_section(d: Definition, sc: Any, rows: pd.DataFrame, receipts: Mapping[Hashable, Receipt]) -> ScaleSection:
    notes = []
    for _, r in rows.iterrows():
        parts = []
        if not bool(r["valid"]):
            parts.append(f"not scored: {r['score_reason']}" if not is_missing(r.get("score_reason")) else "not scored")
        rec = receipts.get(r["source_row"])
        if rec is not None:
            info = rec.scale_info.get(sc.id)
            if info is not None and info.get("prorated"):
                parts.append(f"prorated from {info['n_answered']} answered items")
            parts.extend(f"critical item {c.split(' ', 1)[0]} endorsed" for c in rec.critical)
            if rec.mismatch.get(sc.id):
                parts.append("receipt differs (see appendix)")
        notes.append("; ".join(parts))
    valid = rows[rows["valid"].astype(bool) & rows["score"].notna()]
    if len(valid) >= 2:
        base = {str(k): v for k, v in valid.iloc[0].items()}  # column name -> value
        last = {str(k): v for k, v in valid.iloc[-1].items()}
        params = change_parameters(d, sc.id, z=float(last["z"]) if not is_missing(last.get("z")) else 1.96)
        lines = tuple(change_lines(base, last, params.sources, reliability_kind=params.reliability_kind))
    elif len(valid) == 1:
        only = valid.iloc[0]
        band = "" if is_missing(only["band"]) else f" ({only['band']})"
        lines = (f"Only one scored administration: {fmt_date(only['date'])}, {fmt_num(only['score'])}{band}; "
                 "no change to report.",)
    else:
        lines = ("No scored administration: no change to report.",)
    return ScaleSection(scale_id=sc.id, name=sc.name, higher_is=sc.higher_is, rows=rows,
                        notes=tuple(notes), change=lines)


def _receipts(rows: pd.DataFrame, definitions: Mapping[str, Definition], adm: Any, given_norms: list[Any],
              warnings: list[str]) -> list[Receipt]:
    """One receipt per administration, in date order.

    An administration may have several history rows with different source rows (one per scale when the
    history was built from stored scores); the answers are looked up under each of them, and the receipt is
    compared with every scale the history has for that administration.
    """
    ordered = rows.sort_values(["date", "administration", "scale"], kind="stable")
    tables = {v: _tables_for(d, rows[rows["instrument_version"] == v], given_norms, warnings)
              for v, d in definitions.items()}
    chosen = []
    answers_of: dict[Hashable, dict[str, Any] | None] = {}
    for _, group in ordered.groupby("administration", sort=False):
        pick = group.iloc[0]
        for _, candidate in group.drop_duplicates("source_row").iterrows():
            found = _answers_for(adm, candidate["source_row"])
            if found is not None:
                pick = candidate
                answers_of[candidate["source_row"]] = found
                break
        else:
            answers_of[pick["source_row"]] = None
        chosen.append(pick)
    first = pd.DataFrame(chosen)
    structured = _structured(first, definitions, answers_of)
    out = []
    for _, r in first.iterrows():
        d = definitions[str(r["instrument_version"])]
        same_adm = rows[rows["administration"] == r["administration"]]
        scores = same_adm.drop_duplicates("scale").set_index("scale")["score"]
        values = answers_of[r["source_row"]]
        base = {"instrument_id": d.id, "version": d.version, "hash": d.hash,
                "administration": int(r["administration"]), "date": pd.Timestamp(r["date"]),
                "source_row": r["source_row"]}
        items = set(d.plan.item_ids)
        if values is None or not any(k in items and v is not None for k, v in values.items()):
            why = ("raw answers were not supplied for this report" if adm is None
                   else "no item answers were supplied for this administration (scores only)")
            out.append(Receipt(**base, explanation=None, note=why))
            continue
        answers = {k: v for k, v in values.items() if k in items}
        respondent = _respondent(d, values, pd.Timestamp(r["date"]))
        explanation, note = _explain(d, answers, respondent, tables[d.version])
        scale_info, mismatch = {}, {}
        for s in explanation.to_dict()["scales"]:
            mine = s["score"]
            scale_info[s["id"]] = structured.get((r["source_row"], s["id"]), {})
            if s["id"] not in scores.index:
                continue  # the history does not report this scale: nothing to disagree with
            given = scores[s["id"]]
            same = (is_missing(given) and mine is None) or (
                mine is not None and not is_missing(given) and abs(float(given) - float(mine)) < 1e-9)
            if not same:
                mismatch[s["id"]] = (f"the answers supplied give {s['id']} = {fmt_num(mine)}, the history has "
                                     f"{fmt_num(given)}: check that these answers belong to this administration")
        if mismatch:
            warnings.append(f"{d.id} administration {base['administration']}: the receipt differs from the history")
        out.append(Receipt(**base, explanation=explanation, note=note, scale_info=scale_info, mismatch=mismatch,
                           critical=tuple(explanation.critical)))
    return out


def _structured(first: pd.DataFrame, definitions: Mapping[str, Definition],
                answers_of: Mapping[Hashable, dict[str, Any] | None]) -> dict[tuple[Hashable, str], dict[str, Any]]:
    """(source row, scale) → prorated and items answered, from one vectorized engine run per version."""
    out: dict[tuple[Hashable, str], dict[str, Any]] = {}
    for version, d in definitions.items():
        keys = [r for r in first.loc[first["instrument_version"] == version, "source_row"]
                if answers_of.get(r) is not None]
        if not keys:
            continue
        items = d.plan.item_ids
        extra = sorted(set(_RESPONDENT) | {a.respondent for a in d.plan.applicability})
        frame = pd.DataFrame([{c: answers_of[k].get(c) for c in (*items, *extra)} for k in keys])  # type: ignore[union-attr]
        frame = frame.astype({c: float for c in frame.columns if frame[c].isna().all()})
        res = score(d, frame).scores
        for sp in d.plan.scales:
            for k, prorated, n in zip(keys, res[f"{sp.id}_prorated"], res[f"{sp.id}_n_answered"], strict=True):
                out[(k, sp.id)] = {"prorated": bool(prorated) if not is_missing(prorated) else False,
                                   "n_answered": None if is_missing(n) else int(n)}
    return out


def _respondent(d: Definition, values: Mapping[str, Any], when: pd.Timestamp) -> dict[str, Any]:
    names = set(_RESPONDENT) | {a.respondent for a in d.plan.applicability}
    out = {k: values[k] for k in names if values.get(k) is not None}
    birth = values.get("birth_date")
    if "age" not in out and birth is not None:
        born = pd.to_datetime(birth, errors="coerce")
        if not pd.isna(born) and born.date() <= when.date():  # a birth date after the administration: no age
            out["age"] = age_in_completed_years(born, when)
    return out


def _explain(d: Definition, answers: dict[str, Any], respondent: dict[str, Any], tables: list[Any]):
    """explain() with the first norm table; the norm lines of further tables are added to their scales."""
    note = ""
    try:
        explanation = explain(d, answers, respondent=respondent or None, norms=tables[0] if tables else None)
    except PsyscoreError as exc:
        explanation = explain(d, answers, respondent=respondent or None)
        note = f"norm line left out: {exc}"
        return explanation, note
    for table in tables[1:]:
        try:
            extra = explain(d, answers, respondent=respondent or None, norms=table)
        except PsyscoreError as exc:
            note = f"norm line of {table.id} left out: {exc}"
            continue
        src = next(s for s in extra.scales if s.id == table.scale)
        dst = next(s for s in explanation.scales if s.id == table.scale)
        dst.lines.append(src.lines[-1])
    return explanation, note


def _norm_infos(rows: pd.DataFrame, given: list[Any], warnings: list[str]) -> list[NormInfo]:
    ids = sorted({str(v) for v in rows["norm_id"].dropna()}) if "norm_id" in rows.columns else []
    known = {t.id: t for t in given}
    out = []
    for norm_id in ids:
        table = known.get(norm_id)
        if table is None:
            try:
                from scoring.norms import load_norms

                table = load_norms().get(norm_id)
            except (PsyscoreError, KeyError):
                table = None
        out.append(NormInfo(norm_id=norm_id, instrument_id=getattr(table, "instrument_id", ""),
                            scale=getattr(table, "scale", ""),
                            citation=getattr(table, "citation", "") or "(table not found)"))
    return out


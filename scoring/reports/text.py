"""Words and numbers for the report: formatting, classification labels and the change summary.

Everything here turns values that are already in the history frame (or in the definition) into text; nothing
is computed that the engine did not compute, except the display of a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd

__all__ = [
    "CLASSIFICATION_LABELS",
    "change_lines",
    "classification_label",
    "criterion_label",
    "fmt_date",
    "fmt_delta",
    "fmt_num",
    "is_missing",
    "item_labels",
]

#: How the engine's outcome classes read in the report (ordered from worst to best).
CLASSIFICATION_LABELS = {
    "reliably_deteriorated": "Reliably deteriorated",
    "no_reliable_change": "No reliable change",
    "reliably_improved": "Reliably improved",
    "recovered": "Recovered",
}
_CRITERION = {"published": "published threshold", "jacobson_truax": "Jacobson–Truax RCI", "none": "none"}
_CUTOFF = {"declared": "published", "c": "Jacobson–Truax c", "a": "Jacobson–Truax a", "b": "Jacobson–Truax b"}


def is_missing(value: Any) -> bool:
    """None, NaN, NA and NaT (and the text 'nan' a stringified NaN leaves behind) are missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return value.strip().lower() in ("", "nan", "<na>", "none")
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_num(value: Any, decimals: int = 2) -> str:
    """``12`` for whole numbers, else at most ``decimals`` decimals without trailing zeros; ``—`` if missing."""
    if is_missing(value):
        return "—"
    x = float(value)
    if x.is_integer():
        return str(int(x))
    return f"{x:.{decimals}f}".rstrip("0").rstrip(".")


def fmt_delta(value: Any, decimals: int = 2) -> str:
    """A signed change: ``+3``, ``−7`` (true minus sign), ``0``; ``—`` if missing."""
    if is_missing(value):
        return "—"
    x = float(value)
    if x == 0:
        return "0"
    return ("+" if x > 0 else "−") + fmt_num(abs(x), decimals)


def fmt_date(value: Any) -> str:
    """``YYYY-MM-DD``, with ``HH:MM`` when the time is not midnight; ``—`` if missing."""
    if is_missing(value):
        return "—"
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    ts = pd.Timestamp(value)
    if ts.hour or ts.minute or ts.second:
        return ts.strftime("%Y-%m-%d %H:%M")
    return ts.strftime("%Y-%m-%d")


def classification_label(value: Any) -> str:
    """The reader's words for an outcome class; ``—`` when not classified."""
    if is_missing(value):
        return "—"
    return CLASSIFICATION_LABELS.get(str(value), str(value).replace("_", " "))


def _yes_no(value: Any) -> str:
    return "unknown" if is_missing(value) else ("yes" if bool(value) else "no")


def _sources(sources: Mapping[str, str], *names: str) -> str:
    """The sources of these parameters joined by '; ' ('' when none is declared)."""
    return "; ".join(dict.fromkeys(sources[n] for n in names if sources.get(n)))


def _source(sources: Mapping[str, str], *names: str) -> str:
    found = _sources(sources, *names)
    return f" (source: {found})" if found else ""


def change_lines(baseline: Mapping[str, Any], latest: Mapping[str, Any], sources: Mapping[str, str],
                 *, reliability_kind: str | None = None) -> list[str]:
    """The change summary of one scale, baseline against latest, as sentences with their sources.

    Parameters
    ----------
    baseline, latest
        History rows (mappings of :data:`scoring.change.timeline.HISTORY_COLUMNS`): the patient's first and last scored
        administration of the scale. ``latest`` carries the comparison with the baseline and the parameters.
    sources
        Parameter name → source, from :func:`scoring.change.change_parameters` (``.sources``).
    reliability_kind
        The kind of the reliability coefficient (``test_retest``, ``alpha`` …), shown beside r.

    Examples
    --------
    >>> base = {"date": "2024-01-08", "score": 18.0, "band": "Moderately severe"}
    >>> last = {"date": "2024-03-04", "score": 8.0, "band": "Mild", "baseline_difference": -10.0,
    ...         "baseline_improvement": 10.0, "baseline_classification": "recovered", "criterion": "published",
    ...         "threshold": 6.0, "threshold_published": 6.0, "baseline_reliable": True, "cutoff": 10.0,
    ...         "cutoff_kind": "declared", "baseline_clinical": True, "clinical": False, "mcid": 5.0,
    ...         "baseline_mcid_met": True, "higher_is": "worse", "z": 1.96}
    >>> for line in change_lines(base, last, {"reliable_change": "NHS Talking Therapies"}):
    ...     print(line)
    Baseline 2024-01-08: 18 (Moderately severe) → latest 2024-03-04: 8 (Mild); change −10 points (higher is worse).
    Classification (baseline → latest): Recovered.
    Reliable change: a change of 6 or more points (published threshold; source: NHS Talking Therapies): reliable.
    Clinical cut-off 10 (published): baseline on the clinical side: yes; latest: no.
    Minimal clinically important difference 5 points: met.
    """
    out = []
    direction = {"worse": "higher is worse", "better": "higher is better", "neutral": "no healthy direction"}.get(
        str(latest.get("higher_is")), "")
    band_b = "" if is_missing(baseline.get("band")) else f" ({baseline['band']})"
    band_l = "" if is_missing(latest.get("band")) else f" ({latest['band']})"
    diff = latest.get("baseline_difference")
    out.append(f"Baseline {fmt_date(baseline.get('date'))}: {fmt_num(baseline.get('score'))}{band_b} → latest "
               f"{fmt_date(latest.get('date'))}: {fmt_num(latest.get('score'))}{band_l}; change {fmt_delta(diff)} "
               f"points" + (f" ({direction})." if direction else "."))
    cls = latest.get("baseline_classification")
    criterion = str(latest.get("criterion") or "none")
    if is_missing(cls) and criterion == "none":
        out.append("Classification: not classified.")
    elif is_missing(cls):
        reason = latest.get("baseline_reason")
        out.append("Classification: not classified" + ("" if is_missing(reason) else f" — {reason}") + ".")
    else:
        out.append(f"Classification (baseline → latest): {classification_label(cls)}.")
    rci, se_diff, z = latest.get("baseline_rci"), latest.get("se_diff"), latest.get("z")
    reliable = _yes_no(latest.get("baseline_reliable"))
    r_text = ""
    if not is_missing(latest.get("reliability")):
        kind = f", {reliability_kind.replace('_', '-')}" if reliability_kind else ""
        r_text = (f"r = {fmt_num(latest.get('reliability'), 3)}{kind}{_source(sources, 'reliability')}, "
                  f"SD = {fmt_num(latest.get('sd'))}{_source(sources, 'sd')}")
    if criterion == "published":
        src = _sources(sources, "reliable_change")
        verdict = {"yes": "reliable", "no": "not reliable"}.get(reliable, "unknown")
        out.append(f"Reliable change: a change of {fmt_num(latest.get('threshold_published'))} or more points "
                   f"(published threshold{'; source: ' + src if src else ''}): {verdict}.")
        if not is_missing(rci):
            out.append(f"For information, Jacobson–Truax RCI = {fmt_delta(rci)} (SE_diff {fmt_num(se_diff)}; "
                       f"|RCI| > {fmt_num(z)} is reliable, i.e. more than {fmt_num(latest.get('threshold_jt'))} "
                       f"points); {r_text}.")
    elif criterion == "jacobson_truax":
        out.append(f"Reliable change (Jacobson–Truax): RCI = change / SE_diff = {fmt_delta(diff)} / "
                   f"{fmt_num(se_diff)} = {fmt_delta(rci)}; reliable when |RCI| > {fmt_num(z)}, i.e. a change of "
                   f"more than {fmt_num(latest.get('threshold_jt'))} points: {reliable}. "
                   f"SE_diff = SD·√2·√(1 − r) with {r_text}.")
    else:
        out.append("No reliable-change criterion is declared for this scale (no published threshold, no "
                   "reliability and SD): the change is reported, not classified.")
    kind = str(latest.get("cutoff_kind") or "none")
    if kind != "none" and not is_missing(latest.get("cutoff")):
        names = {"declared": ("clinical_cutoff",),
                 "c": ("functional_mean", "functional_sd", "dysfunctional_mean", "dysfunctional_sd"),
                 "a": ("dysfunctional_mean", "dysfunctional_sd"), "b": ("functional_mean", "functional_sd")}[kind]
        src = _sources(sources, *names)
        out.append(f"Clinical cut-off {fmt_num(latest.get('cutoff'))} ({_CUTOFF.get(kind, kind)}"
                   f"{'; source: ' + src if src else ''}): baseline on the clinical side: "
                   f"{_yes_no(latest.get('baseline_clinical'))}; latest: {_yes_no(latest.get('clinical'))}.")
    if not is_missing(latest.get("mcid")):
        met = {"yes": "met", "no": "not met"}.get(_yes_no(latest.get("baseline_mcid_met")), "unknown")
        out.append(f"Minimal clinically important difference {fmt_num(latest.get('mcid'))} points"
                   f"{_source(sources, 'mcid')}: {met}.")
    return out


def criterion_label(criterion: Any, threshold: Any) -> str:
    """``published ≥ 6`` / ``Jacobson–Truax RCI (5.54 points)`` / ``none``."""
    c = "none" if is_missing(criterion) else str(criterion)
    if c == "published":
        return f"published threshold ≥ {fmt_num(threshold)}"
    if c == "jacobson_truax":
        return f"Jacobson–Truax RCI (> {fmt_num(threshold)} points)"
    return _CRITERION.get(c, c)


def item_labels(definition: Any) -> dict[str, str]:
    """How a clinician reads each item: its number and wording (``"9. Thoughts that you would be better off
    dead…"``), the descriptor where the licence ships no wording (``no_item_text``), else the id.
    """
    out = {}
    for k, item in enumerate(definition.instrument.items, start=1):
        words = (item.text or item.descriptor or "").strip()
        out[item.id] = f"{k}. {' '.join(words.split())}" if words else item.id
    return out

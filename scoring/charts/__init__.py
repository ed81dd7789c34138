"""Charts for clinicians (Altair / Vega-Lite): score trends, item heatmaps and the Jacobson plot.

Every function returns an Altair chart, which Streamlit shows with ``st.altair_chart`` and
:func:`save_chart` writes as PNG or SVG (through ``vl-convert-python``), JSON (the Vega-Lite specification)
or HTML. Altair is imported here, never by ``import scoring``; install it with ``pip install 'psyscore[charts]'``.

Design choices, for a clinician at a glance:

* **Severity bands** from the definition are shaded behind the scores and labelled inside the chart; their
  colours follow the band's ``severity`` (light = none, dark = most severe; ColorBrewer YlOrBr, a
  colour-blind-safe sequential ramp), so a higher-is-better scale (WHO-5) shades its low scores dark.
  On integer-valued scales the band edges lie half-way between the published whole-number bounds (a score
  of 10 sits inside "Moderate", not on its edge); elsewhere the edge is the next band's lower bound, as the
  engine assigns bands.
* **Reliable change** from the previous administration is marked with a triangle pointing the way the score
  moved (above the point when it rose, below when it fell), green-blue for an improvement and vermillion for
  a deterioration (Okabe–Ito colours), whatever the scale's direction. The latest point carries the
  baseline→latest classification as a label.
* The **clinical cut-off** that classifies recovery (:mod:`scoring.change`) is a dashed rule with its value;
  **events** (``date``, ``label``) are labelled vertical rules.
* Axis titles say which direction is worse; nothing relies on colour alone (labels, shapes, tooltips).
* **Nothing is clipped or drawn over**: titles and axis titles longer than the plot wrap into lines
  (:func:`wrap_text`), legend labels are not shortened, a reliable-change marker or the baseline label that
  would leave the plot goes to the other side of its point, and an event label that does not fit right of
  its rule is drawn left of it (shortened only when neither side fits; the tooltip keeps the full text).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import altair as alt
import numpy as np
import pandas as pd

from scoring.change.rci import CLASSIFICATIONS, ChangeParameters
from scoring.change.timeline import REASON_BASELINE
from scoring.definitions.rules.facts import is_integer_valued
from scoring.engine.responses import check_responses

if TYPE_CHECKING:
    from scoring.definitions.library import Definition
    from scoring.definitions.schema import Scale

__all__ = [
    "CHART_SUFFIXES",
    "CLASSIFICATION_COLORS",
    "CLASSIFICATION_LABELS",
    "SEVERITY_COLORS",
    "band_table",
    "item_heatmap",
    "jacobson_plot",
    "save_chart",
    "trend_chart",
]

#: ColorBrewer YlOrBr (sequential, colour-blind safe), light to dark; bands take colours by severity rank.
SEVERITY_COLORS = ("#ffffd4", "#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02", "#8c2d04")
#: Okabe–Ito colours for outcome classes (colour-blind safe).
CLASSIFICATION_COLORS = {
    "recovered": "#009E73",
    "reliably_improved": "#56B4E9",
    "no_reliable_change": "#999999",
    "reliably_deteriorated": "#D55E00",
    "not classified": "#000000",
}
CLASSIFICATION_LABELS = {
    "recovered": "Recovered",
    "reliably_improved": "Reliably improved",
    "no_reliable_change": "No reliable change",
    "reliably_deteriorated": "Reliably deteriorated",
    "not classified": "Not classified",
}
CLASSIFICATION_SHAPES = {
    "recovered": "circle",
    "reliably_improved": "diamond",
    "no_reliable_change": "square",
    "reliably_deteriorated": "cross",
    "not classified": "triangle-up",
}
IMPROVEMENT_COLOR, DETERIORATION_COLOR, NEUTRAL_COLOR = "#009E73", "#D55E00", "#000000"
CHANGE_MARKERS = {
    "Reliable improvement vs previous": IMPROVEMENT_COLOR,
    "Reliable deterioration vs previous": DETERIORATION_COLOR,
    "Reliable change vs previous": NEUTRAL_COLOR,
}
CUTOFF_COLOR, EVENT_COLOR, LINE_COLOR = "#333333", "#0072B2", "#4d4d4d"
CHART_SUFFIXES = (".png", ".svg", ".json", ".html")
_DIRECTION = {"worse": "higher = worse", "better": "higher = better", "neutral": "no healthy direction"}


# -- helpers ----------------------------------------------------------------------------------------------
def _scale(definition: Definition, scale: str | None) -> Scale:
    scales = definition.instrument.scales
    ids = [s.id for s in scales]
    if scale is None:
        if len(ids) == 1:
            return scales[0]
        if "total" in ids:
            return scales[ids.index("total")]
        raise ValueError(f"{definition.id} has several scales ({', '.join(ids)}); choose one with scale=")
    if scale not in ids:
        raise ValueError(f"{definition.id} has no scale {scale!r}; its scales are {', '.join(ids)}")
    return scales[ids.index(scale)]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows: NaN/NA/NaT → None, numpy scalars → Python."""
    out = frame.astype(object).where(frame.notna(), None)
    return cast("list[dict[str, Any]]", out.to_dict(orient="records"))  # the chart frames' column labels are str


def _data(frame: pd.DataFrame) -> alt.Data:
    return alt.Data(values=_records(frame))


def _iso(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates).dt.strftime("%Y-%m-%d")


def band_table(definition: Definition, scale: str | None = None) -> pd.DataFrame:
    """The shaded rectangles of a scale's severity bands: ``label, severity, min, max, lo, hi, color``.

    ``min``/``max`` are the published bounds; ``lo``/``hi`` the drawn edges (half-way between whole-number
    bounds on integer-valued scales, else the next band's ``min``), clipped to the scale's range.

    Examples
    --------
    >>> import scoring
    >>> t = band_table(scoring.load_library()["phq9"])
    >>> t[["label", "min", "max", "lo", "hi"]].head(2).to_dict("records")
    [{'label': 'None–minimal', 'min': 0.0, 'max': 4.0, 'lo': 0.0, 'hi': 4.5}, {'label': 'Mild', 'min': 5.0, \
'max': 9.0, 'lo': 4.5, 'hi': 9.5}]
    """
    sc = _scale(definition, scale)
    columns = ["label", "severity", "min", "max", "lo", "hi", "color"]
    if sc.bands is None:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("label", "color") else float) for c in columns})
    ranges = sc.bands.ranges
    lo_range, hi_range = (float(v) for v in sc.range)
    mins = np.array([float(b.min) for b in ranges])
    maxs = np.array([float(b.max) for b in ranges])
    integer = is_integer_valued(definition.instrument, sc)
    edges = (maxs[:-1] + mins[1:]) / 2.0 if integer else mins[1:]
    lo = np.concatenate([[lo_range], edges])
    hi = np.concatenate([edges, [hi_range]])
    severities = [int(b.severity) for b in ranges]
    ranks = {s: i for i, s in enumerate(sorted(set(severities)))}
    n = len(ranks)
    picks = np.linspace(0, len(SEVERITY_COLORS) - 1, n).round().astype(int) if n > 1 else np.array([0])
    colors = [SEVERITY_COLORS[picks[ranks[s]]] for s in severities]
    return pd.DataFrame({"label": [b.label for b in ranges], "severity": severities, "min": mins, "max": maxs,
                         "lo": np.clip(lo, lo_range, hi_range), "hi": np.clip(hi, lo_range, hi_range),
                         "color": colors})


def _cutoff(definition: Definition, sc: Scale) -> tuple[float, str] | None:
    """The clinical cut-off of the change parameters, else the scale's first cut-off for any sex."""
    params = ChangeParameters.from_scale(sc, instrument_id=definition.id)
    if params.cutoff_kind != "none":
        kind = {"declared": "published", "c": "Jacobson–Truax c", "a": "Jacobson–Truax a",
                "b": "Jacobson–Truax b"}[params.cutoff_kind]
        return params.cutoff, f"Clinical cut-off {params.cutoff:g} ({kind})"
    for c in sc.cutoffs:
        if c.sex == "any" and not isinstance(c.value, list):
            return float(c.value), f"Cut-off {c.op} {float(c.value):g}: {c.label}"
    return None


def _select(history: pd.DataFrame, definition: Definition, sc: Scale, patient: object) -> pd.DataFrame:
    missing = [c for c in ("patient", "date", "instrument", "scale", "score") if c not in history.columns]
    if missing:
        raise ValueError(f"the history frame has no column {', '.join(missing)}; build it with scoring.history()")
    rows = history[(history["instrument"] == definition.id) & (history["scale"] == sc.id)]
    if patient is not None:
        rows = rows[rows["patient"].astype(str) == str(patient)]
        if rows.empty:
            raise ValueError(f"no {definition.id} {sc.id} scores for patient {patient!r}")
    elif rows["patient"].nunique() > 1:
        raise ValueError("the history holds several patients; name one with patient=")
    return rows


def _y_title(sc: Scale) -> str:
    return f"{sc.name} ({_DIRECTION.get(sc.higher_is, sc.higher_is)})"


#: Average glyph width of the charts' sans-serif font in em, on the generous side (bold capitals are wider
#: than the average letter), so that text measured with it fits where it is drawn.
GLYPH_EM = 0.55
#: Font sizes (px) of the chart title, axis titles, marks' text and legend labels (Vega-Lite defaults, and
#: the sizes set on the text marks here).
TITLE_PX, AXIS_TITLE_PX, TEXT_PX, LEGEND_LABEL_PX = 13, 11, 10, 10
#: Widest legend label in px before Vega-Lite shortens it with "…" (its default of 160 cut band labels such as
#: "Not below the poor well-being cut-off").
LEGEND_LABEL_LIMIT = 320


def text_px(text: str, size: float) -> float:
    """Estimated width in px of ``text`` at ``size`` px (see :data:`GLYPH_EM`)."""
    return len(text) * size * GLYPH_EM


def wrap_text(text: str, px: float, size: float) -> str | list[str]:
    """``text`` as it fits in ``px``: unchanged when it fits, else lines (Vega-Lite draws a list as lines).

    Nothing is cut: long titles wrap instead of running past the plot or over the axis labels.
    """
    per_line = max(8, int(px // (size * GLYPH_EM)))
    if len(text) <= per_line:
        return text
    return textwrap.wrap(text, width=per_line, break_long_words=True, break_on_hyphens=False)


def _shorten(text: str, px: float, size: float) -> str:
    """``text`` cut with "…" to fit ``px`` (the full text stays in the tooltip)."""
    fits = max(1, int(px // (size * GLYPH_EM)))
    return text if len(text) <= fits else text[:max(1, fits - 1)].rstrip() + "…"


def _abbrev(definition: Definition) -> str:
    return definition.instrument.abbreviation or definition.id


# -- trend ------------------------------------------------------------------------------------------------
def trend_chart(
    history: pd.DataFrame,
    definition: Definition,
    *,
    scale: str | None = None,
    patient: object = None,
    events: pd.DataFrame | None = None,
    title: str | None = None,
    width: int = 640,
    height: int = 320,
) -> alt.LayerChart:
    """A patient's scores over time on one scale, over its severity bands.

    Parameters
    ----------
    history
        From :func:`scoring.history` (one or many patients; name one with ``patient``).
    definition
        The instrument's definition (bands, cut-offs and direction come from it).
    scale
        Scale id (default: the only scale, or ``total``).
    patient
        Patient id; required when the history holds several patients.
    events
        Optional ``date`` and ``label`` columns (e.g. "sertraline 50 mg started"); a ``patient`` column, if
        present, keeps that patient's events only.
    title, width, height
        Chart title (default: instrument, scale and patient) and size in pixels.

    Returns
    -------
    altair.LayerChart
        Layers, in order: ``bands`` (rect), ``band labels`` (text), ``cutoff`` (rule + text, when the scale
        has one), ``scores`` (line), ``points`` (coloured by band), ``reliable change`` (triangles),
        ``baseline label`` (text), ``events`` (rule + text, when given). Each layer is named in its
        ``description``.

    Examples
    --------
    >>> import pandas as pd, scoring
    >>> lib = scoring.load_library()
    >>> h = scoring.history(lib, pd.DataFrame({"patient": "p1", "date": ["2024-01-08", "2024-02-05", "2024-03-04"],
    ...                                        "instrument": "phq9", "total": [18, 11, 8]})).frame
    >>> chart = trend_chart(h, lib["phq9"])
    >>> [layer.description for layer in chart.layer]
    ['bands', 'band labels', 'cutoff', 'cutoff label', 'scores', 'points', 'reliable change up', \
'reliable change down', 'baseline label']
    """
    sc = _scale(definition, scale)
    rows = _select(history, definition, sc, patient)
    lo, hi = (float(v) for v in sc.range)
    y_scale = alt.Scale(domain=[lo, hi], nice=False, zero=False)
    # a y title longer than the plot is tall would run over the x axis labels: wrap it into lines
    y_axis = alt.Axis(title=wrap_text(_y_title(sc), height, AXIS_TITLE_PX))
    pid = patient if patient is not None else (rows["patient"].iloc[0] if len(rows) else "")
    if title is None:
        title = f"{_abbrev(definition)} — {sc.name}" + (f" — patient {pid}" if pid != "" else "")
    bands = band_table(definition, sc.id)
    color = alt.Color("band:N", scale=alt.Scale(domain=list(bands["label"]), range=list(bands["color"])),
                      legend=alt.Legend(title="Severity band", orient="right", labelLimit=LEGEND_LABEL_LIMIT)
                      ) if len(bands) else alt.value("#888888")

    layers: list[alt.Chart] = []
    if len(bands):
        band_data = bands.rename(columns={"label": "band"})
        layers.append(alt.Chart(_data(band_data), description="bands").mark_rect(opacity=0.45).encode(
            y=alt.Y("lo:Q", scale=y_scale, axis=y_axis), y2="hi:Q", color=color,
            tooltip=[alt.Tooltip("band:N", title="Band"), alt.Tooltip("min:Q", title="From"),
                     alt.Tooltip("max:Q", title="To")]))
        band_data = band_data.assign(mid=(band_data["lo"] + band_data["hi"]) / 2.0)
        layers.append(alt.Chart(_data(band_data), description="band labels").mark_text(
            align="left", baseline="middle", dx=4, fontSize=10, color="#333333").encode(
            x=alt.value(0), y=alt.Y("mid:Q", scale=y_scale), text="band:N"))
    cut = _cutoff(definition, sc)
    if cut is not None:
        cut_frame = pd.DataFrame({"cutoff": [cut[0]], "label": [cut[1]]})
        layers.append(alt.Chart(_data(cut_frame), description="cutoff").mark_rule(
            color=CUTOFF_COLOR, strokeDash=[6, 4], strokeWidth=1.5).encode(
            y=alt.Y("cutoff:Q", scale=y_scale), tooltip=alt.Tooltip("label:N", title="Cut-off")))
        layers.append(alt.Chart(_data(cut_frame), description="cutoff label").mark_text(
            align="right", baseline="bottom", dy=-2, fontSize=10, color=CUTOFF_COLOR).encode(
            x=alt.value(width - 4), y=alt.Y("cutoff:Q", scale=y_scale), text="label:N"))

    valid = rows[rows["score"].notna()].copy()
    pts = pd.DataFrame({
        "date": _iso(valid["date"]),
        "score": valid["score"].astype(float),
        "band": valid["band"].astype(object) if "band" in valid else None,
        "previous_difference": valid.get("previous_difference"),
        "previous_rci": valid.get("previous_rci"),
        "previous_classification": _class_label(valid.get("previous_classification")),
        "baseline_difference": valid.get("baseline_difference"),
        "baseline_classification": _class_label(valid.get("baseline_classification")),
    })
    x = alt.X("date:T", title="Date", scale=alt.Scale(padding=24),
              axis=alt.Axis(format="%d %b %Y", labelAngle=-30))
    tooltip = [alt.Tooltip("date:T", title="Date", format="%d %b %Y"), alt.Tooltip("score:Q", title="Score"),
               alt.Tooltip("band:N", title="Band"),
               alt.Tooltip("previous_difference:Q", title="Change vs previous", format="+.1f"),
               alt.Tooltip("previous_rci:Q", title="RCI vs previous", format="+.2f"),
               alt.Tooltip("previous_classification:N", title="vs previous"),
               alt.Tooltip("baseline_difference:Q", title="Change vs baseline", format="+.1f"),
               alt.Tooltip("baseline_classification:N", title="vs baseline")]
    layers.append(alt.Chart(_data(pts), description="scores").mark_line(color=LINE_COLOR, strokeWidth=2).encode(
        x=x, y=alt.Y("score:Q", scale=y_scale, axis=y_axis)))
    layers.append(alt.Chart(_data(pts), description="points").mark_point(
        filled=True, size=90, stroke="#222222", strokeWidth=1, opacity=1).encode(
        x=x, y=alt.Y("score:Q", scale=y_scale), color=color, tooltip=tooltip))

    marks = _change_markers(valid, sc.higher_is)
    # px between a score and the bottom / top of the plot: a marker or label that would fall outside the plot
    # (onto the date labels or the title) goes to the other side of its point
    room_below = (marks["score"].astype(float) - lo) / (hi - lo) * height
    room_above = (hi - marks["score"].astype(float)) / (hi - lo) * height
    px = np.where(marks["moved"] == "up", np.where(room_above < 24, 16, -16), np.where(room_below < 24, -16, 16))
    marks = marks.assign(marker_y=marks["score"].astype(float) - px * (hi - lo) / height)
    kinds = [k for k in CHANGE_MARKERS if (k == "Reliable change vs previous") == (sc.higher_is == "neutral")]
    marker_color = alt.Color("marker:N", scale=alt.Scale(domain=kinds, range=[CHANGE_MARKERS[k] for k in kinds]),
                             legend=alt.Legend(title="Reliable change", orient="right", symbolType="triangle",
                                               labelLimit=LEGEND_LABEL_LIMIT))
    for direction, shape in (("up", "triangle-up"), ("down", "triangle-down")):
        sel = marks[marks["moved"] == direction]
        layers.append(alt.Chart(_data(sel), description=f"reliable change {direction}").mark_point(
            shape=shape, filled=True, size=110, opacity=1).encode(
            x=alt.X("date:T", scale=alt.Scale(padding=24)), y=alt.Y("marker_y:Q", scale=y_scale), fill=marker_color,
            tooltip=[alt.Tooltip("marker:N", title="Change"),
                     alt.Tooltip("difference:Q", title="Points", format="+.1f"),
                     alt.Tooltip("threshold:Q", title="Threshold", format=".2f"),
                     alt.Tooltip("criterion:N", title="Criterion")]))
    last = pts.tail(1).copy()
    if len(last) and last["baseline_classification"].notna().all():
        last["label"] = ("vs baseline: " + last["baseline_classification"].str.lower() + " ("
                         + last["baseline_difference"].map(lambda v: f"{v:+g}") + ")")
    else:
        last = last.iloc[0:0].assign(label=pd.Series(dtype=object))
    # above the last point (clear of its marker), or below it when the point is near the top of the plot
    near_top = (hi - last["score"].astype(float)) / (hi - lo) * height < 40
    last = last.assign(label_y=last["score"].astype(float) + np.where(near_top, -30, 30) * (hi - lo) / height)
    layers.append(alt.Chart(_data(last), description="baseline label").mark_text(
        align="right", baseline="middle", dx=-8, fontSize=11, fontWeight="bold", color="#222222").encode(
        x=alt.X("date:T", scale=alt.Scale(padding=24)), y=alt.Y("label_y:Q", scale=y_scale), text="label:N"))

    if events is not None:
        layers.extend(_event_layers(events, pid if patient is not None or pid != "" else None, width=width,
                                    score_dates=pts["date"]))
    return alt.layer(*layers).properties(title=wrap_text(title, width, TITLE_PX), width=width,
                                         height=height).resolve_scale(color="shared")


def _class_label(col: pd.Series | None) -> pd.Series | None:
    if col is None:
        return None
    return col.astype(object).map(lambda v: CLASSIFICATION_LABELS.get(v) if isinstance(v, str) else None)


def _change_markers(valid: pd.DataFrame, higher_is: str) -> pd.DataFrame:
    """Rows whose change from the previous administration is reliable, with the marker's category."""
    cols = ["date", "score", "moved", "marker", "difference", "threshold", "criterion"]
    if "previous_reliable" not in valid.columns:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    rel = valid[valid["previous_reliable"].fillna(False).astype(bool)]
    diff = rel["previous_difference"].astype(float)
    improvement = rel["previous_improvement"].astype(float)
    marker = np.where(improvement > 0, "Reliable improvement vs previous",
                      np.where(improvement < 0, "Reliable deterioration vs previous", "Reliable change vs previous"))
    if higher_is == "neutral":
        marker[:] = "Reliable change vs previous"
    return pd.DataFrame({"date": _iso(rel["date"]), "score": rel["score"].astype(float),
                         "moved": np.where(diff > 0, "up", "down"), "marker": marker, "difference": diff,
                         "threshold": rel["threshold"].astype(float), "criterion": rel["criterion"].astype(object)})


def _event_layers(events: pd.DataFrame, patient: object, *, width: int = 640,
                  score_dates: pd.Series | None = None) -> list[alt.Chart]:
    missing = [c for c in ("date", "label") if c not in events.columns]
    if missing:
        raise ValueError(f"the events table needs columns date and label (missing: {', '.join(missing)})")
    ev = events
    if "patient" in ev.columns and patient is not None:
        ev = ev[ev["patient"].astype(str) == str(patient)]
    dates = pd.to_datetime(ev["date"], errors="coerce", format="ISO8601")
    if dates.isna().any():
        bad = ev["date"][dates.isna()].iloc[0]
        raise ValueError(f"event date {bad!r} is not a date; write dates as YYYY-MM-DD")
    frame = pd.DataFrame({"date": _iso(dates), "label": ev["label"].astype(str).to_numpy()})
    frame = frame.sort_values("date", kind="stable").reset_index(drop=True)
    frame["label_y"] = 4 + 13 * (np.arange(len(frame)) % 3)  # stagger labels of events close together
    rule = alt.Chart(_data(frame), description="events").mark_rule(
        color=EVENT_COLOR, strokeWidth=1.5, strokeDash=[2, 2]).encode(
        x=alt.X("date:T"), tooltip=[alt.Tooltip("date:T", title="Date", format="%d %b %Y"),
                                    alt.Tooltip("label:N", title="Event")])
    # where the rule lies in the plot (the time axis spans the scores' and the events' dates, 24 px padding):
    # a label that does not fit right of its rule is drawn left of it, and shortened only if neither side fits
    others = pd.Series([] if score_dates is None else list(score_dates), dtype=object)
    every = pd.to_datetime(pd.concat([frame["date"], others]))
    first, span = every.min(), (every.max() - every.min()).total_seconds()
    frac = ((pd.to_datetime(frame["date"]) - first).dt.total_seconds() / span).to_numpy() if span else (
        np.full(len(frame), 0.5))
    x_px = 24 + frac * (width - 48)
    right_room, left_room = width - x_px - 6, x_px - 6
    need = frame["label"].map(lambda t: text_px(t, TEXT_PX)).to_numpy(dtype=float)
    left_of_rule = (need > right_room) & (left_room > right_room)
    room = np.where(left_of_rule, left_room, right_room)
    frame["full_label"] = frame["label"]
    frame["label"] = [_shorten(t, r, TEXT_PX) for t, r in zip(frame["full_label"], room, strict=True)]
    tip = [alt.Tooltip("date:T", title="Date", format="%d %b %Y"), alt.Tooltip("full_label:N", title="Event")]
    out = [rule]
    sides: tuple[tuple[str, Literal["left", "right"], int, np.ndarray], ...] = (
        ("event labels", "left", 3, ~left_of_rule), ("event labels left of their rule", "right", -3, left_of_rule))
    for description, align, dx, sel in sides:
        if description == "event labels" or sel.any():
            out.append(alt.Chart(_data(frame[sel]), description=description).mark_text(
                align=align, baseline="top", dx=dx, fontSize=TEXT_PX, color=EVENT_COLOR).encode(
                x=alt.X("date:T"), y=alt.Y("label_y:Q", scale=None), text="label:N", tooltip=tip))
    return out


# -- item heatmap -----------------------------------------------------------------------------------------
def item_heatmap(
    data: pd.DataFrame,
    definition: Definition,
    *,
    patient: object = None,
    title: str | None = None,
    width: int | None = None,
) -> alt.LayerChart:
    """Item answers over time: items (rows, in administration order) × administration dates (columns).

    Parameters
    ----------
    data
        Long table of administrations with ``date`` and the item answers in columns named by item id
        (``patient`` and ``instrument`` columns, if present, select the rows).
    definition
        The instrument's definition.
    patient
        Patient id; required when ``data`` holds several patients.

    Returns
    -------
    altair.LayerChart
        ``cells`` (rect; colour = the item's contribution after reverse keying, darker = more symptomatic on
        a higher-is-worse instrument and = less well on a higher-is-better one) and ``values`` (the answer
        code as text). Tooltips give the item text (or descriptor), the answer and its label.
    """
    ins = definition.instrument
    rows = data
    if "instrument" in rows.columns:
        rows = rows[rows["instrument"].astype(str).str.strip() == ins.id]
    if "patient" in rows.columns:
        if patient is not None:
            rows = rows[rows["patient"].astype(str) == str(patient)]
        elif rows["patient"].nunique() > 1:
            raise ValueError("the data hold several patients; name one with patient=")
    if "date" not in rows.columns:
        raise ValueError("the data need a 'date' column")
    if rows.empty:
        raise ValueError(f"no {ins.id} administrations" + (f" for patient {patient!r}" if patient is not None else ""))
    item_cols = [c for c in rows.columns if c in set(definition.plan.item_ids)]
    if not item_cols:
        raise ValueError(f"the data have no item columns of {ins.id} ({', '.join(definition.plan.item_ids[:3])}, …)")
    plan = definition.plan
    checked = check_responses(plan, rows[item_cols])
    shown = np.isin(np.array(plan.item_ids, dtype=object), item_cols)
    matrix = checked.matrix  # rows × plan.item_ids, NaN = unanswered or invalid
    iso_dates = _iso(pd.to_datetime(rows["date"], errors="coerce", format="ISO8601"))
    order = np.argsort(iso_dates.to_numpy(), kind="stable")
    matrix, dates = matrix[order], iso_dates.to_numpy()[order]
    # label duplicate dates (two administrations on one day) so that each keeps its own column
    dup = pd.Series(dates).groupby(dates).cumcount().to_numpy()
    columns = np.where(dup > 0, [f"{d} ({k + 1})" for d, k in zip(dates, dup, strict=True)], dates)

    n_rows, n_items = matrix.shape
    items = ins.items
    sets = {s.id: s for s in ins.option_sets}
    labels = {it.id: {float(o.value): o.label for o in sets[it.options].options} for it in items}
    text = [f"{k + 1}. {(it.text or it.descriptor or it.id).strip()}" for k, it in enumerate(items)]
    # the wording on up to two lines of about 48 characters (a critical item such as PHQ-9 item 9 must not lose
    # its end to an ellipsis); only longer items are shortened, the tooltip has the full text
    short = [_two_lines(t, 48) for t in text]
    wrapped = any("\n" in t for t in short)
    values = matrix.ravel()
    item_idx = np.tile(np.arange(n_items), n_rows)
    lo, hi = plan.lo[item_idx], plan.hi[item_idx]
    keyed = np.where(plan.reverse[item_idx], lo + hi - values, values)
    higher_is = {s.higher_is for s in ins.scales}
    burden = (lo + hi - keyed) if higher_is == {"better"} else keyed
    subtitle = ("darker = less well (item scores after reverse keying)" if higher_is == {"better"} else
                "colour = item score after reverse keying" if "neutral" in higher_is else
                "darker = more symptoms (item scores after reverse keying)")
    frame = pd.DataFrame({
        "administration": np.repeat(columns, n_items),
        "item": np.array(short, dtype=object)[item_idx],
        "item_id": np.array(plan.item_ids, dtype=object)[item_idx],
        "item_text": np.array(text, dtype=object)[item_idx],
        "answer": values,
        "answer_label": _answer_labels(labels, np.array(plan.item_ids, dtype=object)[item_idx], values),
        "reverse": np.where(plan.reverse[item_idx], "yes", "no"),
        "burden": burden,
        "dark": burden >= (lo + (hi - lo) * 0.6),
    })
    frame = frame[np.tile(shown, n_rows)]
    domain = [float(np.nanmin(plan.lo)), float(np.nanmax(plan.hi))]
    y = alt.Y("item:N", sort=short, title=None,
              axis=alt.Axis(labelLimit=320, labelExpr="split(datum.label, '\\n')", labelLineHeight=12))
    xcol = alt.X("administration:O", sort=list(dict.fromkeys(columns)), title="Administration date",
                 axis=alt.Axis(labelAngle=-30))
    tooltip = [alt.Tooltip("administration:O", title="Date"), alt.Tooltip("item_text:N", title="Item"),
               alt.Tooltip("answer:Q", title="Answer"), alt.Tooltip("answer_label:N", title="Meaning"),
               alt.Tooltip("reverse:N", title="Reverse-keyed")]
    cells = alt.Chart(_data(frame), description="cells").mark_rect(stroke="#ffffff", strokeWidth=1).encode(
        x=xcol, y=y, color=alt.Color("burden:Q", scale=alt.Scale(scheme="yelloworangebrown", domain=domain),
                                     legend=alt.Legend(title="Item score")), tooltip=tooltip)
    values_layer = alt.Chart(_data(frame[frame["answer"].notna()]), description="values").mark_text(fontSize=11).encode(
        x=xcol, y=y, text=alt.Text("answer:Q", format=".0f"),
        color=alt.condition("datum.dark", alt.value("#ffffff"), alt.value("#222222")), tooltip=tooltip)
    pid = patient if patient is not None else (rows["patient"].iloc[0] if "patient" in rows.columns else None)
    title = title or f"{_abbrev(definition)} item answers" + (f" — patient {pid}" if pid is not None else "")
    size = {"width": width} if width else {"width": alt.Step(56)}
    # no layer has a facet encoding, so alt.layer gives a LayerChart (it gives a FacetChart only for shared facets)
    return cast(alt.LayerChart, alt.layer(cells, values_layer).properties(title=alt.Title(title, subtitle=subtitle),
                                                                          height=alt.Step(30 if wrapped else 22),
                                                                          **size))


def _two_lines(text: str, width: int) -> str:
    """``text`` on one line, or two joined by a newline; cut with "…" only beyond two lines."""
    if len(text) <= width:
        return text
    lines = textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=False)
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), width=width, placeholder="…")]
    return "\n".join(lines)


def _answer_labels(labels: dict[str, dict[float, str]], item_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The option label of each (item, answer) cell; 'not answered' for NaN."""
    table = pd.Series({f"{i}|{v:g}": lab for i, opts in labels.items() for v, lab in opts.items()}, dtype=object)
    keys = pd.Series(item_ids, dtype=object) + "|" + pd.Series(values).map(lambda v: f"{v:g}")
    out = keys.map(table).to_numpy(dtype=object)
    return np.where(np.isnan(values), "not answered", out)


# -- Jacobson plot ----------------------------------------------------------------------------------------
def jacobson_plot(
    history: pd.DataFrame,
    definition: Definition,
    *,
    scale: str | None = None,
    title: str | None = None,
    size: int = 420,
) -> alt.LayerChart:
    """Baseline against latest score for a cohort, classified (Jacobson & Truax 1991).

    Each patient's latest scored administration after baseline is one point (x = baseline, y = latest),
    coloured and shaped by the baseline→latest classification. The identity line is "no change"; the shaded
    band around it is the region of no reliable change (± the classifying threshold, published or
    z·SE_diff); dashed lines mark the clinical cut-off on both axes. On a higher-is-worse scale improvement
    lies below the identity line, on a higher-is-better scale above it (labelled in the chart).

    Returns
    -------
    altair.LayerChart
        Layers ``reliable change band`` (area, when a criterion exists), ``identity`` (line),
        ``cutoff x`` / ``cutoff y`` (rules, when a cut-off exists), ``region labels`` (text) and
        ``patients`` (points).
    """
    sc = _scale(definition, scale)
    missing = [c for c in ("patient", "instrument", "scale", "score", "baseline_score", "administration")
               if c not in history.columns]
    if missing:
        raise ValueError(f"the history frame has no column {', '.join(missing)}; build it with scoring.history()")
    rows = history[(history["instrument"] == definition.id) & (history["scale"] == sc.id)]
    after = rows["baseline_reason"].astype(object) != REASON_BASELINE
    rows = rows[rows["score"].notna() & rows["baseline_score"].notna() & after]
    latest = rows.sort_values(["date"], kind="stable").groupby(rows["patient"].astype(str), sort=True).tail(1)
    params = ChangeParameters.from_scale(sc, instrument_id=definition.id)
    lo, hi = (float(v) for v in sc.range)
    axis_scale = alt.Scale(domain=[lo, hi], nice=False, zero=False)
    cls = latest["baseline_classification"].astype(object).where(latest["baseline_classification"].notna(),
                                                                 "not classified")
    pts = pd.DataFrame({
        "patient": latest["patient"].astype(str),
        "baseline": latest["baseline_score"].astype(float),
        "latest": latest["score"].astype(float),
        "difference": latest["baseline_difference"].astype(float),
        "rci": latest["baseline_rci"].astype(float),
        "classification": cls.map(CLASSIFICATION_LABELS),
    })
    x = alt.X("baseline:Q", scale=axis_scale,
              title=wrap_text(f"Baseline {sc.name} ({_DIRECTION[sc.higher_is]})", size, AXIS_TITLE_PX))
    y = alt.Y("latest:Q", scale=axis_scale, title=wrap_text(f"Latest {sc.name}", size, AXIS_TITLE_PX))
    layers: list[alt.Chart] = []
    thr = params.threshold
    if thr == thr:
        grid = np.linspace(lo, hi, 2)
        band = pd.DataFrame({"baseline": grid, "low": grid - thr, "high": grid + thr})
        layers.append(alt.Chart(_data(band), description="reliable change band").mark_area(
            color="#bbbbbb", opacity=0.35, clip=True).encode(
            x=x, y=alt.Y("low:Q", scale=axis_scale, title=wrap_text(f"Latest {sc.name}", size, AXIS_TITLE_PX)),
            y2="high:Q",
            tooltip=alt.value(f"No reliable change: |change| below {thr:g} points ({params.criterion})")))
    ident = pd.DataFrame({"baseline": [lo, hi], "latest": [lo, hi]})
    layers.append(alt.Chart(_data(ident), description="identity").mark_line(color="#555555", strokeWidth=1).encode(
        x=x, y=y))
    if params.cutoff_kind != "none":
        cut = pd.DataFrame({"cutoff": [params.cutoff], "label": [f"cut-off {params.cutoff:g}"]})
        layers.append(alt.Chart(_data(cut), description="cutoff x").mark_rule(
            color=CUTOFF_COLOR, strokeDash=[6, 4]).encode(x=alt.X("cutoff:Q", scale=axis_scale),
                                                           tooltip="label:N"))
        layers.append(alt.Chart(_data(cut), description="cutoff y").mark_rule(
            color=CUTOFF_COLOR, strokeDash=[6, 4]).encode(y=alt.Y("cutoff:Q", scale=axis_scale),
                                                           tooltip="label:N"))
    span = hi - lo
    if sc.higher_is in ("worse", "better"):
        better_below = sc.higher_is == "worse"
        regions = pd.DataFrame({
            "baseline": [lo + 0.97 * span, lo + 0.03 * span],
            "latest": [lo + 0.03 * span, lo + 0.97 * span],
            "label": ["improved" if better_below else "deteriorated", "deteriorated" if better_below else "improved"],
            "align": ["right", "left"],
        })
        for align in ("right", "left"):
            layers.append(alt.Chart(_data(regions[regions["align"] == align]), description="region labels")
                          .mark_text(align=align, fontSize=11, fontStyle="italic", color="#555555").encode(
                x=x, y=y, text="label:N"))
    keys = [*reversed(CLASSIFICATIONS)] + (["not classified"] if (cls == "not classified").any() else [])
    classes = [CLASSIFICATION_LABELS[c] for c in keys]
    layers.append(alt.Chart(_data(pts), description="patients").mark_point(filled=True, size=70, opacity=0.9).encode(
        x=x, y=y,
        color=alt.Color("classification:N", scale=alt.Scale(domain=classes, range=[
            CLASSIFICATION_COLORS[c] for c in keys]), legend=alt.Legend(title="Baseline → latest",
                                                                         labelLimit=LEGEND_LABEL_LIMIT)),
        shape=alt.Shape("classification:N", scale=alt.Scale(domain=classes, range=[
            CLASSIFICATION_SHAPES[c] for c in keys])),
        tooltip=[alt.Tooltip("patient:N", title="Patient"), alt.Tooltip("baseline:Q", title="Baseline"),
                 alt.Tooltip("latest:Q", title="Latest"), alt.Tooltip("difference:Q", title="Change", format="+.1f"),
                 alt.Tooltip("rci:Q", title="RCI", format="+.2f"),
                 alt.Tooltip("classification:N", title="Classification")]))
    title = title or f"{_abbrev(definition)} — {sc.name}: baseline vs latest (n = {len(pts)})"
    # no layer has a facet encoding, so alt.layer gives a LayerChart (it gives a FacetChart only for shared facets)
    return cast(alt.LayerChart, alt.layer(*layers).properties(title=wrap_text(title, size, TITLE_PX), width=size,
                                                              height=size))


# -- output -----------------------------------------------------------------------------------------------
def save_chart(chart: alt.TopLevelMixin, path: Path | str, *, scale_factor: float = 2.0) -> Path:
    """Write a chart by extension: ``.png`` / ``.svg`` (vl-convert), ``.json`` (Vega-Lite spec), ``.html``
    (self-contained and offline, see :func:`html_page`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CHART_SUFFIXES:
        raise ValueError(f"{path}: unsupported chart type {suffix!r}; use {', '.join(CHART_SUFFIXES)}")
    if suffix == ".json":
        path.write_text(chart.to_json(), encoding="utf-8")
    elif suffix == ".html":
        path.write_text(html_page(chart), encoding="utf-8")
    else:
        import vl_convert as vlc

        spec = chart.to_dict()
        version = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
        if suffix == ".png":
            path.write_bytes(vlc.vegalite_to_png(spec, vl_version=version, scale=scale_factor))
        else:
            path.write_text(vlc.vegalite_to_svg(spec, vl_version=version), encoding="utf-8")
    return path


#: vega-embed options of the HTML page: export as PNG/SVG only; no "view source" and no "open in the Vega
#: editor" (which would send the chart's data, patient scores, to vega.github.io)
HTML_EMBED_OPTIONS: dict[str, Any] = {"renderer": "svg",
                                      "actions": {"export": True, "source": False, "compiled": False,
                                                  "editor": False}}
_HTML_INIT = """(function () {
  var target = document.getElementById("psyscore-chart");
  var spec = JSON.parse(document.getElementById("psyscore-spec").textContent);
  var options = JSON.parse(document.getElementById("psyscore-options").textContent);
  window.vegaEmbed(target, spec, options).then(function () {
    target.setAttribute("data-rendered", "true");
  }).catch(function (error) {
    target.textContent = "The chart could not be drawn: " + error;
  });
})();"""


def _json_in_html(value: object) -> str:
    """JSON that cannot end the ``<script>`` element holding it: ``< > &`` and the JavaScript line
    separators as ``\\uXXXX`` escapes (a label ``</script><script>…`` stays text)."""
    import json

    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _script_safe(code: str) -> str:
    """Library code inside an inline ``<script>``: ``</script`` and ``<!--`` cannot occur in it (inside JS
    strings, regular expressions and comments ``<\\/`` and ``<\\!`` mean the same)."""
    import re

    return re.sub(r"<(/script|!--)", lambda m: "<\\" + m.group(1), code, flags=re.IGNORECASE)


def html_page(chart: alt.TopLevelMixin) -> str:
    """A self-contained HTML page that draws the chart offline and loads nothing.

    Vega, Vega-Lite and vega-embed come from the installed ``vl-convert-python`` (its JavaScript bundle),
    inlined: no CDN, no request. The specification and its data sit in a ``type="application/json"``
    element with ``<``, ``>`` and ``&`` escaped, so no label, title or answer can close it and run as
    script. A Content-Security-Policy allows only the page's own two scripts (by SHA-256; Vega compiles its
    expressions, hence ``'unsafe-eval'``), no network connection, and images only from ``data:``/``blob:``
    (the PNG export): an injected script, should one ever get into the page, would not run.
    """
    import base64
    import hashlib

    import vl_convert as vlc

    version = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
    # the stub makes `snippet` required; the function's signature is (snippet=None, vl_version=None)
    bundle = _script_safe(vlc.javascript_bundle(vl_version=version))  # type: ignore[call-arg]
    digests = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode() + "'"
                       for code in (bundle, _HTML_INIT))
    csp = (f"default-src 'none'; script-src {digests} 'unsafe-eval'; style-src 'unsafe-inline'; "
           "img-src data: blob:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="referrer" content="no-referrer">',
        "<title>psyscore chart</title>",
        f"<script>{bundle}</script>",
        "</head>",
        "<body>",
        '<div id="psyscore-chart"></div>',
        f'<script type="application/json" id="psyscore-spec">{_json_in_html(chart.to_dict())}</script>',
        f'<script type="application/json" id="psyscore-options">{_json_in_html(HTML_EMBED_OPTIONS)}</script>',
        f"<script>{_HTML_INIT}</script>",
        "</body>",
        "</html>",
        "",
    ])

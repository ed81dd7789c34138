"""Chart text is not clipped and does not overlap (issue 9 item 7), checked on the rendered scene graph.

vl-convert renders each chart to Vega's scene graph (the positions it draws, the same as the PNG); every text
item is measured with Helvetica metrics (the widths Vega's sans-serif measures, to a pixel), so the tests see
what a clinician sees: the y-axis title fits the plot's height (a long scale name ran over the dates), the
chart title fits the chart, marks' labels stay inside the plot and clear of the legend, legend labels are not
shortened with "…", and reliable-change markers stay inside the plot.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest

import scoring

alt = pytest.importorskip("altair")
vlc = pytest.importorskip("vl_convert")
pdfmetrics = pytest.importorskip("reportlab.pdfbase.pdfmetrics")

from scoring import charts  # noqa: E402
from tests.support.shipped import shipped_library  # noqa: E402

LIB = shipped_library()


@dataclass
class Box:
    role: str
    text: str
    x0: float
    x1: float
    y0: float
    y1: float
    limit: float | None


def _width(text: str, size: float, bold: bool) -> float:
    return pdfmetrics.stringWidth(text, "Helvetica-Bold" if bold else "Helvetica", size)


def _text_box(item: dict, ox: float, oy: float, role: str) -> Iterator[Box]:
    lines = item["text"] if isinstance(item["text"], list) else [item["text"]]
    size = item.get("fontSize") or 11
    bold = item.get("fontWeight") == "bold"
    width = max(_width(str(t), size, bold) for t in lines)
    height = size * len(lines) * 1.15
    x, y = ox + item.get("x", 0) + (item.get("dx") or 0), oy + item.get("y", 0) + (item.get("dy") or 0)
    align = item.get("align") or "left"
    along = {"left": (0, width), "center": (-width / 2, width / 2), "right": (-width, 0)}[align]
    baseline = item.get("baseline") or "alphabetic"
    across = {"top": (0, height), "middle": (-height / 2, height / 2), "bottom": (-height, 0)}.get(
        baseline, (-height * 0.8, height * 0.2))
    angle = (item.get("angle") or 0) % 360
    if angle in (270, 90):  # vertical: the text runs along y
        sign = -1 if angle == 270 else 1
        ys = sorted((y + sign * along[0], y + sign * along[1]))
        yield Box(role, " ".join(map(str, lines)), x + across[0], x + across[1], ys[0], ys[1], item.get("limit"))
    elif angle == 0:
        yield Box(role, " ".join(map(str, lines)), x + along[0], x + along[1], y + across[0], y + across[1],
                  item.get("limit"))


def scene(chart) -> tuple[dict, list[Box], list[tuple[str, float, float]]]:
    """(plot group, text boxes, symbol centres) in the plot's coordinates."""
    spec = chart.to_dict()
    version = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
    sg = vlc.vegalite_to_scenegraph(spec, vl_version=version)
    root = sg["scenegraph"]["items"][0]
    boxes: list[Box] = []
    symbols: list[tuple[str, float, float]] = []

    def walk(mark: dict, ox: float, oy: float, parent_role: str) -> None:
        role = mark.get("role") or parent_role
        name = mark.get("name") or role
        for it in mark.get("items", []):
            if mark.get("marktype") == "group":
                for child in it.get("items", []):
                    walk(child, ox + it.get("x", 0), oy + it.get("y", 0), role)
            elif mark.get("marktype") == "text" and it.get("text") not in (None, ""):
                boxes.extend(_text_box(it, ox, oy, f"{role}:{name}"))
            elif mark.get("marktype") == "symbol" and role == "mark":
                symbols.append((name, ox + it.get("x", 0), oy + it.get("y", 0)))

    for child in root.get("items", []):
        walk(child, 0, 0, "")
    return root, boxes, symbols


def check_layout(chart) -> None:
    root, boxes, symbols = scene(chart)
    w, h = root["width"], root["height"]
    tol = 1.5
    problems = []
    for b in boxes:
        vertical = b.role.startswith("axis-title") and b.y1 - b.y0 > b.x1 - b.x0  # the y axis title
        if vertical and (b.y0 < -tol or b.y1 > h + tol):
            problems.append(f"y-axis title runs past the plot ({b.y0:.0f}..{b.y1:.0f} of 0..{h}): {b.text!r}")
        if b.role.startswith("mark") and (b.x0 < -tol or b.x1 > w + tol or b.y0 < -tol or b.y1 > h + tol):
            problems.append(f"label outside the plot ({b.x0:.0f}..{b.x1:.0f} × {b.y0:.0f}..{b.y1:.0f} of "
                            f"{w}×{h}): {b.text!r}")
        if b.role.startswith("legend-label") and b.limit is not None and b.x1 - b.x0 > b.limit:
            problems.append(f"legend label shortened with …: {b.text!r}")
        if b.role.startswith("axis-label") and b.limit is not None and b.x1 - b.x0 > b.limit:
            problems.append(f"axis label shortened with …: {b.text!r}")
    legends = [b for b in boxes if b.role.startswith("legend")]
    if legends:
        legend_x = min(b.x0 for b in legends)
        for b in boxes:
            if b.role.startswith("mark") and b.x1 > legend_x - 2 and b.y0 < max(x.y1 for x in legends):
                problems.append(f"label runs into the legend: {b.text!r}")
    titles = [b for b in boxes if b.role.startswith("title")]
    left = min(b.x0 for b in boxes if not b.role.startswith("title"))
    right = max(b.x1 for b in boxes if not b.role.startswith("title"))
    for t in titles:
        if t.x1 - t.x0 > (right - left) + tol:
            problems.append(f"title wider than the chart ({t.x1 - t.x0:.0f} > {right - left:.0f} px): {t.text!r}")
    for name, _, y in symbols:
        if not (-tol <= y <= h + tol) and not math.isnan(y):
            problems.append(f"marker {name} outside the plot at y={y:.0f}")
    assert not problems, "\n".join(problems)


def _history(instrument: str, answers: list[list[float]], dates: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    items = LIB[instrument].plan.item_ids
    data = pd.DataFrame([{"patient": "p1", "date": d, "instrument": instrument, **dict(zip(items, a, strict=False))}
                         for d, a in zip(dates, answers, strict=True)])
    return scoring.history(LIB, data).frame, data


DATES = ["2024-01-08", "2024-02-05", "2024-03-04", "2024-04-01"]
EVENTS = pd.DataFrame({"date": ["2024-02-01", "2024-02-03", "2024-03-28"],
                       "label": ["Sertraline 50 mg started", "CBT group begins", "Dose raised to 100 mg after review"]})


def test_trend_with_a_long_scale_name_events_and_extreme_scores() -> None:
    # PCL-5 cluster D count: the y title (66 characters) is longer than the plot is tall
    h, _ = _history("pcl5", [[4] * 20, [1] * 20, [4] * 20, [0] * 20], DATES)
    chart = charts.trend_chart(h, LIB["pcl5"], scale="cluster_d_count", events=EVENTS)
    check_layout(chart)


def test_trend_with_bands_cutoff_and_markers_at_both_ends() -> None:
    # 27 → 0 → 27 → 0: reliable-change markers at the top and the bottom edge of the plot
    h, _ = _history("phq9", [[3] * 9, [0] * 9, [3] * 9, [0] * 9], DATES)
    chart = charts.trend_chart(h, LIB["phq9"], events=EVENTS,
                               title="PHQ-9 — Depression severity — Jana Müller (record 4711), Praxis Süd, team 2")
    check_layout(chart)
    _, _, symbols = scene(chart)
    assert len(symbols) == 7  # 4 points and 3 reliable-change markers, two of them at an edge


def test_trend_who5_long_band_labels_and_event_near_the_right_edge() -> None:
    h, _ = _history("who5", [[1] * 5, [3] * 5], DATES[:2])
    events = pd.DataFrame({"date": ["2024-02-01"], "label": ["Started a long-named medication regimen today"]})
    check_layout(charts.trend_chart(h, LIB["who5"], scale="raw", events=events))
    check_layout(charts.trend_chart(h, LIB["who5"], scale="percentage", events=events))


@pytest.mark.parametrize("instrument", ["pcl5", "who5", "phq9"])
def test_item_heatmap(instrument: str) -> None:
    items = LIB[instrument].plan
    _, data = _history(instrument, [[float(c[-1]) for c in items.allowed], [float(c[0]) for c in items.allowed]],
                       DATES[:2])
    check_layout(charts.item_heatmap(data, LIB[instrument]))


def test_jacobson_plot_with_a_long_scale_name() -> None:
    rows = []
    for p in range(12):
        for d, v in (("2024-01-01", 4 - p % 3), ("2024-03-01", p % 3)):
            rows.append({"patient": f"p{p}", "date": d, "instrument": "pcl5",
                         **{f"pcl5_{i}": v for i in range(1, 21)}})
    h = scoring.history(LIB, pd.DataFrame(rows)).frame
    check_layout(charts.jacobson_plot(h, LIB["pcl5"], scale="cluster_d"))
    check_layout(charts.jacobson_plot(h, LIB["pcl5"]))


def test_the_check_catches_what_it_should() -> None:
    """The measuring itself: an unwrapped long y title and a cut legend label are reported."""
    h, _ = _history("pcl5", [[4] * 20, [1] * 20], DATES[:2])
    chart = charts.trend_chart(h, LIB["pcl5"], scale="cluster_d_count")
    bad = chart.to_dict()
    for layer in bad["layer"]:
        axis = layer.get("encoding", {}).get("y", {}).get("axis")
        if axis and axis.get("title"):
            axis["title"] = " ".join(axis["title"]) if isinstance(axis["title"], list) else axis["title"]
    with pytest.raises(AssertionError, match="y-axis title runs past the plot"):
        check_layout(alt.LayerChart.from_dict(bad))


def test_heatmap_shows_the_whole_wording_of_a_critical_item() -> None:
    """PHQ-9 item 9 was cut to "Thoughts that you would be better off dead o…"; it wraps onto two lines now."""
    d = LIB["phq9"]
    _, data = _history("phq9", [[3] * 9, [0] * 9], DATES[:2])
    _, boxes, _ = scene(charts.item_heatmap(data, d))
    labels = [b.text for b in boxes if b.role.startswith("axis-label")]
    wording = " ".join(d.instrument.items[8].text.split())
    assert f"9. {wording}" in labels
    assert not any(label.endswith("…") and label.startswith("9.") for label in labels)

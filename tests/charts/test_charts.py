"""Charts: the Vega-Lite specifications carry the definition's bands, cut-off, markers and events; PNG renders."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import scoring

alt = pytest.importorskip("altair")
pytest.importorskip("vl_convert")
from scoring import charts  # noqa: E402  (needs altair)
from tests.support.shipped import shipped_library  # noqa: E402

LIB = shipped_library()
PHQ9 = LIB["phq9"]
DATES = ["2024-01-08", "2024-02-05", "2024-03-04", "2024-04-01", "2024-05-06"]


def phq9_history() -> pd.DataFrame:
    return scoring.history(LIB, pd.DataFrame({"patient": "p1", "date": DATES, "instrument": "phq9",
                                              "total": [18, 12, 7, 19, 3]})).frame


def layers(chart: Any) -> dict[str, dict[str, Any]]:
    """Layer specs by description, with their data rows resolved from the top-level datasets."""
    spec = chart.to_dict()
    out: dict[str, dict[str, Any]] = {}
    for layer in spec["layer"]:
        data = layer.get("data", {})
        rows = data["values"] if "values" in data else spec.get("datasets", {}).get(data.get("name"), [])
        out.setdefault(layer["description"], {**layer, "rows": rows})
    return out


def test_no_altair_on_import() -> None:
    code = "import sys, scoring; scoring.history; print('altair' in sys.modules or 'streamlit' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


def test_trend_bands_follow_the_definition() -> None:
    spec = layers(charts.trend_chart(phq9_history(), PHQ9))
    bands = spec["bands"]["rows"]
    published = PHQ9.instrument.scales[0].bands.ranges
    assert [b["band"] for b in bands] == [r.label for r in published]
    assert [(b["min"], b["max"]) for b in bands] == [(r.min, r.max) for r in published]
    # integer scale: edges half-way between published bounds, clipped to the range
    assert [(b["lo"], b["hi"]) for b in bands] == [(0, 4.5), (4.5, 9.5), (9.5, 14.5), (14.5, 19.5), (19.5, 27)]
    assert spec["bands"]["mark"]["type"] == "rect"
    assert spec["bands"]["encoding"]["y"]["scale"]["domain"] == [0, 27]
    colors = spec["bands"]["encoding"]["color"]["scale"]["range"]
    assert len(set(colors)) == len(bands) and all(c in charts.SEVERITY_COLORS for c in colors)
    # points are coloured with the same band scale
    assert spec["points"]["encoding"]["color"]["field"] == "band"
    assert spec["points"]["encoding"]["color"]["scale"]["domain"] == [r.label for r in published]


def test_trend_cutoff_rule_at_declared_value() -> None:
    spec = layers(charts.trend_chart(phq9_history(), PHQ9))
    assert spec["cutoff"]["mark"]["type"] == "rule"
    assert [r["cutoff"] for r in spec["cutoff"]["rows"]] == [10]
    assert "10" in spec["cutoff label"]["rows"][0]["label"]


def test_trend_reliable_change_markers_are_direction_aware() -> None:
    spec = layers(charts.trend_chart(phq9_history(), PHQ9))
    down = spec["reliable change down"]
    up = spec["reliable change up"]
    assert down["mark"]["shape"] == "triangle-down" and up["mark"]["shape"] == "triangle-up"
    # 18 → 12 (−6, reliable improvement), 12 → 7 (−5, not reliable), 7 → 19 (+12 deterioration), 19 → 3
    assert [(r["date"], r["marker"]) for r in down["rows"]] == [
        ("2024-02-05", "Reliable improvement vs previous"), ("2024-05-06", "Reliable improvement vs previous")]
    assert [(r["date"], r["marker"]) for r in up["rows"]] == [("2024-04-01", "Reliable deterioration vs previous")]
    assert spec["baseline label"]["rows"][0]["label"] == "vs baseline: recovered (-15)"

    who5 = LIB["who5"]
    h = scoring.history(LIB, pd.DataFrame({"patient": "w", "date": DATES[:3], "instrument": "who5",
                                           "percentage": [40, 60, 44]})).frame
    wspec = layers(charts.trend_chart(h, who5, scale="percentage"))
    # higher is better: a rise is an improvement, a fall a deterioration
    assert [r["marker"] for r in wspec["reliable change up"]["rows"]] == ["Reliable improvement vs previous"]
    assert [r["marker"] for r in wspec["reliable change down"]["rows"]] == ["Reliable deterioration vs previous"]
    assert [r["cutoff"] for r in wspec["cutoff"]["rows"]] == [50]
    assert "higher = better" in wspec["scores"]["encoding"]["y"]["axis"]["title"]


def test_trend_events_are_labelled_rules() -> None:
    events = pd.DataFrame({"date": ["2024-01-20", "2024-03-20"], "label": ["sertraline started", "CBT started"],
                           "patient": ["p1", "p1"]})
    spec = layers(charts.trend_chart(phq9_history(), PHQ9, events=events))
    assert spec["events"]["mark"]["type"] == "rule"
    assert [(r["date"], r["label"]) for r in spec["events"]["rows"]] == [
        ("2024-01-20", "sertraline started"), ("2024-03-20", "CBT started")]
    assert spec["event labels"]["encoding"]["text"]["field"] == "label"
    with pytest.raises(ValueError, match="date and label"):
        charts.trend_chart(phq9_history(), PHQ9, events=pd.DataFrame({"when": ["2024-01-01"]}))


def test_trend_needs_one_patient() -> None:
    two = scoring.history(LIB, pd.DataFrame({"patient": ["a", "b"], "date": DATES[:2], "instrument": "phq9",
                                             "total": [5, 6]})).frame
    with pytest.raises(ValueError, match="several patients"):
        charts.trend_chart(two, PHQ9)
    assert charts.trend_chart(two, PHQ9, patient="b").to_dict()["title"].endswith("patient b")


def test_fractional_scale_band_edges_are_next_minimum() -> None:
    t = charts.band_table(LIB["core10"])
    assert t["lo"].tolist()[1:] == t["min"].tolist()[1:]


def test_heatmap_items_and_tooltips() -> None:
    data = pd.DataFrame([[3, 3, 2, 2, 2, 2, 2, 1, 1], [0, 1, 0, 1, 0, 1, 0, 0, None]],
                        columns=[f"phq9_{i}" for i in range(1, 10)])
    data.insert(0, "date", DATES[:2])
    data.insert(0, "patient", "p1")
    spec = layers(charts.item_heatmap(data, PHQ9))
    cells = spec["cells"]["rows"]
    assert len(cells) == 18 and spec["cells"]["mark"]["type"] == "rect"
    first = cells[0]
    assert first["item_text"].startswith("1. Little interest or pleasure")
    assert first["answer"] == 3 and first["answer_label"] == "Nearly every day"
    assert cells[-1]["answer_label"] == "not answered"
    assert {t["field"] for t in spec["cells"]["encoding"]["tooltip"]} >= {"item_text", "answer", "answer_label"}
    assert len(spec["values"]["rows"]) == 17  # no text for the unanswered cell


def test_heatmap_reverse_keyed_items_colour_by_keyed_value() -> None:
    core10 = LIB["core10"]
    data = pd.DataFrame({f"core10_{i}": [0] for i in range(1, 11)})
    data["date"] = "2024-01-01"
    rows = layers(charts.item_heatmap(data, core10))["cells"]["rows"]
    by_id = {r["item_id"]: r for r in rows}
    assert by_id["core10_2"]["reverse"] == "yes" and by_id["core10_2"]["burden"] == 4  # reversed: 0 → 4
    assert by_id["core10_1"]["burden"] == 0


def test_jacobson_plot_layers() -> None:
    data = pd.DataFrame({"patient": ["a", "a", "b", "b", "c", "c", "d"],
                         "date": ["2024-01-01", "2024-04-01"] * 3 + ["2024-01-01"],
                         "instrument": "phq9", "total": [20, 8, 12, 14, 6, 15, 9]})
    spec = layers(charts.jacobson_plot(scoring.history(LIB, data).frame, PHQ9))
    pts = {r["patient"]: r for r in spec["patients"]["rows"]}
    assert set(pts) == {"a", "b", "c"}  # d has only a baseline
    assert pts["a"]["classification"] == "Recovered"
    assert pts["b"]["classification"] == "No reliable change"
    assert pts["c"]["classification"] == "Reliably deteriorated"
    band = spec["reliable change band"]["rows"]
    assert [(r["low"], r["high"]) for r in band] == [(-6, 6), (21, 33)]  # ± the published 6 points
    assert [r["cutoff"] for r in spec["cutoff x"]["rows"]] == [10]
    assert [r["cutoff"] for r in spec["cutoff y"]["rows"]] == [10]
    assert [(r["baseline"], r["latest"]) for r in spec["identity"]["rows"]] == [(0, 0), (27, 27)]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_png_and_svg_render(tmp_path: Path) -> None:
    chart = charts.trend_chart(phq9_history(), PHQ9, width=400, height=200)
    png = charts.save_chart(chart, tmp_path / "trend.png", scale_factor=1.0)
    width, height = png_size(png.read_bytes())
    assert 400 < width < 900 and 200 < height < 500
    svg = charts.save_chart(chart, tmp_path / "trend.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg") and "Moderately severe" in svg
    assert charts.save_chart(chart, tmp_path / "trend.json").read_text(encoding="utf-8").startswith("{")
    with pytest.raises(ValueError, match="unsupported chart type"):
        charts.save_chart(chart, tmp_path / "trend.gif")

"""The REDCap data dictionary of every shipped instrument, parsed back with the csv module and checked against
REDCap's rules; every calc equation evaluated (tests/redcap/calc_eval.py) on random answers — blanks, missing-data
codes, closed gates, reverse keys at both ends — equals the engine's score, and is blank exactly when the engine
gives none."""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.definitions.library import Library
from scoring.engine import score
from scoring.redcap import (
    HEADERS,
    RedcapError,
    calc_equation,
    data_dictionary,
    field_name,
    item_fields,
    scale_fields,
    write_dictionary,
)
from scoring.redcap.records import DEFAULT_MISSING_CODES
from tests.redcap.calc_eval import evaluate, fields_in
from tests.support.shipped import shipped_library

IDS = sorted(shipped_library())
CHOICE = re.compile(r"^(-?\d+), (\S.*)$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _parse(text: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert tuple(header) == HEADERS  # REDCap's 18 columns, spelled as REDCap writes them
    rows = [dict(zip(header, r, strict=True)) for r in reader]
    return rows


def _check_rules(rows: list[dict[str, str]]) -> None:
    names = [r["Variable / Field Name"] for r in rows]
    assert names[0] == "record_id" and rows[0]["Field Type"] == "text"
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]
    for r in rows:
        name = r["Variable / Field Name"]
        assert NAME.match(name) and len(name) <= 26 and not name.endswith("_") and "___" not in name, name
        assert NAME.match(r["Form Name"]), r["Form Name"]
        assert r["Field Type"] in ("text", "radio", "calc", "descriptive")
        assert "\n" not in "".join(r.values())
    forms = [r["Form Name"] for r in rows]
    seen: list[str] = []
    for f in forms:  # the rows of a form are contiguous
        if not seen or seen[-1] != f:
            assert f not in seen, f"form {f} split"
            seen.append(f)
    known = set(names)
    for k, r in enumerate(rows):
        if r["Field Type"] == "radio":
            parts = r["Choices, Calculations, OR Slider Labels"].split(" | ")
            codes = []
            for p in parts:
                m = CHOICE.match(p)
                assert m, (r["Variable / Field Name"], p)
                codes.append(m.group(1))
            assert len(codes) >= 2 and len(codes) == len(set(codes))
        if r["Branching Logic (Show field only if...)"]:
            refs = fields_in(r["Branching Logic (Show field only if...)"])
            assert refs and refs <= set(names[:k]), refs  # only fields that exist (and come before)
        if r["Field Type"] == "calc":
            assert fields_in(r["Choices, Calculations, OR Slider Labels"]) <= known
        if r["Field Type"] == "descriptive":
            assert r["Choices, Calculations, OR Slider Labels"] == ""
            assert r["Field Note"].startswith("No REDCap calculation: ")


@pytest.mark.parametrize("instrument", IDS)
def test_dictionary_of_each_instrument_follows_redcap_rules(library: Library, instrument: str) -> None:
    d = library[instrument]
    rows = _parse(write_dictionary(data_dictionary([d])))
    _check_rules(rows)
    inst = d.instrument
    by_name = {r["Variable / Field Name"]: r for r in rows}
    fields = item_fields(inst)
    assert [r["Variable / Field Name"] for r in rows[1:len(inst.items) + 1]] == [fields[i.id] for i in inst.items]
    assert set(scale_fields(inst).values()) <= set(by_name)
    first = by_name[fields[inst.items[0].id]]
    assert inst.copyright.strip().split()[0] in first["Field Note"]  # the copyright is in the field note
    no_text = inst.licence.redistribution == "no_item_text"
    for item in inst.items:
        row = by_name[fields[item.id]]
        if no_text:
            assert row["Field Label"] == " ".join((item.descriptor or item.id).split())
            assert row["Section Header"] == ""
        elif item.text:
            assert row["Field Label"] == " ".join(item.text.split())
        if item.shown_if is not None:
            assert row["Branching Logic (Show field only if...)"].startswith(f"[{fields[item.shown_if.item]}] = '")


def test_one_dictionary_for_every_instrument_has_unique_names(library: Library) -> None:
    rows = _parse(write_dictionary(data_dictionary([library[i] for i in IDS])))
    _check_rules(rows)
    assert len({r["Form Name"] for r in rows}) == len(IDS)


def test_names_are_shortened_deterministically() -> None:
    assert field_name("phq9_1") == "phq9_1"
    long = field_name("mini_ipip_conscientiousness")
    assert long == "mini_ipip_conscient_444390" and len(long) == 26
    assert field_name("mini_ipip_conscientiousness") == long
    assert field_name("Q1-a__") == "q1_a"
    assert field_name("9lives") == "f_9lives"
    assert field_name("x" * 40) != field_name("x" * 41)


def test_clashes_and_bad_input_are_errors(library: Library) -> None:
    with pytest.raises(RedcapError, match="given twice"):
        data_dictionary([library["phq9"], library["phq9"]])
    with pytest.raises(RedcapError, match="not a valid REDCap field name"):
        data_dictionary([library["phq9"]], record_id="Record ID")
    with pytest.raises(RedcapError, match="no 'xx' translation"):
        data_dictionary([library["phq9"]], language="xx")


def test_translation_gives_the_translated_wording(library: Library) -> None:
    rows = _parse(write_dictionary(data_dictionary([library["phq9"]], language="es")))
    by_name = {r["Variable / Field Name"]: r for r in rows}
    assert by_name["phq9_1"]["Field Label"] == "Poco interés o placer en hacer cosas"
    assert by_name["phq9_1"]["Choices, Calculations, OR Slider Labels"].startswith("0, Ningún día | 1, Varios días")


def test_calc_and_reasons_are_as_expected(library: Library) -> None:
    assert calc_equation(library["phq9"].instrument, library["phq9"].instrument.scales[0]).equation
    assert "rounddown(" in (calc_equation(library["phq9"].instrument, library["phq9"].instrument.scales[0]).equation
                            or "")
    core10 = library["core10"].instrument
    assert "mean" in (calc_equation(core10, core10.scales[0]).reason or "")
    phq15 = library["phq15"].instrument
    assert "respondents" in (calc_equation(phq15, phq15.scales[0]).reason or "")


CALC_CASES = [i for i in IDS if any(calc_equation(shipped_library()[i].instrument, s).equation
                                    for s in shipped_library()[i].instrument.scales)]


def test_most_instruments_have_calc_fields() -> None:
    assert {"phq9", "gad7", "audit", "pc_ptsd5", "cssrs_screener", "dass21", "who5", "pcl5", "rses"} <= set(CALC_CASES)


def _random_rows(d, rng: np.random.Generator, n: int) -> list[dict[str, str]]:
    sets = {s.id: s for s in d.instrument.option_sets}
    rows = []
    for k in range(n):
        p_blank = [0.0, 0.0, 0.05, 0.15, 0.4][k % 5]
        row = {}
        for item in d.instrument.items:
            codes = [str(int(o.value)) for o in sets[item.options].options]
            u = rng.random()
            row[item.id] = "" if u < p_blank else ("UNK" if u < p_blank * 1.3 else str(rng.choice(codes)))
        rows.append(row)
    lows = {i.id: str(int(min(o.value for o in sets[i.options].options))) for i in d.instrument.items}
    highs = {i.id: str(int(max(o.value for o in sets[i.options].options))) for i in d.instrument.items}
    return [*rows, lows, highs]


@pytest.mark.parametrize("instrument", CALC_CASES)
def test_calc_equals_engine_score(library: Library, instrument: str) -> None:
    d = library[instrument]
    inst = d.instrument
    fields = item_fields(inst)
    equations = {s.id: calc_equation(inst, s).equation for s in inst.scales}
    rng = np.random.default_rng(sum(map(ord, instrument)))
    rows = _random_rows(d, rng, 60)
    frame = pd.DataFrame([{k: (None if v in ("", "UNK") else int(v)) for k, v in r.items()} for r in rows],
                         columns=[i.id for i in inst.items], dtype=object)
    engine = score(d, frame).scores
    compared = 0
    for n, row in enumerate(rows):
        record = {fields[k]: v for k, v in row.items()}
        for scale, equation in equations.items():
            if equation is None:
                continue
            got = evaluate(equation, record, DEFAULT_MISSING_CODES)
            want = engine[scale].iloc[n]
            if math.isnan(want):
                assert got == "" or (isinstance(got, float) and math.isnan(got)), (scale, row, got)
            else:
                assert got != "" and float(got) == want, (scale, row, got, want)  # type: ignore[arg-type]
                compared += 1
    assert compared > 0


def test_evaluator_reads_redcap_semantics() -> None:
    rec = {"a": "2", "b": "", "c": "UNK"}
    assert evaluate("if(isblankormissingcode([c]), 0, [c]) + [a]", rec, ["UNK"]) == 2
    assert evaluate("[a] = '2' or [b] = '1'", rec) is True
    assert evaluate("rounddown(13.5 + 0.5, 0)", rec) == 14
    assert math.isnan(evaluate("[a] + [b]", rec))  # type: ignore[arg-type]
    with pytest.raises(SyntaxError):
        evaluate("sqrt([a])", rec)


def test_text_a_spreadsheet_would_run_is_guarded(tmp_path: Path) -> None:
    from scoring.definitions.library import load_definition

    text = (shipped_library()["gad2"].path.read_text(encoding="utf-8")  # type: ignore[union-attr]
            .replace("id: gad2\n", "id: gadx\n", 1))
    first = shipped_library()["gad2"].instrument.items[0].text or ""
    path = tmp_path / "gadx.yaml"
    path.write_text(text.replace(first, "=1+1 then", 1), encoding="utf-8")
    d, issues = load_definition(path)
    assert d is not None, issues
    rows = _parse(write_dictionary(data_dictionary([d])))
    assert rows[1]["Field Label"] == "'=1+1 then"

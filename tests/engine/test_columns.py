"""columns= of scoring.score and the column resolution of scoring/engine/columns.py.

No score is asserted as a number here: every mapped run is compared with the same answers scored under their
item ids (the path the golden tests pin to the published rules), so a mapping can only be right or wrong about
which column is which item.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import score
from scoring.engine.columns import (
    ColumnMapping,
    ColumnMappingError,
    parse_inline_map,
    read_column_map,
    resolve_columns,
    split_mapping,
)
from scoring.engine.responses import DuplicateColumnError
from scoring.engine.scorer import score_instruments
from scoring.errors import ResponseValidationError
from tests.support.shipped import shipped_library

ROWS = 12


def _answers(instrument: str, rows: int = ROWS) -> pd.DataFrame:
    """Valid answers for every item, named by item id, a few unanswered, deterministic."""
    plan = shipped_library()[instrument].plan
    data: dict[str, list[object]] = {}
    for k, item in enumerate(plan.item_ids):
        allowed = plan.allowed[k]
        col: list[object] = [int(allowed[(r * 3 + k) % len(allowed)]) for r in range(rows)]
        if k == 1:
            col[4] = None
        data[item] = col
    return pd.DataFrame(data)


def _named(frame: pd.DataFrame, instrument: str, name: object) -> pd.DataFrame:
    """``frame`` with item k (1-based) renamed by ``name(k)``."""
    items = shipped_library()[instrument].plan.item_ids
    return frame.rename(columns={item: name(k) for k, item in enumerate(items, start=1)})  # type: ignore[operator]


def _same_scores(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.fixture
def phq9():
    return shipped_library()["phq9"]


def test_prefix_matches_separators_case_and_zero_padding(phq9) -> None:
    base = _answers("phq9")
    expected = score(phq9, base).scores
    spellings = ["PHQ{k}", "phq_{k}", "Phq.{k}", "PHQ-0{k}", "PHQ {k}"]
    for spelling in spellings:
        named = _named(base, "phq9", lambda k, s=spelling: s.format(k=k))
        _same_scores(score(phq9, named, columns="PHQ").scores, expected)
    m = resolve_columns(phq9, list(_named(base, "phq9", lambda k: f"PHQ_{k}").columns), "phq")
    assert m.items["phq9_1"] == "PHQ_1" and m.items["phq9_10"] == "PHQ_10"
    assert "prefix 'phq'" in m.describe() and "'PHQ_1' → phq9_1" in m.describe()


def test_prefix_does_not_take_a_longer_number_or_another_name(phq9) -> None:
    cols = [f"q{k}" for k in range(1, 10)] + ["q9_total", "qx1", "q"]
    m = resolve_columns(phq9, cols, "q")
    assert m.columns == tuple(f"q{k}" for k in range(1, 10))
    assert m.optional == ("phq9_10",)  # not scored: may have no column


def test_pattern_is_case_insensitive_and_n_is_the_position(phq9) -> None:
    base = _answers("phq9")
    named = _named(base, "phq9", lambda k: f"Q{k}_resp")
    _same_scores(score(phq9, named, columns="q{n}_RESP").scores, score(phq9, base).scores)


def test_n_is_the_position_in_the_definition_not_the_number_in_the_id() -> None:
    d = shipped_library()["pc_ptsd5"]
    items = d.plan.item_ids
    assert items[0] == "pc_ptsd5_exposure" and items[1] == "pc_ptsd5_1"
    m = resolve_columns(d, [f"q{k}" for k in range(1, len(items) + 1)], "q{n}")
    assert m.items["pc_ptsd5_exposure"] == "q1" and m.items["pc_ptsd5_1"] == "q2"
    assert m.items[items[-1]] == f"q{len(items)}"


def test_pattern_columns_beyond_the_items_pass_through_and_are_listed(phq9) -> None:
    named = _named(_answers("phq9"), "phq9", lambda k: f"q{k}").assign(q11=7, id="x")
    m = resolve_columns(phq9, list(named.columns), "q{n}")
    assert m.unused == ("q11",)
    assert "'q11'" in m.describe()
    out = score(phq9, named, columns="q{n}").scores
    assert list(out.columns[:2]) == ["q11", "id"]  # passthrough, as given
    assert not any(c in out.columns for c in (f"q{k}" for k in range(1, 11)))  # read as items, not passed
    assert (out["q11"] == 7).all()


def test_explicit_mapping_partial_rest_by_item_id_case_ignored(phq9) -> None:
    base = _answers("phq9")
    named = base.rename(columns={"phq9_1": "Interest", "phq9_9": "SELFHARM", "phq9_3": "PHQ9_3"})
    got = score(phq9, named, columns={"interest": "PHQ9_1", "SelfHarm": "phq9_9"}).scores
    _same_scores(got, score(phq9, base).scores)


def test_mapping_swap_of_two_item_columns(phq9) -> None:
    base = _answers("phq9")
    swapped = base.rename(columns={"phq9_1": "phq9_2", "phq9_2": "phq9_1"})  # a file with two columns mixed up
    got = score(phq9, swapped, columns={"phq9_2": "phq9_1", "phq9_1": "phq9_2"}).scores
    _same_scores(got, score(phq9, base).scores)


def test_ambiguous_two_columns_for_one_item_lists_both(phq9) -> None:
    named = _named(_answers("phq9"), "phq9", lambda k: f"PHQ{k}")
    named["phq9_1"] = named["PHQ1"]  # also under its item id: which is the answer?
    with pytest.raises(ColumnMappingError) as err:
        score(phq9, named, columns="PHQ")
    exc = err.value
    assert set(exc.ambiguous) == {"phq9_1"}
    assert {m.column for m in exc.ambiguous["phq9_1"]} == {"PHQ1", "phq9_1"}
    text = str(exc)
    assert "item phq9_1 matches 2 columns: 'PHQ1' (prefix 'PHQ') and 'phq9_1' (item id)" in text
    assert "'PHQ2' → phq9_2" in text  # what did match is listed too


def test_collision_of_a_mapping_with_an_existing_item_column(phq9) -> None:
    base = _answers("phq9")
    named = base.assign(answer_one=base["phq9_1"])
    with pytest.raises(ColumnMappingError, match=r"item phq9_1 matches 2 columns: 'answer_one' \(mapping\) and "
                                                 r"'phq9_1' \(item id\)"):
        score(phq9, named, columns={"answer_one": "phq9_1"})


def test_incomplete_lists_the_unmatched_items_with_a_hint(phq9) -> None:
    named = _named(_answers("phq9"), "phq9", lambda k: f"PHQ{k}").rename(columns={"PHQ9": "PHQ_9x"})
    with pytest.raises(ColumnMappingError) as err:
        resolve_columns(phq9, list(named.columns), "PHQ")
    exc = err.value
    assert exc.unmatched == ("phq9_9",)  # phq9_10 is not scored: not required
    assert len(exc.matched) == 9
    assert "1 of 10 items have no column: phq9_9 (did you mean column 'PHQ_9x' for phq9_9?)" in str(exc)
    assert "add an empty one" in str(exc)


def test_an_empty_column_is_the_fix_for_an_item_not_asked(phq9) -> None:
    base = _answers("phq9")
    named = _named(base, "phq9", lambda k: f"PHQ{k}").drop(columns=["PHQ9"]).assign(PHQ9=None)
    got = score(phq9, named, columns="PHQ")
    assert got.failures.empty
    _same_scores(got.scores, score(phq9, base.drop(columns=["phq9_9"])).scores)


def test_mapping_to_an_item_that_does_not_exist(phq9) -> None:
    base = _answers("phq9").rename(columns={"phq9_2": "second"})
    with pytest.raises(ColumnMappingError) as err:
        score(phq9, base, columns={"second": "phq9_22"})
    assert "'second' → 'phq9_22': phq9 has no item 'phq9_22' (did you mean 'phq9_2'?)" in str(err.value)
    assert err.value.unmatched == ("phq9_2",)


def test_mapping_from_a_column_the_data_does_not_have(phq9) -> None:
    base = _answers("phq9").rename(columns={"phq9_2": "second"})
    with pytest.raises(ColumnMappingError, match=r"'secnod' → phq9_2: the data has no column 'secnod' \(did you "
                                                 r"mean 'second'\?\)"):
        score(phq9, base, columns={"secnod": "phq9_2"})


def test_mapping_the_wrong_way_round_is_refused_saying_so(phq9) -> None:
    named = _named(_answers("phq9"), "phq9", lambda k: f"PHQ{k}")
    backwards = {f"phq9_{k}": f"PHQ{k}" for k in range(1, 10)}
    with pytest.raises(ColumnMappingError) as err:
        score(phq9, named, columns=backwards)
    text = str(err.value)
    assert "the mapping is the wrong way round ('phq9_1': 'PHQ1', 'phq9_2': 'PHQ2', 'phq9_3': 'PHQ3' …" in text
    assert "{'PHQ1': 'phq9_1', 'PHQ2': 'phq9_2', 'PHQ3': 'phq9_3'}" in text


def test_one_column_mapped_to_two_items(phq9) -> None:
    named = _named(_answers("phq9"), "phq9", lambda k: f"PHQ{k}")
    mapping = {f"PHQ{k}": f"phq9_{k}" for k in range(1, 10)} | {"phq1": "phq9_2"}
    with pytest.raises(ColumnMappingError, match="column 'PHQ1' is mapped to 2 items: phq9_1, phq9_2"):
        score(phq9, named, columns=mapping)


def test_bad_arguments_are_type_errors_or_clear(phq9) -> None:
    cols = ["q1"]
    with pytest.raises(TypeError, match="columns= takes a mapping"):
        resolve_columns(phq9, cols, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="maps column names"):
        resolve_columns(phq9, cols, {"q1": 1})  # type: ignore[dict-item]
    with pytest.raises(ColumnMappingError, match="exactly once"):
        resolve_columns(phq9, cols, "q{n}_{n}")
    with pytest.raises(ColumnMappingError, match="empty prefix"):
        resolve_columns(phq9, cols, "  ")
    with pytest.raises(DuplicateColumnError, match="'q1' and 'Q1'"):
        resolve_columns(phq9, ["q1", "Q1"], "q{n}")


def test_no_mapping_is_the_lenient_default(phq9) -> None:
    m = resolve_columns(phq9, ["PHQ9_1", "id"])
    assert m.items == {"phq9_1": "PHQ9_1"} and m.rule == "item id"
    assert "phq9_9" in m.optional  # left to the engine, which reports missing_column


def test_failures_name_the_item_and_the_column(phq9) -> None:
    named = _named(_answers("phq9"), "phq9", lambda k: f"PHQ{k}").astype(object)
    named.loc[3, "PHQ4"] = "x"
    res = score(phq9, named, columns="PHQ")
    row = res.failures.iloc[0]
    assert (row["row"], row["item"], row["value"], row["code"]) == (3, "phq9_4", "x", "not_a_number")
    assert row["message"].endswith("(column 'PHQ4')")
    with pytest.raises(ResponseValidationError, match=r"row 3, item phq9_4, value 'x'.*\(column 'PHQ4'\)"):
        score(phq9, named, columns="PHQ", strict=True)


def test_a_resolved_mapping_is_reused_and_checked(phq9) -> None:
    named = _named(_answers("phq9"), "phq9", lambda k: f"PHQ{k}")
    m = resolve_columns(phq9, named.columns, "PHQ")
    _same_scores(score(phq9, named, columns=m).scores, score(phq9, named, columns="PHQ").scores)
    with pytest.raises(ColumnMappingError, match=rf"resolved for phq9 {re.escape(phq9.version)}, not gad7"):
        score(shipped_library()["gad7"], named, columns=m)
    with pytest.raises(ColumnMappingError, match="names column\\(s\\) 'PHQ9' that the data does not have"):
        score(phq9, named.drop(columns=["PHQ9"]), columns=m)


def test_polars_input_with_columns() -> None:
    pl = pytest.importorskip("polars")
    d = shipped_library()["phq9"]
    base = _answers("phq9")
    named = _named(base, "phq9", lambda k: f"q{k}").assign(id=[f"r{r}" for r in range(ROWS)])
    # a source column named like a score column: read as the item, not confused with the score "total"
    named = named.rename(columns={"q1": "total"})
    got = score(d, pl.from_pandas(named), columns={"total": "phq9_1"} | {f"q{k}": f"phq9_{k}" for k in range(2, 11)})
    assert isinstance(got.scores, pl.DataFrame)
    assert got.scores.columns[0] == "id" and got.scores["id"].to_list() == named["id"].tolist()
    expected = score(d, pl.from_pandas(base.assign(id=named["id"]))).scores
    assert got.scores.equals(expected)
    pa = pytest.importorskip("pyarrow")
    mapping = {"total": "phq9_1"} | {f"q{k}": f"phq9_{k}" for k in range(2, 11)}
    arrow = score(d, pa.Table.from_pandas(named, preserve_index=False), columns=mapping)
    reference = score(d, pa.Table.from_pandas(base.assign(id=named["id"])[["id", *base.columns]],
                                              preserve_index=False))
    assert arrow.scores.equals(reference.scores)


def test_score_instruments_blocks_equal_each_instrument_alone() -> None:
    lib = shipped_library()
    phq, gad = _answers("phq9"), _answers("gad7")
    data = pd.concat([pd.DataFrame({"id": [f"p{r}" for r in range(ROWS)], "sex": "female"}),
                      _named(phq, "phq9", lambda k: f"PHQ{k}"), gad], axis=1)
    res = score_instruments([lib["phq9"], lib["gad7"]], data, columns={"phq9": "PHQ"})
    alone = {"phq9": score(lib["phq9"], phq.assign(sex="female")).scores.drop(columns="sex"),
             "gad7": score(lib["gad7"], gad.assign(sex="female")).scores.drop(columns="sex")}
    assert list(res.scores.columns[:2]) == ["id", "sex"]  # passthrough once, first
    for iid, frame in alone.items():
        block = res.scores[[f"{iid}.{c}" for c in frame.columns]]
        _same_scores(block.set_axis(list(frame.columns), axis=1), frame)
    assert len(res.scores.columns) == 2 + sum(len(f.columns) for f in alone.values())
    assert res.mappings["phq9"].items["phq9_1"] == "PHQ1" and res.mappings["gad7"].items["gad7_1"] == "gad7_1"
    assert res.ok and "no bad cells" in res.summary()


def test_score_instruments_failures_have_the_instrument_in_row_order() -> None:
    lib = shipped_library()
    data = pd.concat([_answers("phq9"), _answers("gad7")], axis=1).astype(object)
    data.loc[5, "phq9_3"] = "x"
    data.loc[2, "gad7_1"] = 9
    data.loc[5, "gad7_2"] = "y"
    data["phq9_11"] = 1  # named like a phq9 item that does not exist: reported, not passed through
    res = score_instruments([lib["phq9"], lib["gad7"]], data)
    f = res.failures
    assert list(f.columns) == ["instrument", "row", "item", "value", "code", "message"]
    assert f[["instrument", "row", "item", "code"]].values.tolist() == [
        ["phq9", None, "phq9_11", "unknown_item"], ["gad7", 2, "gad7_1", "out_of_range"],
        ["phq9", 5, "phq9_3", "not_a_number"], ["gad7", 5, "gad7_2", "not_a_number"]]
    assert "phq9_11" not in res.scores.columns
    with pytest.raises(ResponseValidationError, match="first: phq9 item phq9_11"):
        score_instruments([lib["phq9"], lib["gad7"]], data, strict=True)


def test_score_instruments_shares_a_column_only_when_mapped() -> None:
    lib = shipped_library()
    phq = _answers("phq9")
    res = score_instruments([lib["phq9"], lib["phq8"]], phq, columns={"phq8": "phq9_{n}"})
    alone = score(lib["phq8"], phq.rename(columns={f"phq9_{k}": f"phq8_{k}" for k in range(1, 9)})
                  .drop(columns=["phq9_9", "phq9_10"])).scores
    block = res.scores[[f"phq8.{c}" for c in alone.columns]]
    _same_scores(block.set_axis(list(alone.columns), axis=1), alone)
    assert res.mappings["phq8"].items["phq8_1"] == "phq9_1"


def test_score_instruments_refusals() -> None:
    lib = shipped_library()
    data = pd.concat([_answers("phq9"), _answers("gad7")], axis=1)
    with pytest.raises(ValueError, match="each instrument once"):
        score_instruments([lib["phq9"], lib["phq9"]], data)
    with pytest.raises(ValueError, match="'gad2' that are not being scored"):
        score_instruments([lib["phq9"], lib["gad7"]], data, columns={"gad2": "q{n}"})
    with pytest.raises(ValueError, match=r"phq9\.total"):
        score_instruments([lib["phq9"], lib["gad7"]], data.assign(**{"phq9.total": 1}))
    with pytest.raises(TypeError, match="a pandas or Polars DataFrame or a pyarrow Table"):
        score_instruments([lib["phq9"]], data.to_dict())  # type: ignore[arg-type]


def test_score_instruments_polars_and_arrow_in_and_out() -> None:
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    lib = shipped_library()
    defs = [lib["phq9"], lib["gad7"]]
    data = pd.concat([pd.DataFrame({"id": [f"p{r}" for r in range(ROWS)]}),
                      _named(_answers("phq9"), "phq9", lambda k: f"PHQ{k}"), _answers("gad7")], axis=1).astype(object)
    for c in data.columns[1:]:  # answers as text, as a CSV holds them (one Arrow type per column)
        data[c] = [("" if pd.isna(v) else str(int(v))) for v in data[c]]
    data.loc[3, "PHQ2"] = "x"
    spec = {"phq9": "PHQ"}
    ref = score_instruments(defs, data, columns=spec)
    arrow_in = pa.Table.from_pandas(data, preserve_index=False)
    for given in (arrow_in, pl.from_arrow(arrow_in)):
        res = score_instruments(defs, given, columns=spec)
        assert type(res.scores) is type(given) and type(res.failures) is type(given)
        assert list(res.scores.column_names if isinstance(given, pa.Table) else res.scores.columns) == list(
            ref.scores.columns)
        for iid in ("phq9", "gad7"):  # each block as score() gives that kind for the instrument alone
            alone = score(lib[iid], given, columns=spec.get(iid))
            alone_cols = [c for c in (alone.scores.column_names if isinstance(given, pa.Table)
                                      else alone.scores.columns) if c not in data.columns]
            block = res.scores.select([f"{iid}.{c}" for c in alone_cols])
            expected = alone.scores.select(alone_cols)
            if isinstance(given, pa.Table):
                assert block.rename_columns(alone_cols).equals(expected)
            else:
                assert block.rename({f"{iid}.{c}": c for c in alone_cols}).equals(expected)
        failures = res.failures.to_pandas()
        assert failures.columns.tolist() == ["instrument", "row", "item", "value", "code", "message"]
        assert failures[["instrument", "row", "item", "code"]].values.tolist() == [["phq9", 3, "phq9_2",
                                                                                   "not_a_number"]]
        assert "1 not_a_number" in res.summary()


def test_split_mapping_sends_entries_to_the_instrument_with_the_item() -> None:
    lib = shipped_library()
    defs = [lib["phq9"], lib["gad7"]]
    assert split_mapping(defs, {"P1": "phq9_1", "G1": "GAD7_1", "phq9_2": "P2"}) == {
        "phq9": {"P1": "phq9_1", "phq9_2": "P2"}, "gad7": {"G1": "GAD7_1"}}
    with pytest.raises(ColumnMappingError, match="no item 'phq9_99' in phq9, gad7"):
        split_mapping(defs, {"X": "phq9_99"})


def test_parse_inline_map() -> None:
    assert parse_inline_map("PHQ1=phq9_1, PHQ 2 = phq9_2,") == {"PHQ1": "phq9_1", "PHQ 2": "phq9_2"}
    for bad, why in (("PHQ1", "not SOURCE=ITEM"), ("a=b=c", "not SOURCE=ITEM"), ("=x", "not SOURCE=ITEM"),
                     ("a=x,a=y", "twice"), (",", "empty")):
        with pytest.raises(ColumnMappingError, match=why):
            parse_inline_map(bad)


def test_read_column_map_forms(tmp_path: Path) -> None:
    lib = shipped_library()
    defs = [lib["phq9"], lib["gad7"], lib["audit_c"]]
    f = tmp_path / "map.yaml"
    f.write_text("phq9:\n  prefix: PHQ\ngad7:\n  pattern: 'GAD_{n}'\naudit_c:\n  columns:\n    freq: audit_c_1\n",
                 encoding="utf-8")
    assert read_column_map(f, defs) == {"phq9": "PHQ", "gad7": "GAD_{n}", "audit_c": {"freq": "audit_c_1"}}
    f.write_text("P1: phq9_1\nG1: gad7_1\n", encoding="utf-8")
    assert read_column_map(f, defs) == {"phq9": {"P1": "phq9_1"}, "gad7": {"G1": "gad7_1"}}
    f.write_text("pattern: 'q{n}'\n", encoding="utf-8")
    assert read_column_map(f, defs[:1]) == {"phq9": "q{n}"}


@pytest.mark.parametrize(("text", "message"), [
    ("pattern: 'q{n}'\n", r"map.yaml:1: one section for 3 instruments"),
    ("phq9:\n  prefix: PHQ\nphq7:\n  prefix: G\n", r"map.yaml:3: section 'phq7' is not an instrument being scored"),
    ("phq9:\n  prefix: PHQ\n  pattern: 'q{n}'\n", r"map.yaml:1: a section holds exactly one of prefix, pattern"),
    ("phq9:\n  pattern: q\n", r"map.yaml:2: the pattern 'q' has no \{n\}"),
    ("phq9:\n  prefix: 'q{n}'\n", r"map.yaml:2: the prefix 'q\{n\}' holds \{n\}"),
    ("phq9:\n  prefix: [a]\n", r"map.yaml:2: prefix: takes text"),
    ("P1: phq9_1\nP2: 3\n", r"map.yaml:2: 'P2': 3 is not source column: item id"),
    ("- a\n", r"map.yaml:1: .*expected a mapping"),
    ("a: 1\na: 2\n", r"map.yaml:2"),  # duplicate keys refused by the safe loader, located
])
def test_read_column_map_errors_are_located(tmp_path: Path, text: str, message: str) -> None:
    lib = shipped_library()
    f = tmp_path / "map.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ColumnMappingError, match=message):
        read_column_map(f, [lib["phq9"], lib["gad7"], lib["audit_c"]])


def test_column_mapping_is_frozen_and_renames_only_what_differs(phq9) -> None:
    m = resolve_columns(phq9, ["phq9_1", "PHQ2"] + [f"phq9_{k}" for k in range(3, 10)], {"PHQ2": "phq9_2"})
    assert isinstance(m, ColumnMapping)
    assert m.renames() == {"PHQ2": "phq9_2"}
    with pytest.raises(AttributeError):
        m.rule = "x"  # type: ignore[misc]
    assert np.array_equal(m.columns, ["phq9_1", "PHQ2", *[f"phq9_{k}" for k in range(3, 10)]])

"""psyscore score --map / --prefix / --pattern and several instruments in one file (phq9,gad7).

Scores are never asserted as numbers here: each mapped or combined run is compared with the same answers
scored under their item ids, one instrument at a time (the path the golden tests pin to the published rules).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from scoring.engine.files import read_table
from tests.support.shipped import shipped_library

ROWS = 30


def _items(instrument: str) -> tuple[str, ...]:
    return shipped_library()[instrument].plan.item_ids


def _answers(instrument: str, offset: int = 0) -> list[list[str]]:
    plan = shipped_library()[instrument].plan
    rows = []
    for r in range(ROWS):
        row = [str(int(plan.allowed[k][(r + k + offset) % len(plan.allowed[k])])) for k in range(len(plan.item_ids))]
        if r % 7 == 2:
            row[0] = ""
        rows.append(row)
    return rows


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def redcap(tmp_path: Path) -> Path:
    """A REDCap-like export: id, sex, PHQ1…PHQ9 (no item 10) and GAD_1…GAD_7, bad cells in both."""
    phq, gad = _answers("phq9"), _answers("gad7", 1)
    rows = [[f"r{r}", ["female", "male"][r % 2], *phq[r][:9], *gad[r]] for r in range(ROWS)]
    rows[3][4] = "x"  # PHQ3
    rows[11][13] = "7"  # GAD_3 out of range
    rows[20][2] = "=1"  # PHQ1 formula
    header = ["record_id", "sex", *(f"PHQ{k}" for k in range(1, 10)), *(f"GAD_{k}" for k in range(1, 8))]
    return _write(tmp_path / "export.csv", header, rows)


def _by_item_id(src: Path, tmp_path: Path, instrument: str, source: list[str]) -> Path:
    """The part of ``src`` for one instrument with its columns renamed to item ids (the reference input)."""
    frame = read_table(src)
    keep = frame[["record_id", "sex", *source]]
    renamed = keep.rename(columns=dict(zip(source, _items(instrument), strict=False)))
    out = tmp_path / f"ref_{instrument}.csv"
    renamed.to_csv(out, index=False)
    return out


def test_prefix_equals_renaming_the_file(cli, redcap: Path, tmp_path: Path) -> None:
    ref_in = _by_item_id(redcap, tmp_path, "phq9", [f"PHQ{k}" for k in range(1, 10)])
    code, _, _ = cli("score", "phq9", ref_in, "-o", tmp_path / "ref.csv")
    assert code == 0
    code, _, err = cli("score", "phq9", redcap, "-o", tmp_path / "out.csv", "--prefix", "phq")
    assert code == 0, err
    assert "columns phq9 (prefix 'phq'): 'PHQ1' → phq9_1" in err
    assert "not scored, no column: phq9_10" in err
    got = pd.read_csv(tmp_path / "out.csv")
    ref = pd.read_csv(tmp_path / "ref.csv")
    # the GAD columns are not phq9's: they pass through, after the columns of the reference
    assert list(got.columns) == ["record_id", "sex", *(f"GAD_{k}" for k in range(1, 8)), *ref.columns[2:]]
    pd.testing.assert_frame_equal(got[ref.columns], ref)
    failures = pd.read_csv(tmp_path / "out.failures.csv")
    ref_failures = pd.read_csv(tmp_path / "ref.failures.csv")
    assert failures[["row", "item", "value", "code"]].equals(ref_failures[["row", "item", "value", "code"]])
    assert failures["message"].str.contains("(column 'PHQ3')", regex=False).any()


def test_pattern_and_inline_map_and_yaml_map_agree(cli, redcap: Path, tmp_path: Path) -> None:
    runs = {
        "pattern": ["--pattern", "phq{n}"],
        "inline": ["--map", ",".join(f"PHQ{k}=phq9_{k}" for k in range(1, 10))],
        "yaml": ["--map", str(_yaml(tmp_path / "m.yaml", "phq9:\n  prefix: PHQ\n"))],
        "flat_yaml": ["--map", str(_yaml(tmp_path / "f.yaml", "".join(f"phq{k}: PHQ9_{k}\n" for k in range(1, 10))))],
    }
    outputs = {}
    for name, options in runs.items():
        code, _, err = cli("score", "phq9", redcap, "-o", tmp_path / f"{name}.csv", *options)
        assert code == 0, (name, err)
        outputs[name] = (tmp_path / f"{name}.csv").read_bytes()
    assert len(set(outputs.values())) == 1


def _yaml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("options", "expected"), [
    (["--prefix", "PH"], "items have no column: phq9_1"),
    (["--map", "PHQ1=phq9_11"], "no item 'phq9_11' in phq9 (did you mean 'phq9_1'?)"),
    (["--map", "phq9_1=PHQ1"], "the mapping is the wrong way round"),
    (["--map", "PHQ1"], "neither a .yaml/.yml map file nor SOURCE=ITEM pairs"),
    (["--map", "missing.yaml"], "--map missing.yaml: no such file"),
    (["--pattern", "PHQ"], "a pattern holds {n}"),
    (["--prefix", "PHQ{n}"], "a prefix has no {n}"),
    (["--prefix", "PHQ", "--pattern", "phq{n}"], "phq9 is given its columns twice (--prefix and --pattern)"),
])
def test_bad_mappings_are_usage_errors(cli, redcap: Path, tmp_path: Path, options: list[str], expected: str) -> None:
    out = tmp_path / "out.csv"
    code, _, err = cli("score", "phq9", redcap, "-o", out, *options)
    assert code == 2, err
    assert expected in err
    assert not out.exists()


def test_incomplete_mapping_lists_what_matched(cli, redcap: Path, tmp_path: Path) -> None:
    code, _, err = cli("score", "phq9", redcap, "-o", tmp_path / "o.csv", "--map", "PHQ1=phq9_1,PHQ2=phq9_2")
    assert code == 2
    assert "7 of 10 items have no column: phq9_3, phq9_4" in err
    assert "matched: 'PHQ1' → phq9_1, 'PHQ2' → phq9_2" in err


def test_collision_with_an_item_column_is_a_usage_error(cli, tmp_path: Path) -> None:
    rows = [[*r[:9], r[0]] for r in _answers("phq9")]
    src = _write(tmp_path / "c.csv", [*(f"q{k}" for k in range(1, 10)), "phq9_1"], rows)
    code, _, err = cli("score", "phq9", src, "-o", tmp_path / "o.csv", "--pattern", "q{n}")
    assert code == 2
    assert "item phq9_1 matches 2 columns: 'q1' (pattern 'q{n}') and 'phq9_1' (item id)" in err


def _two_instrument_reference(cli, redcap: Path, tmp_path: Path) -> pd.DataFrame:
    """phq9 and gad7 scored one at a time from files named by item id, prefixed and joined as expected."""
    parts = []
    for instrument, source in (("phq9", [f"PHQ{k}" for k in range(1, 10)]),
                               ("gad7", [f"GAD_{k}" for k in range(1, 8)])):
        ref_in = _by_item_id(redcap, tmp_path, instrument, source)
        out = tmp_path / f"ref_{instrument}_scores.csv"
        code, _, err = cli("score", instrument, ref_in, "-o", out)
        assert code == 0, err
        frame = pd.read_csv(out)
        parts.append(frame.drop(columns=["record_id", "sex"]).add_prefix(f"{instrument}."))
    ids = pd.read_csv(redcap, usecols=["record_id", "sex"])
    return pd.concat([ids, *parts], axis=1)


@pytest.mark.parametrize("options", [
    ["--prefix", "phq9=PHQ,gad7=GAD"],
    ["--map", "MAP"],
])
def test_two_instruments_in_one_file(cli, redcap: Path, tmp_path: Path, options: list[str]) -> None:
    if options[1] == "MAP":
        options = ["--map", str(_yaml(tmp_path / "m.yaml", "phq9:\n  prefix: PHQ\ngad7:\n  pattern: 'gad_{n}'\n"))]
    expected = _two_instrument_reference(cli, redcap, tmp_path)
    out = tmp_path / "both.csv"
    code, _, err = cli("score", "phq9,gad7", redcap, "-o", out, *options)
    assert code == 0, err
    got = pd.read_csv(out)
    assert list(got.columns) == list(expected.columns)  # passthrough once, then phq9.…, then gad7.…
    pd.testing.assert_frame_equal(got, expected)
    assert "30 administration(s) scored with phq9 1.1.0, gad7 " in err
    failures = pd.read_csv(tmp_path / "both.failures.csv")
    assert list(failures.columns) == ["instrument", "row", "item", "value", "code", "message"]
    assert failures[["instrument", "row", "item", "code"]].values.tolist() == [
        ["phq9", 4, "phq9_3", "not_a_number"], ["gad7", 12, "gad7_3", "out_of_range"],
        ["phq9", 21, "phq9_1", "formula"]]
    assert "  phq9 row 4, phq9_3: 'x'" in err


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_two_instruments_chunked_equal_unchunked(cli, redcap: Path, tmp_path: Path, suffix: str) -> None:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    whole = tmp_path / f"whole{suffix}"
    code, _, err = cli("score", "phq9,gad7", redcap, "-o", whole, "--prefix", "phq9=PHQ,gad7=GAD")
    assert code == 0, err
    for n in (1, 7):
        part = tmp_path / f"c{n}{suffix}"
        code, _, err = cli("score", "phq9,gad7", redcap, "-o", part, "--prefix", "phq9=PHQ,gad7=GAD",
                           "--chunk-rows", str(n))
        assert code == 0, err
        fw, fp = (p.with_name(f"{p.stem}.failures{suffix}") for p in (whole, part))
        if suffix == ".csv":
            assert part.read_bytes() == whole.read_bytes()
            assert fp.read_bytes() == fw.read_bytes()
        else:
            pd.testing.assert_frame_equal(pd.read_parquet(part), pd.read_parquet(whole))
            pd.testing.assert_frame_equal(pd.read_parquet(fp), pd.read_parquet(fw))


def test_single_instrument_mapped_chunked_equal_unchunked(cli, redcap: Path, tmp_path: Path) -> None:
    whole, part = tmp_path / "w.csv", tmp_path / "p.csv"
    assert cli("score", "gad7", redcap, "-o", whole, "--pattern", "GAD_{n}")[0] == 0
    assert cli("score", "gad7", redcap, "-o", part, "--pattern", "GAD_{n}", "--chunk-rows", "4")[0] == 0
    assert part.read_bytes() == whole.read_bytes()


def test_two_instruments_named_by_item_id_need_no_mapping(cli, tmp_path: Path) -> None:
    phq, gad = _answers("phq9"), _answers("gad7")
    src = _write(tmp_path / "ids.csv", ["id", *_items("phq9"), *_items("gad7")],
                 [[f"p{r}", *phq[r], *gad[r]] for r in range(ROWS)])
    code, _, err = cli("score", "phq9,gad7", src, "-o", tmp_path / "o.csv")
    assert code == 0, err
    got = pd.read_csv(tmp_path / "o.csv")
    assert got.columns[0] == "id" and "phq9.total" in got.columns and "gad7.total" in got.columns
    assert not any(c in got.columns for c in (*_items("phq9"), *_items("gad7")))


@pytest.mark.parametrize(("args", "expected"), [
    (["phq9,gad7", "--prefix", "PHQ"], "would apply to phq9, gad7 alike"),
    (["phq9,gad7", "--norms", "phq9_kliem2024_de_sex"], "--norms applies to one instrument"),
    (["phq9,gad7", "--version", "1.0.0"], "--version applies to one instrument"),
    (["phq9,phq9"], "listed twice"),
    (["phq9,"], "has an empty entry"),
    (["phq9,phq99"], "phq99"),
    (["phq9,gad7", "--map", "PHQ1=phq9_1,X=gad9_1"], "no item 'gad9_1' in phq9, gad7"),
])
def test_several_instruments_usage_errors(cli, redcap: Path, tmp_path: Path, args: list[str], expected: str) -> None:
    code, _, err = cli("score", args[0], redcap, "-o", tmp_path / "o.csv", *args[1:])
    assert code == 2, err
    assert expected in err


def test_yaml_section_for_an_instrument_not_scored(cli, redcap: Path, tmp_path: Path) -> None:
    m = _yaml(tmp_path / "m.yaml", "phq9:\n  prefix: PHQ\ngad2:\n  prefix: GAD\n")
    code, _, err = cli("score", "phq9", redcap, "-o", tmp_path / "o.csv", "--map", m)
    assert code == 2
    assert "m.yaml:3: section 'gad2' is not an instrument being scored (phq9)" in err

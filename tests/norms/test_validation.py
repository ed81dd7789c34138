"""One failing fixture per norm rule, each stating the located issue it must produce.

A fixture's header lines read ``# expect: CODE [csv] [line N] message fragment``: the validator must report
an issue with that code, in the YAML (or, with ``csv``, in the CSV beside it), at that line, whose text
contains the fragment.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import scoring
from scoring.definitions.library import Library
from scoring.errors import CATALOG
from scoring.norms import load_norm_table, load_norms, validate_norms

FIXTURES = Path(__file__).parent / "fixtures"
BAD = sorted((FIXTURES / "bad").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (?P<code>E\d{3})(?P<csv> csv)?(?: line (?P<line>\d+))?(?: (?P<text>.*))?$")


def expectations(path: Path) -> list[tuple[str, bool, int | None, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = EXPECT.match(line)
        if m:
            out.append((m["code"], bool(m["csv"]), int(m["line"]) if m["line"] else None, (m["text"] or "").strip()))
    return out


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_fixture_reports_its_located_issue(path: Path, lib: Library) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    table, issues = load_norm_table(path, lib)
    assert table is None
    rendered = "\n".join(str(i) for i in issues)
    for code, in_csv, line, text in expected:
        file = str(path.with_suffix(".csv") if in_csv else path)
        matching = [i for i in issues if i.code == code and i.file == file and (line is None or i.line == line)]
        assert matching, f"{path.name}: no {code} in {file} at line {line}; got:\n{rendered}"
        assert any(text in str(i) for i in matching), f"{path.name}: {code} lacks {text!r}; got:\n{rendered}"
        if line is not None:
            assert str(matching[0]).startswith(f"{file}:{line}")


def test_every_norm_code_has_a_fixture() -> None:
    covered = {code for p in BAD for code, _, _, _ in expectations(p)}
    norm_codes = {c for c in CATALOG if c.startswith("E4")}
    assert norm_codes - covered == {"E413"}  # E413 needs two folders: test_duplicate_id_across_folders


def test_good_fixtures_are_valid(lib: Library) -> None:
    report = validate_norms([FIXTURES / "good"], library=lib)
    assert report.ok and not report.issues, str(report)


def test_bundled_tables_are_valid(norms) -> None:
    assert norms.report.ok and not norms.report.issues, str(norms.report)
    assert len(norms) >= 14


def test_duplicate_id_across_folders(tmp_path: Path, lib: Library) -> None:
    for folder, sd in (("a", "3.5"), ("b", "9.9")):
        (tmp_path / folder).mkdir()
        for ext in (".yaml", ".csv"):
            src = FIXTURES / "good" / f"good_k10_age{ext}"
            text = src.read_text(encoding="utf-8")
            if ext == ".csv":
                text = text.replace("8.0", sd)
            (tmp_path / folder / src.name).write_text(text, encoding="utf-8")
    loaded = load_norms([tmp_path / "a", tmp_path / "b"], library=lib)
    assert [i.code for i in loaded.report.errors] == ["E413"]
    assert "already defined" in str(loaded.report.errors[0])
    assert loaded.get("good_k10_age").moments("young") == (20.0, 3.5)  # the first one is kept
    same = load_norms([tmp_path / "a", tmp_path / "a"], library=lib)  # identical content: no clash
    assert same.report.ok


def test_invalid_files_are_left_out_and_reported(tmp_path: Path, lib: Library) -> None:
    for src in (FIXTURES / "good").glob("good_gad7_t.*"):
        (tmp_path / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    for src in (FIXTURES / "bad").glob("e409_not_monotone.*"):
        (tmp_path / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    loaded = load_norms([tmp_path], library=lib)
    assert list(loaded) == ["good_gad7_t"]
    assert [i.code for i in loaded.report.errors] == ["E409"]


def test_configured_folders_settings_and_environment(tmp_path: Path, lib: Library,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for src in (FIXTURES / "good").glob("good_k10_age.*"):
        (tmp_path / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    settings = scoring.Settings(norm_dirs=(tmp_path,))
    loaded = load_norms(settings=settings, library=lib)
    assert "good_k10_age" in loaded and "phq9_kliem2024_de_sex" in loaded  # configured + bundled
    monkeypatch.setenv("PSYSCORE_NORMS_PATH", str(tmp_path))
    assert "good_k10_age" in load_norms(library=lib)
    only = load_norms(settings=scoring.Settings(norm_dirs=(tmp_path,), include_bundled=False), library=lib)
    assert list(only) == ["good_k10_age"]


def test_bundled_dir_is_the_norms_folder() -> None:
    from scoring.definitions.library import bundled_dir

    assert (bundled_dir("norms") / "README.md").is_file()
    assert (bundled_dir("norms") / "phq9_kliem2024_de_sex.csv").is_file()

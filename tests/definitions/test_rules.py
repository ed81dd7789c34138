"""One failing fixture per validation rule: each file states the issue it must produce.

A fixture's header lines read ``# expect: CODE [line N] message fragment``; the validator must report an
issue with that code, at that line (when given), whose text contains the fragment.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scoring import load_definition, validate
from scoring.errors import CATALOG

FIXTURES = Path(__file__).parents[1] / "fixtures" / "definitions"
BAD = sorted((FIXTURES / "bad").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (?P<code>[EW]\d{3})(?: line (?P<line>\d+))?(?: (?P<text>.*))?$")


def expectations(path: Path) -> list[tuple[str, int | None, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = EXPECT.match(line)
        if m:
            out.append((m["code"], int(m["line"]) if m["line"] else None, (m["text"] or "").strip()))
    return out


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_fixture_reports_its_issue(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    definition, issues = load_definition(path)
    rendered = [str(i) for i in issues]
    for code, line, text in expected:
        matching = [i for i in issues if i.code == code and (line is None or i.line == line)]
        assert matching, f"{path.name}: no {code} at line {line}; got:\n" + "\n".join(rendered)
        assert any(text in str(i) for i in matching), f"{path.name}: {code} lacks {text!r}; got:\n" + "\n".join(
            rendered
        )
        for issue in matching:
            assert issue.file == str(path)
            assert issue.line is not None, f"{issue} has no line"
    if any(CATALOG[c][0] == "error" for c, _, _ in expected):
        assert definition is None


def test_every_rule_code_has_a_fixture() -> None:
    covered = {code for p in BAD for code, _, _ in expectations(p)}
    # norm-table codes (E4xx) have their own fixtures in tests/norms/; E900 (a rule that raises) is tested in
    # tests/definitions/test_issue_catalogue.py with a rule that raises; E230 (a deployment's cut-off choice) is a
    # setting, not a file: tests/definitions/test_band_sets_and_ranges.py
    untested = sorted(c for c in set(CATALOG) - covered - {"E100", "E223", "W301", "E900", "E230"}
                      if not c.startswith("E4"))
    assert not untested, f"issue codes without a failing fixture: {untested}"


def test_good_fixture_is_valid() -> None:
    report = validate([FIXTURES / "good"])
    assert report.ok, str(report)
    assert not report.issues


def test_all_issues_reported_at_once(tmp_path: Path) -> None:
    """Several independent problems in one file are all reported, each located."""
    text = (FIXTURES / "good" / "demo_scale.yaml").read_text()
    text = text.replace("range: [0, 6]", "range: [0, 7]").replace("options: frq", "options: freq")
    text = text.replace('op: ">", value: 1', 'op: ">", value: 5').replace("demo_scale_3]", "demo_scale_9]")
    path = tmp_path / "demo_scale.yaml"
    path.write_text(text)
    report = validate([path])
    codes = sorted({i.code for i in report.issues})
    assert {"E203", "E214"} <= set(codes)
    assert all(i.line for i in report.issues)


def test_same_version_different_content_is_refused(tmp_path: Path) -> None:
    good = (FIXTURES / "good" / "demo_scale.yaml").read_text()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "demo_scale.yaml").write_text(good)
    (tmp_path / "b" / "demo_scale.yaml").write_text(good.replace("name: Demo scale", "name: Demo scale, edited"))
    report = validate([tmp_path / "a", tmp_path / "b"])
    assert [i.code for i in report.errors] == ["E223"]
    assert "needs a new version" in str(report.errors[0])


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    report = validate([path])
    assert report.errors[0].code == "E100"


def test_comments_and_formatting_do_not_change_the_hash(tmp_path: Path) -> None:
    text = (FIXTURES / "good" / "demo_scale.yaml").read_text()
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "demo_scale.yaml").write_text(text)
    (b / "demo_scale.yaml").write_text("# a comment\n" + text.replace("name: Demo scale", "name:   'Demo scale'"))
    da, _ = load_definition(a / "demo_scale.yaml")
    db, _ = load_definition(b / "demo_scale.yaml")
    assert da is not None and db is not None
    assert da.hash == db.hash

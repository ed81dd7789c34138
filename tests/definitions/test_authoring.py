"""instruments/README.md's copy-this template validates, and every shipped definition points at schema.json."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scoring import load_definition, validate

ROOT = Path(__file__).parents[2]
INSTRUMENTS = ROOT / "instruments"
SCHEMA_LINE = "# yaml-language-server: $schema=./schema.json"
SHIPPED = sorted(INSTRUMENTS.glob("*.yaml"))


def template_text() -> str:
    readme = (INSTRUMENTS / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- template:start -->\n```yaml\n(.*?)```\n<!-- template:end -->", readme, re.S)
    assert m, "instruments/README.md lost its template block"
    return m.group(1)


def test_readme_template_is_a_valid_definition(tmp_path: Path) -> None:
    path = tmp_path / "my_scale.yaml"
    path.write_text(template_text(), encoding="utf-8")
    report = validate([path])
    assert report.ok and not report.issues, str(report)


def test_readme_has_the_authoring_checklist() -> None:
    readme = (INSTRUMENTS / "README.md").read_text(encoding="utf-8")
    checklist = readme.split("## Authoring checklist", 1)[1].split("\n## ", 1)[0]
    for needle in ("File name = id", "psyscore validate", "tests/golden/", "pytest", "Licence and citation",
                   "Version bump"):
        assert needle in checklist


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_definition_points_at_the_schema(path: Path, tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == SCHEMA_LINE
    # the comment does not count: the file without it has the same content hash
    bare = tmp_path / path.name
    bare.write_text(text.split("\n", 1)[1], encoding="utf-8")
    with_line, _ = load_definition(path)
    without, _ = load_definition(bare)
    assert with_line is not None and without is not None
    assert with_line.hash == without.hash

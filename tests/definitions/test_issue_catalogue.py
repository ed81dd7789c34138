"""The issue catalogue (scoring.definitions.issues) and the rule registry (scoring.definitions.rules).

Checked from the source with ast: every message key a rule reports is catalogued, every catalogue entry is
used, and each call passes exactly the fields its template needs. A rule that raises becomes one located
E900 issue and the other rules and files are still checked.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from scoring import load_library, validate
from scoring.definitions import issues as catalogue
from scoring.definitions import rules
from scoring.definitions.issues import MESSAGES, Template, codes_table
from scoring.definitions.rules.base import RuleContext
from scoring.errors import CATALOG, Issue

ROOT = Path(__file__).parents[2]
RULES_DIR = ROOT / "scoring" / "definitions" / "rules"
#: modules that report catalogued issues: the rules (ctx.report) and the shape pass (issue_text)
REPORTERS = [*sorted(RULES_DIR.glob("*.py")),
             *(ROOT / "scoring" / "definitions" / name for name in ("loading.py", "library.py"))]
FIXTURES = ROOT / "tests" / "fixtures" / "definitions"


def report_calls() -> list[tuple[str, int, str, set[str]]]:
    """(file, line, key, fields) of every ``ctx.report("KEY", …)`` / ``issue_text("KEY", …)`` call."""
    calls = []
    for path in REPORTERS:
        if path.name == "base.py":  # defines report() on top of issue_text(key, …)
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            dicts: dict[str, set[str]] = {}  # local names bound to dict literals, for **splats
            for node in ast.walk(func):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                    keys = {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            dicts[target.id] = keys
            for node in ast.walk(func):
                if not (isinstance(node, ast.Call) and (
                        (isinstance(node.func, ast.Attribute) and node.func.attr == "report")
                        or (isinstance(node.func, ast.Name) and node.func.id == "issue_text"))):
                    continue
                first = node.args[0]
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    f"{path.name}:{node.lineno}: report() needs a literal message key")
                fields: set[str] = set()
                for kw in node.keywords:
                    if kw.arg is None:
                        assert isinstance(kw.value, ast.Name) and kw.value.id in dicts, (
                            f"{path.name}:{node.lineno}: **fields must be a dict literal of the same function")
                        fields |= dicts[kw.value.id]
                    elif kw.arg != "hint":
                        fields.add(kw.arg)
                calls.append((path.name, node.lineno, first.value, fields))
    return calls


CALLS = report_calls()


def test_rules_report_through_the_catalogue() -> None:
    assert len(CALLS) > 60
    unknown = [f"{f}:{line} {key}" for f, line, key, _ in CALLS if key not in MESSAGES]
    assert not unknown, f"message keys not in the catalogue: {unknown}"


def test_call_fields_match_their_template() -> None:
    wrong = [f"{f}:{line} {key}: passes {sorted(fields)}, template needs {sorted(MESSAGES[key].fields)}"
             for f, line, key, fields in CALLS if key in MESSAGES and fields != MESSAGES[key].fields]
    assert not wrong, "\n".join(wrong)


def test_every_catalogue_entry_is_used() -> None:
    used = {key for _, _, key, _ in CALLS}
    assert not set(MESSAGES) - used, f"catalogue entries no rule reports: {sorted(set(MESSAGES) - used)}"


#: base.py defines ctx.issue(); every rule module reports through ctx.report()
INLINE_MESSAGES_ALLOWED = {"base.py"}


def test_no_rule_writes_a_message_inline() -> None:
    for path in sorted(RULES_DIR.glob("*.py")):
        if path.name in INLINE_MESSAGES_ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inline = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                  and n.func.attr == "issue"]
        assert not inline, f"{path.name} lines {inline}: use ctx.report(key, …) with a catalogued message"


def test_catalogue_entries_are_well_formed() -> None:
    for key, entry in MESSAGES.items():
        code, _, name = key.partition(".")
        assert code == entry.code and name, f"{key}: keys are <code>.<name>"
        assert entry.code in CATALOG, f"{key}: code {entry.code} is not in scoring.errors.CATALOG"
        assert entry.hint, f"{key} has no hint"
        entry.render(**dict.fromkeys(entry.fields, "x"))  # formats: no stray braces


def test_every_code_is_used_somewhere() -> None:
    """A code of CATALOG is either a template's code or written in the source that reports it."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "scoring").rglob("*.py")
                       if p.name != "errors.py")
    templated = {t.code for t in MESSAGES.values()}
    unused = sorted(c for c in CATALOG if c not in templated and f'"{c}"' not in source)
    assert not unused, f"codes nothing reports: {unused}"


def test_render_fills_fields_and_falls_back_to_the_catalogued_hint() -> None:
    entry = Template("E203", "unknown item {item!r} in scale {scale!r}", "list only ids from `items`")
    assert entry.render(item="a", scale="total") == ("unknown item 'a' in scale 'total'",
                                                      "list only ids from `items`")
    assert entry.render("did you mean 'b'?", item="a", scale="t")[1] == "did you mean 'b'?"
    with pytest.raises(KeyError, match="scale"):
        entry.render(item="a")
    with pytest.raises(KeyError, match="not in"):
        catalogue.template("E999.nothing")


def test_codes_table_lists_every_code_and_is_the_committed_doc() -> None:
    table = codes_table()
    for code in CATALOG:
        assert f"| {code} |" in table
    doc = (ROOT / "docs" / "issue-codes.md").read_text(encoding="utf-8")
    assert doc == catalogue.codes_markdown(), (
        "docs/issue-codes.md is stale: run psyscore validate --codes --markdown > docs/issue-codes.md")


def test_every_rule_function_is_registered() -> None:
    registered = set(rules.RULES)
    for path in sorted(RULES_DIR.glob("*.py")):
        if path.stem in ("__init__", "base", "facts"):
            continue
        module = __import__(f"scoring.definitions.rules.{path.stem}", fromlist=["_"])
        for name, func in inspect.getmembers(module, inspect.isfunction):
            params = list(inspect.signature(func).parameters)
            if func.__module__ == module.__name__ and params == ["ctx"]:
                assert func in registered, f"rule {path.stem}.{name} is not in scoring.definitions.rules.RULES"


# --- a rule that raises -------------------------------------------------------------------------------------

def exploding_rule(ctx: RuleContext) -> list[Issue]:
    raise ZeroDivisionError(f"cannot check {ctx.instrument.id}")


def test_a_rule_that_raises_is_reported_and_the_rest_goes_on(tmp_path: Path) -> None:
    good = (FIXTURES / "good" / "demo_scale.yaml").read_text(encoding="utf-8")
    (tmp_path / "demo_scale.yaml").write_text(good, encoding="utf-8")
    bad = FIXTURES / "bad" / "e203_unknown_item.yaml"
    (tmp_path / bad.name).write_text(bad.read_text(encoding="utf-8"), encoding="utf-8")

    lib = load_library([tmp_path], rule_set=(exploding_rule, *rules.RULES))
    failed = [i for i in lib.report.issues if i.code == "E900"]
    assert sorted(Path(i.file or "").name for i in failed) == ["demo_scale.yaml", "e203_unknown_item.yaml"]
    for issue in failed:
        assert issue.severity == "error" and issue.line is not None and issue.path == ""  # at the file
        assert "test_issue_catalogue.exploding_rule" in issue.message
        assert "ZeroDivisionError: cannot check" in issue.message
        assert "please report" in (issue.hint or "")
    # the rules after the failing one still ran on every file
    assert any(i.code == "E203" and i.file and i.file.endswith(bad.name) for i in lib.report.issues)
    # a definition not fully checked is not used for scoring
    assert len(lib) == 0

    clean = load_library([tmp_path])
    assert "demo_scale" in clean and not any(i.code == "E900" for i in clean.report.issues)


def test_bundled_definitions_raise_in_no_rule() -> None:
    report = validate([ROOT / "instruments"])
    assert not [i for i in report.issues if i.code == "E900"]

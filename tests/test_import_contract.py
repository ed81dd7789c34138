"""The import contract of the stage packages (issue 11 item 2).

``lint-imports`` checks the layers and forbidden imports declared in ``pyproject.toml``
(``[tool.importlinter]``): a stage imports only the stages below it, and the scoring stages never import
the clinic store, the outputs, notifications, the CLI or the app. The AST checks below need nothing
installed: no import cycle between modules of ``scoring`` (imports inside functions count; imports under
``if TYPE_CHECKING:`` do not, they are annotations only), and no module imports another module's private
(``_name``) names.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scoring"

#: Private names still allowed across modules as (importer, home module, name): none. A helper another
#: module needs is public in its home module.
PRIVATE_IMPORTS_LEFT: set[tuple[str, str, str]] = set()


def _lint_imports() -> str | None:
    beside = Path(sys.executable).with_name("lint-imports")
    return str(beside) if beside.exists() else shutil.which("lint-imports")


def test_lint_imports_contracts_are_kept() -> None:
    exe = _lint_imports()
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("lint-imports is not installed (pip install -e '.[dev]')")
        pytest.skip("lint-imports is not installed (pip install -e '.[dev]')")
    run = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, outside ``if TYPE_CHECKING:`` blocks."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Module → the scoring modules it imports at run time; and (importer, home, name) of private names."""
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[tuple[str, str, str]] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                edges[module] |= {a.name for a in node.names if a.name in modules}
                continue
            home = _absolute(node, module, path.name == "__init__.py")
            if home not in modules:
                continue
            for alias in node.names:
                sub = f"{home}.{alias.name}"
                if sub in modules:  # `from package import submodule`
                    edges[module].add(sub)
                    continue
                edges[module].add(home)
                if alias.name.startswith("_") and not alias.name.startswith("__") and home != module:
                    private.append((module, home, alias.name))
    for module in edges:
        edges[module].discard(module)
    return edges, private


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        comp.append(top)
                        if top == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycles() -> None:
    edges, _ = _graph()
    assert _cycles(edges) == []


def test_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_private_names_imported_across_modules() -> None:
    _, private = _graph()
    assert set(private) - PRIVATE_IMPORTS_LEFT == set()


def test_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()

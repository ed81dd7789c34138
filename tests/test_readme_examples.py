"""The ```python blocks of README.md and instruments/README.md run as written (warnings are errors here too).

Each block runs in a fresh namespace, in an empty temporary folder as the working directory, with the
instrument and norm search paths unset (the shipped library only). A block that cannot run on its own (it
needs a running clinic, a user's password or a file of the reader's) is preceded in the Markdown by

    <!-- not-run: why -->

on the line just before its fence; the reason must be given. Such blocks are still compiled, so a syntax
error in one fails too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = (ROOT / "README.md", ROOT / "instruments" / "README.md")
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<reason>\S.*?)\s*-->")
FENCE = re.compile(r"^```python[ \t]*\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    document: Path
    line: int  # of the opening fence, 1-based
    code: str
    not_run: str | None  # the reason, when marked

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def python_blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    blocks = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = NOT_RUN.fullmatch(before.strip())
        blocks.append(Block(document, line, m.group("code"), marker.group("reason") if marker else None))
    return blocks


BLOCKS = [b for doc in DOCUMENTS for b in python_blocks(doc)]


def test_the_readmes_have_python_blocks_to_run() -> None:
    assert any(b.not_run is None for b in BLOCKS), "no runnable ```python block found: did the fence change?"


def test_the_marker_is_recognised() -> None:
    sample = "text\n<!-- not-run: needs a clinic -->\n```python\nx = 1\n```\n\n```python\ny = 2\n```\n"
    doc = ROOT / "tests" / "_sample.md"
    blocks = [Block(doc, 0, m.group("code"), None) for m in FENCE.finditer(sample)]
    assert [b.code for b in blocks] == ["x = 1\n", "y = 2\n"]
    assert NOT_RUN.fullmatch("<!-- not-run: needs a clinic -->") is not None
    assert NOT_RUN.fullmatch("<!-- not-run: -->") is None  # a reason is required


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_readme_block_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = compile(block.code, block.name, "exec")  # a syntax error fails even in a not-run block
    if block.not_run is not None:
        pytest.skip(f"marked not-run in the Markdown: {block.not_run}")
    monkeypatch.chdir(tmp_path)
    for name in ("PSYSCORE_INSTRUMENTS_PATH", "PSYSCORE_NORMS_PATH", "PSYSCORE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    exec(compiled, {"__name__": "__readme__"})

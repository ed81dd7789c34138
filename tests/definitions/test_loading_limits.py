"""Hostile definition files end with a located issue, in bounded memory: the YAML "billion laughs" (aliases
that expand a 342-byte file into 9⁹ strings; small aliases stay allowed), files that are devices or pipes
(``/dev/zero``), files larger than :data:`scoring.definitions.loading.MAX_YAML_BYTES` and nesting deeper than
:data:`scoring.definitions.loading.MAX_YAML_DEPTH`.

Memory is measured in a fresh interpreter (tracemalloc peak and the growth of the peak resident set) under an
address-space limit, so a regression fails the test instead of exhausting the machine.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scoring import load_definition, load_library, validate
from scoring.definitions.loading import MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES, parse_yaml
from tests.support.cli import run_cli_process

#: 9 levels of 9 aliases: 9**9 ≈ 387 million strings once expanded
BILLION_LAUGHS = "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
MEMORY_LIMIT_MB = 40  # the whole run (validate, load_library, load_norms, score CLI) stays below this

PROBE = r"""
import json, os, resource, sys, tracemalloc
from pathlib import Path
limit = 3 * 1024 ** 3
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import scoring
from scoring.norms import load_norms
from scoring.cli import main
folder = Path(sys.argv[1])
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
report = scoring.validate([folder / "lol.yaml"])
lib = scoring.load_library()  # start-up of the app: the configured folders (PSYSCORE_INSTRUMENTS_PATH)
norms = load_norms([folder / "norms"], library=lib)
code = main(["score", "phq9", str(folder / "in.csv"), "-o", str(folder / "out.csv"),
             "--definitions", str(folder)])
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"codes": sorted({i.code for i in report.errors}),
                  "lib_codes": sorted({i.code for i in lib.report.errors if "lol" in i.file}),
                  "norm_codes": sorted({i.code for i in norms.report.errors}),
                  "phq9_loaded": "phq9" in lib, "who5_loaded": "who5" in lib, "score_exit": code,
                  "peak_mb": peak / 2 ** 20, "rss_growth_mb": (rss_after - rss_before) / 1024}))
"""


def test_billion_laughs_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    assert len(BILLION_LAUGHS.encode()) < 400
    (tmp_path / "lol.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
    (tmp_path / "norms").mkdir()
    (tmp_path / "norms" / "lol_norm.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
    items = [it.id for it in load_library()["phq9"].instrument.items]
    (tmp_path / "in.csv").write_text(",".join(items) + "\n" + ",".join("1" * len(items)) + "\n", encoding="utf-8")
    env = {**os.environ, "PSYSCORE_INSTRUMENTS_PATH": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True, text=True,
                         env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["codes"] == ["E104"]
    assert result["lib_codes"] == ["E104"]
    assert result["norm_codes"] == ["E104"]
    assert result["phq9_loaded"], "a refused file in a configured folder must not stop the bundled ones loading"
    assert result["who5_loaded"], "small aliases (WHO-5 repeats its missing-data rule) are still read"
    assert result["score_exit"] == 0
    assert result["peak_mb"] < MEMORY_LIMIT_MB, result
    assert result["rss_growth_mb"] < MEMORY_LIMIT_MB, result


def test_alias_issue_is_located_and_says_how_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "lol.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    definition, issues = load_definition(path)
    assert definition is None
    assert len(issues) == 1
    issue = issues[0]
    assert (issue.code, issue.file, issue.line) == ("E104", str(path), 5)  # the alias that crosses the bound
    assert f"expand this file to more than {MAX_YAML_NODES:,} values" in issue.message
    assert "write the repeated part out in full" in (issue.hint or "")


def test_small_aliases_and_merge_keys_still_work() -> None:
    """The bundled WHO-5, DASS-21 and Mini-IPIP repeat their missing-data rule with an alias."""
    doc, issues = parse_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\nagain: *b\n", "merge.yaml")
    assert not issues and doc is not None
    assert doc.data == {"base": {"x": 1}, "other": {"x": 1, "y": 2}, "again": {"x": 1}}
    lib = load_library()
    assert {"who5", "dass21"} <= set(lib), [str(i) for i in lib.report.errors]


def test_recursive_alias_is_refused() -> None:
    doc, issues = parse_yaml("a: &a\n  - 1\n  - *a\n", "self.yaml")
    assert doc is None
    assert [(i.code, i.line) for i in issues] == [("E104", 3)]
    assert "refers to the node it is inside" in issues[0].message


def test_expansion_just_under_the_bound_is_accepted() -> None:
    """The bound counts expanded values exactly: 9**4 strings in nested lists pass, 9**5 do not."""
    def laughs(levels: int) -> str:
        names = "abcdefghi"[:levels]
        return "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
            f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in itertools.pairwise(names))
    ok, ok_issues = parse_yaml(laughs(4), "ok.yaml")
    assert ok is not None and not ok_issues
    bad, bad_issues = parse_yaml(laughs(5), "bad.yaml")
    assert bad is None and [i.code for i in bad_issues] == ["E104"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli_process(*args)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero (POSIX)")
def test_validate_dev_zero_ends_with_a_clean_error() -> None:
    run = _cli("validate", "/dev/zero")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    assert "/dev/zero: error E100: cannot read file: it is a device, pipe or socket" in run.stdout + run.stderr


def test_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:  # sparse: 8 GiB on paper, nothing on disk
        fh.truncate(8 * 1024 ** 3)
    run = _cli("validate", str(path))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    assert f"{path}: error E105: the file is 8,589,934,592 bytes" in run.stdout + run.stderr
    assert f"at most {MAX_YAML_BYTES:,} bytes" in run.stdout + run.stderr


def test_text_just_over_the_limit_is_refused_and_at_the_limit_parses(tmp_path: Path) -> None:
    body = "id: x\nnotes: "
    ok = body + "a" * (MAX_YAML_BYTES - len(body) - 1) + "\n"
    doc, issues = parse_yaml(ok, "ok.yaml")
    assert doc is not None and not issues
    path = tmp_path / "big.yaml"
    path.write_text(ok + "b\n", encoding="utf-8")
    report = validate([path])
    assert [i.code for i in report.errors] == ["E105"]


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    deep = "x: " + "[" * 100_000 + "]" * 100_000 + "\n"
    doc, issues = parse_yaml(deep, "deep.yaml")
    assert doc is None
    assert [(i.code, i.line) for i in issues] == [("E105", 1)]
    assert f"more than {MAX_YAML_DEPTH} levels" in issues[0].message

"""Second validation pass for norm tables: one small function per rule, each returning issues.

A rule reads the metadata (already shape-checked), the parsed CSV rows (``None`` when the CSV could not be
used) and the instrument library; it never raises. Issues about the metadata are located at
``<id>.yaml:line path``, issues about numbers at ``<id>.csv:line column``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from scoring.definitions.loading import SourceDoc, format_path
from scoring.definitions.rules.facts import is_integer_valued
from scoring.definitions.schema import Scale
from scoring.errors import Issue, did_you_mean
from scoring.norms.csv_files import NormRow
from scoring.norms.schema import NormMetadata, Stratum

if TYPE_CHECKING:
    from scoring.definitions.library import Library


@dataclass(frozen=True)
class NormContext:
    meta: NormMetadata
    doc: SourceDoc | None = None
    rows: list[NormRow] | None = None
    csv_file: str | None = None
    library: Library | None = None

    def issue(self, code: str, message: str, path: Sequence[str | int] = (), hint: str | None = None) -> Issue:
        line = self.doc.line_of(path) if self.doc else None
        return Issue(code, message, self.doc.file if self.doc else None, line, format_path(path), hint)

    def row_issue(self, code: str, message: str, row: NormRow, column: str = "", hint: str | None = None) -> Issue:
        return Issue(code, message, self.csv_file, row.line, column, hint)

    def convert(self, x: float) -> float:
        """Published metric → psyscore metric (exact linear map, identity when none is declared)."""
        conv = self.meta.score_conversion
        return x if conv is None else x * float(conv.multiplier) + float(conv.offset)

    def scales(self) -> list[tuple[str, Scale, bool]]:
        """(version, scale, integer-valued) for each declared version whose definition and scale exist."""
        if self.library is None:
            return []
        out = []
        for version in self.meta.instrument.versions:
            try:
                d = self.library.get_version(self.meta.instrument.id, version)
            except KeyError:
                continue
            scale = next((s for s in d.instrument.scales if s.id == self.meta.scale), None)
            if scale is not None:
                out.append((version, scale, is_integer_valued(d.instrument, scale)))
        return out


NormRule = Callable[[NormContext], list[Issue]]


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def file_name_matches(ctx: NormContext) -> list[Issue]:
    if ctx.doc is None:
        return []
    stem = Path(ctx.doc.file).name.rsplit(".", 1)[0]
    if stem != ctx.meta.id:
        return [ctx.issue("E412", f"file {Path(ctx.doc.file).name!r} defines norm id {ctx.meta.id!r}", ("id",),
                          f"name the files {ctx.meta.id}.yaml and {ctx.meta.id}.csv")]
    return []


def method_fields_consistent(ctx: NormContext) -> list[Issue]:
    m = ctx.meta
    out = []
    if m.method == "percentile" and m.percentile_definition is None:
        out.append(ctx.issue("E415", "a percentile table must say which percentile definition it uses",
                             ("method",), "add percentile_definition: at_or_below (cumulative %) or midpoint"))
    if m.method != "percentile" and m.percentile_definition is not None:
        out.append(ctx.issue("E415", f"percentile_definition is for percentile tables, not {m.method}",
                             ("percentile_definition",), "remove it"))
    if m.omitted_scores == "same_as_score_below" and not (
        m.method == "percentile" and m.percentile_definition == "at_or_below"
    ):
        out.append(ctx.issue(
            "E415", "omitted_scores: same_as_score_below holds only for cumulative (at_or_below) percentile tables",
            ("omitted_scores",),
            "a score nobody obtained has the cumulative % of the score below it; no such rule holds for midpoint "
            "percentiles or T values, which must list every score"))
    if m.score_conversion is not None and float(m.score_conversion.multiplier) <= 0:
        out.append(ctx.issue("E415", "score_conversion.multiplier must be positive", ("score_conversion", "multiplier"),
                             "a conversion that reverses the scale would turn '% at or below' into '% at or above'"))
    return out


def _overlap(a: Stratum, b: Stratum) -> bool:
    if a.sex != "any" and b.sex != "any" and a.sex != b.sex:
        return False
    lo_a, hi_a = a.age_min if a.age_min is not None else -1, a.age_max if a.age_max is not None else 10**6
    lo_b, hi_b = b.age_min if b.age_min is not None else -1, b.age_max if b.age_max is not None else 10**6
    return lo_a <= hi_b and lo_b <= hi_a


def strata_valid(ctx: NormContext) -> list[Issue]:
    strata = ctx.meta.strata
    out = []
    ids = Counter(s.id for s in strata)
    for i, s in enumerate(strata):
        if ids[s.id] > 1:
            out.append(ctx.issue("E411", f"stratum id {s.id!r} is used twice", ("strata", i, "id"),
                                 "each stratum needs its own id: the CSV rows refer to it"))
        if s.age_min is not None and s.age_max is not None and s.age_min > s.age_max:
            out.append(ctx.issue("E411", f"stratum {s.id!r}: age_min {s.age_min} is above age_max {s.age_max}",
                                 ("strata", i, "age_min"), "ages are completed years, both bounds inclusive"))
    for i, a in enumerate(strata):
        for j in range(i):
            b = strata[j]
            if a.id != b.id and _overlap(a, b):
                out.append(ctx.issue(
                    "E411", f"strata {b.id!r} and {a.id!r} overlap: a respondent could fall in both",
                    ("strata", i),
                    "a table's strata must not overlap (e.g. put 'total' and 'by sex' in two tables); "
                    "age bounds are inclusive, so 25-34 and 35-44 do not overlap"))
    return out


def instrument_known(ctx: NormContext) -> list[Issue]:
    lib = ctx.library
    if lib is None:
        return []
    ins = ctx.meta.instrument
    if not lib.versions(ins.id):
        return [ctx.issue("E405", f"unknown instrument {ins.id!r}", ("instrument", "id"),
                          did_you_mean(ins.id, list(lib)) or "the instrument must be in the library")]
    out = []
    known = lib.versions(ins.id)
    for vi, version in enumerate(ins.versions):
        if version not in known:
            out.append(ctx.issue("E407", f"{ins.id} has no definition version {version}",
                                 ("instrument", "versions", vi), f"known versions: {', '.join(known)}"))
            continue
        d = lib.get_version(ins.id, version)
        scales = [s.id for s in d.instrument.scales]
        if ctx.meta.scale not in scales:
            out.append(ctx.issue("E406", f"{ins.id} {version} has no scale {ctx.meta.scale!r}", ("scale",),
                                 did_you_mean(ctx.meta.scale, scales) or f"scales: {', '.join(scales)}"))
    return out


def csv_strata_declared(ctx: NormContext) -> list[Issue]:
    if ctx.rows is None:
        return []
    declared = [s.id for s in ctx.meta.strata]
    out = []
    seen: dict[tuple[str, int | None], int] = {}
    for row in ctx.rows:
        if row.stratum not in declared:
            out.append(ctx.row_issue("E403", f"stratum {row.stratum!r} is not declared in the metadata", row,
                                     "stratum", did_you_mean(row.stratum, declared)
                                     or f"declared strata: {', '.join(declared)}"))
            continue
        key = (row.stratum, row.raw)
        if key in seen:
            what = f"raw score {row.raw}" if row.raw is not None else "a mean/SD row"
            out.append(ctx.row_issue("E403", f"stratum {row.stratum!r} has {what} twice (first at line "
                                     f"{seen[key]})", row, "raw" if row.raw is not None else "stratum",
                                     "keep one row per stratum and score"))
        else:
            seen[key] = row.line
    return out


def strata_present(ctx: NormContext) -> list[Issue]:
    if ctx.rows is None:
        return []
    present = {r.stratum for r in ctx.rows}
    return [ctx.issue("E404", f"stratum {s.id!r} has no rows in {Path(ctx.csv_file or '').name}", ("strata", i),
                      "add its published numbers, or remove the stratum if they were not published")
            for i, s in enumerate(ctx.meta.strata) if s.id not in present]


def values_in_bounds(ctx: NormContext) -> list[Issue]:
    if ctx.rows is None:
        return []
    out = []
    for row in ctx.rows:
        if ctx.meta.method == "percentile" and row.value is not None and not 0 <= row.value <= 100:
            out.append(ctx.row_issue("E410", f"percentile {_fmt(row.value)} is outside 0–100", row, "percentile"))
        if ctx.meta.method == "lookup_t" and row.value is not None and not 0 < row.value < 150:
            out.append(ctx.row_issue("E410", f"T {_fmt(row.value)} is not a plausible T score", row, "t",
                                     "T scores have mean 50 and SD 10"))
        if ctx.meta.method == "mean_sd":
            if row.sd is not None and row.sd <= 0:
                out.append(ctx.row_issue("E410", f"SD {_fmt(row.sd)} must be positive", row, "sd"))
            if row.n is not None and row.n < 1:
                out.append(ctx.row_issue("E410", f"n {row.n} must be at least 1", row, "n"))
    return out


def raw_scores_valid(ctx: NormContext) -> list[Issue]:
    if ctx.rows is None:
        return []
    out = []
    reported: set[tuple[int, str]] = set()
    for version, scale, integer in ctx.scales():
        lo, hi = float(scale.range[0]), float(scale.range[1])
        for row in ctx.rows:
            x = row.mean if ctx.meta.method == "mean_sd" else row.raw
            if x is None:
                continue
            conv = ctx.convert(float(x))
            column = "mean" if ctx.meta.method == "mean_sd" else "raw"
            if not lo - 1e-9 <= conv <= hi + 1e-9:
                shown = _fmt(x) if conv == x else f"{_fmt(x)} (= {_fmt(conv)} after score_conversion)"
                msg = (f"{column} {shown} lies outside the range {_fmt(lo)}–{_fmt(hi)} of "
                       f"{ctx.meta.instrument.id} {version} scale {scale.id!r}")
                hint = ("is the table on another metric (e.g. K10 0–40 vs 10–50)? declare score_conversion"
                        if ctx.meta.score_conversion is None else "check the score_conversion")
            elif column == "raw" and integer and not float(conv).is_integer():
                msg = f"raw {_fmt(x)} becomes {_fmt(conv)}, which the integer-valued scale cannot take"
                hint = "check the score_conversion"
            else:
                continue
            if (row.line, msg) not in reported:
                reported.add((row.line, msg))
                out.append(ctx.row_issue("E414", msg, row, column, hint))
    return out


def _by_stratum(rows: list[NormRow]) -> dict[str, list[NormRow]]:
    groups: dict[str, list[NormRow]] = defaultdict(list)
    for row in rows:
        if row.raw is not None and row.value is not None:
            groups[row.stratum].append(row)
    return {k: sorted(v, key=lambda r: r.raw or 0) for k, v in groups.items()}


def covers_range(ctx: NormContext) -> list[Issue]:
    """Percentile and T tables give a value for every score the scale can produce (or imply it exactly)."""
    if ctx.rows is None or ctx.meta.method == "mean_sd":
        return []
    out = []
    declared = {s.id for s in ctx.meta.strata}
    groups = _by_stratum([r for r in ctx.rows if r.stratum in declared])
    done: set[tuple[float, float]] = set()
    for version, scale, integer in ctx.scales():
        lo, hi = float(scale.range[0]), float(scale.range[1])
        if (lo, hi) in done:
            continue
        done.add((lo, hi))
        if not integer:
            out.append(ctx.issue("E415", f"{ctx.meta.method} tables need an integer-valued scale; "
                                 f"{ctx.meta.instrument.id} {version} scale {scale.id!r} can give fractional "
                                 "scores", ("method",), "use a mean_sd table for this scale"))
            continue
        for stratum, rows in groups.items():
            have = {ctx.convert(float(r.raw)) for r in rows if r.raw is not None}
            if not have:
                continue
            grid = [float(x) for x in range(math.ceil(lo), math.floor(hi) + 1)]
            absent = [x for x in grid if x not in have]
            if ctx.meta.omitted_scores == "same_as_score_below":
                absent = [x for x in absent if x < min(have)]  # above the first listed score: implied
            if absent:
                shown = ", ".join(_fmt(x) for x in absent[:12]) + (" …" if len(absent) > 12 else "")
                hint = ("add the published rows; a cumulative table that leaves out scores nobody obtained "
                        "may declare omitted_scores: same_as_score_below")
                if ctx.meta.omitted_scores == "same_as_score_below":
                    hint = "the lowest score of the range must be listed: nothing below it to carry"
                out.append(ctx.row_issue(
                    "E408", f"stratum {stratum!r} has no value for score(s) {shown} (scale {scale.id!r} of "
                    f"{ctx.meta.instrument.id} {version} runs {_fmt(lo)}–{_fmt(hi)})", rows[0], "raw", hint))
    return out


def values_monotone(ctx: NormContext) -> list[Issue]:
    """Cumulative % never falls as the raw score rises; T never falls (ties allowed: published T are rounded)."""
    if ctx.rows is None or ctx.meta.method == "mean_sd":
        return []
    out = []
    what = "cumulative %" if ctx.meta.method == "percentile" else "T"
    column = "percentile" if ctx.meta.method == "percentile" else "t"
    for stratum, rows in _by_stratum(ctx.rows).items():
        for prev, row in pairwise(rows):
            if (row.value or 0) < (prev.value or 0):
                out.append(ctx.row_issue(
                    "E409", f"stratum {stratum!r}: {what} falls from {_fmt(prev.value or 0)} at raw {prev.raw} "
                    f"(line {prev.line}) to {_fmt(row.value or 0)} at raw {row.raw}", row, column,
                    "percentiles and T rise with the raw score; check the transcription"))
    return out


NORM_RULES: tuple[NormRule, ...] = (
    file_name_matches,
    method_fields_consistent,
    strata_valid,
    instrument_known,
    csv_strata_declared,
    strata_present,
    values_in_bounds,
    raw_scores_valid,
    covers_range,
    values_monotone,
)


def check_norm(ctx: NormContext) -> list[Issue]:
    """Run every norm rule; return all issues (never raises)."""
    issues: list[Issue] = []
    for rule in NORM_RULES:
        issues.extend(rule(ctx))
    return issues

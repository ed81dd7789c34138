"""``analyze(definition, data)``: the reliability of every scale of an instrument, as a tidy report.

The report has one table per level with stable columns whatever the options — scales
(:data:`SCALE_COLUMNS`), items (:data:`ITEM_COLUMNS`) and warnings (:data:`WARNING_COLUMNS`) — and writes
itself as Markdown, CSV or JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring._version import __version__
from scoring.definitions.library import Definition
from scoring.reliability._moments import check_missing
from scoring.reliability.scale import WARNING_CODES, ScaleReliability, scale_reliability

#: Scale-level columns, in order.
SCALE_COLUMNS: tuple[str, ...] = (
    "instrument_id", "instrument_version", "scale_id", "missing", "n_items", "n_obs",
    "alpha", "alpha_std", "alpha_se", "ci_level", "alpha_feldt_lower", "alpha_feldt_upper",
    "alpha_duhachek_lower", "alpha_duhachek_upper", "average_r", "omega_total",
    "n_scored", "score_mean", "score_sd", "score_min", "score_max", "floor_pct", "ceiling_pct", "n_miskeyed",
)
#: Item-level columns, in order.
ITEM_COLUMNS: tuple[str, ...] = (
    "instrument_id", "instrument_version", "scale_id", "missing", "item", "reverse", "n", "mean", "sd",
    "r_drop", "alpha_if_deleted", "alpha_if_deleted_std", "pc1_loading", "miskeyed", "floor_pct", "ceiling_pct",
)
#: Warning columns, in order.
WARNING_COLUMNS: tuple[str, ...] = ("instrument_id", "scale_id", "missing", "item", "code", "message")

#: What each statistic is and which psych call it reproduces (written into every report).
DEFINITIONS: dict[str, str] = {
    "alpha": "Cronbach's alpha from the item covariance matrix (psych::alpha raw_alpha)",
    "alpha_std": "standardized alpha from the correlation matrix (psych::alpha std.alpha)",
    "alpha_se": "asymptotic standard error of alpha (psych::alpha ase; Duhachek & Iacobucci 2004)",
    "alpha_feldt_lower/upper": "Feldt (1965) interval (psych::alpha.ci)",
    "alpha_duhachek_lower/upper": "alpha ± 1.96 se (the Duhachek row of psych's printout)",
    "average_r": "mean inter-item correlation (psych::alpha average_r)",
    "omega_total": "McDonald's omega total, one-factor minres model on the correlation matrix "
                   "(psych::omega(x, nfactors = 1, flip = FALSE)$omega.tot)",
    "missing": "pairwise: covariances from pairwise-complete answers (psych::alpha(x), use = 'pairwise'); "
               "listwise: respondents who answered every item of the scale (psych::alpha(na.omit(x)))",
    "r_drop": "corrected item-total correlation (psych::alpha item.stats r.drop)",
    "alpha_if_deleted": "alpha of the scale without the item (psych::alpha alpha.drop raw_alpha)",
    "pc1_loading": "loading on the first principal component (psych::principal), the basis of psych's "
                   "'should be reversed' warning",
    "miskeyed": "r_drop < 0 or pc1_loading < 0",
    "floor_pct/ceiling_pct": "scale: % of scored respondents at the minimum / maximum of the scale's declared "
                             "range (scores as psyscore computes them); item: % of answers at the lowest / "
                             "highest option",
}


@dataclass
class ReliabilityReport:
    """Reliability of every scale of one instrument, as tidy tables.

    Attributes
    ----------
    scales
        One row per scale and missing-data method; columns :data:`SCALE_COLUMNS`.
    items
        One row per scale, method and item; columns :data:`ITEM_COLUMNS`. Statistics are of keyed values.
    warnings
        Mis-keying and other warnings as data; columns :data:`WARNING_COLUMNS`, codes from
        :data:`~scoring.reliability.scale.WARNING_CODES`.
    failures
        Bad cells of the input (``row, item, value, code, message``); they were analysed as missing.
    instrument
        Id, version, name and content hash of the definition.
    n_rows
        Rows in the input.
    """

    scales: pd.DataFrame
    items: pd.DataFrame
    warnings: pd.DataFrame
    failures: pd.DataFrame
    instrument: dict[str, str]
    n_rows: int
    settings: dict[str, Any] = field(default_factory=dict)

    # -- serialisation -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON types (NaN becomes None)."""
        return {
            "instrument": dict(self.instrument),
            "psyscore_version": __version__,
            "n_rows": self.n_rows,
            "n_bad_cells": len(self.failures),
            "settings": dict(self.settings),
            "definitions": dict(DEFINITIONS),
            "scales": _records(self.scales),
            "items": _records(self.items),
            "warnings": _records(self.warnings),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON (``NaN`` written as ``null``)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def to_markdown(self, *, digits: int = 3) -> str:
        """The report as a Markdown document with one table per level."""
        ins = self.instrument
        lines = [
            f"# Reliability: {ins['name']} ({ins['id']} {ins['version']})",
            "",
            f"{self.n_rows} response row(s); {len(self.failures)} bad cell(s) analysed as missing. "
            f"Definition hash {ins['hash'][:12]}; psyscore {__version__}; "
            f"confidence level {self.settings.get('ci_level', 0.95):g}.",
            "",
            "## Scales",
            "",
            _md_table(self.scales.drop(columns=["instrument_id", "instrument_version"]), digits),
            "",
            "## Items",
            "",
            _md_table(self.items.drop(columns=["instrument_id", "instrument_version"]), digits),
            "",
            "## Warnings",
            "",
        ]
        if self.warnings.empty:
            lines.append("None.")
        else:
            for w in self.warnings.itertuples():
                where = f"{w.scale_id} ({w.missing})" + (f", {w.item}" if isinstance(w.item, str) else "")
                lines.append(f"- **{w.code}** {where}: {w.message}")
        lines += ["", "## Definitions", ""]
        lines += [f"- `{k}`: {v}" for k, v in DEFINITIONS.items()]
        return "\n".join(lines) + "\n"

    def to_csv(self, path: Path | str) -> list[Path]:
        """Write the scale table to ``path`` and the item and warning tables beside it.

        ``report.csv`` gets ``report.items.csv`` and ``report.warnings.csv`` next to it. Returns the paths.
        """
        path = Path(path)
        items_path = path.with_name(f"{path.stem}.items{path.suffix}")
        warnings_path = path.with_name(f"{path.stem}.warnings{path.suffix}")
        self.scales.to_csv(path, index=False)
        self.items.to_csv(items_path, index=False)
        self.warnings.to_csv(warnings_path, index=False)
        return [path, items_path, warnings_path]

    def write(self, path: Path | str) -> list[Path]:
        """Write the report in the format its extension names: ``.md``, ``.json`` or ``.csv``."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in REPORT_SUFFIXES:
            raise ValueError(f"{path.name}: unsupported report type {suffix!r}; use .md, .json or .csv")
        if suffix == ".csv":
            return self.to_csv(path)
        text = self.to_json() + "\n" if suffix == ".json" else self.to_markdown()
        path.write_text(text, encoding="utf-8")
        return [path]


REPORT_SUFFIXES: tuple[str, ...] = (".md", ".json", ".csv")


def _plain(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    return v


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = list(frame.columns)
    return [{c: _plain(v) for c, v in zip(cols, row, strict=True)} for row in frame.itertuples(index=False)]


def _md_cell(v: Any, digits: int) -> str:
    v = _plain(v)
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v).replace("|", "\\|")


def _md_table(frame: pd.DataFrame, digits: int) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(_md_cell(v, digits) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def analyze(
    definition: Definition,
    data: pd.DataFrame,
    *,
    missing: Sequence[str] = ("pairwise", "listwise"),
    ci_level: float = 0.95,
    accept_integral_floats: bool = False,
) -> ReliabilityReport:
    """Reliability of every scale of an instrument on a set of responses.

    Parameters
    ----------
    definition
        A definition from the library (``scoring.load_library()["phq9"]``).
    data
        One row per administration, one column per item id (numbers or text; other columns are ignored).
        Cells are validated as for scoring; bad cells are analysed as missing and listed in ``failures``.
    missing
        Missing-data methods to report, each giving one row per scale: ``"pairwise"`` and/or ``"listwise"``.
    ci_level
        Coverage of alpha's confidence intervals.
    accept_integral_floats
        Read text such as ``2.0`` as 2, as :func:`scoring.score` does with the same option.

    Returns
    -------
    ReliabilityReport

    Notes
    -----
    Items with ``reverse: true`` are keyed ``min + max − answer`` of their option set before anything is
    computed; gates and applicability rules are not applied (an item's answers are analysed as given).
    For each scale, rows with no answer to any of its items are left out; ``pairwise`` then uses every
    other row, ``listwise`` the rows that answered every item. Alpha is that of the unit-weighted items
    (as ``psych::alpha``), whatever weights the scale declares. Scale floor and ceiling percentages are of
    the scores psyscore computes (missing-data rule, weights, conversion table), compared with the scale's
    declared range; the same numbers appear under both methods. Definitions of every statistic:
    :func:`~scoring.reliability.cronbach_alpha`, :func:`~scoring.reliability.item_statistics`,
    :func:`~scoring.reliability.omega_total`, and :data:`DEFINITIONS`.

    Examples
    --------
    >>> import scoring
    >>> lib = scoring.load_library()
    >>> rng = np.random.default_rng(0)
    >>> data = pd.DataFrame(rng.integers(0, 4, (50, 9)), columns=[f"phq9_{k}" for k in range(1, 10)])
    >>> report = analyze(lib["phq9"], data)
    >>> report.scales[["scale_id", "missing", "n_obs"]]
      scale_id   missing  n_obs
    0    total  pairwise     50
    1    total  listwise     50
    >>> list(report.items.columns) == list(ITEM_COLUMNS)
    True
    """
    from scoring.engine import score
    from scoring.engine.responses import check_responses

    methods = tuple(missing)
    for method in methods:
        check_missing(method)
    plan = definition.plan
    checked = check_responses(plan, data, accept_integral_floats=accept_integral_floats)
    keyed = np.where(plan.reverse, plan.lo + plan.hi - checked.matrix, checked.matrix)
    # input columns named like score columns (a precomputed "total", say) would be duplicated in the scores
    clashes = [c for c in data.columns if str(c) in set(plan.output_columns) and str(c) not in plan.item_ids]
    scored = score(definition, data.drop(columns=clashes), accept_integral_floats=accept_integral_floats).scores
    rows = ReportRows(definition)
    for sp in plan.scales:
        idx = sp.index
        x = pd.DataFrame(keyed[:, idx], columns=[plan.item_ids[i] for i in idx])
        valid = scored[f"{sp.id}_valid"].to_numpy(dtype=bool, na_value=False)
        scores = np.where(valid, pd.to_numeric(scored[sp.id], errors="coerce").to_numpy(dtype=float,
                                                                                        na_value=np.nan), np.nan)
        for method in methods:
            res = scale_reliability(x, missing=method, ci_level=ci_level, item_range=(plan.lo[idx], plan.hi[idx]),
                                    scores=scores, score_range=sp.range)
            rows.add(sp.id, method, len(idx), res)
    return rows.report(failures=checked.failures, n_rows=len(data), methods=methods, ci_level=ci_level)


@dataclass
class ReportRows:
    """A report's rows gathered scale by scale, then typed into a :class:`ReliabilityReport`.

    :func:`analyze` fills it from the answers; the Spark analysis (:mod:`scoring.spark`) from statistics
    combined over partitions, so both write the same tables.
    """

    definition: Definition
    scales: list[dict[str, Any]] = field(default_factory=list)
    items: list[pd.DataFrame] = field(default_factory=list)
    warnings: list[pd.DataFrame] = field(default_factory=list)

    def add(self, scale_id: str, method: str, n_items: int, res: ScaleReliability) -> None:
        """One scale under one missing-data method."""
        d = self.definition
        plan = d.plan
        reverse = dict(zip(plan.item_ids, plan.reverse.tolist(), strict=True))
        a = res.alpha
        self.scales.append({
            "instrument_id": d.id, "instrument_version": d.version, "scale_id": scale_id, "missing": method,
            "n_items": n_items, "n_obs": a.n_obs,
            "alpha": a.alpha, "alpha_std": a.alpha_std, "alpha_se": a.se, "ci_level": a.ci_level,
            "alpha_feldt_lower": a.feldt_lower, "alpha_feldt_upper": a.feldt_upper,
            "alpha_duhachek_lower": a.duhachek_lower, "alpha_duhachek_upper": a.duhachek_upper,
            "average_r": a.average_r, "omega_total": res.omega.omega_total,
            "n_scored": res.n_scored, "score_mean": res.score_mean, "score_sd": res.score_sd,
            "score_min": res.score_range[0], "score_max": res.score_range[1],
            "floor_pct": res.floor_pct, "ceiling_pct": res.ceiling_pct,
            "n_miskeyed": int(res.items["miskeyed"].sum()),
        })
        items = res.items.copy()
        items.insert(0, "missing", method)
        items.insert(0, "scale_id", scale_id)
        items.insert(0, "instrument_version", d.version)
        items.insert(0, "instrument_id", d.id)
        items.insert(list(items.columns).index("n"), "reverse", items["item"].map(reverse).astype(bool))
        self.items.append(items)
        w = res.warnings.copy()
        w.insert(0, "missing", method)
        w.insert(0, "scale_id", scale_id)
        w.insert(0, "instrument_id", d.id)
        self.warnings.append(w)

    def report(self, *, failures: pd.DataFrame, n_rows: int, methods: Sequence[str],
               ci_level: float) -> ReliabilityReport:
        """The typed tables, with the instrument, the input's row count and the settings."""
        d = self.definition
        return ReliabilityReport(
            scales=_typed(pd.DataFrame(self.scales, columns=list(SCALE_COLUMNS)), SCALE_COLUMNS),
            items=_typed(_concat(self.items, ITEM_COLUMNS), ITEM_COLUMNS),
            warnings=_concat(self.warnings, WARNING_COLUMNS).astype(object),
            failures=failures,
            instrument={"id": d.id, "version": d.version, "name": d.instrument.name, "hash": d.hash},
            n_rows=n_rows,
            settings={"missing": list(methods), "ci_level": ci_level, "warning_codes": dict(WARNING_CODES)},
        )


_INT_COLUMNS = {"n_items", "n_obs", "n_scored", "n_miskeyed", "n"}
_BOOL_COLUMNS = {"reverse", "miskeyed"}
_TEXT_COLUMNS = {"instrument_id", "instrument_version", "scale_id", "missing", "item"}


def _concat(frames: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(frames, ignore_index=True)[list(columns)]


def _typed(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Fix column dtypes so that an empty table has the same types as a full one."""
    out: dict[str, pd.Series] = {}
    for c in columns:
        col = frame[c]
        if c in _INT_COLUMNS:
            out[c] = col.astype(np.int64)
        elif c in _BOOL_COLUMNS:
            out[c] = col.astype(bool)
        elif c in _TEXT_COLUMNS:
            out[c] = col.astype(object)
        else:
            out[c] = col.astype(np.float64)
    return pd.DataFrame(out, columns=list(columns))

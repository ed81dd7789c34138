"""Published norm tables: discovery, validation in two passes, and the :class:`NormLibrary`.

A norm table is a pair of files in a norms folder: ``<norm_id>.yaml`` (metadata: instrument and definition
versions, scale, population, strata, method, citation, evidence level; see :mod:`scoring.norms.schema`) and
``<norm_id>.csv`` (the published numbers, verbatim; see :mod:`scoring.norms.csv_files`). ``load_norms()`` finds
the bundled ``norms/`` folder (checkout or wheel) plus the folders in ``Settings.norm_dirs`` (environment
variable ``PSYSCORE_NORMS_PATH``), validates every table against the instrument library and leaves invalid
tables out, reporting why in ``NormLibrary.report``. Applying a table to scores is
:func:`scoring.norms.apply.apply_norms` (re-exported here and as ``scoring.apply_norms``).

>>> import scoring
>>> norms = scoring.load_norms()
>>> table = norms.get("phq9_kocalevent2013_de_sex")
>>> table.method, table.scale, [s.id for s in table.strata]
('mean_sd', 'total', ['female', 'male'])
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring.definitions.library import Definition, Library, Settings, iter_definition_files, load_library
from scoring.definitions.loading import read_yaml_file, to_model
from scoring.errors import Issue, UnknownNameError, ValidationReport
from scoring.norms.apply import explain_line
from scoring.norms.csv_files import NormRow, read_norm_csv
from scoring.norms.rules import NormContext, check_norm
from scoring.norms.schema import NormMetadata, Stratum

__all__ = [
    "NormLibrary",
    "NormTable",
    "UnknownNormError",
    "load_norm_table",
    "load_norms",
    "validate_norms",
]


class UnknownNormError(UnknownNameError):
    kind = "norm table"

    def __init__(self, norm_id: str, known: Sequence[str]):
        super().__init__(norm_id, known)


@dataclass(frozen=True)
class _Compiled:
    """Arrays for vectorized lookup, all on psyscore's score metric."""

    grid_lo: int
    values: np.ndarray  # [n_strata, width] percentile or T; NaN where the table gives none
    implied: np.ndarray  # [n_strata, width] True where the value is implied by omitted_scores
    mean: np.ndarray  # [n_strata]
    sd: np.ndarray  # [n_strata]


def _read_only(compiled: _Compiled) -> _Compiled:
    """The compiled arrays are shared by every caller of the table: make them read-only."""
    for array in (compiled.values, compiled.implied, compiled.mean, compiled.sd):
        array.flags.writeable = False
    return compiled


@dataclass(frozen=True)
class NormTable:
    """A validated norm table: its metadata, the published rows, and where it came from.

    ``score_range`` is the scale's score range in the definitions the table declares (used to extend an
    at-or-below cumulative table over scores nobody in the sample obtained).
    """

    meta: NormMetadata
    rows: tuple[NormRow, ...]
    path: Path | None = None
    score_range: tuple[float, float] | None = None

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def instrument_id(self) -> str:
        return self.meta.instrument.id

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(self.meta.instrument.versions)

    @property
    def scale(self) -> str:
        return self.meta.scale

    @property
    def method(self) -> str:
        return self.meta.method

    @property
    def evidence(self) -> str:
        return self.meta.evidence

    @property
    def citation(self) -> str:
        return self.meta.citations[0]

    @property
    def strata(self) -> tuple[Stratum, ...]:
        return tuple(self.meta.strata)

    @property
    def needs_sex(self) -> bool:
        return any(s.sex != "any" for s in self.meta.strata)

    @property
    def needs_age(self) -> bool:
        return any(s.age_min is not None or s.age_max is not None for s in self.meta.strata)

    def stratum(self, stratum_id: str) -> Stratum:
        for s in self.meta.strata:
            if s.id == stratum_id:
                return s
        raise KeyError(f"norm table {self.id} has no stratum {stratum_id!r}")

    def convert(self, x: float) -> float:
        conv = self.meta.score_conversion
        return x if conv is None else x * float(conv.multiplier) + float(conv.offset)

    @cached_property
    def hash(self) -> str:
        """SHA-256 of the metadata and the rows (formatting and comments do not change it)."""
        payload = {"meta": self.meta.model_dump(mode="json"),
                   "rows": [[r.stratum, r.raw, r.value, r.n, r.mean, r.sd] for r in self.rows]}
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @cached_property
    def compiled(self) -> _Compiled:
        strata = [s.id for s in self.meta.strata]
        k_of = {s: k for k, s in enumerate(strata)}
        mean = np.full(len(strata), np.nan)
        sd = np.full(len(strata), np.nan)
        if self.method == "mean_sd":
            mult = abs(float(self.meta.score_conversion.multiplier)) if self.meta.score_conversion else 1.0
            for r in self.rows:
                mean[k_of[r.stratum]] = self.convert(float(r.mean))  # type: ignore[arg-type]
                sd[k_of[r.stratum]] = float(r.sd) * mult  # type: ignore[arg-type]
            return _read_only(_Compiled(0, np.full((len(strata), 0), np.nan), np.zeros((len(strata), 0), bool),
                                        mean, sd))
        points = [(k_of[r.stratum], round(self.convert(float(r.raw))), float(r.value))  # type: ignore[arg-type]
                  for r in self.rows]
        xs = [p[1] for p in points]
        lo, hi = min(xs), max(xs)
        if self.score_range is not None:
            lo, hi = min(lo, int(np.ceil(self.score_range[0]))), max(hi, int(np.floor(self.score_range[1])))
        values = np.full((len(strata), hi - lo + 1), np.nan)
        for k, x, v in points:
            values[k, x - lo] = v
        implied = np.zeros(values.shape, dtype=bool)
        if self.meta.omitted_scores == "same_as_score_below":
            for k in range(len(strata)):
                last = np.nan
                for j in range(values.shape[1]):  # per table, once: a handful of strata × score points
                    if np.isnan(values[k, j]):
                        if not np.isnan(last):
                            values[k, j], implied[k, j] = last, True
                    else:
                        last = values[k, j]
        return _read_only(_Compiled(lo, values, implied, mean, sd))

    def lookup(self, stratum_id: str, score: float) -> float:
        """The table's percentile (percentile tables) or T (lookup_t) for ``score`` in one stratum; NaN if none.

        ``score`` is on psyscore's metric (after ``score_conversion``).
        """
        c = self.compiled
        k = [s.id for s in self.meta.strata].index(stratum_id)
        j = score - c.grid_lo
        if self.method == "mean_sd" or not float(score).is_integer() or not 0 <= j < c.values.shape[1]:
            return float("nan")
        return float(c.values[k, int(j)])

    def moments(self, stratum_id: str) -> tuple[float, float]:
        """(mean, SD) of a mean/SD table's stratum on psyscore's metric."""
        c = self.compiled
        k = [s.id for s in self.meta.strata].index(stratum_id)
        return float(c.mean[k]), float(c.sd[k])

    def summary(self) -> dict[str, Any]:
        m = self.meta
        return {
            "id": m.id, "instrument": m.instrument.id, "versions": list(m.instrument.versions), "scale": m.scale,
            "population": m.population, "country": m.country, "years": list(m.years), "n": m.n,
            "method": m.method, "percentile_definition": m.percentile_definition,
            "strata": [s.id for s in m.strata], "evidence": m.evidence, "citation": m.citations[0],
            "source_url": m.source_url, "caveats": list(m.caveats), "hash": self.hash,
        }

    def explain_line(self, definition: Definition, scores: pd.DataFrame) -> str:
        """The receipt line of this table for a one-row scores frame (what :func:`scoring.explain` prints)."""
        return explain_line(definition, self, scores)

    def __repr__(self) -> str:
        return f"<NormTable {self.id} {self.instrument_id}.{self.scale} {self.method} {self.evidence}>"


def load_norm_table(path: Path | str, library: Library | None = None) -> tuple[NormTable | None, list[Issue]]:
    """Read and validate one table (``<id>.yaml`` and the ``<id>.csv`` beside it), both passes.

    Returns the table (None on any error) and every issue found. ``library`` is the instrument library the
    table is checked against (default: :func:`scoring.load_library`).
    """
    path = Path(path)
    doc, issues = read_yaml_file(path)
    if doc is None:
        return None, issues
    meta, shape = to_model(NormMetadata, doc)
    issues = issues + shape
    if meta is None:
        return None, issues
    csv_path = path.with_suffix(".csv")
    rows, csv_issues = read_norm_csv(csv_path, meta.method)
    issues += csv_issues
    if library is None:
        library = load_library()
    ctx = NormContext(meta, doc, rows, str(csv_path), library)
    issues += check_norm(ctx)
    if rows is None or any(i.severity == "error" for i in issues):
        return None, issues
    ranges = [s.range for _, s, _ in ctx.scales()]
    score_range = (float(min(r[0] for r in ranges)), float(max(r[1] for r in ranges))) if ranges else None
    return NormTable(meta, tuple(rows), path, score_range), issues


@dataclass
class NormLibrary:
    """Validated norm tables by id; ``report`` lists every issue of the files that were read.

    >>> import scoring
    >>> norms = scoring.load_norms()
    >>> sorted(t.id for t in norms.for_instrument("gad7"))[:2]
    ['gad7_kliem2025_de_sex', 'gad7_kliem2025_de_total']
    """

    tables: dict[str, NormTable] = field(default_factory=dict)
    report: ValidationReport = field(default_factory=ValidationReport)

    def get(self, norm_id: str) -> NormTable:
        """The table ``norm_id``; raises :class:`UnknownNormError` (with a suggestion) when there is none."""
        try:
            return self.tables[norm_id]
        except KeyError:
            raise UnknownNormError(norm_id, list(self.tables)) from None

    __getitem__ = get

    def __contains__(self, norm_id: object) -> bool:
        return norm_id in self.tables

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.tables))

    def __len__(self) -> int:
        return len(self.tables)

    def for_instrument(self, instrument_id: str, version: str | None = None) -> list[NormTable]:
        """Tables for an instrument (and, if given, applicable to that definition version), sorted by id."""
        return [self.tables[k] for k in sorted(self.tables)
                if self.tables[k].instrument_id == instrument_id
                and (version is None or version in self.tables[k].versions)]

    def add(self, table: NormTable) -> Issue | None:
        existing = self.tables.get(table.id)
        if existing is not None and existing.hash != table.hash:
            return Issue("E413", f"norm id {table.id!r} is already defined in {existing.path} with different "
                         "content", str(table.path) if table.path else None, None, "id",
                         "give a changed or different table its own id")
        self.tables[table.id] = table
        return None


def _norm_files(paths: Sequence[Path | str]) -> Iterator[Path]:
    yield from iter_definition_files(paths)


def load_norms(paths: Sequence[Path | str] | None = None, settings: Settings | None = None, *,
               library: Library | None = None) -> NormLibrary:
    """Load and validate norm tables.

    Parameters
    ----------
    paths
        Files (``<id>.yaml``) or folders to load instead of the configured ones.
    settings
        Where to look; defaults to :meth:`Settings.from_env` (bundled ``norms/`` plus ``PSYSCORE_NORMS_PATH``).
    library
        Instrument library the tables are checked against (default: ``load_library(settings=settings)``).

    Returns
    -------
    NormLibrary
        Valid tables; invalid files are left out and described in ``.report``.
    """
    settings = settings or Settings.from_env()
    if paths is None:
        paths = [d for d in settings.all_norm_dirs if d.is_dir()]
    if library is None:
        library = load_library(settings=settings)
    out = NormLibrary()
    for file in _norm_files(paths):
        table, issues = load_norm_table(file, library)
        out.report.extend(issues)
        if table is not None:
            clash = out.add(table)
            if clash:
                out.report.extend([clash])
    return out


def validate_norms(paths: Sequence[Path | str] | None = None, settings: Settings | None = None, *,
                   library: Library | None = None) -> ValidationReport:
    """Validate norm files (or the configured norm folders); the report lists every issue."""
    return load_norms(paths, settings, library=library).report


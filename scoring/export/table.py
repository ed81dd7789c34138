"""Build the de-identified table from validated input: research ids, time, demographics, answers, scores.

Vectorized throughout: one scoring call per instrument version, numpy fills of preallocated columns,
one HMAC or random draw per patient (never per row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, cast

import numpy as np
import pandas as pd

from scoring.definitions.library import Definition
from scoring.definitions.respondent import SEX_CODES
from scoring.engine.compute import score_matrix
from scoring.engine.responses import check_responses
from scoring.export.anonymizer import (
    DEFAULT_AGE_EDGES,
    PROFILES,
    QUASI_IDENTIFIERS,
    SUPPRESSED,
    AgeBands,
    ExportError,
    KAnonymity,
    Profile,
    StudyKey,
    k_anonymize,
    research_ids,
)
from scoring.export.codebook import (
    MISSING_SUPPRESSED,
    Block,
    InstrumentFields,
    Namer,
    Variable,
    demographic_variables,
    instrument_block,
    instrument_variables,
    research_id_variable,
    time_variables,
)
from scoring.export.source import Normalised, patient_day_order

LAYOUTS = ("long", "wide")
DATE_MODES = ("year", "relative", "none")
#: the finest calendar period of administration dates each profile releases (every date mode writes at most
#: the year: ``year``, or ``baseline_year`` with day offsets, or nothing). Date filters are widened to whole
#: periods, so that two exports whose filters differ by a day cannot differ by that day's administrations.
RELEASED_PERIOD: dict[str, str] = {"safe_harbor": "year", "pseudonymised": "year"}
#: the date modes each profile offers. Safe Harbor removes every element of a date but the year
#: (45 CFR 164.514(b)(2)(i)(C)); days since the patient's first administration are derived from the dates it
#: removes, so ``relative`` is offered only under ``pseudonymised`` (personal data under GDPR Art. 4(5); as
#: HIPAA data it needs an Expert Determination, 164.514(b)(1), or a data use agreement). See
#: ../shared/reference corrections.md, security.md item 2.
PROFILE_DATE_MODES: dict[str, tuple[str, ...]] = {"safe_harbor": ("year", "none"),
                                                  "pseudonymised": ("year", "relative", "none")}
DEMOGRAPHICS = ("sex", "age_band")
MAX_WIDE_COLUMNS = 20_000


def _sex_text() -> np.ndarray:
    """Recorded sex by export code (:data:`scoring.definitions.respondent.SEX_CODES`), ``""`` at 0 (not
    recorded); read-only."""
    text = np.full(max(SEX_CODES.values()) + 1, "", dtype=object)
    for sex, code in SEX_CODES.items():
        text[code] = sex.value
    text.flags.writeable = False
    return text


#: recorded sex by export code, derived from the one list in scoring.definitions.respondent
_SEX_TEXT = _sex_text()


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how (everything but the source, the key and the output).

    Parameters
    ----------
    profile
        ``"safe_harbor"`` (random research ids per export) or ``"pseudonymised"`` (HMAC-SHA256 under a
        study key: stable within a study).
    instruments
        Instrument ids to export (default: every instrument in the source).
    date_from, date_to
        Inclusive range of administration dates, as asked. The export applies the range widened to whole
        periods the profile releases (:data:`RELEASED_PERIOD`: whole years), see :meth:`effective_range`:
        a filter finer than what is released would let two exports that differ by one day reveal the
        administrations of that day, and with them their exact dates.
    layout
        ``"long"``: one row per administration. ``"wide"``: one row per patient, variables repeated per
        occasion (``<variable>_t1``, ``_t2`` …).
    dates
        ``"year"`` (default): the year of each administration. ``"relative"`` (opt-in, ``pseudonymised``
        only): days since the patient's first exported administration, plus the year of that first
        administration. ``"none"``: order only (``occasion``). ``safe_harbor`` refuses ``"relative"``: day
        offsets are derived from the dates Safe Harbor removes (:data:`PROFILE_DATE_MODES`).
    demographics
        Which banded demographics to write: ``sex``, ``age_band`` (default both, when the source has them).
    k
        Minimum number of patients sharing every combination of quasi-identifier values.
    quasi_identifiers
        Person-level quasi-identifiers, in suppression order (the first is withheld first): ``year`` (of the
        first administration), ``age_band``, ``sex``. Those not written are ignored.
    suppression
        ``"values"``: withhold quasi-identifier values of patients in small groups, one at a time; remove
        patients still in a group smaller than k. ``"records"``: remove those patients at once.
    age_bands
        Lower edges of the age bands; the top band is open and starts at 90 or lower.

    Notes
    -----
    The quasi-identifiers are person-level: sex, the age band at the first exported administration and the
    year of that administration. With ``dates="year"`` the later years of a patient are written too; when
    the patient's year is withheld, every year of that patient is. Scores and items can still hint at a
    withheld sex: sex-specific cut-offs are withheld with it, but an answer to an item that applies to one
    sex only (PHQ-15 item 4) is written as given.
    """

    profile: str
    instruments: tuple[str, ...] | None = None
    date_from: date | None = None
    date_to: date | None = None
    layout: str = "long"
    dates: str = "year"
    demographics: tuple[str, ...] = DEMOGRAPHICS
    k: int = 5
    quasi_identifiers: tuple[str, ...] = ("year", "age_band", "sex")
    suppression: str = "values"
    age_bands: tuple[int, ...] = DEFAULT_AGE_EDGES

    def check(self) -> None:
        def choice(value: str, allowed: Sequence[str], what: str) -> None:
            if value not in allowed:
                raise ExportError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")

        choice(self.profile, PROFILES, "profile")
        choice(self.layout, LAYOUTS, "layout")
        choice(self.dates, DATE_MODES, "date mode")
        check_date_mode(self.profile, self.dates)
        choice(self.suppression, ("values", "records"), "suppression strategy")
        for d in self.demographics:
            choice(d, DEMOGRAPHICS, "demographic")
        for q in self.quasi_identifiers:
            choice(q, QUASI_IDENTIFIERS, "quasi-identifier")
        if len(set(self.quasi_identifiers)) != len(self.quasi_identifiers):
            raise ExportError("a quasi-identifier is listed twice")
        if self.date_from is not None and self.date_to is not None and self.date_from > self.date_to:
            raise ExportError(f"the date range is empty: from {self.date_from} is after to {self.date_to}")
        if not isinstance(self.k, int) or self.k < 1:
            raise ExportError(f"k must be a whole number of at least 1, not {self.k!r}")
        AgeBands(tuple(self.age_bands))

    @property
    def period(self) -> str:
        """The calendar period date filters are widened to (``"year"``)."""
        return RELEASED_PERIOD.get(self.profile, "year")

    def effective_range(self) -> tuple[date | None, date | None]:
        """The date range the export applies: ``date_from`` back to the first day of its year, ``date_to``
        on to the last day of its year (inclusive).

        >>> ExportOptions("safe_harbor", date_from=date(2023, 3, 14), date_to=date(2024, 6, 1)).effective_range()
        (datetime.date(2023, 1, 1), datetime.date(2024, 12, 31))
        """
        start = date(self.date_from.year, 1, 1) if self.date_from else None
        end = date(self.date_to.year, 12, 31) if self.date_to else None
        return start, end

    @property
    def widened(self) -> bool:
        """Whether :meth:`effective_range` differs from the range asked."""
        return self.effective_range() != (self.date_from, self.date_to)

    def filters(self) -> dict[str, object]:
        """The filters as applied (for the manifest and codebook): never the finer dates asked."""
        start, end = self.effective_range()
        return {"instruments": list(self.instruments) if self.instruments else None,
                "from": start.isoformat() if start else None,
                "to": end.isoformat() if end else None,
                "date_granularity": self.period if start or end else None}

    def audit_filters(self) -> dict[str, Any]:
        """The filters asked and applied, for the store's audit log (which may hold the dates asked)."""
        return {**self.filters(), "asked_from": self.date_from.isoformat() if self.date_from else None,
                "asked_to": self.date_to.isoformat() if self.date_to else None}


def check_date_mode(profile: str, dates: str) -> None:
    """Refuse a date mode the profile does not offer (:data:`PROFILE_DATE_MODES`), naming the one that does.

    >>> check_date_mode("pseudonymised", "relative")
    >>> check_date_mode("safe_harbor", "relative")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scoring.export.anonymizer.ExportError: the safe_harbor profile does not offer 'relative' dates ...
    """
    offered = PROFILE_DATE_MODES.get(profile, DATE_MODES)
    if dates in offered:
        return
    allowing = [p for p, modes in PROFILE_DATE_MODES.items() if dates in modes]
    raise ExportError(
        f"the {profile} profile does not offer {dates!r} dates (--dates {dates}): days since the patient's "
        "first administration are derived from the administration dates, and Safe Harbor removes every element "
        "of a date but the year (45 CFR 164.514(b)(2)(i)(C)). Choose dates "
        f"{' or '.join(repr(m) for m in offered)}, or the {' or '.join(allowing)} profile (pseudonymised data, "
        "which as HIPAA data needs an Expert Determination, 164.514(b)(1), or a data use agreement)")


@dataclass
class Built:
    """The de-identified table, its variables and the figures the manifest reports."""

    data: pd.DataFrame
    variables: list[Variable]
    kanon: KAnonymity
    definitions: list[Definition]  # in export order
    administrations: dict[tuple[str, str], int] = field(default_factory=dict)
    invalid_cells: dict[str, int] = field(default_factory=dict)
    patients: int = 0
    rows: int = 0


class _Column:
    """A preallocated output column: float64 with NaN, or a nullable integer (values + mask)."""

    def __init__(self, n: int, dtype: str) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype.kind == "f":
            self.values = np.full(n, np.nan)
            self.mask = None
        else:
            self.values = np.zeros(n, dtype=self.dtype)
            self.mask = np.ones(n, dtype=bool)

    def put(self, sel: np.ndarray, values: np.ndarray) -> None:
        if self.mask is None:
            self.values[sel] = values
            return
        missing = np.isnan(values)
        self.values[sel] = np.where(missing, 0, values).astype(self.dtype)
        self.mask[sel] = missing

    def floats(self, sel: np.ndarray) -> np.ndarray:
        out = self.values[sel].astype(float)
        if self.mask is not None:
            out[self.mask[sel]] = np.nan
        return out

    def array(self) -> np.ndarray | pd.arrays.IntegerArray:
        return self.values if self.mask is None else pd.arrays.IntegerArray(self.values, self.mask)


def _years(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _int_array(values: np.ndarray) -> pd.arrays.IntegerArray:
    """Float values with NaN → the smallest nullable integer type that holds them."""
    values = np.asarray(values, dtype=float)
    mask = np.isnan(values)
    present = values[~mask]
    lo, hi = (present.min(), present.max()) if len(present) else (0, 0)
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            break
    return pd.arrays.IntegerArray(np.where(mask, 0, values).astype(dtype), mask)


def _categorical(codes: np.ndarray, categories: Sequence[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64),
                                     categories=pd.Index(list(categories), dtype=object))


def _vkey(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def build_table(norm: Normalised, options: ExportOptions, key: StudyKey | None) -> Built:
    """De-identify, score and lay out the validated input (see :class:`ExportOptions`)."""
    options.check()
    bands = AgeBands(tuple(options.age_bands))
    n_pat = len(norm.patient_keys)
    patient = norm.patient
    rid = research_ids(list(norm.patient_keys), cast(Profile, options.profile), key)  # options.check() checked it

    base_day = np.full(n_pat, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(base_day, patient, norm.day)
    base_year = _years(base_day) if n_pat else np.zeros(0, np.int64)

    demographics = [d for d in options.demographics
                    if (d == "sex" and norm.sex is not None) or (d == "age_band" and norm.age is not None)]
    attributes: dict[str, np.ndarray] = {}
    if "sex" in demographics:
        attributes["sex"] = norm.sex.astype(np.int64)  # type: ignore[union-attr]
    if "age_band" in demographics:
        attributes["age_band"] = bands.codes(norm.age).astype(np.int64)  # type: ignore[arg-type]
    if options.dates != "none":
        attributes["year"] = base_year
    qi = {q: attributes[q] for q in options.quasi_identifiers if q in attributes}
    masked, keep_pat, kanon = k_anonymize(qi, n_pat, options.k, options.suppression)
    shown = {**attributes, **masked}  # what leaves, per patient: withheld values are SUPPRESSED

    # rows of kept patients, ordered by research id (random or keyed: reveals no internal order), then date
    order_p = np.argsort(rid.astype("S"), kind="stable") if n_pat else np.zeros(0, np.int64)  # ids are ASCII hex
    kept_sorted = order_p[keep_pat[order_p]]
    dense = np.full(n_pat, -1, dtype=np.int64)
    dense[kept_sorted] = np.arange(len(kept_sorted))
    rows = np.flatnonzero(keep_pat[patient])
    row_order = rows[patient_day_order(dense[patient[rows]], norm.day[rows])]
    kanon = replace(kanon, suppressed_rows=int(len(patient) - len(row_order)))
    n = len(row_order)
    p = patient[row_order]
    day = norm.day[row_order]
    group = norm.group[row_order]

    # instruments (all versions of one instrument share its variables)
    by_id: dict[str, list[tuple[int, Definition]]] = {}
    for g, d in sorted(enumerate(norm.groups), key=lambda gd: (gd[1].id, _vkey(gd[1].version))):
        by_id.setdefault(d.id, []).append((g, d))
    ordered = ([i for i in options.instruments if i in by_id] if options.instruments else sorted(by_id))
    namer = Namer()
    for fixed in ("research_id", "occasion", "year", "baseline_year", "days_since_first", "sex", "age_band",
                  "instrument_id", "instrument_version"):
        namer(fixed)
    blocks = {iid: instrument_block([d for _, d in by_id[iid]], namer) for iid in ordered}
    columns = {name: _Column(n, block.storage[name]) for block in blocks.values() for name in block.storage}

    administrations: dict[tuple[str, str], int] = {}
    invalid: dict[str, int] = {}
    sex_true = norm.sex[p] if norm.sex is not None else None
    sex_withheld = (masked["sex"][p] == SUPPRESSED) if "sex" in masked else None
    for iid in ordered:
        block = blocks[iid]
        for g, d in by_id[iid]:
            sel = np.flatnonzero(group == g)
            administrations[(iid, d.version)] = len(sel)
            if len(sel):
                invalid[iid] = invalid.get(iid, 0) + _score_into(columns, block, d, norm.items, row_order[sel], sel,
                                                                 sex_true, sex_withheld)

    research = _categorical(dense[p], rid[kept_sorted].tolist())
    demo_vars = demographic_variables(demographics, bands)
    definitions = [d for iid in ordered for _, d in by_id[iid]]
    year_withheld = (masked["year"] == SUPPRESSED) if "year" in masked else np.zeros(n_pat, bool)

    def demo(name: str, pats: np.ndarray) -> pd.arrays.IntegerArray:
        vals = shown[name][pats].astype(float)
        return _int_array(np.where(vals == 0, np.nan, vals))  # 0 = not recorded

    if options.layout == "long":
        variables = [research_id_variable(options.profile), *time_variables(options.dates, "long"), *demo_vars,
                     *instrument_variables("long")]
        out: dict[str, object] = {"research_id": research}
        inst_of_group = np.array([ordered.index(d.id) if d.id in ordered else -1 for d in norm.groups] or [0])
        inst = inst_of_group[group] if n else np.zeros(0, np.int64)
        key_pi = p * max(len(ordered), 1) + inst
        out["occasion"] = _int_array(pd.Series(key_pi).groupby(key_pi, sort=False).cumcount().to_numpy() + 1.0)
        if options.dates == "year":
            out["year"] = _int_array(np.where(year_withheld[p], SUPPRESSED, _years(day)).astype(float))
        elif options.dates == "relative":
            out["baseline_year"] = _int_array(np.where(year_withheld[p], SUPPRESSED, base_year[p]).astype(float))
            out["days_since_first"] = _int_array((day - base_day[p]).astype(float))
        for v in demo_vars:
            out[v.name] = demo(v.name, p)
        out["instrument_id"] = _categorical(inst, ordered)
        versions = sorted({d.version for d in norm.groups}, key=_vkey)
        vmap = np.array([versions.index(d.version) for d in norm.groups] or [0])
        out["instrument_version"] = _categorical(vmap[group] if n else np.zeros(0, np.int64), versions)
        for block in blocks.values():
            for var in block.variables:
                variables.append(var)
                out[var.name] = columns.pop(var.name).array()
        data = pd.DataFrame(out, copy=False)
    else:
        data, variables = _wide(options, rid[kept_sorted], p, day, group, norm.groups, base_day, base_year,
                                year_withheld, demo_vars, demo, blocks, columns, dense, kept_sorted)
    return Built(data=data, variables=variables, kanon=kanon, definitions=definitions,
                 administrations=administrations, invalid_cells=invalid, patients=len(kept_sorted), rows=n)


def _score_into(columns: dict[str, _Column], block: Block, d: Definition, items: pd.DataFrame, src: np.ndarray,
                sel: np.ndarray, sex_true: np.ndarray | None, sex_withheld: np.ndarray | None) -> int:
    """Validate and score one instrument version's rows; fill the block's columns at ``sel``.

    Returns the number of invalid answer cells (counted as unanswered, never written).
    """
    plan = d.plan
    cols = [c for c in plan.item_ids if c in items.columns]
    answers = items[cols].iloc[src].reset_index(drop=True)
    checked = check_responses(plan, answers)
    sex_specific = {c.column for sp in plan.scales for c in sp.cutoffs if any(e[0] != "any" for e in c.entries)}
    uses_sex = bool(sex_specific) or any(a.respondent == "sex" for a in plan.applicability)
    respondent = (pd.DataFrame({"sex": _SEX_TEXT[sex_true[sel]]}) if sex_true is not None and uses_sex else None)
    scores, _ = score_matrix(plan, checked.matrix, respondent)
    item_pos = {item: k for k, item in enumerate(plan.item_ids)}
    for name, (kind, ref) in block.origin.items():
        if kind == "item":
            if ref in item_pos:
                columns[name].put(sel, checked.matrix[:, item_pos[ref]])
        elif kind in ("band", "reason_code"):  # categorical: 1-based codes, empty when missing
            if f"{ref}_{kind}" in scores.columns:
                codes = scores[f"{ref}_{kind}"].cat.codes.to_numpy().astype(float) + 1
                columns[name].put(sel, np.where(codes > 0, codes, np.nan))
        elif ref in scores.columns:
            vals = scores[ref].to_numpy(dtype=float, na_value=np.nan)
            if ref in sex_specific and sex_withheld is not None:
                vals = np.where(sex_withheld[sel], np.nan, vals)  # it would reveal a withheld sex
            columns[name].put(sel, vals)
    return int(checked.failures["row"].notna().sum())


def _wide(options: ExportOptions, rids: np.ndarray, p: np.ndarray, day: np.ndarray, group: np.ndarray,
          groups: list[Definition], base_day: np.ndarray, base_year: np.ndarray, year_withheld: np.ndarray,
          demo_vars: list[Variable], demo, blocks: dict[str, Block],
          columns: dict[str, _Column], dense: np.ndarray, kept_sorted: np.ndarray
          ) -> tuple[pd.DataFrame, list[Variable]]:
    """One row per patient; each instrument's variables repeated per occasion (``_t1``, ``_t2`` …)."""
    m = len(kept_sorted)
    namer = Namer()
    variables = [research_id_variable(options.profile)]
    out: dict[str, object] = {namer("research_id"): _categorical(np.arange(m), rids.tolist())}
    if options.dates == "relative":
        var = time_variables("relative", "wide")[0]
        variables.append(var)
        out[namer(var.name)] = _int_array(np.where(year_withheld[kept_sorted], SUPPRESSED,
                                                   base_year[kept_sorted]).astype(float))
    for v in demo_vars:
        variables.append(v)
        out[namer(v.name)] = demo(v.name, kept_sorted)
    row_pat = dense[p]
    total = len(out)
    for iid, block in blocks.items():
        gids = [g for g, d in enumerate(groups) if d.id == iid]
        sel = np.flatnonzero(np.isin(group, gids))
        if not len(sel):
            continue
        who = row_pat[sel]
        occ = pd.Series(who).groupby(who, sort=False).cumcount().to_numpy()
        n_occ = int(occ.max()) + 1
        total += n_occ * (len(block.variables) + 2)
        if total > MAX_WIDE_COLUMNS:
            raise ExportError(f"a wide export would need more than {MAX_WIDE_COLUMNS} columns ({iid} has up to "
                              f"{n_occ} occasions per patient); use --layout long, fewer instruments or a "
                              "narrower date range")
        first = block.variables[0]
        common: InstrumentFields = {"instrument": iid, "versions": first.versions, "hashes": first.hashes}
        versions = list(first.versions)
        vcode_of_group = {g: versions.index(groups[g].version) for g in gids}
        grid_v = np.full((m, n_occ), -1, dtype=np.int64)
        grid_v[who, occ] = np.vectorize(vcode_of_group.get, otypes=[np.int64])(group[sel])
        grids: list[tuple[Variable, np.ndarray]] = []
        abbr = block.abbreviation
        if options.dates in ("year", "relative"):
            if options.dates == "year":
                tvals = np.where(year_withheld[p[sel]], SUPPRESSED, _years(day[sel])).astype(float)
                tvar = Variable(f"{iid}_year", f"{abbr}: year of the administration", "time", "integer", "scale",
                                missing_codes=dict(MISSING_SUPPRESSED), **common)
            else:
                tvals = (day[sel] - base_day[p[sel]]).astype(float)
                tvar = Variable(f"{iid}_days", f"{abbr}: days since the patient's first administration in this "
                                "export", "time", "integer", "scale", **common)
            g = np.full((m, n_occ), np.nan)
            g[who, occ] = tvals
            grids.append((tvar, g))
        for var in block.variables:
            g = np.full((m, n_occ), np.nan)
            g[who, occ] = columns.pop(var.name).floats(sel)
            grids.append((var, g))
        vvar = Variable(f"{iid}_version", f"{abbr}: version of the definition that scored it", "instrument",
                        "string", **common)
        for j in range(n_occ):
            name = namer(f"{vvar.name}_t{j + 1}")
            variables.append(vvar.for_occasion(name, j + 1))
            out[name] = _categorical(grid_v[:, j], versions)
            for var, g in grids:
                name = namer(f"{var.name}_t{j + 1}")
                variables.append(var.for_occasion(name, j + 1))
                out[name] = _int_array(g[:, j]) if var.type == "integer" else g[:, j]
    return pd.DataFrame(out, copy=False), variables


__all__ = ["DATE_MODES", "DEMOGRAPHICS", "LAYOUTS", "Built", "ExportOptions", "build_table"]

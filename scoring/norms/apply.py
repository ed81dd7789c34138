"""Apply a norm table to scores, vectorized: raw score → percentile, z and T by stratum.

The stratum of each row is chosen from sex and age *at the administration date* (age given directly in
completed years, or computed from a birth-date column and the administration-date column). A row that no
stratum matches — or whose sex or age is unknown where the table needs it — gets NaN and a reason; it is
never given a neighbouring stratum.

Formulas (per stratum, on psyscore's score metric after any ``score_conversion``):

* ``mean_sd``: z = (x − mean) / SD, T = 50 + 10·z; no percentile (a normal-curve percentile would assume a
  distribution the published table does not give — symptom scores are strongly skewed).
* ``percentile``: the published percentile for x, read from the table; no z or T.
* ``lookup_t``: the published T for x, z = (T − 50) / 10; no percentile.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scoring.definitions.library import Definition
from scoring.definitions.respondent import SEX_CODES, Sex, completed_years
from scoring.engine.compute import sex_codes
from scoring.errors import PsyscoreError

if TYPE_CHECKING:
    from scoring.norms.library import NormTable


class NormError(PsyscoreError, ValueError):
    """A norm table cannot be applied as asked (wrong instrument or version, a needed column is missing)."""


#: Every reason a row can carry, in a fixed order (the ``<scale>_norm_reason`` categories).
REASONS: tuple[str, ...] = (
    "no score to compare",
    "sex unknown: the table is stratified by sex (f/female/w/woman, m/male/man)",
    "age unknown: the table is stratified by age",
    "no stratum of the table covers this respondent's age and sex",
    "score not in the table",
    "percentile table: z and T are not given (no distribution is assumed)",
    "percentile table: nobody in the stratum had this score, so it has the cumulative % of the score below "
    "it; z and T are not given",
    "mean/SD norms: no percentile (a normal-curve percentile would assume a distribution)",
    "T table: no percentile",
)
(R_NO_SCORE, R_SEX, R_AGE, R_NO_STRATUM, R_NOT_IN_TABLE, R_PCT, R_PCT_IMPLIED, R_MEAN_SD, R_T) = range(len(REASONS))

NORM_SUFFIXES = ("percentile", "z", "t", "norm_stratum", "norm_reason", "norm_id")


def norm_columns(scale: str) -> list[str]:
    """The columns :func:`apply_norms` adds for ``scale``, in order.

    >>> norm_columns("total")
    ['total_percentile', 'total_z', 'total_t', 'total_norm_stratum', 'total_norm_reason', 'total_norm_id']
    """
    return [f"{scale}_{s}" for s in NORM_SUFFIXES]


def apply_norms(
    definition: Definition,
    scores: pd.DataFrame,
    table: NormTable,
    *,
    age: str = "age",
    sex: str = "sex",
    birth_date: str | None = None,
    date: str | None = None,
) -> pd.DataFrame:
    """Add percentile, z, T, stratum, reason and norm id for the table's scale to a scores frame.

    The arguments come in the order of :func:`scoring.score`, :func:`scoring.explain` and
    :func:`scoring.history`: the definition, then the data, then the table and keyword-only options. The old
    order ``apply_norms(scores, definition, table)`` still works for one release, with a ``DeprecationWarning``.

    Parameters
    ----------
    definition
        The definition the scores were computed with; the table must declare its version.
    scores
        ``scoring.score(definition, df).scores`` (or any frame with the scale column and respondent columns).
    table
        A :class:`~scoring.norms.NormTable` for ``definition``'s instrument.
    age, sex
        Column names of age in completed years at the administration and of sex (f/female/w/woman,
        m/male/man; numeric codes are not guessed). Needed only when the table is stratified by them.
    birth_date, date
        Instead of ``age``: the birth-date column and the administration-date column; age is computed in
        completed years at the administration date.

    Returns
    -------
    pandas.DataFrame
        A copy of ``scores`` with ``<scale>_percentile``, ``<scale>_z``, ``<scale>_t`` (float),
        ``<scale>_norm_stratum``, ``<scale>_norm_reason`` and ``<scale>_norm_id`` (categorical). The same
        columns and dtypes whatever the table's method; values the method does not give are NaN and the
        reason says why.

    Raises
    ------
    NormError
        The table is for another instrument, does not declare the definition's version, or needs a column
        that is absent.

    Examples
    --------
    >>> import pandas as pd, scoring
    >>> lib, norms = scoring.load_library(), scoring.load_norms()
    >>> phq9 = lib["phq9"]
    >>> table = norms.get("phq9_kocalevent2013_de_sex")
    >>> scores = pd.DataFrame({"total": [3.1, 2.7, 6.6], "sex": ["female", "m", None]})
    >>> out = scoring.apply_norms(phq9, scores, table)
    >>> out[["total_t", "total_norm_stratum"]].round(2).values.tolist()
    [[50.0, 'female'], [50.0, 'male'], [nan, nan]]
    >>> str(out["total_norm_reason"][2])
    'sex unknown: the table is stratified by sex (f/female/w/woman, m/male/man)'
    """
    if isinstance(definition, pd.DataFrame) and isinstance(scores, Definition):
        warnings.warn("apply_norms(scores, definition, table) is deprecated: call apply_norms(definition, scores, "
                      "table)", DeprecationWarning, stacklevel=2)
        definition, scores = scores, definition
    if not isinstance(definition, Definition):
        raise TypeError(f"apply_norms(definition, scores, table) takes a Definition (e.g. load_library()['phq9']) "
                        f"first, not {type(definition).__name__}")
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"apply_norms(definition, scores, table) takes a pandas DataFrame of scores, not "
                        f"{type(scores).__name__}")
    check_applicable(definition, table)
    scale = table.scale
    if scale not in scores.columns:
        raise NormError(f"no column {scale!r} in the scores: norm table {table.id} applies to scale {scale!r} of "
                        f"{table.instrument_id}; score the responses first (scoring.score)")
    n = len(scores)
    x = pd.to_numeric(scores[scale], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    sex_code = _sex(scores, sex, table, n)
    ages = _ages(scores, table, n, age=age, birth_date=birth_date, date=date)
    idx, reason = _strata(table, sex_code, ages, n)
    pct, z, t = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    c = table.compiled
    ok = (idx >= 0) & ~np.isnan(x)
    if table.method == "mean_sd":
        z[ok] = (x[ok] - c.mean[idx[ok]]) / c.sd[idx[ok]]
        t[ok] = 50.0 + 10.0 * z[ok]
        reason[ok] = R_MEAN_SD
    else:
        rows = np.flatnonzero(ok)
        j = x[rows] - c.grid_lo
        fits = (j == np.floor(j)) & (j >= 0) & (j < c.values.shape[1])
        value = np.full(len(rows), np.nan)
        implied = np.zeros(len(rows), dtype=bool)
        jj = j[fits].astype(np.int64)
        value[fits] = c.values[idx[rows[fits]], jj]
        implied[fits] = c.implied[idx[rows[fits]], jj]
        found = ~np.isnan(value)
        if table.method == "percentile":
            pct[rows] = value
            reason[rows] = np.where(found, np.where(implied, R_PCT_IMPLIED, R_PCT), R_NOT_IN_TABLE)
        else:
            t[rows] = value
            z[rows] = (value - 50.0) / 10.0
            reason[rows] = np.where(found, R_T, R_NOT_IN_TABLE)
    reason[np.isnan(x)] = R_NO_SCORE
    out = scores.copy()
    cols = norm_columns(scale)
    out[cols[0]] = pct
    out[cols[1]] = z
    out[cols[2]] = t
    out[cols[3]] = pd.Categorical.from_codes(idx, categories=pd.Index([s.id for s in table.strata]))
    out[cols[4]] = pd.Categorical.from_codes(reason, categories=pd.Index(list(REASONS)))
    out[cols[5]] = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([table.id]))
    return out


def check_applicable(definition: Definition, table: NormTable) -> None:
    """Raise :class:`~scoring.norms.NormError` unless ``table`` declares ``definition``'s instrument and version."""
    if table.instrument_id != definition.id:
        raise NormError(f"norm table {table.id} is for {table.instrument_id}, not {definition.id}")
    if definition.version not in table.versions:
        raise NormError(
            f"norm table {table.id} declares {table.instrument_id} version(s) {', '.join(table.versions)}, not "
            f"{definition.version}: a changed definition may score differently; check the table against the new "
            "version and add it to instrument.versions in the table's metadata")


def _sex(scores: pd.DataFrame, column: str, table: NormTable, n: int) -> np.ndarray:
    if not table.needs_sex:
        return np.zeros(n, dtype=np.int8)
    if column not in scores.columns:
        raise NormError(f"norm table {table.id} is stratified by sex: no column {column!r} in the scores "
                        "(pass sex='<column>')")
    return sex_codes(pd.DataFrame({"sex": scores[column].to_numpy(dtype=object)}), n)


def _ages(scores: pd.DataFrame, table: NormTable, n: int, *, age: str, birth_date: str | None,
          date: str | None) -> np.ndarray:
    if not table.needs_age:
        return np.full(n, np.nan)
    if birth_date is not None:
        missing = [c for c in (birth_date, date) if c is None or c not in scores.columns]
        if missing or date is None:
            raise NormError(f"norm table {table.id} is stratified by age: birth_date={birth_date!r} needs date= the "
                            "administration-date column, and both columns in the scores")
        return completed_years(scores[birth_date], scores[date])
    if age not in scores.columns:
        raise NormError(f"norm table {table.id} is stratified by age: no column {age!r} in the scores (pass "
                        "age='<column>' with age in completed years at the administration, or birth_date= and "
                        "date=)")
    years = pd.to_numeric(scores[age], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    years = np.floor(years)  # completed years
    years[years < 0] = np.nan
    return years


def _strata(table: NormTable, sex_code: np.ndarray, ages: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratum index per row (-1 = none) and the reason for rows without one. Strata never overlap."""
    idx = np.full(n, -1, dtype=np.int16)
    codes = {s.value: SEX_CODES[s] for s in (Sex.FEMALE, Sex.MALE)}
    with np.errstate(invalid="ignore"):
        for k, s in enumerate(table.strata):  # one vector pass per stratum, never per row
            hit = np.ones(n, dtype=bool)
            if s.sex != "any":
                hit &= sex_code == codes[s.sex]
            if s.age_min is not None:
                hit &= ages >= s.age_min
            if s.age_max is not None:
                hit &= ages <= s.age_max
            idx[hit & (idx < 0)] = k
    none = idx < 0
    reason = np.full(n, R_NO_STRATUM, dtype=np.int16)
    if table.needs_age:
        reason[none & np.isnan(ages)] = R_AGE
    if table.needs_sex:
        reason[none & (sex_code == 0)] = R_SEX
    return idx, reason


def describe(table: NormTable, row: pd.Series) -> str:
    """One receipt line for one scored-and-normed row (used by :func:`scoring.explain`)."""
    scale = table.scale
    stratum = row[f"{scale}_norm_stratum"]
    where = "no stratum" if pd.isna(stratum) else f"stratum {stratum} ({table.stratum(str(stratum)).label})"
    parts = []
    for name, col, fmt in (("percentile", "percentile", "{:.1f}"), ("z", "z", "{:+.2f}"), ("T", "t", "{:.1f}")):
        v: Any = row[f"{scale}_{col}"]
        parts.append(f"{name} {'—' if pd.isna(v) else fmt.format(float(v))}")
    pdef = {"at_or_below": " (% at or below)", "midpoint": " (midpoint percentile)"}.get(
        table.meta.percentile_definition or "", "")
    line = (f"norms {table.id} [{table.evidence} evidence], {where}: {', '.join(parts)}{pdef} — "
            f"{row[f'{scale}_norm_reason']}. Population: {table.meta.population.rstrip('.')}. "
            f"Source: {table.citation}")
    if table.meta.caveats:
        line += " Caveat: " + " ".join(table.meta.caveats)
    return line


def explain_line(definition: Definition, table: NormTable, scores: pd.DataFrame) -> str:
    """The receipt line for the first row of ``scores``; a missing age or sex counts as unknown."""
    frame = scores
    if table.needs_sex and "sex" not in frame.columns:
        frame = frame.assign(sex=None)
    if table.needs_age and "age" not in frame.columns:
        frame = frame.assign(age=np.nan)
    return describe(table, apply_norms(definition, frame, table).iloc[0])

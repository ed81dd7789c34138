"""``score()``: validate responses (:mod:`.responses`) against the compiled plan, score with numpy (:mod:`.compute`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.definitions.library import Definition
from scoring.definitions.plan import Plan
from scoring.definitions.respondent import sex_codes as respondent_sex_codes
from scoring.engine import frames
from scoring.engine.compute import Applied, ScaleStages, traced_score_matrix
from scoring.engine.responses import DEFAULT_MISSING, ResponseCheck, check_responses, failure_frame, sort_failures
from scoring.errors import ResponseValidationError

__all__ = ["ScoreResult", "ScoreTrace", "score", "traced_score"]


@dataclass
class ScoreResult:
    """Scores and the failures found in the input.

    ``scores`` keeps the input's index and non-item columns, then per scale ``<scale>``,
    ``<scale>_band``, ``<scale>_severity``, ``<scale>_n_answered``, ``<scale>_prorated``,
    ``<scale>_valid``, ``<scale>_reason`` and one boolean column per cut-off, then the flags,
    ``critical``, ``critical_items`` and the provenance columns. ``failures`` has one row per bad cell:
    ``row, item, value, code, message``. Both are of the kind :func:`score` was given (pandas, a Polars
    ``DataFrame`` or a ``pyarrow.Table``; types mapped as :mod:`scoring.engine.frames` documents).
    """

    scores: pd.DataFrame | Any
    failures: pd.DataFrame | Any
    definition: Definition

    @property
    def ok(self) -> bool:
        return len(self.failures) == 0

    def summary(self) -> str:
        """One line per failure code with counts, for a terminal."""
        if len(self.failures) == 0:
            return summarise(len(self.scores), {})
        counts = frames.to_pandas_failures(self.failures)["code"].value_counts()
        return summarise(len(self.scores), {str(code): int(n) for code, n in counts.items()})


def summarise(rows: int, counts: dict[str, int]) -> str:
    """:meth:`ScoreResult.summary` from the number of rows and the failures' counts by code."""
    if not counts:
        return f"{rows} row(s) scored, no bad cells"
    parts = ", ".join(f"{n} {code}" for code, n in sorted(counts.items()))
    return f"{rows} row(s) scored; {sum(counts.values())} problem(s) counted as missing: {parts}"


def score(
    definition: Definition,
    data: pd.DataFrame | Any,
    *,
    strict: bool = False,
    missing_values: Sequence[str] = DEFAULT_MISSING,
    accept_integral_floats: bool = False,
) -> ScoreResult:
    """Score response data for one instrument.

    Parameters
    ----------
    definition
        A definition from the library (``lib["phq9"]``).
    data
        One row per administration; one column per item id (``phq9_1`` …). Other columns pass through
        unchanged; a ``sex`` column is used for sex-specific cut-offs and item applicability. A pandas
        ``DataFrame``, a Polars ``DataFrame`` or a ``pyarrow.Table``: the result is of the same kind.
    strict
        Raise :class:`~scoring.errors.ResponseValidationError` when any cell fails validation instead of
        counting it as missing.
    missing_values
        Text cells that mean "not answered" (compared ignoring case).
    accept_integral_floats
        Read text such as ``2.0`` as 2 (files written by statistics packages); ``2.5`` is still refused.

    Returns
    -------
    ScoreResult
        ``scores`` (same columns whatever the options) and ``failures``.

    Examples
    --------
    >>> import pandas as pd, scoring
    >>> lib = scoring.load_library()
    >>> df = pd.DataFrame({f"phq9_{i}": [v] for i, v in enumerate([3, 0, 1, 2, 0, 0, 1, 0, 3], start=1)})
    >>> res = scoring.score(lib["phq9"], df)
    >>> row = res.scores.iloc[0]
    >>> float(row["total"]), row["total_band"], bool(row["critical"]), row["critical_items"]
    (10.0, 'Moderate', True, 'phq9_9')
    """
    if not isinstance(definition, Definition):
        raise TypeError(
            f"score() takes a Definition (e.g. load_library()['phq9']), not {type(definition).__name__}"
        )
    native = frames.to_native(data)  # None for pandas, which is scored as it is
    result, _ = _run(definition, data if native is None else native.frame, missing_values=missing_values,
                     accept_integral_floats=accept_integral_floats, trace=False)
    failures = result.failures
    if native is not None:
        result = ScoreResult(*frames.from_native(native, result.scores, failures), definition)
    if strict and not failures.empty:
        first = failures.iloc[0]
        where = f"row {first['row']}, " if first["row"] is not None else ""
        raise ResponseValidationError(
            result.failures,
            f"{len(failures)} bad cell(s) in the responses; first: {where}item {first['item']}, value "
            f"{first['value']!r}: {first['message']} [{first['code']}]",
        )
    return result


@dataclass
class ScoreTrace:
    """What one :func:`traced_score` run did, beside its scores: the trace a receipt renders.

    ``checked`` is the validated input, ``applied`` the item structure (gates, applicability, reverse
    keying), ``stages`` each scale's :class:`~scoring.engine.compute.ScaleStages`.
    """

    checked: ResponseCheck
    applied: Applied
    stages: dict[str, ScaleStages]


def traced_score(definition: Definition, data: pd.DataFrame, *, missing_values: Sequence[str] = DEFAULT_MISSING,
                 accept_integral_floats: bool = False) -> tuple[ScoreResult, ScoreTrace]:
    """:func:`score` (never strict) and, from the same run, the trace of every scale for every row.

    The trace holds per-item arrays: call it for the rows a receipt explains, not for a whole data set.
    """
    if not isinstance(definition, Definition):
        raise TypeError(
            f"traced_score() takes a Definition (e.g. load_library()['phq9']), not {type(definition).__name__}"
        )
    result, trace = _run(definition, data, missing_values=missing_values,
                         accept_integral_floats=accept_integral_floats, trace=True)
    if trace is None:  # pragma: no cover - _run(trace=True) always returns one
        raise RuntimeError("the engine returned no trace")
    return result, trace


def _run(definition: Definition, data: pd.DataFrame, *, missing_values: Sequence[str],
         accept_integral_floats: bool, trace: bool) -> tuple[ScoreResult, ScoreTrace | None]:
    plan = definition.plan
    checked = check_responses(plan, data, missing_values=missing_values,
                              accept_integral_floats=accept_integral_floats)
    passthrough = data[checked.passthrough]
    scores, applied, stages = traced_score_matrix(plan, checked.matrix, passthrough, data.index, trace=trace)
    clash = [c for c in checked.passthrough if c in scores.columns]
    if clash:
        raise ValueError(
            f"input column(s) {', '.join(map(str, clash))} have the same name as score output columns; "
            "rename them before scoring"
        )
    failures = _all_failures(plan, applied, data, checked)
    out = pd.concat([passthrough, scores], axis=1) if checked.passthrough else scores
    return ScoreResult(out, failures, definition), (ScoreTrace(checked, applied, stages) if trace else None)


def _uses_sex(plan: Plan) -> bool:
    return (any(r.respondent == "sex" for r in plan.applicability)
            or any(s != "any" for sp in plan.scales for cut in sp.cutoffs for s, _, _ in cut.entries))


def _unrecognised_sex(plan: Plan, data: pd.DataFrame, checked: ResponseCheck) -> list[pd.DataFrame]:
    """Sex values the one list (:data:`scoring.definitions.respondent.SEX_WORDS`) refuses, where they matter.

    The row is still scored: its sex-specific cut-offs are unknown and items for one sex apply, as for an
    unrecorded sex; the failure says why, so nothing is dropped silently.
    """
    if "sex" not in checked.passthrough or not _uses_sex(plan):
        return []
    _, bad = respondent_sex_codes(data["sex"])
    if not bad.any():
        return []
    rows = np.flatnonzero(bad)
    return [failure_frame(list(data.index[rows]), "sex", list(data["sex"].to_numpy(dtype=object)[rows]),
                          "unrecognised_sex", "not a recognised sex; use female (f, w, woman), male (m, man), "
                          "other (x, diverse) or leave it empty — sex-specific rules are unknown for this row",
                          rows.tolist())]


def _all_failures(plan: Plan, applied: Applied, data: pd.DataFrame, checked: ResponseCheck) -> pd.DataFrame:
    """The input's bad cells, then answers ignored by gates or applicability and refused sex values, in order."""
    frames = [*_ignored_answers(plan, applied, data.index), *_unrecognised_sex(plan, data, checked)]
    if not frames:
        return checked.failures
    merged, _ = sort_failures([checked.failures.assign(_pos=checked.positions), *frames], plan.item_ids)
    return merged


def _ignored_answers(plan: Plan, applied: Applied, index: pd.Index) -> list[pd.DataFrame]:
    """Failure frames of answers ignored because a gate was closed or the item did not apply."""
    frames = []
    for mask, code, message in (
        (applied.ignored_not_shown, "not_shown", "answered although its gate question excluded it; ignored"),
        (applied.ignored_not_applicable, "not_applicable", "does not apply to this respondent; ignored"),
    ):
        if mask is None or not mask.any():
            continue
        rows, cols = np.nonzero(mask)
        for k in np.unique(cols):
            sel = rows[cols == k]
            # plain Python numbers, so the table shows 2 (not np.float64(2.0)) for an answer of 2
            given = [int(v) if float(v).is_integer() else float(v) for v in applied.raw[sel, k]]
            frames.append(failure_frame(list(index[sel]), plan.item_ids[k], given, code, message, sel.tolist()))
    return frames

"""Decision rules (flags) are decided whenever the missing answers cannot change them, both ways.

The check is by brute force: every row with unanswered items is completed in every possible way (each
missing item takes each of its option codes), the completed rows are scored, and the flag of the incomplete
row must be true when every completion is true, false when every completion is false, and unknown otherwise
(exactly so for flags whose conditions share no item, as the PCL-5 clusters; never decided wrongly for any).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.engine.compute import score_bounds
from tests.support.shipped import shipped_library

LIB = shipped_library()
FLAGGED = [i for i in sorted(LIB) if LIB[i].plan.flags]


def _random_rows(definition: scoring.Definition, n: int, seed: int) -> pd.DataFrame:
    plan = definition.plan
    rng = np.random.default_rng(seed)
    matrix = np.column_stack([rng.choice(codes, size=n) for codes in plan.allowed]).astype(float)
    # one to three unanswered items per row; gate questions stay answered (an unanswered gate leaves the
    # answers of its items in use, which a completion that closes the gate would not)
    gates = {g.gate for g in plan.gates}
    open_items = [k for k in range(len(plan.item_ids)) if k not in gates]
    for r in range(n):
        k = rng.integers(1, 4)
        matrix[r, rng.choice(open_items, size=k, replace=False)] = np.nan
    return pd.DataFrame(matrix, columns=list(plan.item_ids))


@pytest.mark.parametrize("instrument", FLAGGED)
def test_flags_agree_with_every_completion(instrument: str) -> None:
    assert "pcl5" in FLAGGED
    d = LIB[instrument]
    plan = d.plan
    rows = _random_rows(d, 150, seed=len(instrument))
    completions, owner = [], []
    for r, (_, row) in enumerate(rows.iterrows()):
        missing = [c for c in rows.columns if np.isnan(row[c])]
        options = [plan.allowed[plan.item_ids.index(c)] for c in missing]
        for combo in itertools.product(*options):
            filled = row.copy()
            filled[missing] = combo
            completions.append(filled)
            owner.append(r)
    full = scoring.score(d, pd.DataFrame(completions).reset_index(drop=True)).scores
    partial = scoring.score(d, rows).scores
    owner_s = pd.Series(owner)
    exact = instrument == "pcl5"  # conditions on disjoint item sets
    decided = 0
    for flag in plan.flags:
        outcomes = full[flag.id].astype("boolean").groupby(owner_s.to_numpy())
        all_true = outcomes.all().to_numpy(dtype=bool)
        all_false = (~outcomes.any()).to_numpy(dtype=bool)
        got = partial[flag.id]
        for r in range(len(rows)):
            value = got.iloc[r]
            if value is pd.NA:
                if exact:
                    assert not (all_true[r] or all_false[r]), f"{flag.id} row {r}: left unknown but decided"
                continue
            decided += 1
            assert (all_true[r] if bool(value) else all_false[r]), f"{flag.id} row {r}: decided wrongly"
    assert decided > 0, "no incomplete row was decided: the test shows nothing"


def test_pcl5_decided_both_ways_with_one_item_missing() -> None:
    """The issue's case: B/C/D/E already met whatever the missing item is → true, not unknown."""
    d = LIB["pcl5"]
    items = list(d.plan.item_ids)
    met = dict.fromkeys(items, 3.0) | {"pcl5_20": np.nan}
    unmet = dict.fromkeys(items, 3.0) | {"pcl5_8": np.nan} | {f"pcl5_{i}": 0.0 for i in range(9, 15)}
    open_ = dict.fromkeys(items, 3.0) | {"pcl5_20": np.nan} | {f"pcl5_{i}": 0.0 for i in range(16, 20)}
    out = scoring.score(d, pd.DataFrame([met, unmet, open_])).scores
    assert out["dsm5_provisional"].tolist() == [True, False, pd.NA]
    assert out["cluster_e_count"].isna().tolist() == [True, False, True]  # the counts themselves stay unscored
    assert out["total"].isna().all()


def test_score_bounds_of_a_count_and_a_sum() -> None:
    d = LIB["pcl5"]
    plan = d.plan
    row = dict.fromkeys(plan.item_ids, 2.0) | {"pcl5_19": np.nan, "pcl5_20": np.nan, "pcl5_15": 0.0}
    from scoring.engine.compute import apply_structure, score_scale
    from scoring.engine.responses import check_responses

    checked = check_responses(plan, pd.DataFrame([row]))
    applied = apply_structure(plan, checked.matrix, None)
    by_id = {sp.id: sp for sp in plan.scales}
    lo, hi = score_bounds(by_id["cluster_e_count"], plan, applied, score_scale(by_id["cluster_e_count"], applied))
    assert (lo[0], hi[0]) == (3.0, 5.0)  # items 16-18 endorsed, 15 not, 19 and 20 open
    lo, hi = score_bounds(by_id["cluster_e"], plan, applied, score_scale(by_id["cluster_e"], applied))
    assert (lo[0], hi[0]) == (6.0, 14.0)  # 0 + 2 + 2 + 2 + [0, 4] + [0, 4]
    lo, hi = score_bounds(by_id["cluster_b"], plan, applied, score_scale(by_id["cluster_b"], applied))
    assert (lo[0], hi[0]) == (10.0, 10.0)  # scored: the bounds are the score

"""A norm table may only declare definition versions that give its scale the same score.

When a definition gets a new version (a translation, a band set, a change parameter), a norm table is extended
to it by adding the version to ``instrument.versions``. This test checks that promise for every bundled table:
every declared version scores the table's scale identically on the same random answers (missing cells
included, with a ``sex`` column for sex-specific rules).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.definitions.library import Library
from scoring.norms.library import NormLibrary, NormTable
from tests.support.shipped import shipped_library

LIB: Library = shipped_library()
NORMS: NormLibrary = scoring.load_norms(library=LIB)


def _answers(lib: Library, key: tuple[str, str], rows: int, seed: int) -> pd.DataFrame:
    d = lib.definitions[key]
    plan = d.plan
    rng = np.random.default_rng(seed)
    lo, hi = plan.lo.astype(int), plan.hi.astype(int)
    x = rng.integers(lo, hi + 1, size=(rows, len(plan.item_ids))).astype(float)
    x[rng.random(x.shape) < 0.05] = np.nan  # some items unanswered, so the missing-data rules take part
    frame = pd.DataFrame(x, columns=list(plan.item_ids))
    frame["sex"] = rng.choice(["female", "male"], size=rows)
    return frame


@pytest.mark.parametrize("table", sorted(NORMS.tables.values(), key=lambda t: t.id), ids=lambda t: t.id)
def test_every_declared_version_scores_the_scale_alike(table: NormTable) -> None:
    versions = [v for v in table.versions if (table.instrument_id, v) in LIB.definitions]
    assert versions, f"{table.id} declares no shipped version of {table.instrument_id}"
    first = (table.instrument_id, versions[0])
    data = _answers(LIB, first, 400, seed=len(table.id))
    reference = scoring.score(LIB.definitions[first], data).scores[table.scale]
    for v in versions[1:]:
        got = scoring.score(LIB.definitions[(table.instrument_id, v)], data).scores[table.scale]
        pd.testing.assert_series_equal(got, reference, check_names=False, obj=f"{table.id}: {v} vs {versions[0]}")

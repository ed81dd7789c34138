"""Generate the reliability reference data set ``likert8.csv`` (committed; run once, deterministic).

300 respondents × 8 items answered on a 0–4 Likert scale, simulated from one common factor with
loadings between 0.45 and 0.8. Item ``i6`` is mis-keyed: it was generated with a negative loading, as if a
reverse-worded item had been entered without reversal. About 6% of the cells are missing completely at
random (written as empty cells); no row is entirely empty.

Run from the repository root::

    python tests/reference/reliability/make_data.py

then ``Rscript tests/reference/reliability/make_reference.R`` to refresh ``expected.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20240531
N, LOADINGS = 300, np.array([0.75, 0.7, 0.6, 0.8, 0.55, -0.65, 0.45, 0.7])
THRESHOLDS = np.array([-1.2, -0.4, 0.4, 1.2])  # cut points of the latent response → 0..4
MISSING_RATE = 0.06


def simulate(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal((N, 1))
    unique = rng.standard_normal((N, LOADINGS.size)) * np.sqrt(1 - LOADINGS**2)
    latent = factor * LOADINGS + unique
    answers = (latent[:, :, None] > THRESHOLDS).sum(axis=2).astype(float)
    missing = rng.random(answers.shape) < MISSING_RATE
    missing[missing.all(axis=1), 0] = False  # keep at least one answer per row
    answers[missing] = np.nan
    return pd.DataFrame(answers, columns=[f"i{k + 1}" for k in range(LOADINGS.size)]).astype("Int64")


if __name__ == "__main__":
    frame = simulate()
    frame.to_csv(HERE / "likert8.csv", index=False, na_rep="")
    print(f"wrote {HERE / 'likert8.csv'}: {frame.shape}, {int(frame.isna().to_numpy().sum())} missing cells")

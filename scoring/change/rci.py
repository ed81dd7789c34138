"""Reliable and clinically significant change (Jacobson & Truax 1991), vectorized over many patients.

Everything here works on whole arrays of pre/post scores at once; the parameters come from the ``change``
block of a scale in the instrument definition, each with its published source, and every number used is
returned beside the result so that it can be traced.

Reliable change
    SEM = SD·√(1 − r); SE_diff = √2·SEM = SD·√2·√(1 − r); RCI = (post − pre) / SE_diff. The change is
    reliable at the 95% level when |RCI| > 1.96, i.e. when |post − pre| > 1.96·SE_diff (Jacobson & Truax
    1991, with the √2 term of Christensen & Mendoza 1986). SD is the definition's ``change.sd`` (the SD of
    the reference sample named in its source) and r its ``change.reliability``.

Which criterion classifies
    Where the definition declares a **published reliable-change threshold** (``change.reliable_change``,
    e.g. PHQ-9 6 and GAD-7 4 points in NHS Talking Therapies, CORE-10 6), that threshold classifies:
    a change is reliable when |post − pre| ≥ threshold (programmes state it as "a change of 6 or more").
    Services compare their outcomes by these rules, and a locally recomputed RCI would disagree with them
    at the margin. Otherwise the Jacobson–Truax RCI classifies (|RCI| > 1.96). The RCI and its own
    threshold (1.96·SE_diff) are reported whenever reliability and SD are declared, whichever criterion
    classifies; column ``criterion`` says which one did (``published``, ``jacobson_truax`` or ``none``).

Clinical significance
    With functional (0) and dysfunctional (1) population means and SDs, toward health:
    a = M1 − 2·SD1, b = M0 + 2·SD0, c = (SD0·M1 + SD1·M0)/(SD0 + SD1) on a scale where higher is worse
    (a = M1 + 2·SD1 and b = M0 − 2·SD0 where higher is better; c is the same). The cut-off that classifies
    is the declared ``change.clinical_cutoff`` when there is one (the published caseness threshold that
    programmes use), else c, else a (dysfunctional norms only), else b (functional norms only).
    A score is on the **clinical side** when it is at or beyond the cut-off in the unhealthy direction:
    score ≥ cut-off where higher is worse (PHQ-9 caseness "10 or more"), score ≤ cut-off where higher is
    better. This makes a higher-is-better scale the exact mirror of a higher-is-worse one.

Classification (per pair pre → post; ordered from worst to best outcome)
    * ``reliably_deteriorated``: reliable change in the unhealthy direction;
    * ``no_reliable_change``: the change is not reliable;
    * ``reliably_improved``: reliable change in the healthy direction that is not a recovery;
    * ``recovered``: reliable improvement **and** pre on the clinical side **and** post on the non-clinical
      side of the cut-off (NHS Talking Therapies "reliable recovery"; Jacobson & Truax "recovered").
    Without a cut-off no pair is ``recovered`` (``cutoff_kind`` is ``none``). Without any reliable-change
    criterion, or on a scale whose ``higher_is`` is ``neutral``, the classification is missing and
    ``reason`` says why — never a guess.

MCID
    ``mcid_met`` is true when the improvement (in the healthy direction) is at least the published minimal
    clinically important difference (``change.mcid``), missing where none is published.

References
----------
Jacobson NS, Truax P. Clinical significance: a statistical approach to defining meaningful change in
psychotherapy research. J Consult Clin Psychol 1991;59:12–19.
Christensen L, Mendoza JL. A method of assessing change in a single subject: an alteration of the RC index.
Behav Ther 1986;17:305–308.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from scoring.definitions.library import Definition
    from scoring.definitions.schema import Scale

__all__ = [
    "CLASSIFICATIONS",
    "COMPARISON_COLUMNS",
    "PARAMETER_COLUMNS",
    "Z_95",
    "ChangeParameters",
    "change_parameters",
    "compare",
]

#: Two-tailed 95% criterion of Jacobson & Truax.
Z_95 = 1.96
#: Outcome categories, ordered from the worst to the best outcome (an ordered categorical).
CLASSIFICATIONS = ("reliably_deteriorated", "no_reliable_change", "reliably_improved", "recovered")
#: Columns that :func:`compare` computes for each pair.
COMPARISON_COLUMNS = (
    "difference", "improvement", "rci", "rci_reliable", "threshold_reliable", "reliable",
    "pre_clinical", "post_clinical", "classification", "mcid_met", "reason",
)
#: Columns with the parameters used (the same on every row of one scale).
PARAMETER_COLUMNS = (
    "higher_is", "criterion", "threshold", "threshold_published", "threshold_jt", "se_diff", "sem",
    "reliability", "sd", "z", "cutoff", "cutoff_kind", "cutoff_a", "cutoff_b", "cutoff_c", "mcid",
    "sd_population", "stratum", "sd_used",
)
Criterion = Literal["published", "jacobson_truax", "none"]
CutoffKind = Literal["declared", "c", "a", "b", "none"]
_TOL = 1e-9  # published thresholds in points: 2.87 must count as ≥ 2.87 despite float arithmetic

#: The reasons when neither reliability nor SD is declared (see :attr:`ChangeParameters.reason` for the others).
REASON_NO_CRITERION = "no published reliable-change threshold, and no reliability or SD declared for the RCI"
REASON_NO_RCI = "RCI not computed: no reliability or SD declared; classified by the published threshold"
REASON_NEUTRAL = "the scale has no healthy direction (higher_is: neutral); only the change is reported"
REASON_NO_PRE = "no earlier score to compare with"
REASON_NO_POST = "no score at this administration"


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


@dataclass(frozen=True)
class ChangeParameters:
    """Every parameter of reliable and clinically significant change for one scale, resolved once.

    Build with :func:`change_parameters` from a definition, or with :meth:`from_values` for explicit
    numbers. Missing parameters are NaN; ``criterion`` and ``cutoff_kind`` say what classifies.

    Examples
    --------
    The worked example of the reference page (§1.3): SD 5.0 (illustrative), r = .84.

    >>> p = ChangeParameters.from_values(higher_is="worse", reliability=0.84, sd=5.0)
    >>> round(p.sem, 2), round(p.se_diff, 2), round(p.threshold_jt, 2), p.criterion
    (2.0, 2.83, 5.54, 'jacobson_truax')

    CORE-10 norms (Connell & Barkham 2007): functional M 4.7, SD 4.8; dysfunctional M 19.7, SD 7.7.

    >>> q = ChangeParameters.from_values(higher_is="worse", functional_mean=4.7, functional_sd=4.8,
    ...                                  dysfunctional_mean=19.7, dysfunctional_sd=7.7)
    >>> round(q.cutoff_a, 2), round(q.cutoff_b, 2), round(q.cutoff_c, 2), q.cutoff_kind
    (4.3, 14.3, 10.46, 'c')
    """

    higher_is: str
    reliability: float = math.nan
    reliability_kind: str | None = None
    sd: float = math.nan
    z: float = Z_95
    threshold_published: float = math.nan
    mcid: float = math.nan
    cutoff_declared: float = math.nan
    functional_mean: float = math.nan
    functional_sd: float = math.nan
    dysfunctional_mean: float = math.nan
    dysfunctional_sd: float = math.nan
    instrument_id: str = ""
    scale_id: str = ""
    #: the sample the SD comes from (``clinical``, ``general_population``, …; None when the definition does not say)
    sd_population: str | None = None
    #: whose reliability and SD these are: ``all`` (the whole sample) or a sex with its own published values
    stratum: str = "all"
    #: where the SD comes from (its source without the note), named by :attr:`sd_used`
    sd_source: str | None = None
    #: parameter name → its source (and note) from the definition, for display and audit
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_values(
        cls,
        *,
        higher_is: str,
        reliability: float | None = None,
        sd: float | None = None,
        reliable_change: float | None = None,
        mcid: float | None = None,
        clinical_cutoff: float | None = None,
        functional_mean: float | None = None,
        functional_sd: float | None = None,
        dysfunctional_mean: float | None = None,
        dysfunctional_sd: float | None = None,
        z: float = Z_95,
        reliability_kind: str | None = None,
        instrument_id: str = "",
        scale_id: str = "",
        sources: Mapping[str, str] | None = None,
        sd_population: str | None = None,
        stratum: str = "all",
        sd_source: str | None = None,
    ) -> ChangeParameters:
        """Parameters from explicit numbers (``None`` = not published)."""
        if higher_is not in ("worse", "better", "neutral"):
            raise ValueError(f"higher_is must be 'worse', 'better' or 'neutral', not {higher_is!r}")
        if reliability is not None and not 0 < reliability < 1:
            raise ValueError(f"reliability must lie strictly between 0 and 1, not {reliability}")
        for name, value in (("sd", sd), ("reliable_change", reliable_change), ("mcid", mcid),
                            ("functional_sd", functional_sd), ("dysfunctional_sd", dysfunctional_sd)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, not {value}")
        if not z > 0:
            raise ValueError(f"z must be positive, not {z}")
        return cls(
            higher_is=higher_is, reliability=_nan(reliability), reliability_kind=reliability_kind, sd=_nan(sd),
            z=float(z), threshold_published=_nan(reliable_change), mcid=_nan(mcid),
            cutoff_declared=_nan(clinical_cutoff), functional_mean=_nan(functional_mean),
            functional_sd=_nan(functional_sd), dysfunctional_mean=_nan(dysfunctional_mean),
            dysfunctional_sd=_nan(dysfunctional_sd), instrument_id=instrument_id, scale_id=scale_id,
            sources=dict(sources or {}), sd_population=sd_population, stratum=stratum, sd_source=sd_source,
        )

    @classmethod
    def from_scale(cls, scale: Scale, *, z: float = Z_95, instrument_id: str = "",
                   sex: str | None = None) -> ChangeParameters:
        """Parameters from a scale of a definition (``definition.instrument.scales[i]``).

        ``sex`` (``female`` or ``male``) takes the reliability and SD the definition publishes for that sex
        (``change.by_sex``) instead of the whole sample's, where it has them; ``stratum`` says which were used.
        """
        ch = scale.change
        values: dict[str, float | None] = {}
        sources: dict[str, str] = {}
        names = ("reliability", "sd", "reliable_change", "mcid", "clinical_cutoff", "functional_mean",
                 "functional_sd", "dysfunctional_mean", "dysfunctional_sd")
        stratum = ch.by_sex.get(sex) if ch is not None and sex in ("female", "male") else None  # type: ignore[call-overload]
        used = "all"
        reliability_param = None if ch is None else ch.reliability
        sd_param = None if ch is None else ch.sd
        if stratum is not None:
            used = str(sex)
            reliability_param = stratum.reliability or reliability_param
            sd_param = stratum.sd or sd_param
        for name in names:
            param = getattr(ch, name, None) if ch is not None else None
            if name == "reliability":
                param = reliability_param
            elif name == "sd":
                param = sd_param
            values[name] = None if param is None else float(param.value)
            if param is not None:
                sources[name] = " ".join(param.source.split()) + (f" ({' '.join(param.note.split())})"
                                                                   if param.note else "")
        kind = None if reliability_param is None else reliability_param.kind
        population = None if sd_param is None else sd_param.population
        sd_source = None if sd_param is None else " ".join(sd_param.source.split())
        return cls.from_values(higher_is=scale.higher_is, z=z, reliability_kind=kind, instrument_id=instrument_id,
                               scale_id=scale.id, sources=sources, sd_population=population, stratum=used,
                               sd_source=sd_source, **values)

    # -- derived values ---------------------------------------------------------------------------
    @property
    def sem(self) -> float:
        """Standard error of measurement SD·√(1 − r) (NaN without SD and reliability)."""
        return self.sd * math.sqrt(1.0 - self.reliability)

    @property
    def se_diff(self) -> float:
        """Standard error of the difference √2·SEM."""
        return math.sqrt(2.0) * self.sem

    @property
    def threshold_jt(self) -> float:
        """Minimum reliable difference of Jacobson & Truax in points: z·SE_diff."""
        return self.z * self.se_diff

    @property
    def criterion(self) -> Criterion:
        """``published`` when a published threshold exists, else ``jacobson_truax`` when r and SD do."""
        if not math.isnan(self.threshold_published):
            return "published"
        if not math.isnan(self.se_diff):
            return "jacobson_truax"
        return "none"

    @property
    def threshold(self) -> float:
        """The reliable difference in points that classifies (published, else z·SE_diff, else NaN)."""
        return {"published": self.threshold_published, "jacobson_truax": self.threshold_jt}.get(
            self.criterion, math.nan)

    @property
    def direction(self) -> float:
        """+1 where higher is better, −1 where higher is worse, NaN where neutral."""
        return {"better": 1.0, "worse": -1.0}.get(self.higher_is, math.nan)

    @property
    def cutoff_a(self) -> float:
        """Two SDs beyond the dysfunctional mean, toward health."""
        return self.dysfunctional_mean + 2.0 * self.dysfunctional_sd * self.direction

    @property
    def cutoff_b(self) -> float:
        """Two SDs from the functional mean, toward the dysfunctional side."""
        return self.functional_mean - 2.0 * self.functional_sd * self.direction

    @property
    def cutoff_c(self) -> float:
        """The point between both means weighted by the SDs: (SD0·M1 + SD1·M0)/(SD0 + SD1)."""
        s0, s1 = self.functional_sd, self.dysfunctional_sd
        return (s0 * self.dysfunctional_mean + s1 * self.functional_mean) / (s0 + s1)

    @property
    def cutoff_kind(self) -> CutoffKind:
        if self.higher_is == "neutral":
            return "none"
        for kind, value in (("declared", self.cutoff_declared), ("c", self.cutoff_c), ("a", self.cutoff_a),
                            ("b", self.cutoff_b)):
            if not math.isnan(value):
                return kind  # type: ignore[return-value]
        return "none"

    @property
    def cutoff(self) -> float:
        """The clinical cut-off that classifies recovery (see :attr:`cutoff_kind`)."""
        return {"declared": self.cutoff_declared, "c": self.cutoff_c, "a": self.cutoff_a,
                "b": self.cutoff_b}.get(self.cutoff_kind, math.nan)

    @property
    def reason(self) -> str:
        """Why change cannot be classified, or why the RCI is missing ('' when nothing is missing)."""
        if self.criterion == "none":
            return f"no published reliable-change threshold, and {self._rci_missing()} for the RCI"
        if self.higher_is == "neutral":
            return REASON_NEUTRAL
        if math.isnan(self.se_diff):
            return f"RCI not computed: {self._rci_missing()}; classified by the published threshold"
        return ""

    def _rci_missing(self) -> str:
        """Exactly what the Jacobson–Truax RCI lacks: the reliability, the SD or both."""
        has_r, has_sd = not math.isnan(self.reliability), not math.isnan(self.sd)
        if has_r and not has_sd:
            return f"no SD declared (reliability {self.reliability:g} is)"
        if has_sd and not has_r:
            return f"no reliability declared (SD {self.sd:g} is)"
        return "no reliability or SD declared"

    @property
    def sd_used(self) -> str:
        """Which SD the RCI uses, in words: value, the kind of sample, whose, and its source ('' without one).

        >>> ChangeParameters.from_values(higher_is="worse", sd=3.4, sd_population="general_population",
        ...                              stratum="female", sources={"sd": "Löwe 2008"}).sd_used
        'SD 3.4 (general-population sample; women): Löwe 2008'
        """
        if math.isnan(self.sd):
            return ""
        kind = {"clinical": "clinical sample", "general_population": "general-population sample",
                "non_clinical": "non-clinical sample", "mixed": "mixed sample"}.get(self.sd_population or "",
                                                                                   "sample not stated")
        whose = {"female": "; women", "male": "; men"}.get(self.stratum, "")
        source = self.sources.get("sd", "").split(" (", 1)[0] if self.sd_source is None else self.sd_source
        return f"SD {self.sd:g} ({kind}{whose})" + (f": {source}" if source else "")

    def as_dict(self) -> dict[str, object]:
        """The values of :data:`PARAMETER_COLUMNS`."""
        return {name: getattr(self, name) for name in PARAMETER_COLUMNS}

    # -- elementwise helpers ----------------------------------------------------------------------
    def clinical(self, score: np.ndarray) -> np.ndarray:
        """1.0 on the clinical side of the cut-off, 0.0 on the other, NaN when unknown."""
        score = np.asarray(score, dtype=float)
        if self.cutoff_kind == "none":
            return np.full(score.shape, np.nan)
        with np.errstate(invalid="ignore"):
            side = score >= self.cutoff if self.higher_is == "worse" else score <= self.cutoff
        return np.where(np.isnan(score), np.nan, side.astype(float))


def change_parameters(definition: Definition, scale: str | None = None, *, z: float = Z_95,
                      sex: str | None = None) -> ChangeParameters:
    """The change parameters of one scale of a definition.

    Parameters
    ----------
    definition
        A definition from the library (``lib["phq9"]``).
    scale
        Scale id; default the only scale, or ``total``.
    z
        Criterion for the RCI (1.96 = 95% two-tailed; 1.645 = 90%).
    sex
        ``female`` or ``male``: the reliability and SD published for that sex, where the definition has them
        (GAD-7: Löwe et al. 2008 SD 3.5 for women, 3.2 for men); otherwise the whole sample's.

    Examples
    --------
    >>> import scoring
    >>> p = change_parameters(scoring.load_library()["phq9"])
    >>> p.criterion, p.threshold, p.cutoff, p.cutoff_kind, p.mcid
    ('published', 6.0, 10.0, 'declared', 5.0)
    """
    ins = definition.instrument
    ids = [s.id for s in ins.scales]
    if scale is None:
        scale = ids[0] if len(ids) == 1 else ("total" if "total" in ids else None)
        if scale is None:
            raise ValueError(f"{ins.id} has several scales ({', '.join(ids)}); name one")
    if scale not in ids:
        raise KeyError(f"{ins.id} has no scale {scale!r}; its scales are {', '.join(ids)}")
    return ChangeParameters.from_scale(ins.scales[ids.index(scale)], z=z, instrument_id=ins.id, sex=sex)


def _boolean(values: np.ndarray) -> pd.arrays.BooleanArray:
    """Float 1/0/NaN → nullable boolean."""
    known = ~np.isnan(values)
    return pd.arrays.BooleanArray(np.where(known, values, 0.0).astype(bool), ~known)


def compare(pre: object, post: object, params: ChangeParameters, *, index: pd.Index | None = None) -> pd.DataFrame:
    """Reliable and clinically significant change for many pre/post pairs at once.

    Parameters
    ----------
    pre, post
        Scores before and after (array-likes of the same length; NaN = no score).
    params
        From :func:`change_parameters` or :meth:`ChangeParameters.from_values`.
    index
        Index of the result (default: ``post``'s index if it is a Series, else a range).

    Returns
    -------
    pandas.DataFrame
        Always the columns of :data:`COMPARISON_COLUMNS` then :data:`PARAMETER_COLUMNS`:
        ``difference`` = post − pre; ``improvement`` = the difference in the healthy direction (positive =
        better; NaN on neutral scales); ``rci`` = difference / SE_diff (NaN without r and SD);
        ``rci_reliable`` = |rci| > z; ``threshold_reliable`` = |difference| ≥ the published threshold;
        ``reliable`` by the classifying ``criterion``; ``pre_clinical``/``post_clinical`` = on the clinical
        side of ``cutoff``; ``classification`` (ordered categorical :data:`CLASSIFICATIONS`); ``mcid_met`` =
        improvement ≥ ``mcid``; ``reason`` = why a value is missing ('' otherwise); then the parameters.
        Boolean columns are nullable (``<NA>`` = unknown).

    Examples
    --------
    Reference page §1.3: SD 5.0, r .84; pre 18 → post 11 gives RCI −2.47, a reliable improvement
    (threshold 5.54 points); PHQ-9 caseness 10 → crossing it is a recovery.

    >>> p = ChangeParameters.from_values(higher_is="worse", reliability=0.84, sd=5.0, clinical_cutoff=10)
    >>> out = compare([18, 18, 18, 12], [11, 9, 14, 19], p)
    >>> out["rci"].round(2).tolist()
    [-2.47, -3.18, -1.41, 2.47]
    >>> out["classification"].tolist()
    ['reliably_improved', 'recovered', 'no_reliable_change', 'reliably_deteriorated']

    The PHQ-9 definition declares the NHS Talking Therapies threshold (6 points), which classifies; the RCI
    is reported beside it when r and SD are declared.

    >>> import scoring
    >>> q = change_parameters(scoring.load_library()["phq9"])
    >>> r = compare([16, 16], [10, 9], q)
    >>> print(r[["difference", "reliable", "classification", "mcid_met", "criterion", "threshold"]].to_string())
       difference  reliable     classification  mcid_met  criterion  threshold
    0        -6.0      True  reliably_improved      True  published        6.0
    1        -7.0      True          recovered      True  published        6.0
    """
    pre_a = np.asarray(pre, dtype=float).ravel()
    post_a = np.asarray(post, dtype=float).ravel()
    if pre_a.shape != post_a.shape:
        raise ValueError(f"pre and post must have the same length ({len(pre_a)} vs {len(post_a)})")
    if index is None:
        index = post.index if isinstance(post, pd.Series) else pd.RangeIndex(len(post_a))
    n = len(post_a)
    diff = post_a - pre_a
    improvement = diff * params.direction
    with np.errstate(invalid="ignore", divide="ignore"):
        rci = diff / params.se_diff
        rci_rel = np.where(np.isnan(rci), np.nan, (np.abs(rci) > params.z).astype(float))
        thr_rel = np.where(np.isnan(diff) | np.isnan(params.threshold_published), np.nan,
                           (np.abs(diff) >= params.threshold_published - _TOL).astype(float))
    reliable = {"published": thr_rel, "jacobson_truax": rci_rel}.get(params.criterion, np.full(n, np.nan))
    pre_cl = params.clinical(pre_a)
    post_cl = params.clinical(post_a)

    # classification codes into CLASSIFICATIONS (−1 = missing)
    improved = improvement > 0
    codes = np.where(reliable == 1, np.where(improved, 2, 0), 1)
    recovered = (codes == 2) & (pre_cl == 1) & (post_cl == 0)
    codes = np.where(recovered, 3, codes)
    undetermined = np.isnan(reliable) | np.isnan(improvement)
    codes = np.where(undetermined, -1, codes).astype(np.int8)
    with np.errstate(invalid="ignore"):
        mcid_met = np.where(np.isnan(improvement) | np.isnan(params.mcid), np.nan,
                            (improvement >= params.mcid - _TOL).astype(float))

    reason = np.full(n, "", dtype=object)
    if params.reason:
        reason[:] = params.reason
    reason = np.where(np.isnan(pre_a), REASON_NO_PRE, reason)
    reason = np.where(np.isnan(post_a), REASON_NO_POST, reason)

    out = pd.DataFrame(
        {
            "difference": diff,
            "improvement": improvement,
            "rci": rci,
            "rci_reliable": _boolean(rci_rel),
            "threshold_reliable": _boolean(thr_rel),
            "reliable": _boolean(reliable),
            "pre_clinical": _boolean(pre_cl),
            "post_clinical": _boolean(post_cl),
            "classification": pd.Categorical.from_codes(codes, categories=pd.Index(list(CLASSIFICATIONS)),
                                                        ordered=True),
            "mcid_met": _boolean(mcid_met),
            # pandas-stubs type pd.array(dtype=object) as an error; pandas gives an object-dtype array
            "reason": pd.array(reason, dtype=object),  # type: ignore[arg-type]
        },
        index=index,
    )
    for name, value in params.as_dict().items():
        out[name] = value  # type: ignore[call-overload]  # a scalar per column; the stubs take no bare object
    return out

"""De-identification primitives: research ids, study keys, banded demographics, k-anonymity, safe text.

Nothing here sees a name, an e-mail address or any other identifier: the export reads an allowlist of
columns (:mod:`scoring.export.source`) and this module transforms the few that leave.

* **Research ids.** ``safe_harbor``: random 64-bit surrogates drawn from the operating system's CSPRNG for
  every export, not derived from any identifier (HIPAA 45 CFR 164.514(c)). ``pseudonymised``: HMAC-SHA256
  of the internal patient id under a per-study key of at least 256 bits (GDPR Art. 4(5)), so the same
  patient gets the same id in every export of one study and unrelated ids in another study.
* **Ages** in bands whose top band starts at 90 or lower (ages over 89 are "90+", 164.514(b)(2)(i)(C)).
* **k-anonymity** over person-level quasi-identifiers with local suppression of values, then of records.
* **Formula injection**: text starting with ``= + - @``, tab or carriage return gets a leading apostrophe
  (OWASP CSV Injection).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import re
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from scoring.definitions.respondent import SEX_CODES as RESPONDENT_SEX_CODES
from scoring.definitions.respondent import sex_codes as respondent_sex_codes
from scoring.engine.files import FORMULA_START
from scoring.engine.files import neutralise as neutralise  # re-exported: the export modules use it from here
from scoring.errors import PsyscoreError

Profile = Literal["safe_harbor", "pseudonymised"]
PROFILES: tuple[str, ...] = ("safe_harbor", "pseudonymised")

#: key files hold the key as hexadecimal text; 256 bits = 64 hex digits at least
MIN_KEY_BITS = 256
_PSEUDONYM_DOMAIN = b"psyscore/pseudonym/v1\x00"
_FINGERPRINT_MESSAGE = b"psyscore/key-fingerprint/v1"
PSEUDONYM_HEX = 32  # 128 bits of the HMAC: collisions are checked, and practically impossible
SURROGATE_BYTES = 8  # 64 random bits per safe-harbor id

#: code written in place of a quasi-identifier value withheld by k-anonymity suppression
SUPPRESSED = -9

#: lower edges of the default age bands; the last band is "<last>+" and must start at 90 or lower
DEFAULT_AGE_EDGES: tuple[int, ...] = (0, 18, 25, 35, 45, 55, 65, 75, 85, 90)

#: export codes of recorded sex (0 = not recorded); the accepted spellings are the one list,
#: :data:`scoring.definitions.respondent.SEX_WORDS`
SEX_CODES: dict[str, int] = {sex.value: code for sex, code in RESPONDENT_SEX_CODES.items()}

QUASI_IDENTIFIERS: tuple[str, ...] = ("age_band", "sex", "year")



class ExportError(PsyscoreError):
    """The export cannot be made as asked (bad input, bad options, unsafe key, k-anonymity refused)."""


class KeyFileError(ExportError):
    """A study key file is missing, too short, malformed or readable by others."""


# --- study keys -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyKey:
    """A per-study secret for pseudonyms. Its bytes never appear in ``repr``, errors or the manifest.

    Build with :meth:`from_file` (or :func:`create_key_file` to make a new one).
    """

    _secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self._secret) * 8 < MIN_KEY_BITS:
            raise KeyFileError(f"a study key needs at least {MIN_KEY_BITS} bits; this one has "
                               f"{len(self._secret) * 8}")

    def __repr__(self) -> str:
        return f"StudyKey(fingerprint={self.fingerprint!r})"

    @classmethod
    def from_file(cls, path: Path | str) -> StudyKey:
        """Read a key file: one line of at least 64 hexadecimal digits, readable by its owner only.

        Raises
        ------
        KeyFileError
            When the file is missing, group/world-readable (POSIX), not hexadecimal or shorter than 256
            bits. The message names the file and the problem, never the key.
        """
        path = Path(path)
        make = f"create one with: psyscore export-key {path}"
        if not path.is_file():
            raise KeyFileError(f"study key file {path} does not exist; {make}")
        if os.name == "posix":
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise KeyFileError(f"study key file {path} is readable or writable by other users (mode "
                                   f"{mode:04o}); restrict it with: chmod 600 {path}")
        try:
            text = path.read_text(encoding="ascii").strip()
        except (UnicodeDecodeError, OSError) as exc:
            raise KeyFileError(f"study key file {path} cannot be read as text ({type(exc).__name__}); "
                               f"a key file holds hexadecimal digits only; {make}") from None
        if not re.fullmatch(r"[0-9a-fA-F]+", text or "-") or len(text) % 2:
            raise KeyFileError(f"study key file {path} must hold one line of hexadecimal digits (an even "
                               f"number, at least {MIN_KEY_BITS // 4}); {make}")
        bits = len(text) * 4
        if bits < MIN_KEY_BITS:
            raise KeyFileError(f"study key file {path} holds a {bits}-bit key; at least {MIN_KEY_BITS} bits "
                               f"({MIN_KEY_BITS // 4} hexadecimal digits) are needed; {make}")
        return cls(bytes.fromhex(text))

    @property
    def fingerprint(self) -> str:
        """A short public tag of the key (HMAC of a constant), to check that two exports used one key."""
        return hmac.new(self._secret, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]

    def pseudonyms(self, patient_ids: Sequence[object]) -> np.ndarray:
        """HMAC-SHA256 pseudonyms (first 128 bits, hex) of internal patient ids, one per id.

        The id is taken as text (``17`` and ``"17"`` give the same pseudonym). One HMAC per patient.
        """
        keyed = hmac.new(self._secret, _PSEUDONYM_DOMAIN, hashlib.sha256)  # keyed once, copied per patient

        def one(patient: object) -> str:
            h = keyed.copy()
            h.update(str(patient).encode("utf-8"))
            return h.hexdigest()[:PSEUDONYM_HEX]

        out = np.array([one(p) for p in patient_ids], dtype=object)
        if len(set(out)) != len(out):  # pragma: no cover - 2**-128 per pair
            raise ExportError("two patients received the same pseudonym; report this as a bug")
        return out


def create_key_file(path: Path | str, *, bits: int = MIN_KEY_BITS) -> Path:
    """Create a new random study key file with mode 0600; refuse to overwrite an existing file.

    Keep the file outside the database and away from every export: whoever holds it can link pseudonyms
    of this study.

    >>> import tempfile, pathlib
    >>> p = create_key_file(pathlib.Path(tempfile.mkdtemp()) / "study.key")
    >>> oct(p.stat().st_mode & 0o777) if __import__("os").name == "posix" else "0o600"
    '0o600'
    """
    if bits < MIN_KEY_BITS or bits % 8:
        raise KeyFileError(f"a study key needs at least {MIN_KEY_BITS} bits, in whole bytes; not {bits}")
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; a study keeps its key: choose another file name") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(bits // 8) + "\n")
    if os.name == "posix":
        os.chmod(path, 0o600)  # in case the umask or the filesystem changed the mode
    return path


def random_surrogates(n: int) -> np.ndarray:
    """``n`` distinct random ids (16 hex digits each) from the OS CSPRNG, unrelated to any identifier."""
    ids = np.zeros(0, dtype="S16")
    while True:
        raw = secrets.token_bytes(SURROGATE_BYTES * n)
        ids = np.frombuffer(raw.hex().encode("ascii"), dtype=f"S{2 * SURROGATE_BYTES}")
        if len(np.unique(ids)) == n:
            break
    return ids.astype(str).astype(object)


def research_ids(patient_ids: Sequence[object], profile: Profile, key: StudyKey | None) -> np.ndarray:
    """One research id per (distinct) patient, in the order given."""
    if profile == "safe_harbor":
        return random_surrogates(len(patient_ids))
    if profile == "pseudonymised":
        if key is None:
            raise KeyFileError("the pseudonymised profile needs a study key file (--key-file FILE); "
                               "create one with: psyscore export-key FILE")
        return key.pseudonyms(patient_ids)
    raise ExportError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")


# --- demographics ---------------------------------------------------------------------------------------


def normalise_sex(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Map recorded sex to codes 1 female, 2 male, 3 other, 0 not recorded.

    Returns the codes and a mask of cells that are not a recognised value (the caller reports them by
    position; their content is never echoed).
    """
    return respondent_sex_codes(values)


@dataclass(frozen=True)
class AgeBands:
    """Age bands by lower edges; the last band is open ("90+") and starts at 90 or lower."""

    edges: tuple[int, ...] = DEFAULT_AGE_EDGES

    def __post_init__(self) -> None:
        e = self.edges
        if len(e) < 2 or any(b <= a for a, b in itertools.pairwise(e)) or e[0] < 0:
            raise ExportError(f"age band edges must be increasing whole numbers from 0 or more, not {list(e)}")
        if e[-1] > 90:
            raise ExportError(f"the top age band must start at 90 or lower (ages over 89 are reported as "
                              f"'90+' under HIPAA Safe Harbor); {e[-1]} would reveal ages above 89")

    @property
    def labels(self) -> tuple[str, ...]:
        e = self.edges
        return (*(f"{a}-{b - 1}" for a, b in itertools.pairwise(e)), f"{e[-1]}+")

    def codes(self, ages: np.ndarray) -> np.ndarray:
        """Band codes 1..n for ages (NaN → 0 = not recorded; below the first edge → 0 as well)."""
        ages = np.asarray(ages, dtype=float)
        known = ~np.isnan(ages) & (ages >= self.edges[0])
        idx = np.searchsorted(np.asarray(self.edges, dtype=float), np.where(known, ages, 0), side="right")
        return np.where(known, idx, 0).astype(np.int8)

    def value_labels(self) -> dict[int, str]:
        return {k + 1: label for k, label in enumerate(self.labels)}


# --- k-anonymity ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KAnonymity:
    """Outcome of the quasi-identifier gate (person level)."""

    k: int
    quasi_identifiers: tuple[str, ...]
    strategy: str
    patients_before: int
    patients_after: int
    k_achieved: int | None  # smallest class among the exported patients (None when nobody is exported)
    suppressed_values: dict[str, int]  # patients whose value of that quasi-identifier was withheld
    suppressed_patients: int  # patients removed with all their rows
    suppressed_rows: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "k": self.k,
            "quasi_identifiers": list(self.quasi_identifiers),
            "strategy": self.strategy,
            "k_achieved": self.k_achieved,
            "patients_before": self.patients_before,
            "patients_after": self.patients_after,
            "suppressed_values": dict(self.suppressed_values),
            "suppressed_patients": self.suppressed_patients,
            "suppressed_rows": self.suppressed_rows,
        }


def class_sizes(codes: np.ndarray) -> np.ndarray:
    """For each row of an (n, q) integer matrix, how many rows share its exact combination."""
    n, q = codes.shape
    group = np.zeros(n, dtype=np.int64)
    for j in range(q):
        col, uniques = pd.factorize(codes[:, j])
        group, _ = pd.factorize(group * len(uniques) + col)  # re-coded each step: never overflows
    return np.bincount(group, minlength=1)[group] if n else np.zeros(0, dtype=np.int64)


def k_anonymize(qi: dict[str, np.ndarray], n: int, k: int, strategy: str = "values"
                ) -> tuple[dict[str, np.ndarray], np.ndarray, KAnonymity]:
    """Enforce person-level k-anonymity over quasi-identifier codes.

    Parameters
    ----------
    qi
        Quasi-identifier name → integer code per patient (length ``n`` each; 0 = not recorded, which is a
        value of its own). The dict order is the suppression order: the first is withheld first.
    n
        Number of patients (with no quasi-identifiers, all ``n`` share one combination).
    k
        Every combination of quasi-identifier values must be shared by at least ``k`` patients. A withheld
        value (:data:`SUPPRESSED`) counts as a value of its own, so the check is conservative.
    strategy
        ``"values"`` (local suppression): patients in a combination shared by fewer than ``k`` have their
        quasi-identifiers withheld one at a time in ``qi`` order, re-checking after each; patients still in
        a combination shared by fewer than ``k`` after all are withheld are removed. ``"records"``:
        patients in a combination shared by fewer than ``k`` are removed at once.

    Returns
    -------
    codes, keep, report
        The quasi-identifier codes after suppression, a boolean mask of patients kept, and the report.
    """
    if k < 1:
        raise ExportError(f"k must be at least 1, not {k}")
    if strategy not in ("values", "records"):
        raise ExportError(f"unknown suppression strategy {strategy!r}; use 'values' or 'records'")
    names = list(qi)
    if any(len(v) != n for v in qi.values()):
        raise ValueError("every quasi-identifier needs one code per patient")
    matrix = np.column_stack([np.asarray(qi[q], dtype=np.int64) for q in names]) if names else np.zeros((n, 0))
    if strategy == "values":
        for j in range(len(names)):
            small = class_sizes(matrix) < k
            if not small.any():
                break
            hit = small & (matrix[:, j] != SUPPRESSED)
            matrix[hit, j] = SUPPRESSED
    sizes = class_sizes(matrix)
    keep = sizes >= k
    kept_sizes = class_sizes(matrix[keep])
    report = KAnonymity(
        k=k, quasi_identifiers=tuple(names), strategy=strategy, patients_before=n, patients_after=int(keep.sum()),
        k_achieved=int(kept_sizes.min()) if len(kept_sizes) else None,
        suppressed_values={q: int(((matrix[:, j] == SUPPRESSED) & keep).sum()) for j, q in enumerate(names)},
        suppressed_patients=int((~keep).sum()),
    )
    return {q: matrix[:, j].astype(np.int64) for j, q in enumerate(names)}, keep, report


# --- text safety ----------------------------------------------------------------------------------------


def neutralise_series(values: pd.Series) -> pd.Series:
    """:func:`neutralise` on every text cell of a column (vectorized; categoricals by category)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = pd.Series(values.cat.categories, dtype=object)
        cat_is_text = cats.map(lambda c: isinstance(c, str)).to_numpy(dtype=bool)
        risky = cat_is_text & cats.where(cat_is_text, "").astype(str).str.startswith(FORMULA_START).to_numpy(dtype=bool)
        if not risky.any():
            return values
        fixed = cats.copy()
        fixed[risky] = "'" + cats[risky].astype(str)
        return values.cat.rename_categories(list(fixed))
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        return values
    obj = values.astype(object)
    is_text = obj.map(lambda v: isinstance(v, str)) if values.dtype == object else values.notna()
    text = obj.where(is_text, "").astype(str)
    risky = text.str.startswith(FORMULA_START).to_numpy(dtype=bool) & is_text.to_numpy(dtype=bool)
    if not risky.any():
        return values
    out = obj.copy()
    out[risky] = "'" + text[risky]
    return out.astype(values.dtype) if values.dtype != object else out


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot start a spreadsheet formula."""
    out = {}
    for col in frame.columns:
        out[col] = neutralise_series(frame[col])
    return pd.DataFrame(out, index=frame.index)

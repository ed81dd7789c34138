"""Discovery and loading of instrument definitions: bundled, configured and ad-hoc folders.

``load_library()`` finds the definitions shipped with psyscore (from a source checkout, an editable
install or a wheel alike) plus any folders named in :class:`Settings` (environment variable
``PSYSCORE_INSTRUMENTS_PATH``, folders separated by ``os.pathsep``), validates every file in two passes
and returns a :class:`Library`. An invalid file never enters the library; ``Library.report`` says why.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from scoring.definitions import rules
from scoring.definitions.issues import issue_text
from scoring.definitions.loading import SourceDoc, read_yaml_file, to_model
from scoring.definitions.plan import Plan, compile_plan
from scoring.definitions.schema import FrozenDict, Instrument
from scoring.errors import Issue, PsyscoreError, UnknownInstrumentError, ValidationReport

ENV_INSTRUMENTS = "PSYSCORE_INSTRUMENTS_PATH"
ENV_NORMS = "PSYSCORE_NORMS_PATH"
#: a deployment's choices of cut-points within published ranges: ``pcl5.total.probable_ptsd=32`` (comma-separated)
ENV_CUTOFFS = "PSYSCORE_CUTOFFS"


class CutoffChoiceError(PsyscoreError, ValueError):
    """A chosen cut-point names no cut-off with a published range, or lies outside that range."""


def parse_cutoff_choices(text: str, *, where: str = ENV_CUTOFFS) -> dict[str, dict[str, float]]:
    """``"pcl5.total.probable_ptsd=32, …"`` → ``{"pcl5": {"total.probable_ptsd": 32.0}}``.

    >>> parse_cutoff_choices("pcl5.total.probable_ptsd=32")
    {'pcl5': {'total.probable_ptsd': 32.0}}
    """
    out: dict[str, dict[str, float]] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, value = entry.partition("=")
        parts = name.strip().split(".")
        if not sep or len(parts) != 3 or not all(parts):
            raise CutoffChoiceError(
                f"{where}: {entry!r} is not INSTRUMENT.SCALE.CUTOFF=VALUE — e.g. pcl5.total.probable_ptsd=32")
        try:
            number = float(value.strip())
        except ValueError:
            raise CutoffChoiceError(f"{where}: {entry!r}: the value {value.strip()!r} is not a number") from None
        key = f"{parts[1]}.{parts[2]}"
        if key in out.get(parts[0], {}):
            raise CutoffChoiceError(f"{where}: {name.strip()!r} is chosen twice; give it once")
        out.setdefault(parts[0], {})[key] = number
    return out
DEFINITION_SUFFIXES = (".yaml", ".yml")


def bundled_dir(kind: str) -> Path:
    """Folder of a bundled resource (``instruments`` or ``norms``) for a checkout or a wheel."""
    package = Path(__file__).resolve().parent.parent  # scoring/
    in_wheel = package / "_bundled" / kind
    if in_wheel.is_dir():
        return in_wheel
    return package.parent / kind


@dataclass(frozen=True)
class Settings:
    """Where definitions and norms are looked for. Build with :meth:`from_env` or explicitly."""

    instrument_dirs: tuple[Path, ...] = ()
    norm_dirs: tuple[Path, ...] = ()
    include_bundled: bool = True
    #: the deployment's cut-points within published ranges, by instrument: {"pcl5": {"total.probable_ptsd": 32}}
    #: (environment variable ``PSYSCORE_CUTOFFS``: ``pcl5.total.probable_ptsd=32``, comma-separated)
    cutoffs: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: FrozenDict())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment; a malformed ``PSYSCORE_CUTOFFS`` raises :class:`CutoffChoiceError`."""
        env = os.environ if environ is None else environ

        def split(name: str) -> tuple[Path, ...]:
            return tuple(Path(p) for p in env.get(name, "").split(os.pathsep) if p.strip())

        choices = parse_cutoff_choices(env.get(ENV_CUTOFFS, ""))
        return cls(instrument_dirs=split(ENV_INSTRUMENTS), norm_dirs=split(ENV_NORMS),
                   cutoffs=FrozenDict({k: FrozenDict(v) for k, v in choices.items()}))

    @property
    def all_instrument_dirs(self) -> tuple[Path, ...]:
        bundled = (bundled_dir("instruments"),) if self.include_bundled else ()
        return bundled + self.instrument_dirs

    @property
    def all_norm_dirs(self) -> tuple[Path, ...]:
        bundled = (bundled_dir("norms"),) if self.include_bundled else ()
        return bundled + self.norm_dirs


def content_hash(instrument: Instrument) -> str:
    """SHA-256 of the definition's canonical JSON: formatting and comments do not change it.

    >>> lib = load_library()
    >>> len(content_hash(lib["phq9"].instrument))
    64
    """
    canonical = json.dumps(instrument.model_dump(mode="json"), sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclass(frozen=True)
class Definition:
    """A validated instrument definition with where it came from and its content hash.

    ``instrument`` is the parsed, validated YAML (:class:`~scoring.definitions.schema.Instrument`); it was
    called ``definition`` before, which still works for one release with a ``DeprecationWarning``.
    """

    instrument: Instrument
    path: Path | None = None
    #: cut-points chosen within published ranges, ``"<scale>.<cutoff id>"`` → value (see :meth:`with_cutoffs`);
    #: empty: every cut-off at the definition's own value. The content hash does not depend on it.
    cutoff_choices: FrozenDict[str, float] = field(default_factory=lambda: FrozenDict())

    def with_cutoffs(self, choices: Mapping[str, float]) -> Definition:
        """This definition with cut-points chosen within their published ranges (a deployment's choice).

        ``choices`` maps ``"<scale>.<cutoff id>"`` to the value, e.g. ``{"total.probable_ptsd": 31}`` for the
        PCL-5 (published range 31-33). Every score column ``<scale>_<cutoff>_value`` then shows the value used,
        and the store records it with each result. Raises :class:`CutoffChoiceError` (naming the cut-off, the
        value and the range) for a cut-off without a published range or a value outside it.

        >>> lib = load_library()
        >>> lib["pcl5"].with_cutoffs({"total.probable_ptsd": 31}).plan.scales[0].cutoffs[0].value
        31.0
        """
        chosen = dict(self.cutoff_choices)
        for key, raw in choices.items():
            value = float(raw)
            scale_id, _, cutoff_id = key.partition(".")
            scale = next((s for s in self.instrument.scales if s.id == scale_id), None)
            cut = None if scale is None else next((c for c in scale.cutoffs if c.id == cutoff_id), None)
            name = f"{self.id}.{key}"
            if cut is None:
                ranged = [f"{s.id}.{c.id}" for s in self.instrument.scales for c in s.cutoffs if c.range is not None]
                raise CutoffChoiceError(
                    f"{name}: {self.id} {self.version} has no cut-off {key!r} — cut-offs with a published range: "
                    f"{', '.join(ranged) or 'none'}")
            if cut.range is None:
                raise CutoffChoiceError(
                    f"{name}: the cut-off is a single published value ({cut.value:g}), not a range; it cannot be "
                    "chosen — remove it from the choices")
            lo, hi = (float(cut.range[0]), float(cut.range[1]))
            if not (value == value and lo <= value <= hi):  # NaN fails too
                raise CutoffChoiceError(
                    f"{name}={value:g} is outside the published range {lo:g}-{hi:g}; choose a value within it")
            chosen[key] = value
        return Definition(self.instrument, self.path, FrozenDict(chosen))

    @property
    def cutoff_values(self) -> dict[str, float]:
        """Every cut-off with a published range and the value in effect: ``{"total.probable_ptsd": 33.0}``."""
        return {f"{s.id}.{c.id}": float(self.cutoff_choices.get(f"{s.id}.{c.id}", c.value))
                for s in self.instrument.scales for c in s.cutoffs if c.range is not None}

    @property
    def definition(self) -> Instrument:
        """Deprecated: the old name of :attr:`instrument` (``lib["phq9"].definition`` read oddly)."""
        warnings.warn("Definition.definition is deprecated: use Definition.instrument", DeprecationWarning,
                      stacklevel=2)
        return self.instrument

    @property
    def id(self) -> str:
        return self.instrument.id

    @property
    def version(self) -> str:
        return self.instrument.version

    @cached_property
    def hash(self) -> str:
        return content_hash(self.instrument)

    @cached_property
    def plan(self) -> Plan:
        return compile_plan(self)

    def __repr__(self) -> str:
        return f"<Definition {self.id} {self.version} {self.hash[:12]}>"


def load_definition(path: Path | str, *, rule_set: Sequence[rules.Rule] | None = None
                    ) -> tuple[Definition | None, list[Issue]]:
    """Read and validate one file (both passes). Returns the definition (None on any error) and issues.

    ``rule_set`` replaces :data:`scoring.definitions.rules.RULES` (the second pass) when given.
    """
    path = Path(path)
    doc, issues = read_yaml_file(path)
    if doc is None:
        return None, issues
    return definition_from_doc(doc, issues, path, rule_set=rule_set)


#: top-level keys of a norm-table metadata file (norms/<id>.yaml) that no instrument definition has
NORM_FILE_KEYS = ("instrument", "strata", "method", "population")


def looks_like_norm_file(data: object) -> bool:
    """Whether parsed YAML is a norm table's metadata rather than an instrument definition (by its keys)."""
    return (isinstance(data, Mapping) and "items" not in data
            and sum(key in data for key in NORM_FILE_KEYS) >= 2)


def definition_from_doc(doc: SourceDoc, issues: list[Issue], path: Path | None = None, *,
                        rule_set: Sequence[rules.Rule] | None = None) -> tuple[Definition | None, list[Issue]]:
    if looks_like_norm_file(doc.data):  # one clear issue instead of a dozen unknown keys
        code, message, hint = issue_text("E106.norm_file", keys=", ".join(k for k in NORM_FILE_KEYS if k in doc.data),
                                         file=doc.file)
        return None, [*issues, Issue(code, message, doc.file, doc.line_of(()), "", hint)]
    model, shape_issues = to_model(Instrument, doc)
    issues = issues + shape_issues
    if model is None:
        return None, issues
    issues += rules.check(model, doc, rule_set)  # a rule that raises becomes an E900 issue
    if any(i.severity == "error" for i in issues):
        return None, issues
    return Definition(model, path), issues


def iter_definition_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Definition files in the given files or folders (folders searched recursively, sorted)."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if child.suffix in DEFINITION_SUFFIXES and child.is_file() and not _ignored(child, p):
                    yield child
        else:
            yield p


def _ignored(child: Path, root: Path) -> bool:
    rel = child.relative_to(root)
    return any(part.startswith((".", "_")) for part in rel.parts[:-1]) or child.name.startswith(".")


@dataclass
class Library(Mapping[str, Definition]):
    """Validated definitions by id (latest version) and by (id, version).

    >>> lib = load_library()
    >>> lib["phq9"].id, "gad7" in lib
    ('phq9', True)
    """

    definitions: dict[tuple[str, str], Definition] = field(default_factory=dict)
    report: ValidationReport = field(default_factory=ValidationReport)

    def __getitem__(self, instrument_id: str) -> Definition:
        return self.get_version(instrument_id)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({k[0] for k in self.definitions}))

    def __len__(self) -> int:
        return len({k[0] for k in self.definitions})

    def versions(self, instrument_id: str) -> list[str]:
        return sorted((v for i, v in self.definitions if i == instrument_id), key=_version_key)

    def get_version(self, instrument_id: str, version: str | None = None) -> Definition:
        """The definition of ``instrument_id`` at ``version`` (latest when None)."""
        versions = self.versions(instrument_id)
        if not versions:
            raise UnknownInstrumentError(instrument_id, self)
        if version is None:
            version = versions[-1]
        try:
            return self.definitions[(instrument_id, version)]
        except KeyError:
            raise UnknownInstrumentError(instrument_id, self, version, versions) from None

    def by_hash(self, digest: str) -> Definition | None:
        return next((d for d in self.definitions.values() if d.hash == digest), None)

    def add(self, definition: Definition) -> Issue | None:
        key = (definition.id, definition.version)
        existing = self.definitions.get(key)
        if existing is not None and existing.hash != definition.hash:
            return Issue(
                "E223",
                f"{definition.id} {definition.version} is already defined in {existing.path} with different "
                "content",
                str(definition.path) if definition.path else None,
                None,
                "version",
                "a changed definition needs a new version number",
            )
        self.definitions[key] = definition
        return None


def load_library(
    paths: Sequence[Path | str] | None = None, settings: Settings | None = None, *,
    rule_set: Sequence[rules.Rule] | None = None,
) -> Library:
    """Load and validate definitions.

    Parameters
    ----------
    paths
        Files or folders to load instead of the configured ones.
    settings
        Where to look; defaults to :meth:`Settings.from_env` (bundled plus ``PSYSCORE_INSTRUMENTS_PATH``).
    rule_set
        The second-pass rules to run instead of :data:`scoring.definitions.rules.RULES` (e.g. with a
        clinic's extra rules). A rule that raises is reported as an ``E900`` issue of that file; the other
        rules and files are still checked.

    Returns
    -------
    Library
        Valid definitions; invalid files are left out and described in ``library.report``.
    """
    if paths is None:
        settings = settings or Settings.from_env()
        paths = [d for d in settings.all_instrument_dirs if d.is_dir()]
    lib = Library()
    for file in iter_definition_files(paths):
        definition, issues = load_definition(file, rule_set=rule_set)
        lib.report.extend(issues)
        if definition is not None:
            clash = lib.add(definition)
            if clash:
                lib.report.extend([clash])
    if settings is not None and settings.cutoffs:
        lib.report.extend(_apply_cutoff_choices(lib, settings.cutoffs))
    return lib


def _apply_cutoff_choices(lib: Library, cutoffs: Mapping[str, Mapping[str, float]]) -> list[Issue]:
    """Put a deployment's cut-point choices into every version that has those cut-offs.

    A version whose cut-off has no published range, or whose range does not hold the value, leaves the
    library (an error issue says why): scoring it at another cut-point than the deployment asked for would be
    silently wrong. A choice that no version of the instrument has is an error too (a typo).
    """
    issues = []
    for instrument_id, choices in cutoffs.items():
        keys = [k for k in lib.definitions if k[0] == instrument_id]
        for key in choices:
            if not any(_has_cutoff(lib.definitions[k], key) for k in keys):
                issues.append(Issue("E230", f"{ENV_CUTOFFS}: {instrument_id}.{key} names no cut-off of any loaded "
                                    f"version of {instrument_id!r}", None, None, "",
                                    "use INSTRUMENT.SCALE.CUTOFF as in psyscore show ID"))
        chosen: dict[tuple[str, str], Definition] = {}
        refused = []
        for k in keys:
            d = lib.definitions[k]
            mine = {key: v for key, v in choices.items() if _has_cutoff(d, key)}
            try:
                chosen[k] = d.with_cutoffs(mine) if mine else d
            except CutoffChoiceError as exc:
                refused.append(Issue("E230", f"{ENV_CUTOFFS}: {exc}; no version of {d.id!r} is loaded",
                                     str(d.path) if d.path else None, None, "", "fix or remove the choice"))
        if refused:  # every version leaves: an older one must not stand in for the version refused
            for k in keys:
                del lib.definitions[k]
            issues += refused
        else:
            lib.definitions.update(chosen)
    return issues


def _has_cutoff(definition: Definition, key: str) -> bool:
    scale_id, _, cutoff_id = key.partition(".")
    return any(s.id == scale_id and any(c.id == cutoff_id for c in s.cutoffs) for s in definition.instrument.scales)


def validate(paths: Sequence[Path | str] | None = None) -> ValidationReport:
    """Validate definition files (or the configured library); the report lists every issue."""
    return load_library(paths).report

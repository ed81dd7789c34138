"""Research export: de-identified outcome data with a codebook and a manifest.

The export reads an **allowlist** of columns (:mod:`scoring.export.source` documents the contract) and
writes only: a research id (random per export under ``safe_harbor``; an HMAC-SHA256 pseudonym under a study
key under ``pseudonymised``), the year of each administration or (opt-in) days since the patient's first
one, banded demographics (sex; age band with 90+), instrument id and version, item answers and scores
(score, band, validity, proration, items answered, cut-offs, flags). Person-level k-anonymity over the
declared quasi-identifiers is enforced by suppression and reported in the manifest.

>>> import pandas as pd, tempfile, scoring.export as ex
>>> adm = pd.DataFrame({"patient_id": [f"p{i % 6}" for i in range(12)],
...                     "date": [f"2024-0{1 + i // 6}-1{i % 6}" for i in range(12)],
...                     "instrument": "gad2", "gad2_1": [i % 4 for i in range(12)], "gad2_2": 1,
...                     "email": "someone@example.org"})
>>> res = ex.export(ex.ExportData(adm), tempfile.mkdtemp(), profile="safe_harbor", formats=["csv"])
>>> res.manifest["counts"]["administrations_exported"], res.manifest["k_anonymity"]["k_achieved"]
(12, 6)
>>> "email" in res.data.columns, sorted(p.name for p in res.paths)
(False, ['codebook.csv', 'codebook.md', 'data.csv', 'manifest.json'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from scoring.definitions.library import Library, load_library
from scoring.export.anonymizer import (
    DEFAULT_AGE_EDGES,
    MIN_KEY_BITS,
    PROFILES,
    QUASI_IDENTIFIERS,
    SUPPRESSED,
    AgeBands,
    ExportError,
    KAnonymity,
    KeyFileError,
    StudyKey,
    create_key_file,
    neutralise,
)
from scoring.export.codebook import Variable, codebook_frame, codebook_markdown
from scoring.export.manifest import MANIFEST_NAME, file_entries, manifest_core, verify, write_manifest
from scoring.export.source import CONTRACT_COLUMNS, ExportData, normalise, read_input
from scoring.export.store_source import StoreSource
from scoring.export.table import DATE_MODES, LAYOUTS, PROFILE_DATE_MODES, ExportOptions, build_table
from scoring.export.writers import DIR_MODE, FORMATS, write_codebook, write_data

__all__ = [
    "CONTRACT_COLUMNS",
    "DATE_MODES",
    "DEFAULT_AGE_EDGES",
    "FORMATS",
    "LAYOUTS",
    "MANIFEST_NAME",
    "MIN_KEY_BITS",
    "PROFILES",
    "PROFILE_DATE_MODES",
    "QUASI_IDENTIFIERS",
    "SUPPRESSED",
    "AgeBands",
    "ExportData",
    "ExportError",
    "ExportOptions",
    "ExportResult",
    "KAnonymity",
    "KeyFileError",
    "PreparedExport",
    "StoreSource",
    "StudyKey",
    "Variable",
    "as_export_data",
    "create_key_file",
    "export",
    "neutralise",
    "prepare_export",
    "read_input",
    "verify",
    "write_export",
]

Source = ExportData | StoreSource | pd.DataFrame | str | Path


@dataclass
class PreparedExport:
    """A de-identified table ready to write (preview it before writing)."""

    data: pd.DataFrame
    variables: list[Variable]
    codebook: pd.DataFrame
    manifest: dict[str, object]  # without "files": those are added by :func:`write_export`
    dropped_columns: list[str]  # input columns not on the allowlist (names only; their values never left)
    definitions: list
    audit_filters: dict[str, object] | None = None  # filters asked and applied, for the store's audit log


@dataclass
class ExportResult:
    """What :func:`export` wrote: the paths (data files, codebook, manifest last) and the manifest."""

    paths: list[Path]
    manifest: dict[str, object]
    data: pd.DataFrame
    dropped_columns: list[str]
    audit_filters: dict[str, object] | None = None  # filters asked and applied (see PreparedExport)

    @property
    def manifest_path(self) -> Path:
        return self.paths[-1]


def as_export_data(source: Source, *, instruments: Sequence[str] | None = None, date_from: date | None = None,
                   date_to: date | None = None) -> ExportData:
    """The input contract from a source: :class:`ExportData`, a DataFrame of administrations, a CSV/XLSX
    path, or any object with an ``export_data(instruments=, date_from=, date_to=)`` method returning
    :class:`ExportData` (such as :class:`StoreSource`; the filters let it read less, and are applied again
    afterwards)."""
    if isinstance(source, ExportData):
        return source
    if isinstance(source, pd.DataFrame):
        return ExportData(source)
    if isinstance(source, (str, Path)):
        return read_input(source)
    accessor = getattr(source, "export_data", None)
    if callable(accessor):
        data = accessor(instruments=instruments, date_from=date_from, date_to=date_to)
        if not isinstance(data, ExportData):
            raise ExportError(f"{type(source).__name__}.export_data() must return ExportData")
        return data
    raise ExportError(f"cannot export from a {type(source).__name__}; give ExportData, a DataFrame or a file path")


def _key(key: StudyKey | str | Path | None) -> StudyKey | None:
    if key is None or isinstance(key, StudyKey):
        return key
    return StudyKey.from_file(key)


def prepare_export(
    source: Source,
    *,
    profile: str,
    key: StudyKey | str | Path | None = None,
    instruments: Sequence[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    layout: str = "long",
    dates: str = "year",
    demographics: Sequence[str] = ("sex", "age_band"),
    k: int = 5,
    quasi_identifiers: Sequence[str] = ("year", "age_band", "sex"),
    suppression: str = "values",
    age_bands: Sequence[int] = DEFAULT_AGE_EDGES,
    library: Library | None = None,
) -> PreparedExport:
    """De-identify, score and lay out the source; nothing is written.

    Parameters
    ----------
    source
        :class:`ExportData`, a DataFrame of administrations, a CSV/XLSX path, :class:`StoreSource` (the clinic
        store through ``clinic.research``) or any object with ``export_data(instruments=, date_from=,
        date_to=)`` returning :class:`ExportData` (see :mod:`scoring.export.source` for the columns).
    profile
        ``"safe_harbor"`` or ``"pseudonymised"`` (which needs ``key``).
    key
        The study key (:class:`StudyKey` or the path of its key file), for ``pseudonymised``.
    instruments, date_from, date_to, layout, dates, demographics, k, quasi_identifiers, suppression, age_bands
        See :class:`ExportOptions`. Date filters are widened to whole years (what both profiles release of
        a date); the manifest's ``filters`` give the range applied, ``audit_filters`` also the range asked.
    library
        Definitions to score with (default: :func:`scoring.load_library`).

    Returns
    -------
    PreparedExport
        The table, its variables, the codebook and the manifest (without file hashes).

    Raises
    ------
    ExportError
        Bad options or input (the message names the column and rows, never a value), or a refused key.
    """
    options = ExportOptions(
        profile=profile, instruments=tuple(instruments) if instruments else None, date_from=date_from,
        date_to=date_to, layout=layout, dates=dates, demographics=tuple(demographics), k=k,
        quasi_identifiers=tuple(quasi_identifiers), suppression=suppression, age_bands=tuple(age_bands),
    )
    options.check()
    study_key = _key(key)
    if profile == "pseudonymised" and study_key is None:
        raise KeyFileError("the pseudonymised profile needs a study key file (--key-file FILE); create one with: "
                           "psyscore export-key FILE")
    if profile == "safe_harbor" and study_key is not None:
        raise ExportError("safe_harbor research ids are random and use no key; drop the key or choose "
                          "the pseudonymised profile")
    lib = library if library is not None else load_library()
    start, end = options.effective_range()  # whole released periods only: see ExportOptions.date_from
    data = as_export_data(source, instruments=options.instruments, date_from=start, date_to=end)
    norm = normalise(data, lib, instruments=options.instruments, date_from=start, date_to=end)
    built = build_table(norm, options, study_key)
    settings: dict[str, object] = {
        "profile": profile,
        "filters": options.filters(),
        "layout": layout,
        "dates": dates,
        "demographics": [v.name for v in built.variables if v.kind == "demographic"],
        "age_bands": list(AgeBands(tuple(age_bands)).labels),
    }
    manifest = manifest_core(options=settings, built=built,
                             key_fingerprint=study_key.fingerprint if study_key else None, rows_in=norm.rows_in,
                             filtered_out=norm.filtered_out, dropped_columns=len(norm.dropped_columns))
    return PreparedExport(built.data, built.variables, codebook_frame(built.variables), manifest,
                          list(norm.dropped_columns), built.definitions, options.audit_filters())


def write_export(prepared: PreparedExport, out_dir: str | Path, formats: str | Sequence[str] = ("csv",)
                 ) -> ExportResult:
    """Write a prepared export into a new or empty folder: data file(s), ``codebook.csv``, ``codebook.md``
    and ``manifest.json`` (SHA-256 of every other file).

    Every file gets mode 0600 (owner only) and a folder the export creates mode 0700; an existing empty
    folder keeps its mode."""
    fmts = [formats] if isinstance(formats, str) else list(dict.fromkeys(formats))
    if not fmts:
        raise ExportError("choose at least one format: " + ", ".join(FORMATS))
    for f in fmts:
        if f not in FORMATS:
            raise ExportError(f"unknown format {f!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} is not an empty folder; write each export to a new folder so that its "
                          "manifest covers every file in it")
    if not out.exists():
        out.mkdir(parents=True, mode=DIR_MODE)
        os.chmod(out, DIR_MODE)  # mkdir's mode is masked by the umask
    manifest = dict(prepared.manifest)
    manifest["formats"] = fmts
    summary = {k: manifest[k] for k in ("profile", "layout", "dates", "filters", "engine")}
    k_anonymity = prepared.manifest["k_anonymity"]
    if not isinstance(k_anonymity, dict):
        raise TypeError("prepared.manifest['k_anonymity'] must be the dict prepare_export made")
    summary["k_anonymity"] = dict(k_anonymity)
    paths = [write_data(f, prepared.data, prepared.variables, prepared.codebook, out,
                        metadata={**summary, "instruments": manifest["instruments"]}) for f in fmts]
    md = codebook_markdown(prepared.codebook, prepared.definitions,
                           {"profile": manifest["profile"], "layout": manifest["layout"],
                            "dates": manifest["dates"], "filters": manifest["filters"],
                            "k": prepared.manifest["k_anonymity"]["k"],  # type: ignore[index]
                            "engine": f"psyscore {manifest['engine']['version']}"})  # type: ignore[index]
    paths += write_codebook(prepared.codebook, md, out)
    manifest["files"] = file_entries(paths, out)
    paths.append(write_manifest(manifest, out))
    return ExportResult(paths, manifest, prepared.data, prepared.dropped_columns, prepared.audit_filters)


def export(source: Source, out_dir: str | Path, *, profile: str, formats: str | Sequence[str] = ("csv",),
           **options: object) -> ExportResult:
    """Prepare and write an export in one call (the options of :func:`prepare_export`).

    Returns
    -------
    ExportResult
        ``paths`` (data files, codebook, then the manifest), ``manifest`` (a dict), ``data`` (the table).
    """
    prepared = prepare_export(source, profile=profile, **options)  # type: ignore[arg-type]
    return write_export(prepared, out_dir, formats)

"""The export manifest: what was exported, how, and the SHA-256 of every file written.

It never holds the study key (only its public fingerprint), an identifier, a date of an administration or
a dropped column's name.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from scoring._version import __version__
from scoring.export.writers import make_private, private_file, sha256_file

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


def manifest_core(*, options: dict[str, object], built, key_fingerprint: str | None,
                  rows_in: int, filtered_out: int, dropped_columns: int) -> dict[str, object]:
    """Everything but the files (known once they are written)."""
    instruments = []
    for d in built.definitions:
        instruments.append({"id": d.id, "version": d.version, "hash": d.hash,
                            "administrations": built.administrations.get((d.id, d.version), 0)})
    return {
        "manifest_version": MANIFEST_VERSION,
        "created_utc": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "engine": {"name": "psyscore", "version": __version__},
        **options,
        "study_key_fingerprint": key_fingerprint,
        "instruments": instruments,
        "norms": [],  # no norm-referenced scores are exported yet
        "counts": {
            "input_rows": rows_in,
            "rows_outside_filters": filtered_out,
            "input_columns_dropped": dropped_columns,
            "administrations_exported": built.rows,
            "patients_exported": built.patients,
            "rows_written": len(built.data),
            "variables": len(built.variables),
            "invalid_answer_cells": dict(sorted(built.invalid_cells.items())),
        },
        "k_anonymity": built.kanon.to_dict(),
    }


def file_entries(paths: list[Path], out_dir: Path) -> dict[str, dict[str, object]]:
    return {p.relative_to(out_dir).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in paths}


def write_manifest(manifest: dict[str, object], out_dir: Path) -> Path:
    path = private_file(out_dir / MANIFEST_NAME)
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return make_private(path)


def verify(out_dir: Path | str) -> list[str]:
    """Files whose SHA-256 differs from the manifest (an empty list: everything matches)."""
    out_dir = Path(out_dir)
    manifest = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    bad = []
    for name, entry in manifest["files"].items():
        path = out_dir / name
        if not path.is_file() or sha256_file(path) != entry["sha256"]:
            bad.append(name)
    return bad

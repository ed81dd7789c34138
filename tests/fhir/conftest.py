"""FHIR tests: need the optional extra ``psyscore[fhir]`` (in the dev extra). Without it they skip with the
reason, except under ``CI=true``, where they fail (CI installs the dev extra, so a skip would hide a break)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import fhir.resources  # noqa: F401
        import fhirpathpy  # noqa: F401
    except ImportError as exc:
        reason = f"FHIR tests need pip install 'psyscore[fhir]' ({exc.name} missing)"
        if os.environ.get("CI") == "true":
            raise pytest.UsageError(f"{reason} (CI=true: FHIR tests must run)") from exc
        here = os.path.dirname(__file__)
        for item in items:
            if str(item.fspath).startswith(here):
                item.add_marker(pytest.mark.skip(reason=reason))

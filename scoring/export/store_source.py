"""Feed the export from the clinic store through its research accessor (never the identifier table).

:class:`StoreSource` wraps :class:`scoring.store.ResearchSource` (``clinic.research``), which reads only
``patients`` (internal id, sex, year of birth), ``administrations`` (with the age in whole years at the
administration), ``answers``, ``scores`` and ``definitions``; every read is audited by the store. The
source maps its columns onto the export's input contract and hands over the definitions each
administration was given under (pinned by the store), so that older versions are scored as they were.

This module imports nothing from :mod:`scoring.store`: it only calls the accessor it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd

from scoring.export.anonymizer import ExportError
from scoring.export.source import DATE, INSTRUMENT, PATIENT, VERSION, ExportData

#: store column -> export contract column (everything else the accessor returns is not read)
STORE_COLUMNS = {"patient_id": PATIENT, "completed_at": DATE, "instrument_id": INSTRUMENT,
                 "instrument_version": VERSION, "age_years": "age", "sex": "sex", "birth_year": "birth_year"}


class StoreSource:
    """The clinic store as an export source.

    Parameters
    ----------
    research
        The store's research accessor, ``clinic.research`` (:class:`scoring.store.ResearchSource`).
    actor
        Who exports (a signed-in admin or researcher, or the system actor of the command line); the store
        checks the role and audits each read.
    purpose
        Recorded in the store's audit log with each read.

    Examples
    --------
    >>> # clinic = scoring.store.Clinic(store); me = clinic.users.authenticate(...)
    >>> # scoring.export.export(StoreSource(clinic.research, me.actor), "out", profile="safe_harbor")
    """

    def __init__(self, research: Any, actor: Any, *, purpose: str = "research export") -> None:
        self.research = research
        self.actor = actor
        self.purpose = purpose

    def export_data(self, *, instruments: Sequence[str] | None = None, date_from: date | None = None,
                    date_to: date | None = None) -> ExportData:
        """Completed administrations in the export contract's columns, with their pinned definitions.

        Dates are the completion dates in UTC; ``date_to`` is inclusive.
        """
        available = self.research.instruments(self.actor)
        wanted = None if instruments is None else set(instruments)
        ids = list(dict.fromkeys(c.instrument_id for c in available
                                 if wanted is None or c.instrument_id in wanted))
        start = datetime.combine(date_from, time(0), tzinfo=UTC) if date_from else None
        end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=UTC) if date_to else None
        frames, definitions = [], {}
        for iid in ids:
            frame = self.research.administrations(self.actor, iid, completed_from=start, completed_to=end,
                                                  purpose=self.purpose)
            if frame.empty:
                continue
            pairs = frame[["instrument_version", "instrument_hash"]].drop_duplicates()
            for version, digest in pairs.itertuples(index=False):
                d = self.research.definition(self.actor, iid, version)
                if d.hash != digest:
                    raise ExportError(f"the store's {iid} {version} administrations carry a different content "
                                      "hash than its pinned definition; run the store's rescore check")
                definitions[(iid, version)] = d
            item_ids = [it.id for d in definitions.values() if d.id == iid for it in d.instrument.items]
            keep = [c for c in STORE_COLUMNS if c in frame.columns]
            items = [c for c in dict.fromkeys(item_ids) if c in frame.columns]
            frames.append(frame[keep + items].rename(columns=STORE_COLUMNS))
        if not frames:
            empty = pd.DataFrame({c: pd.Series(dtype=object) for c in (PATIENT, DATE, INSTRUMENT, VERSION)})
            return ExportData(empty, definitions=definitions)
        return ExportData(pd.concat(frames, ignore_index=True), definitions=definitions)

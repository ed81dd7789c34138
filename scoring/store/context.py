"""What every service of a :class:`~scoring.store.Clinic` shares (explicit, per clinic; no module state)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from argon2 import PasswordHasher

from scoring.definitions.library import Library
from scoring.store.db import Store
from scoring.store.definitions import PinnedDefinitions
from scoring.store.security import RedeemPolicy


@dataclass(frozen=True)
class AlertNotice:
    """Sent to ``Clinic(on_alert=…)`` after an alert is committed: ids only, no identifiers or answers."""

    alert_id: int
    patient_id: int
    administration_id: int
    item_id: str
    raised_at: datetime


@dataclass
class Context:
    store: Store
    library: Library
    hasher: PasswordHasher
    policy: RedeemPolicy = field(default_factory=RedeemPolicy)
    on_alert: Callable[[AlertNotice], None] | None = None
    pinned: PinnedDefinitions = field(default_factory=PinnedDefinitions)

    def notify(self, notices: list[AlertNotice]) -> None:
        if self.on_alert is not None:
            for notice in notices:
                self.on_alert(notice)

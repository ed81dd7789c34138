"""Shared, cached resources: the instrument library, the norm tables and one :class:`~scoring.store.Clinic`
per database URL.

These are the only things cached (with this process's outbox delivery thread, :func:`notifier`): they hold
no user or patient data (a clinic keeps its engine and the
pinned definitions; every call takes the acting user). Nothing user-specific may be added here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

import scoring
from scoring.store import Clinic, Store

if TYPE_CHECKING:
    from scoring.notify import Notifier


@st.cache_resource(show_spinner=False)
def library() -> scoring.Library:
    """The bundled and configured instrument definitions (the same for everyone)."""
    return scoring.load_library()


@st.cache_resource(show_spinner=False)
def norms() -> scoring.NormLibrary:
    """The bundled and configured norm tables (the same for everyone)."""
    return scoring.load_norms()


@st.cache_resource(show_spinner=False)
def clinic(database_url: str) -> Clinic:
    """The clinic services over the store at ``database_url`` (engine pool shared by all sessions).

    A raised alert wakes this process's delivery thread, so its notices leave at once.
    """
    return Clinic(Store(database_url), library(),
                  on_alert=lambda _notice: getattr(notifier(database_url), "wake", lambda: None)())


@st.cache_resource(show_spinner=False)
def notifier(database_url: str) -> Notifier | None:
    """This server process's delivery thread for the outbox (started once; None when no channel is set up
    in the environment or ``PSYSCORE_NOTIFY_IN_APP=0``). Holds no user data."""
    from scoring.notify import Notifier, NotifySettings

    cfg = NotifySettings.from_env()
    if not cfg.in_app or not cfg.channels:
        return None
    worker = Notifier(clinic(database_url), cfg, name="app")
    worker.start()
    return worker

"""Shared, cached resources: the instrument library, the norm tables and one :class:`~scoring.store.Clinic`
per database URL.

These are the only things cached: they hold no user or patient data (a clinic keeps its engine and the
pinned definitions; every call takes the acting user). Nothing user-specific may be added here.
"""

from __future__ import annotations

import streamlit as st

import scoring
from scoring.store import Clinic, Store


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
    """The clinic services over the store at ``database_url`` (engine pool shared by all sessions)."""
    return Clinic(Store(database_url), library())

"""Kiosk look and words: large touch targets (CSS injected on kiosk pages only), interface text from the
message catalogue of each language (``scoring/messages/<code>.json``). The code keypad and the tap guard
are in :mod:`ui.kiosk_input`."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from scoring import messages

#: Minimum height of every touch target on the kiosk, in CSS pixels (WCAG 2.5.5 asks for 44; we use 56).
TOUCH_TARGET_PX = 56


def t(key: str, language: str | None = "en", **values: object) -> str:
    """Patient-facing text in ``language`` from its message catalogue (``scoring/messages``; English when the
    language is not shipped)."""
    return messages.message(key, language, **values)


def shipped(language: str | None) -> bool:
    """True when the tablet's own words exist in ``language``."""
    return messages.resolve_language(language) == (language or "").split("-")[0].lower()


def language_name(code: str) -> str:
    """A language named in itself (the same on every screen, whatever the tablet's language)."""
    return messages.ENDONYMS.get(code, code)


def direction(language: str | None) -> Literal["rtl", "ltr"]:
    """``rtl`` for a language written right to left (Arabic, Persian, Hebrew, Urdu), else ``ltr``."""
    return "rtl" if messages.is_rtl(language) else "ltr"


def direction_css(language: str | None) -> str:
    """The style that lays the kiosk's main area out in the direction of ``language``: text, answer buttons,
    the Back/Next pair and the progress bar run from the right in a right-to-left language. The code keypad
    keeps the telephone order of its digits (its own style says ``ltr``)."""
    d = direction(language)
    # Streamlit's bar is a full-width fill shifted left by the part not done: mirrored, it fills from the right
    mirror = ('[data-testid="stMain"] [data-testid="stProgressBarTrack"] { transform: scaleX(-1); } '
              if d == "rtl" else "")
    return (f'<style>[data-testid="stMain"] {{ direction: {d}; }} '
            f'[data-testid="stMain"] .psy-item, [data-testid="stMain"] .psy-progress, '
            f'[data-testid="stMain"] .psy-support {{ text-align: start; }} {mirror}</style>')


def inject_direction(language: str | None) -> None:
    """Lay the screen being drawn out in the direction of ``language`` (each kiosk screen calls this)."""
    st.html(direction_css(language))


KIOSK_CSS = f"""
<style>
/* psyscore kiosk: large touch targets, no Streamlit chrome, no horizontal scrolling */
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stSidebar"],
[data-testid="stSidebarCollapsedControl"], [data-testid="stDecoration"], footer {{ display: none !important; }}
[data-testid="stMainBlockContainer"], .block-container {{
  max-width: 760px; padding: 1.25rem 1rem 3rem 1rem; box-sizing: border-box; }}
[data-testid="stMain"] p, [data-testid="stMain"] li {{ font-size: 1.2rem; line-height: 1.5; }}
.stButton button, [data-testid="stBaseButton-primary"], [data-testid="stBaseButton-secondary"] {{
  min-height: {TOUCH_TARGET_PX}px; width: 100%; padding: 0.6rem 1rem; border-radius: 0.75rem;
  white-space: normal; overflow-wrap: anywhere; }}
.stButton button p {{ font-size: 1.25rem; }}
[data-testid="stSelectbox"] div[data-baseweb="select"] > div {{ min-height: {TOUCH_TARGET_PX}px; font-size: 1.15rem; }}
[data-testid="stCheckbox"] label {{ min-height: {TOUCH_TARGET_PX}px; align-items: center; }}
.psy-item {{ font-size: 1.55rem; font-weight: 600; line-height: 1.35; margin: 0.5rem 0 1rem 0;
  overflow-wrap: anywhere; }}
.psy-progress {{ font-size: 1.05rem; color: #444; margin-bottom: 0.25rem; }}
.psy-code {{ font-size: 2.6rem; letter-spacing: 0.3rem; text-align: center; font-variant-numeric: tabular-nums;
  padding: 0.5rem; border: 2px solid #888; border-radius: 0.75rem; margin: 0.5rem 0 1rem 0; min-height: 4rem; }}
.psy-support {{ font-size: 1.3rem; line-height: 1.5; padding: 1rem; border-radius: 0.75rem;
  background: #eef5ff; border: 2px solid #0072B2; }}
img, svg, canvas {{ max-width: 100%; }}
</style>
"""


def inject_css() -> None:
    """Kiosk styling (only the kiosk page calls this; staff pages keep Streamlit's defaults)."""
    st.html(KIOSK_CSS)

"""Kiosk look and words: large touch targets (CSS injected on kiosk pages only), interface text in the
languages the definitions are translated into, the code keypad."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

#: Minimum height of every touch target on the kiosk, in CSS pixels (WCAG 2.5.5 asks for 44; we use 56).
TOUCH_TARGET_PX = 56

LANGUAGE_NAMES = {"en": "English", "es": "Español", "de": "Deutsch", "fr": "Français", "it": "Italiano",
                  "pt": "Português", "nl": "Nederlands", "pl": "Polski", "tr": "Türkçe"}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "code_title": "Welcome",
        "code_help": "Please enter the code you were given.",
        "start": "Start",
        "clear": "Clear",
        "delete": "⌫ Delete",
        "invalid": "This code is not valid. Please check it or ask the staff at the desk for a new one.",
        "too_many": "Too many wrong codes. Please wait a few minutes or ask the staff at the desk.",
        "ended": "Your session has ended. Please ask the staff at the desk if you need a new code.",
        "idle": "Your session was closed because the tablet was not used for a while. Your answers are saved.",
        "instructions": "Before you start",
        "consent": "Consent",
        "agree": "I agree — start",
        "begin": "Start the questionnaires",
        "language": "Language",
        "questionnaire": "Questionnaire {j} of {m}",
        "question": "Question {k} of {n}",
        "back": "◀ Back",
        "next": "Next ▶",
        "skip": "Skip this question",
        "answered_all": "You have answered every question of this questionnaire.",
        "change_hint": "You can go back to change an answer, or continue.",
        "continue": "Continue ▶",
        "support_title": "Thank you for telling us",
        "thanks_title": "Thank you!",
        "thanks": "You have finished. Your answers have been saved. Please hand the tablet back to the staff.",
        "finish": "Finish",
        "one_page": "Show all questions on one page",
        "one_item": "Show one question at a time",
        "saved": "Saved",
        "staff": "Staff sign-in",
    },
    "es": {
        "code_title": "Bienvenido/a",
        "code_help": "Escriba el código que le dieron.",
        "start": "Empezar",
        "clear": "Borrar todo",
        "delete": "⌫ Borrar",
        "invalid": "Este código no es válido. Compruébelo o pida uno nuevo en recepción.",
        "too_many": "Demasiados códigos incorrectos. Espere unos minutos o pregunte en recepción.",
        "ended": "Su sesión ha terminado. Pida un código nuevo en recepción si lo necesita.",
        "idle": "Su sesión se cerró porque la tableta no se usó durante un rato. Sus respuestas están guardadas.",
        "instructions": "Antes de empezar",
        "consent": "Consentimiento",
        "agree": "Acepto — empezar",
        "begin": "Empezar los cuestionarios",
        "language": "Idioma",
        "questionnaire": "Cuestionario {j} de {m}",
        "question": "Pregunta {k} de {n}",
        "back": "◀ Atrás",
        "next": "Siguiente ▶",
        "skip": "Saltar esta pregunta",
        "answered_all": "Ha contestado todas las preguntas de este cuestionario.",
        "change_hint": "Puede volver atrás para cambiar una respuesta, o continuar.",
        "continue": "Continuar ▶",
        "support_title": "Gracias por decírnoslo",
        "thanks_title": "¡Gracias!",
        "thanks": "Ha terminado. Sus respuestas se han guardado. Por favor, devuelva la tableta al personal.",
        "finish": "Terminar",
        "one_page": "Mostrar todas las preguntas en una página",
        "one_item": "Mostrar una pregunta cada vez",
        "saved": "Guardado",
        "staff": "Acceso del personal",
    },
}


def t(key: str, language: str | None = "en", **values: object) -> str:
    """Interface text in ``language`` (English when there is no translation)."""
    table = TEXT.get((language or "en").split("-")[0], TEXT["en"])
    return table.get(key, TEXT["en"][key]).format(**values)


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


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


def keypad(digits: str, on_key: Callable[[str], None], *, max_digits: int, language: str = "en") -> None:
    """A 3 × 4 numeric keypad of large buttons (1–9, clear, 0, delete); ``on_key`` gets the key pressed."""
    shown = digits + "_" * (max_digits - len(digits))
    grouped = " ".join(shown[i:i + 4] for i in range(0, len(shown), 4))
    st.html(f'<div class="psy-code" data-testid="psy-code" aria-live="polite">{grouped}</div>')
    rows = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("clear", "0", "delete"))
    for row in rows:
        cols = st.columns(3, gap="small")
        for col, key in zip(cols, row, strict=True):
            label = t(key, language) if key in ("clear", "delete") else key
            col.button(label, key=f"w_key_{key}", on_click=on_key, args=(key,), width="stretch",
                       disabled=key.isdigit() and len(digits) >= max_digits)

"""Driving the app with AppTest: sign in, type a kiosk code, answer, read what the page shows."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from .conftest import APP, PASSWORD

TIMEOUT = 60


def new_app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def page_text(at: AppTest) -> str:
    """Everything the page shows as text (titles, markdown, captions, HTML, alerts, buttons, tables)."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error",
                 "text", "code", "metric"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")))
    parts += [str(el.proto) for el in at.get("html") if "<style>" not in str(el.proto)]  # not the kiosk CSS
    parts += [b.label for b in at.button]
    for df in at.dataframe:
        parts.append(df.value.to_string())
    return "\n".join(parts)


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[0]


def sign_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    at.run()
    at.switch_page("app_pages/login.py").run()
    at.text_input(key="w_login_user").input(username)
    at.text_input[1].input(password)
    return button(at, "Sign in").click().run()


def type_code(at: AppTest, code: str) -> AppTest:
    """Tap a code on the kiosk keypad and Start. The keypad collects digits in the browser and sends the whole
    code as its ``submit`` trigger; AppTest cannot tap a component, so this sends that trigger itself."""
    import json

    from streamlit.components.v2.bidi_component.main import _make_trigger_id
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    keypad = next(el for el in at.get("bidi_component") if el.key == "w_code")
    states = at._tree.get_widget_states()
    trigger = WidgetState()
    trigger.id = _make_trigger_id(keypad.proto.id, "events")
    trigger.json_trigger_value = json.dumps([{"event": "submit", "value": code.replace(" ", "")}])
    states.widgets.append(trigger)
    return at._run(states)


def option_buttons(at: AppTest) -> list:
    return [b for b in at.button if b.key and b.key.startswith("w_opt_")]


def progress(at: AppTest) -> str:
    return next((str(el.proto) for el in at.get("html") if "psy-progress" in str(el.proto)), "")


def open_patient(at: AppTest, patient_id: int) -> AppTest:
    """Choose a patient on the caseload (the app switches page itself; AppTest is told to stay there)."""
    at.selectbox(key="w_patient_choice").select(patient_id)
    button(at, "Open patient").click().run()
    return at.switch_page("app_pages/patient.py").run()

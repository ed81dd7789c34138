"""psyscore web app entry point: one page list per role with ``st.navigation``; nothing else.

A page that is not in the session's list cannot run (there is no ``pages/`` folder), and every page checks
the role again itself. Patients on the tablet get the kiosk only; staff get their role's pages.
"""

import streamlit as st

from ui import resources, state, widgets


def page(name: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(f"app_pages/{name}.py", title=title, icon=icon, url_path=name, default=default)


mode = state.nav_mode()
if mode == "therapist":
    pages = {"Clinic": [page("caseload", "Caseload", "👥", default=True), page("patient", "Patient", "📈")],
             "Account": [page("account", "My account", "⚙️")]}
elif mode == "admin":  # the practice's patients (all of them: the store lets admins reach every patient)
    pages = {"Practice": [page("caseload", "Patients", "👥"), page("patient", "Patient", "📈")],
             "Administration": [page("users", "Users", "🧑‍💼", default=True), page("batteries", "Batteries", "🗂️"),
                                page("instruments", "Instruments", "📚"),
                                page("kiosk_settings", "Tablet support message", "🆘"),
                                page("export", "Research export", "📦"),
                                page("audit", "Audit log", "🧾")],
             "Account": [page("account", "My account", "⚙️")]}
elif mode == "researcher":
    pages = {"Research": [page("export", "Research export", "📦", default=True)],
             "Account": [page("account", "My account", "⚙️")]}
elif mode == "kiosk":  # a patient's session on the tablet: nothing else is reachable
    pages = {"": [page("kiosk", "Check in", "📝", default=True)]}
elif mode == "signed_out":  # this browser signed a staff member out: the sign-in page first
    pages = {"": [page("login", "Staff sign-in", "🔑", default=True), page("kiosk", "Check in", "📝")]}
else:  # a tablet or a browser nobody signed in on: the code screen first
    pages = {"": [page("kiosk", "Check in", "📝", default=True), page("login", "Staff sign-in", "🔑")]}

staff = mode in ("therapist", "admin", "researcher")
st.set_page_config(page_title="psyscore", page_icon="🧮", layout="wide" if staff else "centered",
                   initial_sidebar_state="auto" if staff else "collapsed")
current = st.navigation(pages, position="sidebar" if staff else "hidden")
me = state.staff()
if me is not None and mode in ("therapist", "admin"):  # open alerts on every staff page, polled without a reload
    widgets.alert_banner(state.clinic(), me.actor, caseload_link=True)
resources.notifier(state.settings().database_url)  # the outbox delivery thread, once per server process
state.cookie_script()  # after sign-in/out: the browser swaps the one-time token for the HttpOnly cookie
current.run()

"""Staff sign-in: Argon2id check and lockout by the store; the session lives in ``st.session_state`` only."""

from __future__ import annotations

import streamlit as st

from scoring.store import AuthenticationError
from ui import state

if state.kiosk() is not None:  # a patient's tablet session: no staff sign-in here
    st.error("Finish or leave the patient session first.")
    st.stop()

st.title("Staff sign-in")
state.show_flash()
with st.form("w_login", clear_on_submit=True):  # the password does not stay in the session
    username = st.text_input("User name", key="w_login_user", autocomplete="username")
    password = st.text_input("Password", type="password", autocomplete="current-password")
    submitted = st.form_submit_button("Sign in", type="primary")
if submitted:
    try:
        info = state.clinic().users.authenticate(username, password)
    except AuthenticationError:  # one answer for an unknown name, a wrong password, a disabled or locked account
        st.error("Wrong user name or password, or the account is disabled or locked after too many failed "
                 "sign-ins (then ask an admin, or try again later).")
    else:
        state.sign_in(info.id, info.username, info.role)
        st.rerun()
st.caption("Patients: use the check-in screen with the code you were given.")
st.page_link("app_pages/kiosk.py", label="Check in with a code", icon="📝")

"""Every staff member: change your own password, sign out."""

from __future__ import annotations

import streamlit as st

from scoring.store import AuthenticationError, StoreError
from ui import state

me = state.require_staff("admin", "therapist", "researcher")
clinic = state.clinic()

st.title("My account")
st.markdown(f"Signed in as **{me.username}** ({me.role}).")
state.show_flash()
with st.form("w_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password")
    new = st.text_input("New password (at least 10 characters)", type="password")
    again = st.text_input("New password again", type="password")
    if st.form_submit_button("Change password", type="primary"):
        if new != again:
            st.error("The new passwords differ.")
        else:
            try:
                clinic.users.authenticate(me.username, current)
                clinic.users.set_password(me.actor, me.user_id, new)
            except AuthenticationError:
                st.error("The current password is wrong.")
            except StoreError as exc:
                st.error(str(exc))
            else:
                st.success("Password changed.")
if st.button("Sign out", key="w_account_sign_out"):
    state.sign_out("You are signed out.")
    st.rerun()

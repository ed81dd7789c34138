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
            else:  # every session of this account ends, this one too
                state.sign_out("Password changed: please sign in again with the new password.", revoke=False)
                st.rerun()
st.subheader("Alert notices")
st.caption("Where psyscore tells you that an alert needs your attention. The message holds no patient "
           "information: only that an alert is waiting, and a link to sign in.")
contact = clinic.notifications.contact(me.actor, me.user_id)
with st.form("w_contact"):
    email = st.text_input("E-mail address", value=contact.email or "", key="w_contact_email")
    hook = st.text_input("Webhook (Teams, Slack or an EHR bridge; optional)", value=contact.webhook_url or "",
                         key="w_contact_webhook")
    if st.form_submit_button("Save"):
        try:
            clinic.notifications.set_contact(me.actor, me.user_id, email=email.strip() or None,
                                             webhook_url=hook.strip() or None, clear_email=not email.strip(),
                                             clear_webhook=not hook.strip())
        except StoreError as exc:
            st.error(str(exc))
        else:
            st.success("Saved.")
if st.button("Sign out", key="w_account_sign_out"):
    state.sign_out("You are signed out.")
    st.rerun()

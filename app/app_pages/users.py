"""Admin: staff accounts — add, disable or enable, reset a password (Argon2id hashes in the store)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from scoring.store import StoreError
from ui import state, widgets

me = state.require_staff("admin")
clinic = state.clinic()

st.title("Users")
state.show_flash()
users = clinic.users.list(me.actor)
st.dataframe(pd.DataFrame({
    "User": [u.username for u in users], "Role": [u.role for u in users],
    "Status": ["disabled" if u.disabled else "locked" if u.locked_until else "active" for u in users],
    "Last sign-in": [widgets.when(u.last_login_at) for u in users],
}), hide_index=True, width="stretch")

left, right = st.columns(2)
with left, st.form("w_user_add", clear_on_submit=True):
    st.subheader("Add a user")
    name = st.text_input("User name", key="w_user_name")
    role = st.selectbox("Role", ("therapist", "researcher", "admin"), key="w_user_role")
    password = st.text_input("Initial password (at least 10 characters)", type="password")
    if st.form_submit_button("Add user", type="primary"):
        try:
            clinic.users.add(me.actor, name, role, password)
        except StoreError as exc:
            st.error(str(exc))
        else:
            state.flash(f"User {name.strip()} added.", "success")
            st.rerun()

with right:
    st.subheader("Change a user")
    by_name = {u.username: u for u in users}
    who = st.selectbox("User", list(by_name), key="w_user_pick")
    target = by_name[who]
    if target.id == me.user_id:
        st.caption("This is you: change your own password on “My account”.")
    elif target.disabled:
        if st.button("Enable", key="w_user_enable"):
            clinic.users.enable(me.actor, target.id)
            state.flash(f"{who} enabled.", "success")
            st.rerun()
    elif st.button("Disable (ends their access at once)", key="w_user_disable"):
        clinic.users.disable(me.actor, target.id)
        state.flash(f"{who} disabled.", "success")
        st.rerun()
    with st.form("w_user_contact"):
        current = clinic.notifications.contact(me.actor, target.id)
        email = st.text_input("E-mail for alert notices", value=current.email or "", key=f"w_user_email_{target.id}")
        if st.form_submit_button("Save e-mail"):
            try:
                clinic.notifications.set_contact(me.actor, target.id, email=email.strip() or None,
                                                 clear_email=not email.strip())
            except StoreError as exc:
                st.error(str(exc))
            else:
                state.flash(f"E-mail of {who} saved.", "success")
                st.rerun()
    with st.form("w_user_reset", clear_on_submit=True):
        new = st.text_input("New password for the selected user", type="password")
        if st.form_submit_button("Reset password"):
            try:
                clinic.users.set_password(me.actor, target.id, new)
            except StoreError as exc:
                st.error(str(exc))
            else:
                state.flash(f"Password of {who} reset (and any lockout cleared).", "success")
                st.rerun()

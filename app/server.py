"""What ``psyscore app`` serves: the Streamlit app (``streamlit_app.py``) plus the staff-session cookie
routes (:mod:`ui.session_routes`) on the same server, through Streamlit's supported ``st.App`` hook."""

import streamlit as st

from ui.session_routes import routes

app = st.App("streamlit_app.py", routes=routes())

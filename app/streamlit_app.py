"""psyscore web app entry point (placeholder until the app issue lands): lists the instrument library."""

import streamlit as st

import scoring


@st.cache_resource
def library() -> scoring.Library:
    # the bundled library is the same for every user: safe to share
    return scoring.load_library()


st.set_page_config(page_title="psyscore", page_icon="🧮", layout="wide")
st.title("psyscore")
st.caption("Open psychometric instrument library and scoring engine.")
lib = library()
rows = [
    {
        "id": d.id,
        "name": d.definition.name,
        "version": d.version,
        "items": len(d.definition.items),
        "licence": d.definition.licence.redistribution,
    }
    for d in (lib[i] for i in lib)
]
st.dataframe(rows, hide_index=True, use_container_width=True)

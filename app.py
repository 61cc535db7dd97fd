"""Streamlit app: move levers, see Jinan's trajectories and targets. Only calls the ``simulator`` library."""

from __future__ import annotations

import streamlit as st

from simulator.ui.page import render

st.set_page_config(
    page_title="济南“十四五”情景模拟 / Jinan 14th-FYP simulator", page_icon="📈", layout="wide"
)
render()

"""Streamlit app: move levers, see Jinan's trajectories. It only calls the ``simulator`` library."""

from __future__ import annotations

import streamlit as st

import simulator
from simulator.ui.page import render

st.set_page_config(page_title="济南“十四五”情景模拟 / Jinan 14th-FYP simulator", layout="wide")
render(st, simulator)

"""Streamlit app (``streamlit run app.py``): the page lives in ``faces.app``."""
from faces.app.page import main

main()

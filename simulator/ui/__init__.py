"""The Streamlit user interface: page layout and widgets. Calls the library, draws what it returns."""

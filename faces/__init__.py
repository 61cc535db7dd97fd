"""The two faces of the library: the command line (``faces.cli``) and the Streamlit app (``faces.app``).

Faces call only the public API (``import simulator``, ``import calibration``); they are the only place
that knows command-line flags and widgets, and they word the library's errors for their users.
"""

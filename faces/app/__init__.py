"""The Streamlit user interface: page layout, widgets and charts. Calls the library, draws what it returns.

Modules
-------
page
    The whole page: settings from the URL, headline numbers, sidebar and the tabs (only the open tab runs).
    What depends on the levers is a fragment (headline, open tab, the sidebar's levers): a lever move
    reruns those alone (``settings.rerun_lever_parts``), not the title, tab bar or the rest of the sidebar.
settings, scenario_files
    The user's settings (language, scenario, lever edits, view) in session state and in the URL; the
    settings as a scenario TOML (download) and an uploaded scenario (validated upload).
data
    Cached calls into :mod:`simulator` (model, scenarios, runs, target tables), by parameter set; the
    parsed model is also kept on disk between server starts.
sidebar
    Language switch, scenario picker, levers by sector, reset, download and upload.
vega, vega_bars, charting
    Vega-Lite specs drawn in the browser (fast to redraw); PNG downloads use the library's figures.
tab_targets, tab_trajectories, tab_compare, tab_montecarlo (+ montecarlo_views), tab_sensitivity,
tab_decision (+ decision_wedges, decision_discovery), tab_calibration, tab_model
    One module per tab; each has ``render(lang)``.
sweep, structure, graph_view, calibration_data
    Small adapters for what the library does not offer yet (lever tornado, equation text and loops,
    DOT graphs, the calibration report at the calibrated values).
text, format, tables, export
    Words in Chinese and English, number formats, tables (an em dash for no value), download bytes.
bands
    The trajectories' uncertainty bands, computed by a worker thread and drawn when ready.
"""

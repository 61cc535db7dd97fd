"""matplotlib figures for reports and downloads (Chinese and English labels, CJK fonts).

Modules
-------
charts
    Trajectories with history points and target markers, target feasibility, scenario comparison.
ensembles
    Fan charts, probability bars, peak-year histograms, tornado and Sobol bars.
decisions
    Wedge (attribution) and peeling (discovery) charts.
fonts
    Finds a CJK font and applies it to every figure.
"""

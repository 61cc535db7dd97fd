"""Calibration of the Jinan model on 2015–2020 history: observations, weighted least squares, the Bayesian
posterior, fit reports and backtests. Imports :mod:`simulator`; the library never imports it.

Modules
-------
observations
    Load and validate ``calibration/data/observations.csv``; predicted values and residuals of each kind.
fit
    The fitted parameters, the objective, multi-start ``least_squares`` or ``differential_evolution``,
    standard errors and correlations from the Jacobian, and ``calibrated.toml``.
report
    Fit statistics per series (MAPE, RMSPE, Theil's U^M, U^S, U^C) and history-vs-simulation plots.
posterior
    Bayesian calibration: emcee's ensemble sampler (vectorised over the fast engine), diagnostics,
    ``posterior.parquet`` and :func:`calibration.posterior.draw` (joint draws for ensembles).
sampler
    emcee's ensemble sampler with vectorised calls; burn-in, thinning, autocorrelation time, R-hat, ESS.
map_point
    Whether ``calibrated.toml``'s point is the posterior's maximum a posteriori point (the header's check).
posterior_report
    Posterior summary, posterior-predictive check (zh/en figures), ``jinan-sd calibrate --posterior``.
sbc
    Simulation-based calibration of the sampler.
backtest
    Fit on 2015-2018, forecast 2019-2020, against a naive trend.

The ``jinan-sd calibrate`` command lives in :mod:`faces.cli.calibrate`.
"""

from pathlib import Path

#: Folder of this package; ``calibrated.toml`` and ``data/observations.csv`` live under it.
PACKAGE_DIR = Path(__file__).resolve().parent
#: Default observations file.
OBSERVATIONS_PATH = PACKAGE_DIR / "data" / "observations.csv"
#: Default output of ``jinan-sd calibrate`` (read by :func:`simulator.calibration_overrides`).
CALIBRATED_PATH = PACKAGE_DIR / "calibrated.toml"
#: The committed posterior sample (``jinan-sd calibrate --posterior``), beside ``calibrated.toml``.
POSTERIOR_PATH = PACKAGE_DIR / "posterior.parquet"

# Defaults the ``jinan-sd calibrate`` and ``validate`` parsers show in --help. They are here, in the package's
# light module, so that building the CLI's parser imports neither calibration.fit (scipy.optimize, ~0.4 s)
# nor calibration.validate (scipy.stats, ~0.5 s) for a command that uses neither; those two modules import
# them from here (one definition).
#: Seed of ``jinan-sd calibrate`` when none is given (the first year of the 14th FYP); used by calibration.fit.
DEFAULT_SEED = 2021
#: Starts of the multi-start search (the model's defaults plus this many minus one); used by calibration.fit.
DEFAULT_STARTS = 8
#: Fitting methods of ``jinan-sd calibrate``; used by calibration.fit.
METHODS = ("multistart", "global")
#: Backtest origins (last fitted years) of ``jinan-sd validate``; used by calibration.validate.
ORIGINS = (2017, 2018)
#: emcee walkers, steps per origin and forecast runs of ``jinan-sd validate``; used by calibration.validate.
DEFAULT_WALKERS, DEFAULT_STEPS, DEFAULT_RUNS = 80, 50000, 2000

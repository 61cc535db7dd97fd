"""Analyses over many runs, each running the model through :func:`simulator.runner.run_batch` /
:func:`~simulator.runner.run_overrides` (so each takes the same executor).

Modules
-------
levers
    The one :class:`Lever` type: a model input with a range, as sampling, goal seeking and sweeps move it.
uncertainty
    The uncertain inputs of ``scenarios/uncertainty.toml`` and their seeded samples (LHS, Sobol, random).
ensemble, distributed
    Monte Carlo ensembles with target probabilities and bands; chunks on a Dask cluster.
sensitivity
    Sobol indices and tornado swings of the uncertain inputs.
goalseek, optimize, answer
    The smallest lever change that meets chosen targets (for certain or with probability), its solver, and
    the answer as a scenario file.
attribution
    Shapley wedges of the gap between two scenarios.
discovery
    PRIM boxes and CART trees: the conditions under which a target is missed.
"""

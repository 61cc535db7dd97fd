"""The plan's targets: the registry (``models/targets.toml``), their evaluation on runs, and tables.

Modules
-------
registry
    :class:`Target`, the tests a target may use, loading and validation of the targets file.
evaluation
    Met/missed/not assessed with margins for one run or N runs, peak years.
probability
    Over an ensemble: per-run outcomes and probabilities with Wilson intervals (both from one pass).
assess
    Readable target tables, key indicators at key years, comparisons between scenarios.
history
    2015-2020 observations as chart points.
"""

from simulator.targets.evaluation import evaluate, peak_years
from simulator.targets.probability import outcomes_and_probabilities, probabilities, run_outcomes, wilson_interval
from simulator.targets.registry import (
    ALL_YEARS_TESTS,
    BASE_YEAR_TESTS,
    CHANGE_TESTS,
    EVALUATE_COLUMNS,
    KINDS,
    LEVEL_TESTS,
    MODELLED,
    NO_PEAK,
    NOT_YET_PEAKED,
    PROBABILITY_COLUMNS,
    STATUSES,
    TESTS,
    Target,
    TargetError,
    check_indicator_mapping,
    default_targets_path,
    load_targets,
)

__all__ = [
    "ALL_YEARS_TESTS", "BASE_YEAR_TESTS", "CHANGE_TESTS", "EVALUATE_COLUMNS", "KINDS", "LEVEL_TESTS", "MODELLED",
    "NOT_YET_PEAKED", "NO_PEAK", "PROBABILITY_COLUMNS", "STATUSES", "TESTS", "Target", "TargetError",
    "check_indicator_mapping", "default_targets_path", "evaluate", "load_targets", "outcomes_and_probabilities",
    "peak_years", "probabilities",
    "run_outcomes", "wilson_interval",
]

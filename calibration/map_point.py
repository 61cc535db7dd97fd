"""Is ``calibrated.toml``'s point the maximum a posteriori (MAP) point of the posterior? The check and the polish.

The least-squares objective of :class:`calibration.fit.Problem` is ``-2 log p(theta | data) + const`` of the
posterior :mod:`calibration.posterior` samples: the same data residuals (:meth:`Problem.residuals`), the same
Gaussian prior terms (truncation to the range only changes the normalising constant), the same bounds (the
unit box; the sampler's density is ``-inf`` outside it). So the optimum is the MAP point by construction,
provided the optimiser found the global optimum. :func:`check_against_posterior` tests that proviso against
a sample of exactly that density: the optimum must be at least as probable as every draw, and the best
draw's stored log-posterior must be what the problem computes for it now (same density, numerically).
:func:`calibration.posterior.polish_from` runs one least-squares search from a sampled point, for the case
a draw beats the optimum.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from simulator.errors import UserError

from . import POSTERIOR_PATH

#: The log-posterior column of a posterior file (calibration.posterior.LOG_POSTERIOR; not imported from
#: there, since calibration.fit, which calibration.posterior imports, writes this module's check).
LOG_POSTERIOR = "log_posterior"

# Tolerance of "the stored log-posterior of a draw is what the problem computes now" [log-density units]:
# the engine is deterministic and both backends are bitwise equal, so only float formatting could differ.
_RECOMPUTE_TOL = 1e-8


def _same_density(problem, info: dict) -> str:
    """Empty if the posterior ``info`` was sampled from ``problem``'s density, else the first difference."""
    if info.get("model_sha256") != problem.model.sha256:
        return "it was sampled on another version of the model"
    if info.get("observations_sha256") != problem.observations.sha256:
        return "it was sampled on other observations"
    theirs = [(p["id"], float(p["default"]), float(p["min"]), float(p["max"])) for p in info.get("parameters", [])]
    ours = [(p.id, float(p.default), float(p.low), float(p.high)) for p in problem.parameters]
    if theirs != ours:
        return "its parameters, defaults or ranges differ"
    if f"sd = {problem.prior_width:g} x range" not in str(info.get("prior", "")):
        return "its prior width differs"
    return ""


def check_against_posterior(result, posterior=None, raw: bytes | None = None) -> dict:
    """Header lines and ``[calibration]`` entries saying whether ``result``'s point is the posterior's MAP.

    Parameters
    ----------
    result : calibration.fit.FitResult
        The point to check (``theta`` as written, rounded; ``objective`` evaluated there).
    posterior : path, optional
        The posterior sample file (default the packaged ``calibration/posterior.parquet``).
    raw : bytes, optional
        Its bytes, when they are not (yet) in the file.

    Returns
    -------
    dict
        ``{"header": str, "entries": dict}``; when there is no sample of the same density the entries say
        why and the header says the point was not checked.
    """
    from simulator.analysis.uncertainty import read_posterior_file

    problem = result.problem
    if posterior is None:
        posterior = POSTERIOR_PATH
    path = Path(posterior)
    if raw is None:
        if not path.is_file():
            return _unchecked(_label(path), "no posterior sample")
        raw = path.read_bytes()
    label = _label(path)
    try:
        frame, info = read_posterior_file(path, raw)
    except UserError as error:
        return _unchecked(label, str(error))
    why = _same_density(problem, info)
    if why:
        return _unchecked(label, why)
    names = [p.id for p in problem.parameters]
    lp = frame[LOG_POSTERIOR].to_numpy()
    best = int(np.argmax(lp))
    theta_best = frame[names].to_numpy()[best]
    recomputed = float(-0.5 * problem.objective(problem.unit(theta_best)[None, :])[0])
    optimum = -0.5 * result.objective
    same = abs(recomputed - lp[best]) <= _RECOMPUTE_TOL * max(1.0, abs(lp[best]))
    is_map = bool(same and optimum >= lp[best])
    entries = {
        "map_point": bool(is_map),
        "map_posterior": label,
        "map_posterior_sha256": hashlib.sha256(raw).hexdigest(),
        "map_optimum_log_posterior": _r(optimum),
        "map_best_draw_log_posterior": _r(float(lp[best])),
        "map_best_draw_recomputed": _r(recomputed),
        "map_draws": len(frame),
    }
    if is_map:
        header = (
            f"# value: the MAXIMUM A POSTERIORI point of the posterior sampled in {label}:\n"
            "# the objective is -2 x its log-density + a constant (same likelihood, priors and bounds), and the\n"
            f"# optimum's log-posterior ({optimum:.4f}) is above the best of the sample's {len(frame)} draws\n"
            f"# ({lp[best]:.4f}; recomputed for this model and these observations: the same). See map_* under\n"
            "# [calibration].\n")
    elif not same:
        header = (f"# value: the least-squares optimum; NOT checked as the MAP point: the best draw of {label}\n"
                  f"# has log-posterior {lp[best]:.6f} in the file but {recomputed:.6f} now (not the same density).\n")
    else:
        header = (f"# value: the least-squares optimum, which is NOT the MAP point: a draw of {label} is more\n"
                  f"# probable ({lp[best]:.4f} vs {optimum:.4f}); `jinan-sd calibrate --posterior` polishes from it.\n")
    return {"header": header, "entries": entries}


def _label(path: Path) -> str:
    return "calibration/posterior.parquet" if path.resolve() == POSTERIOR_PATH.resolve() else path.name


def _unchecked(label: str, why: str) -> dict:
    return {
        "header": ("# value: the least-squares optimum, the MAP point of the calibration posterior by construction\n"
                   f"# (same likelihood, priors, bounds); not checked against a sample: {label}: {why}.\n"),
        "entries": {"map_point": "not checked", "map_posterior": label, "map_check": why},
    }


def _r(x: float) -> float:
    return float(f"{x:.10g}")

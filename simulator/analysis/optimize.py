"""The small batched optimisers behind goal seeking: a trust-region search that evaluates every
candidate step as one batch of fast-engine runs, for "least change" and "max-min margin" problems."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog, minimize

SAFETY = 1e-6  # normalised margin aimed for, so rounding the written values cannot undo a met target
FD_STEP = 1e-4  # forward-difference step [fraction of the lever's range]
T_CAP = 0.05  # the max-min phase stops improving once every target has 5 % to spare

STEPS = np.array([1.0, 0.5, 0.25, 0.1])  # step lengths tried along each search direction, in one batch
PENALTY = 1e4  # weight of a unit of normalised target shortfall against the squared change


def _evaluate(problem, points: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """G at each row of ``points`` (q, J) and the forward-difference Jacobian (J, k) at the first row,
    all in one batch (a batch of 1 run costs about as much as one of 100)."""
    z = points[0]
    h = np.where(z + FD_STEP <= high, FD_STEP, -FD_STEP)  # step backwards at the top of the range
    G = problem.constraints(problem.simulate(np.vstack([points, z + np.diag(h)])))
    q = len(points)
    return G[:q], ((G[q:] - G[0]) / h[:, None]).T


def _trust_region(problem, low, high, z, subproblem, merit, max_iter=40):
    """Sequential linear/quadratic programming in a trust region; the steps along each direction are
    tried in one batch, which also gives the Jacobian at the full step (the usual accepted one)."""
    G, J = _evaluate(problem, z[None], high)
    G, value, radius = G[0], merit(z, G[0]), 0.25
    for _ in range(max_iter):
        d, predicted = subproblem(z, G, J, radius)
        if predicted <= 1e-12 or np.abs(d).max() < 1e-9:
            break
        trial = np.clip(z + np.outer(STEPS, d), low, high)
        Gs, J_full = _evaluate(problem, trial, high)
        gains = value - np.array([merit(t, g) for t, g in zip(trial, Gs, strict=True)])
        ok = np.flatnonzero(gains >= 1e-4 * STEPS * predicted)
        if not len(ok):
            radius = 0.25 * np.abs(d).max()
            if radius < 1e-7:
                break
            continue
        i = ok[0]
        z, G, value = trial[i], Gs[i], value - gains[i]
        J = J_full if i == 0 else _evaluate(problem, z[None], high)[1]
        radius = min(2.0 * radius, 1.0) if i == 0 else STEPS[i] * np.abs(d).max()
    return z, G, J


def _box(z, low, high, radius):
    return np.maximum(low - z, -radius), np.minimum(high - z, radius)


def _change_problem(weights, norm, low, high):
    """Subproblem and merit of the smallest change: f(z) + PENALTY * sum of shortfalls below SAFETY."""

    def cost(x):
        return float(weights @ (x**2 if norm == "l2" else np.abs(x)))

    def merit(z, G):
        return cost(z) + PENALTY * np.maximum(SAFETY - G, 0).sum()

    def subproblem(z, G, J, radius):
        lo, hi = _box(z, low, high, radius)
        k, m = len(z), len(G)
        if norm == "l1":
            # variables (up, down, e) with z + d = up - down; linear in all of them
            c = np.concatenate([weights, weights, np.full(m, PENALTY)])
            rows = np.hstack([-J, J, -np.eye(m)])
            box = np.hstack([np.eye(k), -np.eye(k), np.zeros((k, m))])
            a_ub = np.vstack([rows, box, -box])
            b_ub = np.concatenate([G - SAFETY - J @ z, z + hi, -(z + lo)])
            res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
            d = res.x[:k] - res.x[k : 2 * k] - z if res.success else np.zeros(k)
        else:
            d = _least_squares_step(z, G, J, weights, lo, hi)
        predicted = merit(z, G) - cost(z + d) - PENALTY * np.maximum(SAFETY - G - J @ d, 0).sum()
        return d, predicted

    return subproblem, merit


def _least_squares_step(z, G, J, weights, lo, hi) -> np.ndarray:
    """The step d of the elastic QP: min sum w (z + d)^2 + PENALTY * sum max(0, SAFETY - G - J d) in the
    box [lo, hi], solved through its dual: for multipliers 0 <= lam <= PENALTY the minimising point is
    x(lam) = clip(J' lam / 2w) and the dual gradient is SAFETY - G - J (x - z); few targets, few multipliers."""
    need, x_low, x_high = SAFETY - G, z + lo, z + hi

    def point(lam):
        return np.clip(J.T @ lam / (2 * weights), x_low, x_high)

    def negative_dual(lam):
        x = point(lam)
        slack = J @ (x - z) - need
        return -(weights @ x**2 - lam @ slack), slack

    res = minimize(negative_dual, np.zeros(len(G)), jac=True, method="L-BFGS-B", bounds=[(0, PENALTY)] * len(G),
                   options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000})
    return point(res.x) - z


def _max_min_problem(low, high):
    """Subproblem and merit of the closest reachable point: the largest min_j G_j (capped at T_CAP)."""

    def merit(z, G):
        return -min(G.min(), T_CAP)

    def subproblem(z, G, J, radius):
        lo, hi = _box(z, low, high, radius)
        k = len(z)
        c = np.zeros(k + 1)
        c[k] = -1.0
        res = linprog(c, A_ub=np.hstack([-J, np.ones((len(G), 1))]), b_ub=G,
                      bounds=[*zip(lo, hi, strict=True), (None, T_CAP)], method="highs")
        if not res.success:
            return np.zeros(k), 0.0
        return res.x[:k], res.x[k] + merit(z, G)

    return subproblem, merit

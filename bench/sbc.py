"""Benchmark: simulation-based calibration of the Jinan posterior with shortened chains.

Each replication draws the calibrated parameters from their prior, re-draws the fit observations from the
likelihood at those values (``calibration.sbc.simulated_observations``), fits them by least squares (the
walkers' start), samples the posterior with emcee and ranks the true values among the draws. Prints the
pooled 90 % coverage with its Wilson interval, the share of parameters whose ranks pass a chi-square
uniformity test, the sampler's diagnostics and the wall time, as a Markdown section for bench/RESULTS.md.
Run: ``.venv/bin/python bench/sbc.py [--replications 20 --steps 5000 --walkers 128 --seed 2021]``.
The defaults are the committed posterior's walkers with a chain 60 times shorter (model 0.2: 40 parameters,
so at least 80 walkers; ~8 s of CPU per replication with the compiled backend).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

import numpy as np

import simulator
from calibration.fit import Problem, fit
from calibration.observations import load_observations
from calibration.posterior import initial_walkers, log_posterior, logit, logit_log_posterior
from calibration.sbc import jinan_problem_for, prior_draw_unit, run_sbc, simulated_observations


def machine() -> str:
    """CPU model name (lscpu) and core count."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        name = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        name = platform.processor() or "unknown CPU"
    import os

    return f"{name}, {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--walkers", type=int, default=128)
    parser.add_argument("--burn", type=int, default=1000)
    parser.add_argument("--thin", type=int, default=25)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--json", default="", help="also write the ranks and diagnostics here")
    args = parser.parse_args()

    model = simulator.load()
    observations = load_observations(model=model, labels=simulator.labels())
    problem = Problem(model, observations, base_overrides=simulator.scenario("baseline", model).overrides)
    problem.final_year = float(observations.table["year"].max())  # as calibrate --posterior runs
    names = [p.id for p in problem.parameters]
    from scipy.special import expit

    # The chains run in z = logit(u), as calibrate --posterior does; ranks are the same in z, u and theta.
    def make_log_prob(replica):
        return logit_log_posterior(replica)

    def initial(replica, log_prob, rng, walkers):
        mode = fit(replica, seed=int(rng.integers(2**31)), starts=2)
        return logit(initial_walkers(mode, walkers, rng, log_posterior(replica)))

    import os

    from simulator.engines.fast.kernel import check_backend

    load_before = os.getloadavg()
    clock, cpu = time.perf_counter(), time.process_time()
    result = run_sbc(
        names, lambda rng: logit(prior_draw_unit(problem, rng)[None, :])[0],
        lambda z, rng: jinan_problem_for(problem, simulated_observations(problem, expit(z), rng)),
        make_log_prob, initial, replications=args.replications, seed=args.seed, walkers=args.walkers,
        steps=args.steps, burn=args.burn, thin=args.thin, progress=True,
    )
    seconds, cpu = time.perf_counter() - clock, time.process_time() - cpu
    load_after = os.getloadavg()
    pvalues = result.uniformity_pvalues(bins=5)
    low, high = result.coverage_interval()
    rhat = np.array([d["rhat_max"] for d in result.diagnostics])
    acceptance = np.array([d["acceptance_mean"] for d in result.diagnostics])
    tau = np.array([d["tau_max"] for d in result.diagnostics])
    per_parameter = result.inside90.mean(axis=0)
    worst = np.argsort(pvalues)[:3]
    lines = [
        f"## Simulation-based calibration of the posterior ({time.strftime('%Y-%m-%d')})",
        "",
        f"`bench/sbc.py --replications {args.replications} --steps {args.steps} --walkers {args.walkers} "
        f"--burn {args.burn} --thin {args.thin} --seed {args.seed}` on {machine()}: {len(names)} parameters, "
        f"{len(problem.predictor)} fit observations, {result.draws} draws per replication, "
        f"{check_backend(None)} backend ({problem.backend} ran); "
        f"**{seconds:.0f} s** wall, {cpu:.0f} s CPU ({seconds / args.replications:.1f} s per replication, "
        f"least-squares start included); load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        "(shared machine).",
        "",
        f"- pooled 90 % interval coverage of the true values: **{result.coverage90():.1%}** "
        f"(95 % Wilson interval {low:.1%}–{high:.1%}, {result.inside90.size} parameter-replications; "
        "pairs of one replication are not independent, so the interval is optimistic)",
        f"- per-parameter coverage: min {per_parameter.min():.0%}, median {np.median(per_parameter):.0%}, "
        f"max {per_parameter.max():.0%}",
        f"- rank uniformity (chi-square, 5 bins): {np.mean(pvalues > 0.05):.0%} of parameters have p > 0.05, "
        f"{np.mean(pvalues > 0.001):.0%} p > 0.001; lowest: "
        + ", ".join(f"{names[j]} p = {pvalues[j]:.3g}" for j in worst),
        f"- shortened chains: acceptance {acceptance.mean():.3f} (mean), tau_max median {np.median(tau):.0f} steps, "
        f"R-hat max median {np.median(rhat):.3f} (max {rhat.max():.3f})",
    ]
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "names": names, "ranks": result.ranks.tolist(), "draws": result.draws,
            "inside90": result.inside90.tolist(), "pvalues": pvalues.tolist(), "seconds": seconds,
            "diagnostics": result.diagnostics,
        }, indent=1))


if __name__ == "__main__":
    main()

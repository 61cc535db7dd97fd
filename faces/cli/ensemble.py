"""CLI commands for uncertainty: ``mc`` (Monte Carlo ensembles) and ``sensitivity``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import simulator as api
from simulator.errors import UserError

TEXT = {
    "zh": {"failed": "失败(已剔除)的模拟", "wrote": "已写出", "prob": "达标概率", "runs": "次模拟",
           "top": "对各目标影响最大的输入(总效应指数 ST)",
           "flat": "无抽样不确定性(由杠杆/固定假设决定)", "met": "达到", "missed": "未达到",
           "flat_note": "* 该目标的模拟值在所有模拟中相同:概率只反映杠杆和固定假设,不是抽样得到的可能性。",
           "calibrated": {"posterior": "校准参数:后验样本整行重抽样", "gaussian-fallback":
                          "校准参数:高斯近似(无后验文件)", "none": "校准参数:未抽样"}},
    "en": {"failed": "failed runs (excluded)", "wrote": "wrote", "prob": "probability met", "runs": "runs",
           "top": "inputs that matter most for each target (total-order index ST)",
           "flat": "no sampled uncertainty (set by levers / fixed assumptions)", "met": "met", "missed": "missed",
           "flat_note": "* the target's simulated value is the same in every run: its probability reflects the levers "
           "and fixed assumptions only, not a sampled chance.",
           "calibrated": {"posterior": "calibrated parameters: whole posterior rows resampled",
                          "gaussian-fallback": "calibrated parameters: Gaussian approximation (no posterior file)",
                          "none": "calibrated parameters: not sampled"}},
}


def probability_words(row, lang: str) -> str:
    """A probability as printed: a percentage, or the no-uncertainty flag with the deterministic verdict."""
    words = TEXT[lang]
    if row.get("no_uncertainty", False):
        verdict = words["met"] if row["probability"] >= 0.5 else words["missed"]
        return f"{verdict}*"
    return f"{100 * row['probability']:.1f}%"


def quiet_fallback(function, *args, **kwargs):
    """Call ``function`` turning the posterior-fallback warning into one ``jinan-sd: warning:`` line."""
    import warnings

    from simulator.analysis.uncertainty import PosteriorFallback

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PosteriorFallback)
        result = function(*args, **kwargs)
    for w in caught:
        if issubclass(w.category, PosteriorFallback):
            print(f"jinan-sd: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return result


def probability_table(probabilities, lang: str):
    """The printed table of an ensemble's probabilities (assessable targets only)."""
    table = probabilities[probabilities["n_valid"] > 0].copy()
    table["shown"] = [probability_words(r, lang) for r in table.to_dict("records")]
    shown = table[["id", "name", "year", "shown", "ci_low", "ci_high", "value_q05", "value_q95", "n_valid"]].copy()
    flat = table["no_uncertainty"].to_numpy(bool)
    shown.loc[flat, ["ci_low", "ci_high"]] = float("nan")
    if lang == "zh":
        shown.columns = ["编号", "目标", "年份", "达标概率", "95%区间下限", "95%区间上限", "模拟值5%", "模拟值95%",
                         "有效模拟数"]
    else:
        shown.columns = ["id", "name", "year", "probability", "ci_low", "ci_high", "value_q05", "value_q95",
                         "n_valid"]
    return shown, bool(flat.any())


def seed(text: str) -> int:
    """argparse type of a random seed: a non-negative integer (numpy's SeedSequence needs one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be a whole number, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be 0 or more, got {value}")
    return value


def add_parsers(sub) -> None:
    """Add the ``mc`` and ``sensitivity`` subcommands."""
    mc = sub.add_parser("mc", help="Monte Carlo ensemble: probability of meeting each target")
    mc.add_argument("scenario")
    mc.add_argument("--n", type=int, default=1000, help="number of runs (default 1000)")
    mc.add_argument("--seed", type=seed, default=0, help="random seed, recorded in the manifest (default 0)")
    mc.add_argument("--sampler", choices=("lhs", "sobol", "random"), default="lhs")
    mc.add_argument("--out", help="results folder to create (manifest, samples, outcomes, bands)")
    mc.add_argument("--chunk-size", type=int, default=4096, help="runs per task (does not change results)")
    mc.add_argument("--posterior", help="posterior sample of the calibrated parameters (.parquet; default "
                    "calibration/posterior.parquet; missing: Gaussian approximation, with a warning)")
    where = mc.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="start a local Dask cluster with K worker processes")
    where.add_argument("--scheduler", help="use an existing Dask scheduler, e.g. tcp://host:8786")

    sens = sub.add_parser("sensitivity", help="Sobol indices of the uncertain inputs for each target")
    sens.add_argument("scenario")
    sens.add_argument("--n", type=int, default=512, help="base sample size (power of 2; cost n*(d+2) runs)")
    sens.add_argument("--target", action="append", help="target id (repeatable; default all assessable)")
    sens.add_argument("--seed", type=seed, default=0)
    sens.add_argument("--out", help="write the indices table (.csv or .xlsx)")


class _Bar:
    """A tqdm progress bar on stderr, fed with (done, total)."""

    def __init__(self, total: int, unit: str):
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit=unit, file=sys.stderr, disable=None)

    def __call__(self, done: int, total: int) -> None:
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def cmd_mc(args) -> int:
    from simulator.analysis.ensemble import run_ensemble

    if args.n < 1:
        raise UserError(f"--n must be at least 1, got {args.n}")
    if args.out and Path(args.out).exists():
        raise UserError(f"--out {args.out}: already exists (choose another folder)")
    if args.out and not Path(args.out).resolve().parent.exists():
        raise UserError(f"--out {args.out}: folder {Path(args.out).resolve().parent} does not exist")
    bar = _Bar(args.n, TEXT[args.lang]["runs"])
    posterior = getattr(args, "posterior", None)
    if posterior and not Path(posterior).is_file():
        raise UserError(f"--posterior {posterior}: file not found")
    try:
        result = quiet_fallback(run_ensemble, args.scenario, n=args.n, seed=args.seed, sampler=args.sampler,
                                chunk_size=args.chunk_size, workers=args.workers, scheduler=args.scheduler,
                                progress=bar, lang=args.lang, posterior_path=posterior)
    finally:
        bar.close()
    shown, flagged = probability_table(result.probabilities, args.lang)
    print(shown.round(3).to_string(index=False))
    if flagged:
        print(TEXT[args.lang]["flat_note"])
    print(f"\n{TEXT[args.lang]['failed']}: {result.manifest['failed_runs']} / {args.n}  "
          f"(seed {args.seed}, sampler {args.sampler}; {TEXT[args.lang]['calibrated'][result.manifest['calibrated']]})")
    if args.out:
        print(f"{TEXT[args.lang]['wrote']} {result.save(args.out)}")
    return 0


def cmd_sensitivity(args) -> int:
    from simulator.analysis.sensitivity import sobol

    if args.out and Path(args.out).suffix not in (".csv", ".xlsx"):
        raise UserError(f"--out {args.out}: use .csv or .xlsx")
    if args.n < 8:
        raise UserError(f"--n must be at least 8 (a power of 2), got {args.n}")
    if args.n & (args.n - 1):
        rounded = 1 << args.n.bit_length()
        print(f"--n {args.n} rounded up to {rounded}, a power of 2 (Saltelli's design needs one)", file=sys.stderr)
        args.n = rounded
    table = sobol(args.scenario, args.n, args.target, args.seed)
    labels = api.labels()
    print(f"# {TEXT[args.lang]['top']}")
    for target, group in table.groupby("target", sort=False):
        top = group.sort_values("ST", ascending=False).head(3)
        parts = [f"{labels.name(r.input, args.lang)} (ST {r.ST:.2f}, S1 {r.S1:.2f})" for r in top.itertuples()]
        print(f"{target}: " + "; ".join(parts))
    if args.out:
        if args.out.endswith(".xlsx"):
            table.to_excel(args.out, index=False, engine="openpyxl")
        else:
            table.to_csv(args.out, index=False)
        print(f"{TEXT[args.lang]['wrote']} {args.out}")
    return 0


COMMANDS = {"mc": cmd_mc, "sensitivity": cmd_sensitivity}

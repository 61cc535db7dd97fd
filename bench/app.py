"""Benchmark the Streamlit app's response times with Streamlit's AppTest (not a test: prints figures).

Usage (from the repository root)::

    .venv/bin/python bench/app.py [--moves 8] [--write]

For each deterministic tab, moves a slider to ``--moves`` values never seen before (so every move misses
the caches and runs the fast engine and the target evaluation) and reports the server time of the rerun:
the script's own run time (``st.session_state["run_seconds"]``, set by ``simulator.ui.page.render``) and
the wall time of ``AppTest.run`` (the script plus AppTest's own handling of the page, an upper bound).
Then a move back to a value seen before (cache hit), and a 1,000-run Monte Carlo ensemble (the library
call alone, and the whole rerun that runs and draws it). Goals (issue 8): a slider move redraws the
deterministic views in <= 300 ms of server time; a 1,000-run ensemble returns in <= 2 s.

The output is Markdown; ``--write`` also puts it in bench/RESULTS.md as the "App" section (replacing it).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import streamlit  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(ROOT / "app.py")
RESULTS = ROOT / "bench" / "RESULTS.md"
#: (row label, tab, radio key -> value to choose in it)
VIEWS = (
    ("targets", "targets", {}),
    ("trajectories", "trajectories", {}),
    ("compare", "compare", {}),
    ("sensitivity: levers", "sensitivity", {}),
    ("sensitivity: uncertain inputs", "sensitivity", {"w:sens_view": "inputs"}),
    ("calibration", "calibration", {}),
    ("model", "model", {}),
    ("what it takes: wedges", "decision", {"w:decision": "wedges"}),
)
LEVER = "investment_rate"
GOAL_SLIDER, GOAL_ENSEMBLE = 0.300, 2.0


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f'{os.cpu_count()} cores, CPU "{cpu}"; Python {platform.python_version()}, '
        f"Streamlit {streamlit.__version__}"
    )


def open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state["tab"] = tab
    del at.session_state[f"w:tabs:{at.session_state['lang']}"]
    return at.run()


def timed(at: AppTest, action) -> tuple[float, float]:
    """(script seconds, AppTest wall seconds) of one rerun."""
    start = time.perf_counter()
    action()
    wall = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"the app raised: {at.exception[0].message}")
    return at.session_state["run_seconds"], wall


def slider_moves(moves: int) -> list[tuple]:
    at = AppTest.from_file(APP, default_timeout=300).run()  # first run: model parse and engine compile
    rows = []
    values = iter([0.40 + 0.005 * k for k in range(len(VIEWS) * moves + 1)])
    for label, tab, radios in VIEWS:
        open_tab(at, tab)
        for key, value in radios.items():
            at.radio(key=key).set_value(value).run()
        script, wall = [], []
        for _ in range(moves):
            slider = next(s for s in at.slider if s.key == f"w:lv:{LEVER}")
            s, w = timed(at, lambda slider=slider: slider.set_value(next(values)).run())
            script.append(s)
            wall.append(w)
        slider = next(s for s in at.slider if s.key == f"w:lv:{LEVER}")
        hit = timed(at, lambda slider=slider: slider.set_value(0.40).run())[0]
        ninety = statistics.quantiles(script, n=10)[-1] if len(script) > 1 else script[0]
        rows.append((label, statistics.median(script), ninety, max(script), statistics.median(wall), hit))
    return rows


def ensemble(n: int = 1000) -> tuple[float, float]:
    at = open_tab(AppTest.from_file(APP, default_timeout=300).run(), "montecarlo")
    at.number_input(key="w:mc_n").set_value(n)
    button = next(b for b in at.button if b.label.startswith("运行"))
    script, _ = timed(at, lambda: button.click().run())
    return at.session_state["ensemble"]["seconds"], script


def report(moves: int) -> str:
    rows = slider_moves(moves)
    library, rerun = ensemble()
    lines = [
        "## App",
        "",
        f"`bench/app.py` (`.venv/bin/python bench/app.py --moves {moves} --write`), "
        f"{time.strftime('%Y-%m-%d')}, on {machine()}.",
        "Streamlit's AppTest drives `app.py` in one process;",
        '"script" is the server time of a rerun (`simulator.ui.page.render` from start to end; the widget',
        'callback before it is a few dictionary updates), "AppTest wall" adds AppTest\'s own handling of the',
        f"page (an upper bound). Each tab: {moves} moves of the `{LEVER}` slider to values never seen before",
        "(cache misses: one fast-engine run, the target evaluation and every chart of the tab), then one",
        "move back to a value seen before (cache hit).",
        "",
        "| view | script, median [ms] | script, 90th pct [ms] | script, max [ms] | AppTest wall, median [ms] "
        "| cache hit [ms] |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for tab, median, ninety, worst, wall, hit in rows:
        lines.append(
            f"| {tab} | {1000 * median:.0f} | {1000 * ninety:.0f} | {1000 * worst:.0f} | {1000 * wall:.0f} "
            f"| {1000 * hit:.0f} |"
        )
    typical = max(r[1] for r in rows)
    worst = max(r[3] for r in rows)
    lines += [
        "",
        f"Monte Carlo, 1,000 runs (LHS, seed 2021, baseline): **{library:.2f} s** for the ensemble itself "
        f"(`simulator.ensemble.run_ensemble`), {rerun:.2f} s for the whole rerun that runs it and draws "
        "the fan charts, probability bars and peak-year histogram.",
        "",
        "Against the goals of issue 8:",
        "",
        f"- slider move ≤ {1000 * GOAL_SLIDER:.0f} ms of server time for the deterministic views: "
        f"**{'met' if typical <= GOAL_SLIDER else 'missed'}** for the typical move (the slowest view's "
        f"median: {1000 * typical:.0f} ms); "
        f"{sum(r[3] > GOAL_SLIDER for r in rows)} of {len(rows)} views had a move above it "
        f"(slowest single move {1000 * worst:.0f} ms).",
        f"- 1,000-run ensemble ≤ {GOAL_ENSEMBLE:g} s: **{'met' if rerun <= GOAL_ENSEMBLE else 'missed'}** "
        f"({rerun:.2f} s including drawing).",
        "",
        "Where a cache-missing move spends its time (cProfile of the app, approximate): one `simulator.run`",
        "~45-70 ms, of which ~30 ms is `simulator.resolve_overrides` parsing `models/labels.toml` and",
        "`calibration/calibrated.toml` again on every call; the full `simulator.assess.target_table` ~120 ms",
        "(a pandas frame per target), which is why the app draws the target lights from",
        "`simulator.targets.run_outcomes` (~4 ms) and evaluates the full table only when it is shown or",
        "downloaded; `simulator.sensitivity.tornado` ~70 ms, half of it parsing TOML files; Streamlit's own",
        "work per slider widget ~1-2 ms (so only the open sector of the sidebar draws its sliders). Charts",
        "are Vega-Lite specs drawn by the browser; a matplotlib figure (~1 s for six panels) is made only",
        "when a PNG download is clicked.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace (or add) the "## App" section of bench/RESULTS.md, leaving the other sections alone."""
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    parts = old.split("\n## ")
    head, sections = parts[0], ["## " + p for p in parts[1:]]
    sections = [s for s in sections if not s.startswith("## App\n")]
    body = "\n".join([head.rstrip("\n") + "\n", *(s.rstrip("\n") + "\n" for s in sections), text])
    RESULTS.write_text(body.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=8, help="slider moves per tab (default 8)")
    parser.add_argument("--write", action="store_true", help="write the App section of bench/RESULTS.md")
    args = parser.parse_args()
    text = report(args.moves)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()

"""Benchmark the Streamlit app in a real browser (not a test: prints figures).

Usage (from the repository root)::

    .venv/bin/python bench/app.py [--moves 12] [--write]

Starts ``streamlit run app.py`` on a free port and drives Debian's Chromium through Playwright:

* cold first page: a fresh server, a first visit, until the six headline numbers are drawn;
* slider moves: on each tab, ``--moves`` presses of the right-arrow key on the investment-rate slider
  (each a value never seen before: a fast-engine run, the targets and every chart of the tab), timed
  from the key press to the page settled: the last change to the page before 300 ms without one,
  with Streamlit's running indicator gone.

Goals (issue 16): slider move to settled, median <= 250 ms and max <= 500 ms on the trajectories tab;
cold first page <= 3 s. ``--write`` puts the Markdown in bench/RESULTS.md as the "App" section.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
TABS = ("trajectories", "targets", "compare")
LEVER = "investment_rate"
GOAL_MEDIAN, GOAL_MAX, GOAL_COLD = 0.250, 0.500, 3.0

#: In the page: resolve with the time (ms, performance.now) of the last DOM change once 300 ms pass
#: without one and Streamlit shows no running indicator.
SETTLED_JS = """
(start) => new Promise(resolve => {
  let last = performance.now();
  const seen = new MutationObserver(() => { last = performance.now(); });
  seen.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
  const tick = () => {
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    const running = status && /Running|运行/.test(status.innerText);
    if (!running && performance.now() - last > 300) { seen.disconnect(); resolve(last - start); }
    else setTimeout(tick, 20);
  };
  setTimeout(tick, 50);
})
"""


def machine() -> str:
    """Cores, the CPU's model name (lscpu / /proc/cpuinfo), Python and Streamlit versions."""
    import streamlit

    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f'{os.cpu_count()} cores, CPU "{cpu}" (lscpu model name), load average {load} at the start; '
            f"Python {platform.python_version()}, Streamlit {streamlit.__version__}")


def serve() -> tuple[subprocess.Popen, str]:
    """A fresh ``streamlit run app.py`` on a free port; returns (process, url) once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    streamlit = Path(sys.executable).with_name("streamlit")
    process = subprocess.Popen(
        [str(streamlit), "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return process, url
        except OSError:
            time.sleep(0.25)
    process.terminate()
    raise SystemExit("streamlit did not start")


def cold_first_page(browser, url: str) -> float:
    """Seconds from navigation to the six headline numbers on the first visit to a fresh server."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stMetricValue\"]').length >= 6",
                           timeout=120_000)
    seconds = time.perf_counter() - start
    page.close()
    return seconds


def slider_moves(browser, url: str, tab: str, moves: int) -> list[float]:
    """Seconds from each arrow-key press on the lever's slider to the page settled."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/?tab={tab}")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stMetricValue\"]').length >= 6",
                           timeout=120_000)
    page.evaluate(SETTLED_JS, page.evaluate("performance.now()"))
    thumb = page.locator(f".st-key-w-lv-{LEVER} input[type='range']")
    times = []
    for _ in range(moves):
        thumb.focus()
        start = page.evaluate("performance.now()")
        thumb.press("ArrowRight")
        times.append(page.evaluate(SETTLED_JS, start) / 1000)
    page.close()
    return times


def report(moves: int) -> str:
    from playwright.sync_api import sync_playwright

    process, url = serve()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            cold = cold_first_page(browser, url)
            rows = [(tab, slider_moves(browser, url, tab, moves)) for tab in TABS]
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    lines = [
        "## App",
        "",
        f"`bench/app.py` (`.venv/bin/python bench/app.py --moves {moves} --write`), {time.strftime('%Y-%m-%d')},",
        f"on {machine()}; headless Chromium (Playwright), 1440x900. Other engineers' jobs may share the cores.",
        f"Each tab: {moves} right-arrow presses on the `{LEVER}` slider (new values: cache misses), timed from",
        "the key press to the page settled (last change to the page before 300 ms of quiet, no running",
        "indicator).",
        "",
        "| tab | median [ms] | max [ms] | all moves [ms] |",
        "|---|---:|---:|---|",
    ]
    for tab, times in rows:
        lines.append(f"| {tab} | {1000 * statistics.median(times):.0f} | {1000 * max(times):.0f} | "
                     + ", ".join(f"{1000 * t:.0f}" for t in times) + " |")
    trajectories = dict(rows)["trajectories"]
    median, worst = statistics.median(trajectories), max(trajectories)
    lines += [
        "",
        f"Cold first page (fresh server, first visit, to the six headline numbers): **{cold:.2f} s**.",
        "",
        "Against the goals of issue 16:",
        "",
        f"- trajectories, slider move to settled: median {1000 * median:.0f} ms (goal ≤ {1000 * GOAL_MEDIAN:.0f}: "
        f"**{'met' if median <= GOAL_MEDIAN else 'missed'}**), max {1000 * worst:.0f} ms "
        f"(goal ≤ {1000 * GOAL_MAX:.0f}: **{'met' if worst <= GOAL_MAX else 'missed'}**);",
        f"- cold first page {cold:.2f} s (goal ≤ {GOAL_COLD:g} s: **{'met' if cold <= GOAL_COLD else 'missed'}**).",
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
    parser.add_argument("--moves", type=int, default=12, help="slider moves per tab (default 12)")
    parser.add_argument("--write", action="store_true", help="write the App section of bench/RESULTS.md")
    args = parser.parse_args()
    text = report(args.moves)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()

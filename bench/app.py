"""Benchmark the Streamlit app in a real browser (not a test: prints figures).

Usage (from the repository root)::

    .venv/bin/python bench/app.py [--moves 12] [--before ../main] [--write]

Starts ``streamlit run app.py`` on a free port and drives Debian's Chromium through Playwright:

* cold first page: a fresh server, a first visit, until the six headline numbers are drawn;
* slider moves: on each tab, ``--moves`` presses of the right-arrow key on the investment-rate slider
  (each a value never seen before: a fast-engine run, the targets and every chart of the tab), timed
  from the key press to the page settled: the headline numbers changed, then the last change to the page
  before 300 ms without one, with Streamlit's running indicator gone. (Waiting for the headline first
  matters: a reply that starts more than 300 ms after the key press would otherwise count as "settled"
  at once, and its cost would land on the next move.)

``--before DIR`` also measures the app of another checkout (e.g. the main one), alternating with this one
move by move (and cold page by cold page), to compare a before and an after under the same load on a
shared machine.

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
([start, before]) => new Promise(resolve => {
  let last = performance.now();
  const seen = new MutationObserver(() => { last = performance.now(); });
  seen.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
  const headline = () => [...document.querySelectorAll('[data-testid="stMetric"]')].map(e => e.innerText).join('|');
  const tick = () => {
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    const running = status && /Running|运行/.test(status.innerText);
    const changed = before === null || headline() !== before;
    if (changed && !running && performance.now() - last > 300) { seen.disconnect(); resolve(last - start); }
    else if (performance.now() - start > 30000) { seen.disconnect(); resolve(-1); }
    else setTimeout(tick, 20);
  };
  setTimeout(tick, 50);
})
"""
HEADLINE_JS = "() => [...document.querySelectorAll('[data-testid=\"stMetric\"]')].map(e => e.innerText).join('|')"


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def machine(load_start: str, load_end: str) -> str:
    """Cores, the CPU's model name (lscpu / /proc/cpuinfo), the load around the run, Python and Streamlit."""
    import streamlit

    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (f'{os.cpu_count()} cores, CPU "{cpu}" (lscpu model name), load average {load_start} at the start '
            f"and {load_end} at the end (1, 5, 15 min); Python {platform.python_version()}, "
            f"Streamlit {streamlit.__version__}")


def serve(root: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """A fresh ``streamlit run app.py`` of the checkout ``root`` on a free port; returns (process, url)
    once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    streamlit = Path(sys.executable).with_name("streamlit")
    process = subprocess.Popen(
        [str(streamlit), "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(root)},
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


class Mover:
    """A page on one server's tab whose investment-rate slider is moved one step at a time."""

    def __init__(self, browser, url: str, tab: str) -> None:
        self.tab = tab
        self.page = browser.new_page(viewport={"width": 1440, "height": 900})
        self.page.goto(f"{url}/?tab={tab}")
        self.page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=\"stMetricValue\"]').length >= 6", timeout=120_000)
        self.page.evaluate(SETTLED_JS, [self.page.evaluate("performance.now()"), None])
        self.thumb = self.page.locator(f".st-key-w-lv-{LEVER} input[type='range']")

    def move(self) -> float:
        """Seconds from one arrow-key press on the lever's slider to the page settled."""
        self.thumb.focus()
        before = self.page.evaluate(HEADLINE_JS)
        start = self.page.evaluate("performance.now()")
        self.thumb.press("ArrowRight")
        settled = self.page.evaluate(SETTLED_JS, [start, before])
        if settled < 0:
            raise SystemExit(f"{self.tab}: the headline did not change within 30 s of a slider move")
        return settled / 1000


def measure(moves: int, roots: list[Path], colds: int = 3) -> list[tuple[list[float], list[tuple[str, list[float]]]]]:
    """Per checkout in ``roots``: (cold first page seconds of ``colds`` fresh servers, [(tab, slider-move
    seconds)]). With two checkouts everything alternates between them (cold A, cold B, ...; on each tab a
    move on A, a move on B, ...), so a change in the shared machine's load hits both alike."""
    from playwright.sync_api import sync_playwright

    cold = [[] for _ in roots]
    rows = [[] for _ in roots]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for round_ in range(colds):
            servers = []
            try:
                servers = [serve(root) for root in roots]
                order = range(len(roots)) if round_ % 2 == 0 else reversed(range(len(roots)))
                for i in order:
                    cold[i].append(cold_first_page(browser, servers[i][1]))
                if round_ == colds - 1:
                    for tab in TABS:
                        movers = [Mover(browser, url, tab) for _, url in servers]
                        times = [[] for _ in roots]
                        for _ in range(moves):
                            for i, mover in enumerate(movers):
                                times[i].append(mover.move())
                        for i, mover in enumerate(movers):
                            mover.page.close()
                            rows[i].append((tab, times[i]))
            finally:
                for process, _ in servers:
                    process.terminate()
                    process.wait(timeout=30)
        browser.close()
    return list(zip(cold, rows, strict=True))


def table(cold: list[float], rows: list[tuple[str, list[float]]]) -> list[str]:
    lines = ["| tab | median [ms] | max [ms] | all moves [ms] |", "|---|---:|---:|---|"]
    for tab, times in rows:
        lines.append(f"| {tab} | {1000 * statistics.median(times):.0f} | {1000 * max(times):.0f} | "
                     + ", ".join(f"{1000 * t:.0f}" for t in times) + " |")
    return [*lines, "", "Cold first page (fresh server, first visit, to the six headline numbers): median "
            f"**{statistics.median(cold):.2f} s** of {len(cold)} fresh servers ("
            + ", ".join(f"{c:.2f}" for c in cold) + " s)."]


def report(moves: int, before: Path | None = None) -> str:
    """The App section: this checkout's figures (and, with ``before``, that checkout's, measured
    alternately with them in the same sitting)."""
    load_start = load_average()
    roots = [before, ROOT] if before is not None else [ROOT]
    measured = measure(moves, roots)
    (cold, rows), old = measured[-1], (measured[0] if before is not None else None)
    command = f"--moves {moves}" + (f" --before {before}" if before is not None else "")
    lines = [
        "## App",
        "",
        f"`bench/app.py` (`.venv/bin/python bench/app.py {command} --write`), {time.strftime('%Y-%m-%d %H:%M')},",
        f"on {machine(load_start, load_average())}; headless Chromium (Playwright), 1440x900. The machine is",
        "shared: other engineers' jobs ran on the same cores, so compare the rows of one sitting, not sittings.",
        f"Each tab: {moves} right-arrow presses on the `{LEVER}` slider (new values: cache misses; the first",
        "press turns the lever from the scenario's value into an edit), timed from the key press to the page",
        "settled (the headline numbers changed, then the last change to the page before 300 ms of quiet, no",
        "running indicator).",
        "",
    ]
    if old is not None:
        lines += [f"Before (`{before}`; its moves alternate with the after's, one each in turn, as do the cold",
                  "first pages):", "", *table(*old), "", "After (this checkout):", ""]
    lines += table(cold, rows)
    trajectories = dict(rows)["trajectories"]
    median, worst, first = statistics.median(trajectories), max(trajectories), statistics.median(cold)
    lines += [
        "",
        "Against the goals of issue 16:",
        "",
        f"- trajectories, slider move to settled: median {1000 * median:.0f} ms (goal ≤ {1000 * GOAL_MEDIAN:.0f}: "
        f"**{'met' if median <= GOAL_MEDIAN else 'missed'}**), max {1000 * worst:.0f} ms "
        f"(goal ≤ {1000 * GOAL_MAX:.0f}: **{'met' if worst <= GOAL_MAX else 'missed'}**);",
        f"- cold first page {first:.2f} s (goal ≤ {GOAL_COLD:g} s: **{'met' if first <= GOAL_COLD else 'missed'}**).",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace (or add at the end) the "## App" section of bench/RESULTS.md in place, leaving the other
    sections (other engineers') as they are."""
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    parts = old.split("\n## ")
    head, sections = parts[0], ["## " + p for p in parts[1:]]
    new = text.rstrip("\n") + "\n"
    at = next((i for i, s in enumerate(sections) if s.startswith("## App\n")), None)
    if at is None:
        sections.append(new)
    else:
        sections[at] = new
    body = "\n".join([head.rstrip("\n") + "\n", *(s.rstrip("\n") + "\n" for s in sections)])
    sys.path.insert(0, str(ROOT))
    from simulator.atomic import write_text

    write_text(RESULTS, body.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=12, help="slider moves per tab (default 12)")
    parser.add_argument("--write", action="store_true", help="write the App section of bench/RESULTS.md")
    parser.add_argument("--before", type=Path, help="another checkout to measure first, in the same sitting")
    args = parser.parse_args()
    if args.before is not None and not (args.before / "app.py").is_file():
        raise SystemExit(f"--before {args.before}: no app.py there")
    text = report(args.moves, args.before)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()

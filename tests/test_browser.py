"""End to end in a real browser: `streamlit run app.py` on a free localhost port, driven with Debian's
headless Chromium through Playwright: load, switch language, move a slider, see a target change state, run a
small ensemble, download a CSV. Screenshots go to artifacts/screenshots/ (git-ignored). Any exception shown in
the page or written to the server log fails the test; the server is always stopped."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "screenshots"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP = 90  # seconds for the server to answer
WAIT = 120_000  # milliseconds for the page to settle after an action (a cold first run is slow)
LOG_FAILURES = re.compile(r"Traceback|Uncaught app exception|\bERROR\b")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (make test installs it)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app served by `streamlit run` on a free port; yields (url, log path); always terminated."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    streamlit = Path(sys.executable).with_name("streamlit")
    command = [
        str(streamlit),
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log.read_text(encoding='utf-8')}")
            time.sleep(0.5)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def settle(page) -> None:
    """Wait until the app has finished its rerun (no running indicator) and the page is drawn."""
    page.wait_for_selector('[data-testid="stMetric"]', timeout=WAIT)
    page.wait_for_function(
        """() => {
            const status = document.querySelector('[data-testid="stStatusWidget"]');
            return !status || !status.innerText.match(/Running|运行/);
        }""",
        timeout=WAIT,
    )
    page.wait_for_timeout(800)


def no_exceptions(page, log: Path, step: str) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, f"{step}: exception on the page: {shown.first.inner_text()}"
    text = log.read_text(encoding="utf-8")
    assert not LOG_FAILURES.search(text), f"{step}: error in the server log:\n{text}"


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_tab(page, name: str) -> None:
    """Click a tab until it is the selected one (a click during a rerun can be dropped)."""
    tab = page.get_by_role("tab", name=name)
    for _ in range(3):
        tab.click()
        settle(page)
        if tab.get_attribute("aria-selected") == "true":
            return
    pytest.fail(f"tab {name!r} did not open")


def light(page, target_id: str) -> str:
    return page.locator(f".st-key-light-{target_id}").inner_text()


def test_an_analyst_session(server, browser, tmp_path):
    url, log = server
    page = browser.new_page(viewport={"width": 1500, "height": 2200}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # 1. Load: the Chinese page with its headline numbers and target lights.
    page.goto(url)
    settle(page)
    assert "济南" in page.locator("h1").first.inner_text()
    # on a cold machine the first run (model compile, calibration, targets) can finish after the headline
    page.wait_for_selector(".st-key-light-energy-intensity-2025", timeout=WAIT)
    assert page.locator(".st-key-light-energy-intensity-2025").count() == 1
    no_exceptions(page, log, "load")
    shoot(page, "01_load_zh")

    # 2. Switch the language.
    page.get_by_text("English", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('h1') && document.querySelector('h1').innerText.includes('Jinan')",
        timeout=WAIT,
    )
    settle(page)
    page.wait_for_url(re.compile(r"lang=en"), timeout=WAIT)
    no_exceptions(page, log, "language")
    shoot(page, "02_english")

    # 3. Move a slider (industrial energy efficiency to its minimum) and see a target change state.
    page.wait_for_function(
        "() => /^(met|missed)/.test(document.querySelector('.st-key-light-energy-intensity-2025').innerText)",
        timeout=WAIT,
    )
    before = light(page, "energy-intensity-2025")
    assert before.startswith("met")
    page.locator(".st-key-w-sector-energy summary").click()
    thumb = page.locator(".st-key-w-lv-industrial_energy_efficiency_rate input[type='range']")
    thumb.focus()
    thumb.press("Home")
    page.wait_for_function(
        "() => document.querySelector('.st-key-light-energy-intensity-2025').innerText.startsWith('missed')",
        timeout=WAIT,
    )
    settle(page)
    page.wait_for_url(re.compile(r"industrial_energy_efficiency_rate=0"), timeout=WAIT)
    assert light(page, "energy-intensity-2025") != before
    no_exceptions(page, log, "slider")
    shoot(page, "03_slider_target_missed")

    # 3b. Type a lever exactly (number boxes on demand) and see the uncertainty bands follow the lines.
    page.locator(".st-key-w-exact label").click()
    box = page.locator(".st-key-w-ln-industrial_energy_efficiency_rate input")
    box.wait_for(timeout=WAIT)
    box.fill("0.005")
    box.press("Enter")
    page.wait_for_url(re.compile(r"industrial_energy_efficiency_rate=0\.005"), timeout=WAIT)
    settle(page)
    open_tab(page, "Trajectories")
    page.locator(".st-key-w-traj_bands label").click()
    # computed off the script thread, then drawn by a rerun the polling fragment asks for
    page.wait_for_selector('[data-testid="stVegaLiteChart"] .mark-area path', timeout=WAIT)
    settle(page)
    no_exceptions(page, log, "bands")
    shoot(page, "03b_exact_value_and_bands")

    # 4. Run a small ensemble on the Monte Carlo tab.
    open_tab(page, "Monte Carlo")
    runs = page.get_by_label("Runs N")
    runs.fill("200")
    page.get_by_role("button", name="Run the ensemble").click()
    page.wait_for_selector("text=200 runs in", timeout=WAIT)
    settle(page)
    # fan charts, probability bars and the peak-year histogram
    page.wait_for_function(
        """() => document.querySelectorAll('[data-testid="stVegaLiteChart"]').length >= 8""", timeout=WAIT
    )
    no_exceptions(page, log, "ensemble")
    shoot(page, "04_monte_carlo")

    # 5. Download the target table as CSV (the probabilities of the ensemble are in it).
    open_tab(page, "Targets")
    with page.expect_download(timeout=WAIT) as download:
        page.locator(".st-key-targets-csv button").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    text = path.read_bytes().decode("utf-8-sig")
    assert path.suffix == ".csv"
    assert "energy-intensity-2025" in text and "probability met" in text.splitlines()[0]
    no_exceptions(page, log, "download")
    shoot(page, "05_targets_with_probabilities")
    assert not errors, errors


VIEWPORTS = ((1280, 800), (1440, 900))


def walk_page(page, url: str, lang: str, tab: str, log: Path, shot: str) -> list[str]:
    """Open one tab in one language; the problems found there (overflow, wrong script, charts)."""
    from tests.browser_checks import CHARTS_JS, OVERFLOW_JS, VISIBLE_TEXT_JS, chart_problems, wrong_script

    page.goto(f"{url}/?lang={lang}&tab={tab}")
    settle(page)
    page.wait_for_timeout(700)  # Vega draws after the script has finished
    no_exceptions(page, log, shot)
    problems = [f"cut off: {t}" for t in page.evaluate(OVERFLOW_JS)]
    text = page.evaluate(VISIBLE_TEXT_JS)
    problems += [f"wrong script: {w}" for w in wrong_script(text, lang)]
    problems += chart_problems(page.evaluate(CHARTS_JS))
    # a full-page screenshot: Streamlit scrolls inside its main block, so grow the viewport to the content
    width = page.viewport_size["width"]
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=\"stMain\"], section')]"
        ".map(e => e.scrollHeight), 800)"
    )
    page.set_viewport_size({"width": width, "height": min(height + 40, 12000)})
    page.wait_for_timeout(300)
    shoot(page, shot)
    return [f"{shot}: {p}" for p in problems]


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_every_tab_in_both_languages(server, browser, width, height):
    """Every tab in Chinese and English: no exception, nothing cut off, no wrong-script text, titled charts."""
    from faces.app.text import TABS

    url, log = server
    problems: list[str] = []
    errors: list[str] = []
    for lang in ("zh", "en"):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.on("pageerror", lambda error: errors.append(str(error)))
        for tab in TABS:
            page.set_viewport_size({"width": width, "height": height})
            problems += walk_page(page, url, lang, tab, log, f"walk_{width}_{lang}_{tab}")
        page.close()
    assert not errors, errors
    (SHOTS / f"walk_{width}_problems.txt").write_text("\n".join(problems), encoding="utf-8")
    assert not problems, "\n".join(problems)

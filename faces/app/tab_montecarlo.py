"""蒙特卡洛 / Monte Carlo: an ensemble around the current settings (N up to the server's cap, sampler, seed) with a
progress bar; fan charts, the probability of each target, the carbon-peak-year histogram, downloads."""

from __future__ import annotations

import time

import streamlit as st

from faces.app import caps, data, montecarlo_views, settings
from faces.app.montecarlo_views import TEXT
from faces.app.text import tr
from simulator.errors import UserError

MAX_RUNS = caps.MAX_ENSEMBLE


def run(n: int, seed: int, sampler: str, lang: str, progress=None):
    """Run the ensemble of the current settings and keep it in the session; return it and seconds."""
    from simulator.analysis.ensemble import run_ensemble

    start = time.perf_counter()
    with caps.ensemble_slot(n):
        result = run_ensemble(
            settings.runnable_scenario(),
            n=n,
            seed=seed,
            sampler=sampler,
            progress=progress,
            model=data.model(),
            lang=lang,
            targets=data.targets(),
        )
    seconds = time.perf_counter() - start
    st.session_state["ensemble"] = {
        "fingerprint": settings.fingerprint(),
        "result": result,
        "seconds": seconds,
    }
    return result, seconds


def render(lang: str) -> None:
    try:
        import simulator.analysis.ensemble  # noqa: F401
    except ImportError:
        st.info(tr(lang, "unavailable", module="simulator.analysis.ensemble"))
        return
    words = TEXT[lang]
    st.caption(words["intro"])
    with st.form("w:mc_form", border=True):
        a, b, c = st.columns(3)
        n = a.number_input(words["n"], min_value=10, max_value=MAX_RUNS, value=1000, step=100, key="w:mc_n")
        sampler = b.selectbox(
            words["sampler"], list(words["samplers"]), format_func=words["samplers"].get, key="w:mc_sampler"
        )
        seed = c.number_input(
            words["seed"], min_value=0, max_value=2**31 - 1, value=2021, step=1, key="w:mc_seed"
        )
        submitted = st.form_submit_button(words["run"], type="primary")
    if submitted:
        n = int(n)
        if sampler == "sobol" and n & (n - 1):
            n = min(1 << n.bit_length(), 1 << (MAX_RUNS.bit_length() - 1))
            st.info(words["sobol_n"].format(n=n))
        bar = st.progress(0.0, text=words["running"].format(done=0, total=n))

        def progress(done: int, total: int) -> None:
            bar.progress(done / total, text=words["running"].format(done=done, total=total))

        try:
            result, seconds = run(n, int(seed), sampler, lang, progress)
        except UserError as exc:
            bar.empty()
            st.error(str(exc))
            return
        bar.empty()
        st.success(words["done"].format(n=n, s=seconds, failed=result.manifest["failed_runs"]))
    last = st.session_state.get("ensemble")
    if not last:
        st.caption(words["none"])
        return
    if last["fingerprint"] != settings.fingerprint():
        st.warning(words["stale"])
    montecarlo_views.show(last["result"], lang)

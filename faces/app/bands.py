"""Uncertainty bands of the current settings, computed off the script thread.

A 200-run ensemble takes 50-150 ms on the compiled backend (more on a busy server): run inline, it would
hold up the next slider move, since Streamlit can only stop a script between two of its own calls. So a
band is asked for (:func:`request`), computed by one worker thread shared by the server's sessions, and
drawn once it is there (:func:`ready`); the trajectories tab draws the deterministic lines at once and a
small polling fragment reruns the page when the band it waits for is done. Only the newest request of a
session is kept: one not started yet when the settings move on is cancelled.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import pandas as pd
import streamlit as st

from faces.app import data

#: Runs behind a band (a modest N: a band, not a probability) and the seed (bands of the same settings are
#: the same whenever they are drawn).
BAND_RUNS = 200
SEED = 0
#: Settings whose bands are kept (per server; a band is ~30 kB).
KEEP = 64


class _Store:
    """Finished bands by settings fingerprint (newest last) and the one worker thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: OrderedDict[str, pd.DataFrame] = OrderedDict()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jinan-sd-bands")


@st.cache_resource
def _store() -> _Store:
    return _Store()


def _compute(store: _Store, fingerprint: str, scenario, model, targets) -> pd.DataFrame:
    from simulator.analysis.ensemble import run_ensemble

    band = run_ensemble(scenario, n=BAND_RUNS, seed=SEED, model=model, targets=targets).bands
    with store.lock:
        store.done[fingerprint] = band
        store.done.move_to_end(fingerprint)
        while len(store.done) > KEEP:
            store.done.popitem(last=False)
    return band


def ready(fingerprint: str) -> pd.DataFrame | None:
    """The bands (quantiles q05..q95 by indicator and year) of these settings if computed, else None."""
    store = _store()
    with store.lock:
        return store.done.get(fingerprint)


def request(fingerprint: str, scenario) -> Future | None:
    """Ask for the bands of these settings (``scenario``: the settings as one Scenario); None when they
    are there already. The session's earlier request is cancelled if it has not started."""
    if ready(fingerprint) is not None:
        return None
    pending = st.session_state.get("band_job")
    if pending is not None:
        wanted, future = pending
        if wanted == fingerprint and not future.cancelled():
            return future
        future.cancel()  # (a running one finishes; its band is kept for when the settings come back)
    # the model and targets are read here, on the script thread: the worker touches no session state
    future = _store().pool.submit(_compute, _store(), fingerprint, scenario, data.model(), data.targets())
    st.session_state["band_job"] = (fingerprint, future)
    return future


def wait(fingerprint: str, timeout: float = 60.0) -> pd.DataFrame | None:
    """Block until the session's request for ``fingerprint`` is done (for tests); the band or None."""
    pending = st.session_state.get("band_job")
    if pending is not None and pending[0] == fingerprint:
        pending[1].result(timeout=timeout)
    return ready(fingerprint)


@st.fragment(run_every=0.25)
def watch(fingerprint: str, note: str) -> None:
    """While the bands of ``fingerprint`` are being computed: a note, and every 0.25 s a look; once they
    are there, a rerun of the page draws them (and this fragment, no longer called, stops)."""
    pending = st.session_state.get("band_job")
    if ready(fingerprint) is not None:
        st.rerun()
    if pending is None or pending[0] != fingerprint or pending[1].cancelled():
        return  # the settings moved on: the next rerun asks for their bands
    if pending[1].done() and pending[1].exception() is not None:
        st.session_state.pop("band_job", None)
        raise pending[1].exception()
    st.caption(note)

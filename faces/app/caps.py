"""What one session of the app may ask of the server it shares with other people.

The caps live in :mod:`simulator.limits`; the slots for ensembles are one semaphore per server process
(a Streamlit resource, shared by every session), taken without waiting: when every slot is busy the
request is refused with a message instead of queueing behind other people's work.
"""

from __future__ import annotations

import contextlib
import threading

import streamlit as st

from simulator.errors import UserError
from simulator.limits import APP_MAX_CONCURRENT_ENSEMBLES, APP_MAX_ENSEMBLE

MAX_ENSEMBLE = APP_MAX_ENSEMBLE


@st.cache_resource
def _ensemble_slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(APP_MAX_CONCURRENT_ENSEMBLES)


@contextlib.contextmanager
def ensemble_slot(n: int):
    """Hold one of the server's ensemble slots while an ensemble of ``n`` runs; refuse beyond the caps."""
    if n > MAX_ENSEMBLE:
        raise UserError(f"n: {n:,} runs is more than this server allows one person ({MAX_ENSEMBLE:,})", param="n")
    slots = _ensemble_slots()
    if not slots.acquire(blocking=False):
        raise UserError(f"the server is already running {APP_MAX_CONCURRENT_ENSEMBLES} ensembles for other "
                        "people; try again in a minute")
    try:
        yield
    finally:
        slots.release()

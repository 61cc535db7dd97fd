"""Scenario files from the app: the current settings as a scenario TOML (download), and an uploaded one
validated by the library before it replaces anything (upload)."""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

import streamlit as st

import simulator
from faces.app import data
from faces.app.settings import UPLOAD_PREFIX, current_scenario, edits
from faces.app.settings import encode as _encode
from faces.app.text import LANGS
from simulator.limits import MAX_SCENARIO_BYTES
from simulator.scenarios import load_scenario, scenario_toml

_LOG = logging.getLogger(__name__)


def settings_toml() -> str:
    """The current settings as a scenario file that extends the chosen scenario."""
    scen, changed, lab = current_scenario(), edits(), data.labels()
    base = data.base_values(scen)
    uploaded = st.session_state["scenario"].startswith(UPLOAD_PREFIX)
    names = {
        lang: "、".join(lab.name(k, lang) for k in changed)
        if lang == "zh"
        else ", ".join(lab.name(k, lang) for k in changed)
        for lang in LANGS
    }
    doc: dict = {
        "title_zh": f"{scen.title('zh')}(修改)" if changed else scen.title("zh"),
        "title_en": f"{scen.title('en')} (modified)" if changed else scen.title("en"),
        "description_zh": f"由济南情景模拟应用导出:在“{scen.title('zh')}”基础上"
        f"修改了{names['zh'] or '(无)'}。",
        "description_en": f"Exported by the Jinan simulator app: “{scen.title('en')}” with changes to "
        f"{names['en'] or '(none)'}.",
    }
    if uploaded:
        levers = {**scen.overrides, **changed}
        if not scen.use_calibration:
            doc["use_calibration"] = False
        sources = dict(scen.sources)
    else:
        doc["extends"] = scen.name
        levers, sources = dict(changed), {}
    for lever in changed:
        sources[lever] = f"set in the app (the scenario's value: {_encode(base[lever])})"
    levers = dict(sorted(levers.items()))
    return scenario_toml(doc, levers, {k: sources[k] for k in sorted(sources) if k in levers})


def settings_file_name() -> str:
    stem = re.sub(r"[^\w-]", "_", current_scenario().name)
    return f"{stem}_modified.toml" if edits() else f"{stem}.toml"


def read_scenario(name: str, content: bytes):
    """Validate an uploaded scenario file; a bad one raises :class:`simulator.UserError` (one line).

    The file comes from someone else: it may be at most :data:`simulator.limits.MAX_SCENARIO_BYTES`, and
    its ``extends`` may name only a bundled scenario, so no path on the server is ever followed or probed.
    """
    stem = re.sub(r"[^\w-]", "_", Path(name).stem)[:80] or "uploaded"
    if len(content) > MAX_SCENARIO_BYTES:
        raise simulator.UserError(f"{name}: file too large ({len(content):,} bytes; a scenario file may have "
                                  f"at most {MAX_SCENARIO_BYTES:,})")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{stem}.toml"
        path.write_bytes(content)
        return load_scenario(path, data.model(), simulator.Project.default().scenario_dir,
                             bundled_extends_only=True)


def accept_upload(name: str, content: bytes) -> str | None:
    """Switch to an uploaded scenario; if the file is bad change nothing and return a one-line error.

    Whatever goes wrong is caught here: the previous state is kept, the user sees one line, and an
    unexpected error is logged on the server with its traceback (never shown in the browser).
    """
    try:
        scen = read_scenario(name, content)
    except simulator.UserError as exc:
        message = " ".join(str(exc).split())
        return message if Path(name).stem in message else f"{name}: {message}"
    except Exception:  # an upload must never break the page: log it here, tell the user in one line
        _LOG.exception("upload %r: unexpected error while reading the scenario", name)
        return f"{name}: could not be read as a scenario file"
    key = UPLOAD_PREFIX + scen.name
    st.session_state["uploads"] = {**st.session_state["uploads"], key: scen}
    st.session_state["scenario"] = key
    st.session_state["edits"] = {}
    return None


def on_upload() -> None:
    """Callback of the file uploader: validate, switch or keep the state, then empty the uploader."""
    s = st.session_state
    widget = f"w:upload:{s.get('upload_nonce', 0)}"
    file = s.get(widget)
    if file is None:
        return
    error = accept_upload(file.name, file.getvalue())
    s["upload_message"] = ("error", error) if error else ("ok", current_scenario().title(s["lang"]))
    s["upload_nonce"] = s.get("upload_nonce", 0) + 1

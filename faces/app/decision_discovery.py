"""Scenario discovery on the What-it-takes tab: under which conditions of the uncertain inputs the last
Monte Carlo ensemble misses (or meets) a target -- PRIM boxes in plain sentences and a CART tree."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from faces.app import data, export, vega
from faces.app.text import with_note
from faces.app.widgets import target_picker
from simulator.text import catalogue

TEXT = catalogue("app.decision_discovery")


@st.cache_data(show_spinner=False, max_entries=32)
def _discover(key: str, target_id: str, outcome: str, alpha: float, boxes: int, _ensemble):
    from simulator.analysis.discovery import discover

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ensemble"
        _ensemble.save(path)
        return discover(path, target_id, outcome=outcome, alpha=alpha, n_boxes=boxes, targets=data.targets())


def discovery(lang: str) -> None:
    from simulator.analysis.discovery import box_sentence, tree_lines

    words = TEXT[lang]
    last = st.session_state.get("ensemble")
    if not last:
        st.info(words["need_ensemble"])
        return
    ensemble = last["result"]
    lab = data.labels()
    known = [c for c in ensemble.outcomes.columns if c != "failed" and ":" not in c]
    plain = {t.id: t.name(lang) for t in data.targets() if t.id in known}
    names = {t.id: with_note(t.name(lang), t.year, lang) for t in data.targets() if t.id in known}
    a, b, c, d = st.columns([3, 2, 2, 1])
    target_id = target_picker(a, words["target"], names, "w:disc_target")
    outcome = b.radio(
        words["outcome"], ["miss", "meet"], format_func=words["outcomes"].get, key="w:disc_outcome"
    )
    alpha = c.select_slider(words["alpha"], [0.02, 0.05, 0.1, 0.2], value=0.05, key="w:disc_alpha")
    boxes = d.number_input(words["boxes"], 1, 3, 1, key="w:disc_boxes")
    verb = words["verbs"][outcome]
    st.caption(words["disc_intro"].format(verb=verb))
    manifest = ensemble.manifest
    key = f"{manifest['created']}:{manifest['seed']}:{manifest['n']}:{manifest['scenario_sha256']}"
    found = _discover(key, target_id, outcome, float(alpha), int(boxes), ensemble)
    st.markdown(
        words["summary"].format(
            n=found.n_valid,
            k=found.n_cases,
            verb=verb,
            rate=f"{100 * found.n_cases / max(found.n_valid, 1):.0f}%",
        )
    )
    if found.prim is None or not found.prim.boxes:
        st.info(words["nothing"].format(verb=verb))
    else:
        for box in found.prim.boxes:
            st.markdown(
                "- " + box_sentence(box, plain[target_id], outcome, lambda k: lab.name(k, lang), lang)
            )
        _trajectory(found, plain[target_id], outcome, lang)
    if found.tree:
        st.markdown(f"**{words['tree']}**")
        st.code("\n".join(tree_lines(found.tree, outcome, lambda k: lab.name(k, lang), lang)), language=None)


def _trajectory(found, target_name: str, outcome: str, lang: str) -> None:
    words = TEXT[lang]
    steps = found.prim.trajectory
    spec = {
        "height": "container",
        "data": {"values": vega.records(steps[["coverage", "density", "n_restricted"]])},
        "layer": [
            {
                "mark": {"type": "line", "color": "#999"},
                "encoding": {
                    "x": {
                        "field": "coverage",
                        "type": "quantitative",
                        "title": words["coverage"],
                        "scale": {"domain": [0, 1]},
                    },
                    "y": {
                        "field": "density",
                        "type": "quantitative",
                        "title": words["density"],
                        "scale": {"domain": [0, 1]},
                    },
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 40},
                "encoding": {
                    "x": {"field": "coverage", "type": "quantitative"},
                    "y": {"field": "density", "type": "quantitative"},
                    "color": {"field": "n_restricted", "type": "quantitative", "title": words["restricted"]},
                    "tooltip": [
                        {"field": "coverage", "format": ".2f"},
                        {"field": "density", "format": ".2f"},
                        {"field": "n_restricted"},
                    ],
                },
            },
        ],
    }
    vega.show(spec, words["trajectory"], "decision:peeling", width=90)
    chosen = found.prim.chosen[0] if found.prim.chosen else None
    box = found.prim.boxes[0]

    def png() -> bytes:
        from simulator.plots.decisions import peeling_chart

        return export.png_bytes(
            peeling_chart(steps, chosen, target_name, outcome, lang=lang, final=(box.coverage, box.density))
        )

    st.download_button(
        words["peel_png"], png, "prim_peeling.png", "image/png", on_click="ignore", key="decision:peel_png"
    )

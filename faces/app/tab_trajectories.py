"""轨迹 / Trajectories: chosen indicators 2015–2035 under the current settings (and the scenario as it
was, dashed, when levers moved), with the 2015–2020 history and the plan's target markers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from faces.app import bands, charting, data, export, settings, tables, vega
from faces.app.format import readable
from faces.app.text import tr
from faces.app.widgets import indicator_picker
from simulator import text
from simulator.text import catalogue

TEXT = catalogue("app.tab_trajectories")


def series_labels(lang: str) -> tuple[str, str]:
    """The legend's names of the current settings and of the scenario as it is (dashed)."""
    title, words = settings.current_scenario().title(lang), TEXT[lang]
    return words["current"].format(title=title), words["scenario_as_is"].format(title=title)


def series_frames(lang: str) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """Label -> indicator frame of the current settings and of the scenario as it is (dashed).

    Both always, also before any lever is moved (the two lines then coincide, and the note under the
    charts says so): the charts' specs then stay the same when the first lever moves, and the browser
    only swaps their data instead of building nine charts anew (measured: the first move of a lever
    took twice as long as the next ones; bench/RESULTS.md, "App")."""
    current, as_is = series_labels(lang)
    return {
        current: data.indicators(settings.current_run()),
        as_is: data.indicators(data.run(settings.current_scenario(), {})),
    }, {as_is}


def render(lang: str) -> None:
    """The tab: its controls, then the part that follows the levers (a fragment of its own)."""
    words = TEXT[lang]
    columns = data.indicators(settings.current_run())
    chosen = indicator_picker(words["pick"], columns, lang, "w:indicators")
    st.caption(words["dashed"])
    show_bands = st.toggle(tr(lang, "bands"), key="w:traj_bands", help=tr(lang, "bands_help"))
    lever_part(lang, chosen, show_bands)


@st.fragment(key=settings.TAB_LEVER_PART)
def lever_part(lang: str, chosen: list[str], show_bands: bool) -> None:
    """The charts, their notes and the downloads: what a lever move changes. A lever move reruns this
    alone, not the indicator picker and switches above it (measured: redrawing those cost the browser
    ~100 ms of each move)."""
    words = TEXT[lang]
    frames, dashed = series_frames(lang)
    if chosen:
        # the bands never hold up a redraw: drawn when already computed for these settings, else asked for
        # (computed off the script thread) while the lines are drawn without them
        fingerprint = settings.fingerprint()
        band = bands.ready(fingerprint) if show_bands else None
        same = charting.line_grid(frames, chosen, lang, dashed=dashed, key="trajectories", band=band,
                                  identical_in_subtitle=False)
        if not settings.edits():
            st.caption(words["coincide_all"])
        elif same:
            st.caption(words["coincide_in"].format(
                names=tr(lang, "list_sep").join(charting.indicator_name(i, lang) for i in same)))
        if band is not None:
            st.caption(tr(lang, "bands_note", n=bands.BAND_RUNS))
        elif show_bands:
            bands.request(fingerprint, settings.runnable_scenario())
            bands.watch(fingerprint, tr(lang, "bands_wait"))
    _downloads(frames, chosen, lang)
    _any_variable(lang)


def _downloads(frames: dict[str, pd.DataFrame], chosen: list[str], lang: str) -> None:
    words = TEXT[lang]
    name = settings.current_scenario().name
    current = next(iter(frames.values()))
    table = current[chosen].copy() if chosen else current.copy()
    table.columns = [charting.y_title(i, lang) for i in table.columns]
    table.index.name = tr(lang, "year")
    # the table and the downloads are drawn only while their box is open: otherwise they would be sent
    # (and laid out by the browser) on every lever move
    box = st.expander(words["table"], key="w:traj_table", on_change="rerun")
    if not box.open:
        return
    units = {charting.y_title(i, lang): charting.unit_title(i, lang) for i in (chosen or current.columns)}
    tables.show(readable(table, col_units=units), box, width="stretch")
    result = settings.current_run()
    lab = data.labels()
    a, b, c = box.columns(3)
    # the CSV: one header row of indicator ids and full precision, so pandas.read_csv reads it back
    ids = current[chosen].copy() if chosen else current.copy()
    ids.index.name = "year"
    a.download_button(
        tr(lang, "download_csv"),
        export.csv_bytes(ids),
        f"trajectories_{name}.csv",
        "text/csv",
        on_click="ignore",
        key="trajectories:csv",
    )
    b.download_button(
        words["download_all"],
        lambda: export.result_xlsx(result, lab, lang),
        f"run_{name}.xlsx",
        help=words["download_all_help"],
        on_click="ignore",
        key="trajectories:xlsx",
    )
    indicators = chosen or list(current.columns[:6])
    # the report figure draws the scenario as it is only when a lever moved (else it is the same line)
    drawn = frames if settings.edits() else dict(list(frames.items())[:1])
    c.download_button(
        tr(lang, "download_png"),
        lambda: export.trajectories_png(drawn, indicators, lang),
        f"trajectories_{name}.png",
        "image/png",
        on_click="ignore",
        key="trajectories:png",
    )


def _any_variable(lang: str) -> None:
    words = TEXT[lang]
    lab, model = data.labels(), data.model()
    box = st.expander(words["any"], key="w:traj_any", on_change="rerun")
    if not box.open:
        return
    with box:
        variables = [k for k, e in model.elements.items() if e.kind != "control"]
        pick = st.selectbox(
            words["any_pick"],
            variables,
            key="w:any_variable",
            format_func=lambda k: f"{lab.name(k, lang)} ({k})",
        )
        current, as_is = series_labels(lang)
        runs = {current: settings.current_run(), as_is: data.run(settings.current_scenario(), {})}
        parts = [
            pd.DataFrame(
                {
                    "year": r.frame.index.astype(int),
                    "value": r.frame[pick].to_numpy(float),
                    "series": label,
                    "dash": "solid" if i == 0 else "dashed",
                }
            )
            for i, (label, r) in enumerate(runs.items())
        ]
        unit = lab.unit(pick, lang) or model.elements[pick].units
        spec = vega.lines(
            pd.concat(parts, ignore_index=True),
            f"({unit})",
            tr(lang, "year"),
            tr(lang, "series"),
            history_label=tr(lang, "history"),
            target_label=tr(lang, "target"),
        )
        vega.show(spec, lab.name(pick, lang), "trajectories:any", width=90)
        st.caption(text.readable_note(model.elements[pick].doc, lang))

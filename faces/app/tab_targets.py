"""目标 / Targets: every plan target met, missed or not assessed, simulated vs target and the margin;
the probability of meeting it once a Monte Carlo ensemble has been run for these settings.

The target lights come from the per-run outcomes (``simulator.targets.run_outcomes``) and
``simulator.goalseek.target_margin``, ~30x faster than the full evaluation; the full table
(``simulator.assess.target_table``: first year met, notes, reasons) is evaluated when its expander is open
and when a download is asked for."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from faces.app import charting, data, export, settings, tables, vega, vega_bars
from faces.app.format import num, percent, signed, target_test
from faces.app.text import flat_note, tr
from simulator.targets.assess import HEADERS, STATUS_TEXT, readable_targets
from simulator.targets.assess import target_table as full_table
from simulator.text import catalogue

TEXT = catalogue("app.tab_targets")
#: A probability of meeting a target at least this high (or at most 1 - this) counts as sure.
SURE = 0.9
BADGE = {"met": "green", "missed": "red", "not assessed": "gray"}


def ensemble_probabilities() -> tuple[pd.DataFrame | None, str]:
    """(probabilities of the last ensemble if it was run for the current settings, its state)."""
    last = st.session_state.get("ensemble")
    if not last:
        return None, "none"
    if last["fingerprint"] != settings.fingerprint():
        return None, "stale"
    return last["result"].probabilities.set_index("id"), "ok"


def lights(lang: str) -> list[dict]:
    """One dict per assessable target of the current run: the columns a light and the margin chart read."""
    flags = data.outcomes(settings.current_scenario(), settings.edits())
    rows = []
    for target in data.targets():
        if target.id not in flags:
            continue
        simulated = float(flags[f"{target.id}:value"])
        finite = math.isfinite(simulated)
        margin = float(target.margin(simulated)) if finite else math.nan
        if target.test == "peak_by" or not target.value or not finite:
            pct = math.nan
        else:
            pct = 100.0 * margin / abs(target.value)
        status = {1: "met", 0: "missed"}.get(int(flags[target.id]), "not assessed")
        note = ""
        if target.test == "peak_by" and not finite and status == "missed":
            note = TEXT[lang]["not_peaked"]
        rows.append(
            {
                "id": target.id,
                "name": target.name(lang),
                "year": target.year,
                "test": target.test,
                "target": target.value,
                "base_year": target.base_year,
                "indicator": target.indicator,
                "unit": charting.target_unit(target.unit, target.indicator, lang),
                "status": status,
                "simulated": simulated,
                "margin": margin,
                "margin_pct": pct,
                "note": note,
                "reason": TEXT[lang]["invalid"] if status == "not assessed" else "",
            }
        )
    return rows


def flat(prob: pd.DataFrame | None, target_id: str) -> bool:
    """Whether the ensemble flags this target as carrying no sampled uncertainty (the same simulated value
    in every run, :func:`simulator.analysis.ensemble.flag_no_uncertainty`): its 0 or 1 is no chance."""
    return (prob is not None and "no_uncertainty" in prob and target_id in prob.index
            and bool(prob.loc[target_id, "no_uncertainty"]))


def light(row: dict, lang: str, prob: pd.DataFrame | None) -> str:
    """One target as markdown: status badge, name, simulated vs target, margin, probability."""
    words = TEXT[lang]
    status, colour = STATUS_TEXT[lang][row["status"]], BADGE[row["status"]]
    p = None
    if flat(prob, row["id"]):
        # met or missed whatever the sampled inputs do: say so instead of a bare 0 % / 100 %
        status = f"{status} · {tr(lang, 'flat_word')}*"
    elif prob is not None and row["id"] in prob.index and prob.loc[row["id"], "n_valid"] > 0:
        p = float(prob.loc[row["id"], "probability"])
        # a light says how sure: green only when (nearly) every run agrees, orange when it is open
        colour = "green" if p >= SURE else "red" if p <= 1 - SURE else "orange"
        status = f"{status} · {words['likely'] if colour == 'orange' else words['sure']} {percent(p)}"
    head = f":{colour}-badge[{status}] **{row['name']}**({int(row['year'])})"
    if row["status"] == "not assessed":
        return f"{head} · {row['reason']}"
    if row["test"] == "peak_by":
        simulated = row["note"] or (f"{row['simulated']:.0f}" if math.isfinite(row["simulated"]) else "—")
    else:
        simulated = f"{num(row['simulated'])} {row['unit']}"
    text = f"{head}  \n{words['simulated']} {simulated} · {words['target']} {target_test(row, lang)}"
    if math.isfinite(row["margin"]):
        # the margin in the target's own unit (years for a peak year), with its sign
        unit = tr(lang, "years") if row["test"] == "peak_by" else row["unit"]
        text += f" · {words['margin']} {signed(row['margin'])} {unit}".rstrip()
    if p is not None:
        text += f" · **{words['probability']} {percent(p)}**"
    return text


def render(lang: str) -> None:
    words = TEXT[lang]
    scen, edits = settings.current_scenario(), settings.edits()
    rows = lights(lang)
    prob, prob_state = ensemble_probabilities()
    met = sum(r["status"] == "met" for r in rows)
    missed = sum(r["status"] == "missed" for r in rows)
    total = len(data.targets())
    st.markdown(words["summary"].format(met=met, missed=missed, na=total - met - missed, total=total))
    if prob_state == "ok":
        manifest = st.session_state["ensemble"]["result"].manifest
        st.caption(
            words["prob_source"].format(n=manifest["n"], sampler=manifest["sampler"], seed=manifest["seed"])
        )
    else:
        st.caption(words["prob_" + prob_state])
    columns = st.columns(2)
    for number, row in enumerate(r for r in rows if r["status"] != "not assessed"):
        with columns[number % 2].container(key=f"light-{row['id']}", border=True):
            st.markdown(light(row, lang, prob))
    if any(flat(prob, r["id"]) for r in rows):
        st.caption(flat_note(lang))
    chart = pd.DataFrame([r for r in rows if math.isfinite(r["margin_pct"])])
    if not chart.empty:
        chart["tip"] = [
            f"{words['simulated']} {num(r['simulated'])} {r['unit']} · "
            f"{words['target']} {target_test(r, lang)}"
            for r in chart.to_dict("records")
        ]
        chart["margin_pct"] = chart["margin_pct"].clip(-100, 100)
        vega.show(
            vega_bars.dots(
                chart[["name", "margin_pct", "status", "tip"]],
                words["chart_x"],
                words["chart_y"],
                STATUS_TEXT[lang],
            ),
            words["chart"], "targets:dots", height=None, width=100,
        )
    _downloads(scen, edits, lang, prob)
    box = st.expander(words["table"], key="w:targets_table", on_change="rerun")
    if box.open:
        with box:
            tables.show(
                shown(data.target_table(scen, edits, lang), lang, prob),
                hide_index=True,
                width="stretch",
                key="targets:table",
            )
            if prob is not None and "no_uncertainty" in prob and prob["no_uncertainty"].any():
                st.caption(flat_note(lang))
    missing = data.unassessable(scen, edits, lang)
    box = st.expander(
        words["not_assessed"].format(n=len(missing)), key="w:targets_missing", on_change="rerun"
    )
    if box.open and len(missing):
        with box:
            tables.show(
                missing[["name", "year", "reason"]].rename(
                    columns={"name": words["target"], "year": tr(lang, "year"), "reason": words["reason"]}
                ),
                hide_index=True,
                width="stretch",
            )


def shown(table: pd.DataFrame, lang: str, prob: pd.DataFrame | None) -> pd.DataFrame:
    """The target table as an analyst reads it: headers, statuses and kinds in ``lang``, units translated,
    and the ensemble's probabilities when there are any."""
    words = TEXT[lang]
    table = table.assign(
        unit=[
            charting.target_unit(u, i, lang) for u, i in zip(table["unit"], table["indicator"], strict=True)
        ]
    )
    out = readable_targets(table, lang)
    kind = HEADERS[lang]["kind"]
    out[kind] = (
        table["kind"].map({"binding": words["binding"], "expected": words["expected"]}).fillna(table["kind"])
    )
    if prob is not None:
        p = prob.reindex(table["id"])
        none = p["no_uncertainty"].fillna(False).to_numpy(bool) if "no_uncertainty" in p else False
        # a target without sampled uncertainty has no probability, only its verdict (the status column)
        out[words["probability"]] = pd.Series(100 * p["probability"].to_numpy(float)).where(~none).round(1).values
        out[words["ci"]] = [
            f"{tr(lang, 'flat_word')}*" if nothing else f"{100 * lo:.1f}–{100 * hi:.1f}%" if hi == hi else None
            for lo, hi, nothing in zip(p["ci_low"], p["ci_high"], np.broadcast_to(none, len(p)), strict=True)
        ]
    return out


def _downloads(scen, edits: dict, lang: str, prob: pd.DataFrame | None) -> None:
    """CSV, XLSX and PNG of the full target table, made when clicked (no Streamlit call inside)."""
    result, lab, targets = settings.current_run(), data.labels(), data.targets()
    title, name = scen.title(lang), scen.name
    units = {t.id: charting.target_unit(t.unit, t.indicator, lang) for t in targets}

    def table() -> pd.DataFrame:
        evaluated = full_table(result, lab, lang, targets=targets)
        return evaluated.assign(unit=evaluated["id"].map(units))

    provenance = pd.DataFrame(
        {"key": list(result.provenance), "value": [str(v) for v in result.provenance.values()]}
    )
    a, b, c = st.columns(3)
    a.download_button(
        tr(lang, "download_csv"),
        lambda: export.csv_bytes(shown(table(), lang, prob), index=False),
        f"targets_{name}.csv",
        "text/csv",
        on_click="ignore",
        key="targets:csv",
    )
    b.download_button(
        tr(lang, "download_xlsx"),
        lambda: export.xlsx_bytes(
            {"targets": shown(table(), lang, prob), "provenance": provenance}, index=False
        ),
        f"targets_{name}.xlsx",
        on_click="ignore",
        key="targets:xlsx",
    )
    c.download_button(
        tr(lang, "download_png"),
        lambda: export.feasibility_png({title: table()}, lang),
        f"targets_{name}.png",
        "image/png",
        on_click="ignore",
        key="targets:png",
    )

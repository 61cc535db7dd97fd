"""What the Monte Carlo tab shows of an ensemble: fan charts, probability bars, the carbon-peak-year
histogram, the probability table, the sampled inputs and the downloads (CSV, XLSX, zip, PNG)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from faces.app import charting, data, export, settings, tables, vega, vega_bars
from faces.app.text import flat_note, tr, with_note
from simulator.text import catalogue

TEXT = catalogue("app.montecarlo_views")


#: Height of a fan chart [px].
FAN_HEIGHT = 540
#: Used when labels.toml names no peak target.
FALLBACK_PEAK_TARGET = "carbon-peak-2030"


def peak_target() -> str:
    """The target whose simulated value is the CO2 peak year: the labels' ``peak_target`` view."""
    return data.labels().views.get("peak_target", FALLBACK_PEAK_TARGET)


def _probabilities(result, lang: str) -> pd.DataFrame:
    names = {t.id: t.name(lang) for t in data.targets()}
    table = result.probabilities[result.probabilities["n_valid"] > 0].copy()
    table["name"] = [with_note(names.get(i, i), int(y), lang) for i, y in zip(table["id"], table["year"], strict=True)]
    if "no_uncertainty" not in table:  # an ensemble saved before the library flagged it
        table["no_uncertainty"] = False
    table["no_uncertainty"] = table["no_uncertainty"].fillna(False).astype(bool)
    return table


def show(result, lang: str) -> None:
    """Fan charts, probability bars, peak-year histogram, tables and downloads of an ensemble."""
    words = TEXT[lang]
    bands = result.bands
    indicators = [i for i in st.session_state["indicators"] if i in set(bands["indicator"])] or list(
        dict.fromkeys(bands["indicator"])
    )[:6]
    current = data.indicators(settings.current_run())
    st.markdown(f"**{words['fans']}**")
    for start in range(0, len(indicators), 3):
        for column, indicator in zip(st.columns(3), indicators[start : start + 3], strict=False):
            band = bands[bands["indicator"] == indicator]
            line = pd.DataFrame(
                {"year": current.index.astype(int), "value": current[indicator].to_numpy(float)}
            )
            spec = vega.fan(
                band,
                charting.unit_title(indicator, lang),
                tr(lang, "year"),
                {**words, "history": tr(lang, "history"), "target": tr(lang, "target")},
                current=line,
                history=charting.history_of(indicator),
                markers=charting.markers(indicator, lang),
            )
            with column:
                # taller than a line chart: its legend has six entries, in one column in English
                vega.show(spec, charting.indicator_name(indicator, lang), f"mc:fan:{indicator}", width=34,
                          height=FAN_HEIGHT)
    probs = _probabilities(result, lang)
    left, right = st.columns([3, 2])
    with left:
        vega.show(
            vega_bars.probability_bars(
                probs[["name", "probability", "ci_low", "ci_high", "n_valid", "no_uncertainty"]],
                words["prob_x"],
                words["prob_y"],
                flat_labels={True: f"{tr(lang, 'met')}*", False: f"{tr(lang, 'missed')}*"},
            ),
            words["probability"], "mc:probabilities", height=None, width=50,
        )
        if probs["no_uncertainty"].any():
            st.caption(flat_note(lang))
    with right:
        vega.show(vega_bars.counts(peak_counts(result, lang), words["peak_x"], words["peak_y"]), words["peak"],
                  "mc:peaks", width=34)
    cols = words["cols"]
    flat = probs["no_uncertainty"].to_numpy(bool)
    table = pd.DataFrame(
        {
            cols["name"]: probs["name"],
            cols["year"]: probs["year"],
            # no probability for a target no sampled input moves: its verdict and the flag instead
            cols["probability"]: (100 * probs["probability"]).round(1).where(~flat),
            cols["ci"]: [
                f"{tr(lang, 'met') if p >= 0.5 else tr(lang, 'missed')}* ({tr(lang, 'flat_word')})" if f
                else f"{100 * lo:.1f}–{100 * hi:.1f}%"
                for lo, hi, p, f in zip(probs["ci_low"], probs["ci_high"], probs["probability"], flat, strict=True)
            ],
            cols["n_valid"]: probs["n_valid"],
            cols["n_met"]: probs["n_met"],
        }
    )
    st.markdown(f"**{words['table']}**")
    tables.show(table, hide_index=True, width="stretch", key="mc:table")
    _details(result, lang)
    _downloads(result, table, indicators, lang)


def peak_counts(result, lang: str) -> pd.DataFrame:
    """Runs per CO2 peak year, with the runs not yet peaked by the last year as their own bar."""
    peaks = result.peak_years(peak_target())
    total = max(len(peaks), 1)
    peaked = peaks[np.isfinite(peaks)].astype(int)
    rows = (
        [
            {"label": str(year), "count": int((peaked == year).sum()), "peaked": True}
            for year in range(int(peaked.min()), int(peaked.max()) + 1)
        ]
        if len(peaked)
        else []
    )
    missing = int(np.isnan(peaks).sum())
    if missing:
        rows.append({"label": TEXT[lang]["not_peaked"], "count": missing, "peaked": False})
    frame = pd.DataFrame(rows, columns=["label", "count", "peaked"])
    return frame.assign(share=frame["count"] / total)


def _details(result, lang: str) -> None:
    words = TEXT[lang]
    lab = data.labels()
    manifest = result.manifest
    with st.expander(words["inputs"].format(n=len(manifest.get("inputs", [])))):
        fixed = set(manifest.get("fixed_by_scenario", []))
        tables.show(
            pd.DataFrame(
                {
                    words["input"]: [f"{lab.name(k, lang)} ({k})" for k in manifest["inputs"]],
                    "": [words["fixed"] if k in fixed else "" for k in manifest["inputs"]],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    with st.expander(words["manifest"]):
        st.json(manifest)


def _downloads(result, table: pd.DataFrame, indicators: list[str], lang: str) -> None:
    from simulator.plots import ensembles as ensemble_charts

    words = TEXT[lang]
    manifest = result.manifest
    stem = f"ensemble_{manifest['scenario']}_n{manifest['n']}_seed{manifest['seed']}"
    lab = data.labels()
    a, b, c = st.columns(3)
    a.download_button(
        tr(lang, "download_csv"),
        export.csv_bytes(table, index=False),
        f"{stem}_probabilities.csv",
        "text/csv",
        on_click="ignore",
        key="mc:csv",
    )
    sheets = {
        "probabilities": table,
        "bands": result.bands,
        "manifest": pd.DataFrame({"key": list(manifest), "value": [str(v) for v in manifest.values()]}),
    }
    b.download_button(
        tr(lang, "download_xlsx"),
        lambda: export.xlsx_bytes(sheets, index=False),
        f"{stem}.xlsx",
        on_click="ignore",
        key="mc:xlsx",
    )
    c.download_button(
        words["zip"],
        lambda: export.folder_zip(result.save),
        f"{stem}.zip",
        "application/zip",
        on_click="ignore",
        key="mc:zip",
    )
    d, e, f = st.columns(3)
    d.download_button(
        words["download_fans"],
        lambda: export.png_bytes(
            ensemble_charts.fan_chart(result.bands, indicators, lab, history=data.history(), lang=lang)
        ),
        f"{stem}_bands.png",
        "image/png",
        on_click="ignore",
        key="mc:png_fans",
    )
    e.download_button(
        words["download_bars"],
        lambda: export.png_bytes(ensemble_charts.probability_bars(_probabilities(result, lang), lang=lang)),
        f"{stem}_probabilities.png",
        "image/png",
        on_click="ignore",
        key="mc:png_bars",
    )
    f.download_button(
        words["download_peak"],
        lambda: export.png_bytes(
            ensemble_charts.peak_histogram(
                result.peak_years(peak_target()), int(data.model().years[-1]), lang=lang
            )
        ),
        f"{stem}_peak_years.png",
        "image/png",
        on_click="ignore",
        key="mc:png_peak",
    )

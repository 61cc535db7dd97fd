"""What the Monte Carlo tab shows of an ensemble: fan charts, probability bars, the carbon-peak-year
histogram, the probability table, the sampled inputs and the downloads (CSV, XLSX, zip, PNG)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from faces.app import charting, data, export, settings, vega, vega_bars
from faces.app.text import tr

TEXT = {
    "zh": {
        "intro": "在当前设置(情景 + 滑块修改)的基础上,对 scenarios/uncertainty.toml 中的不确定输入抽样,"
        "每次模拟运行快速引擎;情景或滑块已设定的输入保持固定。",
        "n": "模拟次数 N",
        "sampler": "抽样方法",
        "seed": "随机种子",
        "run": "运行蒙特卡洛模拟",
        "samplers": {"lhs": "拉丁超立方(LHS)", "sobol": "Sobol序列", "random": "简单随机"},
        "sobol_n": "Sobol 抽样需要 2 的幂次个样本:N 取为 {n}。",
        "running": "正在模拟 {done}/{total} 次…",
        "done": "完成 {n} 次模拟,用时 {s:.2f} 秒(失败 {failed} 次)。",
        "stale": "以下结果对应的是之前的设置;修改后的设置需要重新运行。",
        "none": "设置 N、抽样方法和种子后点击“运行”。",
        "fans": "不确定性区间(中位数、50%与90%区间;虚线为当前设置的确定性结果)",
        "band90": "90%区间",
        "band50": "50%区间",
        "median": "中位数",
        "current": "确定性结果",
        "probability": "达到目标的概率(误差线为95%置信区间)",
        "prob_x": "达到目标的概率",
        "prob_y": "目标",
        "peak": "碳排放峰值年份分布",
        "peak_x": "峰值年份",
        "peak_y": "模拟次数",
        "not_peaked": "2035年前未达峰",
        "table": "概率表",
        "inputs": "不确定输入({n} 个)",
        "input": "输入",
        "fixed": "已由情景固定",
        "manifest": "运行信息(manifest)",
        "zip": "下载结果文件夹(zip)",
        "download_fans": "下载区间图(PNG)",
        "download_bars": "下载概率图(PNG)",
        "download_peak": "下载峰值年份图(PNG)",
        "cols": {
            "name": "目标",
            "year": "年份",
            "probability": "概率(%)",
            "ci": "95%置信区间",
            "n_valid": "有效模拟数",
            "n_met": "达标次数",
        },
    },
    "en": {
        "intro": "Samples the uncertain inputs of scenarios/uncertainty.toml around the current settings "
        "(scenario + slider edits) and runs each sample on the fast engine; inputs the scenario or a slider "
        "sets stay fixed.",
        "n": "Runs N",
        "sampler": "Sampler",
        "seed": "Seed",
        "run": "Run the ensemble",
        "samplers": {"lhs": "Latin hypercube (LHS)", "sobol": "Sobol sequence", "random": "Simple random"},
        "sobol_n": "Sobol sampling needs a power of 2: N is {n}.",
        "running": "Simulating {done}/{total}…",
        "done": "{n} runs in {s:.2f} s ({failed} failed).",
        "stale": "These results are for earlier settings; run again for the current ones.",
        "none": "Set N, the sampler and the seed, then run.",
        "fans": "Uncertainty (median, 50 % and 90 % bands; dashed: the deterministic run of the current "
        "settings)",
        "band90": "90% band",
        "band50": "50% band",
        "median": "median",
        "current": "deterministic run",
        "probability": "Probability of meeting each target (bars: 95 % interval)",
        "prob_x": "Probability met",
        "prob_y": "Target",
        "peak": "Year CO₂ emissions peak",
        "peak_x": "Peak year",
        "peak_y": "Runs",
        "not_peaked": "not by 2035",
        "table": "Probability table",
        "inputs": "Uncertain inputs ({n})",
        "input": "input",
        "fixed": "fixed by the scenario",
        "manifest": "Run record (manifest)",
        "zip": "Download the results folder (zip)",
        "download_fans": "Download the bands (PNG)",
        "download_bars": "Download the probabilities (PNG)",
        "download_peak": "Download the peak years (PNG)",
        "cols": {
            "name": "target",
            "year": "year",
            "probability": "probability (%)",
            "ci": "95% interval",
            "n_valid": "valid runs",
            "n_met": "runs met",
        },
    },
}


#: Used when labels.toml names no peak target.
FALLBACK_PEAK_TARGET = "carbon-peak-2030"


def peak_target() -> str:
    """The target whose simulated value is the CO2 peak year: the labels' ``peak_target`` view."""
    return data.labels().views.get("peak_target", FALLBACK_PEAK_TARGET)


def _probabilities(result, lang: str) -> pd.DataFrame:
    names = {t.id: t.name(lang) for t in data.targets()}
    table = result.probabilities[result.probabilities["n_valid"] > 0].copy()
    table["name"] = [f"{names.get(i, i)}({int(y)})" for i, y in zip(table["id"], table["year"], strict=True)]
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
                charting.axis_title(indicator, lang),
                tr(lang, "year"),
                {**words, "history": tr(lang, "history"), "target": tr(lang, "target")},
                current=line,
                history=charting.history_of(indicator),
                markers=charting.markers(indicator, lang),
            )
            with column:
                st.markdown(f"**{charting.indicator_name(indicator, lang)}**")
                st.vega_lite_chart(spec, width="stretch", height=vega.CHART_HEIGHT, key=f"mc:fan:{indicator}")
    probs = _probabilities(result, lang)
    left, right = st.columns([3, 2])
    with left:
        st.markdown(f"**{words['probability']}**")
        st.vega_lite_chart(
            vega_bars.probability_bars(
                probs[["name", "probability", "ci_low", "ci_high", "n_valid"]],
                words["prob_x"],
                words["prob_y"],
            ),
            width="stretch",
            key="mc:probabilities",
        )
    with right:
        st.markdown(f"**{words['peak']}**")
        st.vega_lite_chart(
            vega_bars.counts(peak_counts(result, lang), words["peak_x"], words["peak_y"]),
            width="stretch",
            height=vega.CHART_HEIGHT,
            key="mc:peaks",
        )
    cols = words["cols"]
    table = pd.DataFrame(
        {
            cols["name"]: probs["name"],
            cols["year"]: probs["year"],
            cols["probability"]: (100 * probs["probability"]).round(1),
            cols["ci"]: [
                f"{100 * lo:.1f}–{100 * hi:.1f}%"
                for lo, hi in zip(probs["ci_low"], probs["ci_high"], strict=True)
            ],
            cols["n_valid"]: probs["n_valid"],
            cols["n_met"]: probs["n_met"],
        }
    )
    st.markdown(f"**{words['table']}**")
    st.dataframe(table, hide_index=True, width="stretch", key="mc:table")
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
        st.dataframe(
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

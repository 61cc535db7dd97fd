"""校准 / Calibration: 2015–2020 history against the model at the calibrated values, per series with
each observation's uncertainty; the fit statistics (MAPE, RMSPE, Theil's U) and the fitted parameters."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import simulator
from faces.app import calibration_data, charting, data, export, tables, vega
from faces.app.text import tr
from simulator import text
from simulator.text import catalogue

TEXT = catalogue("app.tab_calibration")


def render(lang: str) -> None:
    words = TEXT[lang]
    try:
        from calibration import OBSERVATIONS_PATH

        project = simulator.Project.default()
        stamp = f"{data.file_stamp(project.calibration_path, OBSERVATIONS_PATH)}:{data.model().sha256}"
        fit = calibration_data.evaluate(stamp)
    except (ImportError, FileNotFoundError, simulator.UserError) as exc:
        st.info(words["unavailable"].format(error=exc))
        return
    fitted = calibration_data.calibrated_file()
    info = fitted.get("calibration", {})
    if fitted:
        st.caption(
            words["source_ok"].format(
                objective=f"{info.get('objective', float('nan')):.3f}",
                n=info.get("n_observations", "?"),
                p=info.get("n_parameters", "?"),
                ident=info.get("n_identified", "?"),
            )
        )
    else:
        st.caption(words["source_none"])
    cols = words["cols"]
    name = "series_zh" if lang == "zh" else "series_en"
    table = fit["table"]
    goals = fit["goals"].copy()
    goals["mape"] = goals["mape"].astype(float).round(2)
    goals["goal"] = goals["goal"].map(lambda g: words["goal_names"].get(g, g))
    goals["met"] = goals["met"].map(lambda m: tr(lang, "met") if m else tr(lang, "missed"))
    st.markdown(f"**{words['goals']}**")
    tables.show(
        goals.rename(columns={k: cols.get(k, k) for k in goals.columns}), hide_index=True, width="stretch"
    )
    stats = fit["stats"]
    shown = stats.assign(
        series=stats[name],
        use=stats["use"].map(lambda u: "/".join(words.get(p, p) for p in u.split("/"))),
        kind=stats["kind"].map(lambda k: "/".join(words["kinds"].get(p, p) for p in k.split("/"))),
    ).drop(columns=["series_zh", "series_en"])
    for column in ("mape", "rmspe", "um", "us", "uc"):
        shown[column] = shown[column].astype(float).round(2 if column in ("mape", "rmspe") else 3)
    shown = shown.rename(columns=cols)
    st.markdown(f"**{words['stats']}**")
    tables.show(shown, hide_index=True, width="stretch", key="calibration:stats")
    _series_charts(fit["series"], lang)
    params = _parameters(fitted, lang)
    if params is not None:
        st.markdown(f"**{words['params']}**")
        tables.show(params, hide_index=True, width="stretch", key="calibration:params")
    box = st.expander(words["residuals"], key="w:cal_residuals", on_change="rerun")
    if box.open:
        with box:
            tables.show(residuals(table, lang), hide_index=True, width="stretch")
    a, b = st.columns(2)
    a.download_button(
        tr(lang, "download_csv"),
        export.csv_bytes(shown, index=False),
        "calibration_fit.csv",
        "text/csv",
        on_click="ignore",
        key="calibration:csv",
    )
    sheets = {"statistics": shown, "goals": goals, "observations": table}
    if params is not None:
        sheets["parameters"] = params
    b.download_button(
        tr(lang, "download_xlsx"),
        lambda: export.xlsx_bytes(sheets, index=False),
        "calibration_fit.xlsx",
        on_click="ignore",
        key="calibration:xlsx",
    )


def residuals(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Every observation against the model, in ``lang``: series, year, kind, observed value or range, σ,
    the model's value, the error, its use and confidence (the working notes and ids stay in the CSV)."""
    words = TEXT[lang]
    cols = words["residual_cols"]
    name = "series_zh" if lang == "zh" else "series_en"

    def each(column: str, mapping: dict) -> list:
        return ["/".join(mapping.get(p, p) for p in str(v).split("/")) for v in table[column]]

    def finite(column: str) -> pd.Series:
        values = pd.to_numeric(table[column], errors="coerce")
        return values.where(values.abs() < float("inf"))  # an open range end (±inf) is no value

    inside = table["inside"].map(lambda v: "" if v != v or v is None else words["yes"] if v else words["no"])
    out = pd.DataFrame({
        cols["series"]: table[name],
        cols["year"]: table["year"].astype(int),
        cols["kind"]: each("kind", words["kinds"]),
        cols["value"]: finite("value"),
        cols["low"]: finite("low"),
        cols["high"]: finite("high"),
        cols["unit"]: table["unit"].map(lambda u: charting.target_unit(u, "", lang)),
        cols["sigma"]: finite("sigma"),
        cols["model"]: finite("model"),
        cols["error_pct"]: finite("error_pct").round(2),
        cols["z"]: finite("z").round(2),
        cols["inside"]: inside,
        cols["use"]: each("use", {"fit": words["fit"], "check": words["check"]}),
        cols["confidence"]: each("confidence", words["confidence"]),
    })
    return out


def _series_charts(series: dict, lang: str) -> None:
    words = TEXT[lang]
    titles = {key: entry[lang] for key, entry in series.items()}
    st.markdown(f"**{words['series']}**")
    keys = list(series)
    chosen = st.multiselect(
        words["pick"],
        keys,
        default=keys[:6],
        format_func=titles.get,
        key="w:cal_series",
        placeholder=tr(lang, "choose"),
    )
    for start in range(0, len(chosen), 3):
        for column, key in zip(st.columns(3), chosen[start : start + 3], strict=False):
            entry = series[key]
            observed, unit, kind = entry["observed"], entry["unit"], entry["kind"]
            modelled = pd.DataFrame(
                {"year": entry["years"], "value": entry["model"], "series": words["model"], "dash": "solid"}
            )
            unit = charting.target_unit(unit, entry.get("indicator", ""), lang)
            spec = vega.lines(
                modelled,
                f"({unit})" if unit else tr(lang, "ratio_unit"),
                tr(lang, "year"),
                tr(lang, "series"),
                history=observed,
                history_label=words["observed"],
                points=True,
                first=2014,
                last=2021,
                target_label=tr(lang, "target"),
            )
            with column:
                use = words.get(entry["use"], "")
                vega.show(spec, titles[key], f"calibration:{key}", width=34,
                          subtitle=f"{words['kinds'].get(kind, kind)} · {use}")


def _parameters(fitted: dict, lang: str) -> pd.DataFrame | None:
    if not fitted:
        return None
    cols, lab = TEXT[lang]["cols"], data.labels()
    rows = []
    for group in ("parameters", "nuisance"):
        for pid, entry in fitted.get(group, {}).items():
            rows.append(
                {
                    "parameter": pid,
                    "name": lab.name(pid, lang),
                    **{
                        k: entry.get(k)
                        for k in (
                            "value",
                            "std_error",
                            "default",
                            "min",
                            "max",
                            "units",
                            "identification",
                            "at_bound",
                        )
                    },
                }
            )
    frame = pd.DataFrame(rows)
    frame["units"] = frame["units"].map(lambda u: text.unit(u, lang))
    frame["identification"] = frame["identification"].map(lambda v: TEXT[lang]["identification"].get(v, v))
    frame["at_bound"] = frame["at_bound"].map(lambda v: TEXT[lang]["yes" if v else "no"])
    return frame.rename(columns=cols)

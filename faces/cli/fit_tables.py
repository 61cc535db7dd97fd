"""What ``jinan-sd calibrate`` prints: the fit's goals, statistics per series, parameters and every
observation's residual, as aligned tables (display-width aware, within 120 columns) in zh or en."""

from __future__ import annotations

import pandas as pd

from faces.cli.table import footnotes, note, records
from simulator.text import catalogue

TEXT = catalogue("cli.fit")


def fit_text(result, table: pd.DataFrame, lang: str, labels=None) -> str:
    """The printed calibration report of ``result`` (a :class:`calibration.fit.FitResult`) and ``table``
    (:func:`calibration.report.evaluate`); ``labels`` give the parameters' display names."""
    from calibration.report import goals, parameter_table, series_statistics

    words = TEXT[lang]
    head = words["summary"].format(method=result.method, seed=result.seed, starts=result.starts,
                                   runs=result.runs, seconds=result.seconds, objective=result.objective,
                                   chi2=result.chi2_data, n=len(result.problem.predictor), prior=result.chi2_prior)
    parts = [note(head), _goals(goals(table), words), _series(series_statistics(table), words, lang),
             _parameters(parameter_table(result), words, lang, labels), _observations(table, words, lang)]
    return "\n\n".join(parts)


def _goals(frame: pd.DataFrame, words: dict) -> str:
    shown = frame.copy()
    shown["goal"] = [words["goal_names"].get(g, g) for g in shown["goal"]]
    shown["status"] = [words["met"] if met else words["missed"] for met in shown["met"]]
    marks, notes = footnotes(shown["observations"])
    shown["observations"] = marks
    columns = {"mape": "value", "limit": "value", "status": "text", "observations": "text"}
    headers = {"goal": words["goal"], "mape": words["mape"], "limit": words["limit"], "status": words["status"],
               "observations": words["observations"]}
    body = records(shown, "goal", columns, headers)
    return "\n".join([words["goals"], body, *(note(n) for n in notes)])


def _series(frame: pd.DataFrame, words: dict, lang: str) -> str:
    shown = frame.copy()
    name = "series_zh" if lang == "zh" else "series_en"
    shown["label"] = [f"{n}{words['check'] if use == 'check' else ''}" for n, use in zip(shown[name], shown["use"],
                                                                                        strict=True)]
    columns = {"n": "count", "mape": "value", "rmspe": "value", "um": "index", "us": "index", "uc": "index",
               "ranges_held": "text"}
    headers = {"label": words["series"], "n": "n", "mape": words["mape"], "rmspe": words["rmspe"], "um": "U^M",
               "us": "U^S", "uc": "U^C", "ranges_held": words["ranges"]}
    return "\n".join([words["per_series"], records(shown, "label", columns, headers)])


def _parameters(frame: pd.DataFrame, words: dict, lang: str, labels) -> str:
    shown = frame.copy()
    shown["name"] = [labels.name(p, lang) if labels is not None else p for p in shown["parameter"]]
    shown["identification"] = [words["identification"].get(i, i) + (f" ({words['at_bound']})" if bound else "")
                               for i, bound in zip(shown["identification"], shown["at_bound"], strict=True)]
    columns = {"default": "value", "value": "value", "std_error": "value", "identification": "text",
               "parameter": "text"}
    headers = {"name": words["parameter"], "default": words["default"], "value": words["fitted"],
               "std_error": words["std_error"], "identification": words["identified"], "parameter": words["id"]}
    return "\n".join([words["parameters"], records(shown, "name", columns, headers)])


def _observations(table: pd.DataFrame, words: dict, lang: str) -> str:
    from faces.cli.table import cell

    shown = table.copy()
    name = "series_zh" if lang == "zh" else "series_en"
    shown["observed"] = [f"[{cell(lo)}, {cell(hi)}]" if kind == "range" else cell(value)
                         for kind, lo, hi, value in zip(shown["kind"], shown["low"], shown["high"], shown["value"],
                                                        strict=True)]
    shown["use"] = [words["uses"].get(u, u) for u in shown["use"]]
    columns = {"id": "text", "use": "text", "observed": "text", "model": "value", "error_pct": "percent",
               "z": "index"}
    headers = {name: words["series"], "id": words["id"], "use": words["use"], "observed": words["observed"],
               "model": words["model"], "error_pct": words["error"], "z": "z"}
    return "\n".join([words["observations_head"], records(shown, name, columns, headers)])

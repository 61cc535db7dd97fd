"""Words of the page frame and sidebar in Chinese and English (each tab keeps its own words)."""

from __future__ import annotations

LANGS = ("zh", "en")
LANG_NAMES = {"zh": "中文", "en": "English"}

#: Tab id -> (Chinese label, English label), in display order.
TABS = {
    "targets": ("目标", "Targets"),
    "trajectories": ("轨迹", "Trajectories"),
    "compare": ("情景对比", "Compare"),
    "montecarlo": ("蒙特卡洛", "Monte Carlo"),
    "sensitivity": ("敏感性", "Sensitivity"),
    "decision": ("决策支持", "What it takes"),
    "calibration": ("校准", "Calibration"),
    "model": ("模型", "Model"),
}

TEXT = {
    "zh": {
        "title": "济南市“十四五”规划与2035年远景目标 情景模拟",
        "language": "语言 / Language",
        "scenario": "情景",
        "scenario_help": "scenarios/ 目录中的情景文件,或上传的情景。切换情景会清除滑块上的修改。",
        "uploaded": "上传",
        "levers": "政策杠杆",
        "levers_caption": "滑块标记 ◆ 表示已偏离情景值;鼠标悬停 ⓘ 可查看情景值、模型默认值和数据来源。",
        "other_levers": "其他参数(假设与校准值)",
        "other_pick": "选择参数",
        "reset": "恢复情景值",
        "reset_help": "清除所有滑块修改,回到所选情景的取值。",
        "changed": "已修改 {n} 项杠杆",
        "unchanged": "未修改(与情景一致)",
        "download_toml": "下载当前设置(情景TOML)",
        "upload": "上传情景文件(TOML)",
        "upload_help": "格式见 scenarios/*.toml;文件会先经过校验,出错时不改变当前设置。",
        "upload_ok": "已载入情景“{name}”。",
        "upload_error": "情景文件有误:{error}",
        "link": "本页链接包含全部设置,复制浏览器地址即可复现当前视图。",
        "url_ignored": "链接参数被忽略:{error}",
        "scenario_value": "情景值",
        "model_default": "模型默认值",
        "calibrated": "校准值",
        "source": "来源",
        "scenario_source": "情景依据",
        "range": "范围",
        "path_year": "{year}年",
        "path_caption": "时间路径:拖动{y1}年和{y2}年的取值,其间线性插值;"
        "若{y1}年后路径持平,移动{y1}年时{y2}年随之移动。",
        "modified_mark": "◆",
        "current": "当前设置",
        "metric_gdp": "2025年GDP",
        "help_gdp": "2025年地区生产总值(2020年价)",
        "metric_pop": "2025年人口",
        "help_pop": "2025年常住人口",
        "metric_water": "2025年用水",
        "help_water": "2025年用水总量",
        "metric_peak": "碳排放峰值年",
        "help_peak": "2015–2035年模拟期内二氧化碳排放最高的年份;“未达峰”表示2035年仍在上升",
        "metric_energy": "能耗强度变化",
        "help_energy": "单位地区生产总值能耗2025年较2020年的变化(%)",
        "metric_targets": "目标达成",
        "help_targets": "达到的目标数 / 可由模型评估的规划目标数",
        "not_peaked": "未达峰",
        "delta_vs": "箭头为相对情景原值的变化",
        "unavailable": "此功能所需的库模块({module})尚未提供,敬请期待。",
        "download_csv": "下载CSV",
        "choose": "请选择",
        "download_xlsx": "下载XLSX",
        "download_png": "下载PNG图",
        "year": "年份",
        "value": "数值",
        "series": "情景",
        "history": "历史数据",
        "target": "规划目标",
        "met": "达到",
        "missed": "未达到",
        "not assessed": "未评估",
    },
    "en": {
        "title": "Jinan 14th Five-Year Plan and 2035 vision — scenario simulator",
        "language": "语言 / Language",
        "scenario": "Scenario",
        "scenario_help": "A scenario file under scenarios/, or an uploaded one. "
        "Switching clears the slider edits.",
        "uploaded": "uploaded",
        "levers": "Policy levers",
        "levers_caption": "◆ marks a lever moved away from the scenario's value; hover over ⓘ for the "
        "scenario value, the model default and the data source.",
        "other_levers": "Other parameters (assumptions, calibrated values)",
        "other_pick": "Parameter",
        "reset": "Reset to the scenario",
        "reset_help": "Drop every slider edit and return to the chosen scenario's values.",
        "changed": "{n} lever(s) changed",
        "unchanged": "No changes (as the scenario)",
        "download_toml": "Download these settings (scenario TOML)",
        "upload": "Upload a scenario (TOML)",
        "upload_help": "Format as scenarios/*.toml; the file is validated and a bad one changes nothing.",
        "upload_ok": "Loaded scenario “{name}”.",
        "upload_error": "Bad scenario file: {error}",
        "link": "The page address holds every setting: copy it to share this exact view.",
        "url_ignored": "Link parameter ignored: {error}",
        "scenario_value": "scenario value",
        "model_default": "model default",
        "calibrated": "calibrated value",
        "source": "source",
        "scenario_source": "scenario's basis",
        "range": "range",
        "path_year": "{year}",
        "path_caption": "Time path: drag the {y1} and {y2} values, linear in between; where the path is flat "
        "after {y1}, {y2} follows {y1}.",
        "modified_mark": "◆",
        "current": "Current settings",
        "metric_gdp": "GDP 2025",
        "help_gdp": "Gross domestic product in 2025, 2020 prices",
        "metric_pop": "Pop. 2025",
        "help_pop": "Resident population in 2025",
        "metric_water": "Water 2025",
        "help_water": "Total water use in 2025",
        "metric_peak": "CO₂ peak",
        "help_peak": "Year CO₂ emissions are highest in 2015–2035; 'not yet': still rising in 2035",
        "metric_energy": "Energy/GDP",
        "help_energy": "Change in energy use per unit of GDP, 2025 vs 2020 (%)",
        "metric_targets": "Targets met",
        "help_targets": "Targets met / plan targets the model can assess",
        "not_peaked": "not yet",
        "delta_vs": "arrows: change from the scenario's own values",
        "unavailable": "The library module this needs ({module}) is not there yet; coming soon.",
        "download_csv": "Download CSV",
        "choose": "Choose",
        "download_xlsx": "Download XLSX",
        "download_png": "Download PNG",
        "year": "Year",
        "value": "Value",
        "series": "Scenario",
        "history": "History",
        "target": "Plan target",
        "met": "met",
        "missed": "missed",
        "not assessed": "not assessed",
    },
}


def tr(lang: str, key: str, **fields) -> str:
    """The text ``key`` in ``lang``, formatted with ``fields``."""
    text = TEXT[lang][key]
    return text.format(**fields) if fields else text


def tab_label(tab: str, lang: str) -> str:
    """Display label of a tab id."""
    zh, en = TABS[tab]
    return en if lang == "en" else zh

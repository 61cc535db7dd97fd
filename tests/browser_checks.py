"""What the browser walk checks on every page: text cut off by its box, strings in the wrong script, and
charts without a title or without units on their axes (JavaScript run in the page, plus the word rules)."""

from __future__ import annotations

import re

#: Latin words allowed on the Chinese page: abbreviations both languages use, units, proper names.
ALLOWED_LATIN = {
    "GDP", "CO", "R&D", "RD", "MAPE", "Sobol", "PRIM", "CART", "TOML", "CSV", "XLSX", "PNG", "URL", "CPU",
    "English", "Language", "Vensim", "LHS", "Latin", "MC", "N", "km", "m", "kg", "t", "kWh", "USD", "CEADs",
    "Drag", "drop", "file", "here", "Limit", "MB", "per", "Browse", "files", "Upload",  # Streamlit's uploader
    "Deploy", "Made", "with", "Streamlit", "Running", "Stop",  # Streamlit's own chrome
    "tce", "II", "III", "I", "VA", "FYP", "id", "Euler", "rk", "dt", "PySD", "Jinan", "Laiwu", "CCSY",
    "Sterman", "Theil", "RMSPE", "Shapley", "ZIP", "zip", "ST", "S1", "zh", "en",
}
#: file names, folders, the program's name and `code` are the same in both languages
FILE_PATH = re.compile(r"[\w./*-]+\.(?:toml|csv|mdl|xlsx|png|md)\b|\b[\w.-]+/|jinan-sd|`[^`]*`")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z&]+")
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
#: CJK allowed on the English page: the language switch and its label.
ALLOWED_CJK = ("中文", "语言 / Language")

OVERFLOW_JS = r"""
() => {
  const out = [];
  const hasText = el => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) ||
    (el.innerText || '').trim().length > 0;
  for (const el of document.querySelectorAll('[data-testid="stMain"] *, [data-testid="stSidebar"] *')) {
    const st = getComputedStyle(el);
    if (st.display === 'none' || st.visibility === 'hidden' || !hasText(el)) continue;
    if (el.closest('[data-testid="stDataFrame"], [data-testid="stCode"], pre, textarea, svg, canvas')) continue;
    const clips = st.textOverflow === 'ellipsis' || st.overflowX === 'hidden' || st.overflowX === 'clip';
    if (!clips || el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) out.push((el.innerText || '').trim().slice(0, 80));
  }
  for (const chart of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    // the box that clips the chart: its nearest ancestor that hides overflow (else the page)
    let clip = chart;
    while (clip && clip !== document.body && getComputedStyle(clip).overflowX === 'visible') clip = clip.parentElement;
    const box = (clip && clip !== document.body ? clip : document.documentElement).getBoundingClientRect();
    for (const t of chart.querySelectorAll('svg text')) {
      const r = t.getBoundingClientRect();
      if (/…$/.test(t.textContent)) out.push('vega: ' + t.textContent);
      // right: the chart's own box (its column ends there); left: the clipping box (axis titles hang out)
      const own = chart.getBoundingClientRect();
      const outside = r.width && (r.right > own.right + 2 || r.left < box.left - 2);
      if (!/…$/.test(t.textContent) && outside) out.push('vega outside: ' + t.textContent);
    }
  }
  return out;
}
"""

CHARTS_JS = r"""
() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(chart => {
  const svg = chart.querySelector('svg');
  if (!svg) return {svg: false};
  const texts = sel => [...svg.querySelectorAll(sel)].map(t => t.textContent.trim()).filter(Boolean);
  return {svg: true, title: texts('.role-title-text text, .role-title text'),
          axes: texts('.role-axis-title text')};
})
"""


def wrong_script(text: str, lang: str) -> list[str]:
    """Strings in ``text`` that do not belong on a page in ``lang``."""
    text = FILE_PATH.sub("", text)
    if lang == "zh":
        return sorted({w for w in LATIN_WORD.findall(text) if w not in ALLOWED_LATIN and w.strip("&")
                       not in ALLOWED_LATIN})
    for allowed in ALLOWED_CJK:
        text = text.replace(allowed, "")
    return sorted({line.strip()[:60] for line in text.splitlines() if CJK.search(line)})


def chart_problems(charts: list[dict]) -> list[str]:
    """Charts without a title, or with an axis title that gives no unit (a bracket or %)."""
    problems = []
    for i, chart in enumerate(charts):
        if not chart.get("svg"):
            problems.append(f"chart {i}: not drawn as SVG")
            continue
        if not chart["title"]:
            problems.append(f"chart {i}: no title")
        for axis in chart["axes"]:
            if not re.search(r"[(（\[].+[)）\]]|%|年份|Year", axis):
                problems.append(f"chart {i}: axis '{axis}' has no unit")
    return problems

#: The page's visible words, without Streamlit's icon ligatures ("keyboard_arrow_down" draws an arrow).
VISIBLE_TEXT_JS = r"""
() => ['[data-testid="stMain"]', '[data-testid="stSidebar"]'].map(sel => {
  const root = document.querySelector(sel);
  if (!root) return '';
  const copy = root.cloneNode(true);
  copy.querySelectorAll('[data-testid="stIconMaterial"], .material-symbols-rounded, style, script')
      .forEach(e => e.remove());
  document.body.appendChild(copy);
  copy.style.position = 'absolute'; copy.style.left = '-99999px';
  const text = copy.innerText;
  copy.remove();
  return text;
}).join('\n')
"""

"""Small widgets more than one tab uses."""

from __future__ import annotations

from faces.app import data


def target_picker(container, label: str, names: dict, key: str) -> str:
    """A select box of targets (id -> shown name), opening on the views' peak target when offered."""
    ids = list(names)
    preferred = data.labels().views.get("peak_target")
    return container.selectbox(
        label, ids, index=ids.index(preferred) if preferred in ids else 0, format_func=names.get, key=key
    )


def indicator_picker(label: str, available, lang: str, key: str) -> list[str]:
    """A multiselect of indicators present in ``available`` (a frame's columns), shared by the tabs through
    the session's "indicators" selection; returns the chosen ones."""
    import streamlit as st

    from faces.app import charting, settings
    from faces.app.text import tr

    options = [i for i in data.labels().indicators if i in available]
    st.session_state["indicators"] = [i for i in st.session_state["indicators"] if i in options]
    st.multiselect(
        label,
        options,
        format_func=lambda i: charting.indicator_name(i, lang),
        placeholder=tr(lang, "choose"),
        **settings.bind(key, "indicators"),
    )
    return st.session_state["indicators"]

"""Small widgets more than one tab uses."""

from __future__ import annotations

from . import data


def target_picker(container, label: str, names: dict, key: str) -> str:
    """A select box of targets (id -> shown name), opening on the views' peak target when offered."""
    ids = list(names)
    preferred = data.labels().views.get("peak_target")
    return container.selectbox(
        label, ids, index=ids.index(preferred) if preferred in ids else 0, format_func=names.get, key=key
    )

"""The model layer: the Vensim file parsed once, its labels, units, structure and documentation.

Modules
-------
mdl
    :class:`Model` and :class:`Element` (kind, units, range, documentation, default) from pysd's parser.
naming
    Canonical ids of Vensim names.
labels
    zh/en names, the indicator vocabulary, sectors, views and policy timing (``models/labels.toml``).
units
    Dimensional-consistency check.
graph
    The dependency graph of the equations (feedback-loop checks).
docs
    The generated parameter table of ``models/README.md``.
"""

from simulator.model.labels import Labels, labels, load_labels
from simulator.model.mdl import CONTROL_NAMES, Element, Model, load, suggest
from simulator.model.naming import canonical_id

__all__ = ["CONTROL_NAMES", "Element", "Labels", "Model", "canonical_id", "labels", "load", "load_labels", "suggest"]

"""Where one project's files live: the model, its labels, targets, loops, scenarios and calibration.

A :class:`Project` is a root folder with a fixed layout; nothing is read when it is made, so importing
the library touches no file. ``Project.default()`` is this repository (or the installed package's
source tree); tools take ``project=`` to work on another copy of the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Project:
    """The files of one model project under ``root``.

    Attributes
    ----------
    root : Path
        Folder holding ``models/``, ``scenarios/`` and ``calibration/``.
    """

    root: Path

    @classmethod
    @cache
    def default(cls) -> Project:
        """The project this package was installed from (the repository root)."""
        return cls(Path(__file__).resolve().parent.parent)

    @property
    def model_path(self) -> Path:
        """The Vensim model file."""
        return self.root / "models" / "jinan.mdl"

    @property
    def labels_path(self) -> Path:
        """zh/en names, indicator vocabulary, sectors, views, policy timing and model years."""
        return self.root / "models" / "labels.toml"

    @property
    def targets_path(self) -> Path:
        """The plan's quantifiable targets."""
        return self.root / "models" / "targets.toml"

    @property
    def loops_path(self) -> Path:
        """The named feedback loops."""
        return self.root / "models" / "loops.toml"

    @property
    def compat_path(self) -> Path:
        """Levers of earlier model versions: renamed or removed, with a one-line reason."""
        return self.root / "models" / "compat.toml"

    @property
    def scenario_dir(self) -> Path:
        """Folder of the bundled scenarios (``NAME.toml``)."""
        return self.root / "scenarios"

    @property
    def uncertainty_path(self) -> Path:
        """Distributions of the uncertain inputs of ensembles."""
        return self.scenario_dir / "uncertainty.toml"

    @property
    def calibration_path(self) -> Path:
        """Fitted parameter values used by every scenario that uses calibration."""
        return self.root / "calibration" / "calibrated.toml"

    @property
    def posterior_path(self) -> Path:
        """MCMC posterior sample of the calibrated parameters (``jinan-sd calibrate --posterior``)."""
        return self.root / "calibration" / "posterior.parquet"

    @property
    def observations_path(self) -> Path:
        """2015-2020 observations the calibration fits (and charts draw)."""
        return self.root / "calibration" / "data" / "observations.csv"


def file_stamp(path: Path) -> tuple:
    """Identity of a file's current content for caching: path, modification time, size."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size

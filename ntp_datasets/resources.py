"""Locate the data shipped with the package: the bundled Lean projects (``lean/``)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the directory of resource ``name``, installed or in a repository checkout.

    Installed, setup.cfg maps the repository's ``lean/`` to ``ntp_datasets/lean/``; in a
    checkout the directory sits beside the ``ntp_datasets`` package instead.
    """
    installed = _PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name


def sample_project_dir() -> Path:
    """The directory of the Lean project bundled with the package (three modules)."""
    return resource_dir("lean") / "sample_project"

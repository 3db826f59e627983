"""Locate the data directories shipped with the package (``prompts``, ``lean``)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the directory of resource ``name``, installed or in a repository checkout.

    Installed, setup.cfg maps ``prompts/`` to ``ntp_datasets/prompts/``; in a
    checkout the directory sits beside the ``ntp_datasets`` package instead.
    """
    installed = _PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name

"""The package's version, read from its installed metadata (``0+checkout`` in a checkout)."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("ntp-datasets")
except metadata.PackageNotFoundError:  # running from a checkout, not installed
    __version__ = "0+checkout"

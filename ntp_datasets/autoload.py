"""Lets ``datasets.load_dataset("ntp_toolkit", ...)`` find the builder without ``import
ntp_datasets``, at no cost until ``datasets`` is imported.

The installed package puts this file beside itself as the top-level module
``_ntp_datasets_autoload`` and a one-line ``ntp_datasets-autoload.pth`` that imports it at
interpreter start (``setup.py``). Importing it only adds a finder to ``sys.meta_path`` that
watches for the module ``datasets.load``; once that module has run, its
``dataset_module_factory`` learns the name ``ntp_toolkit``, and only a call with that name
imports ntp-datasets (``ntp_datasets.routing``). Nothing of ntp-datasets or datasets is imported
before. ``NTP_DATASETS_NO_AUTOLOAD=1`` turns it off.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import os
import sys

DATASET_NAME = "ntp_toolkit"
WATCHED = "datasets.load"


def route(factory):
    """``factory`` (datasets' ``dataset_module_factory``) that resolves ``ntp_toolkit`` to this
    package's builder, importing ntp-datasets only then (which installs its own route)."""
    if hasattr(factory, "ntp_datasets_original"):
        return factory

    @functools.wraps(factory)
    def dataset_module_factory(path, *args, **kwargs):
        if path == DATASET_NAME:
            from ntp_datasets.routing import builder_dataset_module  # first use: import the package now

            return builder_dataset_module()
        return factory(path, *args, **kwargs)

    dataset_module_factory.ntp_datasets_original = factory
    return dataset_module_factory


class _RoutingLoader(importlib.abc.Loader):
    """Runs the real loader of ``datasets.load``, then routes its factory."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        module.dataset_module_factory = route(module.dataset_module_factory)


class DatasetsLoadFinder(importlib.abc.MetaPathFinder):
    """Finds ``datasets.load`` with the other finders and wraps its loader (see the module docstring)."""

    def find_spec(self, name, path=None, target=None):
        if name != WATCHED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _RoutingLoader(spec.loader)
                return spec
        return None


def install() -> None:
    """Add the finder once (unless ``NTP_DATASETS_NO_AUTOLOAD`` is set, or ``datasets.load`` was
    imported already: then it is routed at once)."""
    if os.environ.get("NTP_DATASETS_NO_AUTOLOAD"):
        return
    loaded = sys.modules.get(WATCHED)
    if loaded is not None:
        loaded.dataset_module_factory = route(loaded.dataset_module_factory)
        return
    if not any(isinstance(finder, DatasetsLoadFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, DatasetsLoadFinder())

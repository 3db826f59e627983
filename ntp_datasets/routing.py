"""Route ``datasets.load_dataset("ntp_toolkit", ...)`` to this package's builder.

datasets has no public registry for builders shipped inside a Python package.
``datasets.load_dataset`` calls ``load_dataset_builder``, which asks
``datasets.load.dataset_module_factory(path, ...)`` to resolve a name into a
``DatasetModule`` (an importable module path plus a hash used in the cache
directory), then imports the builder class from that module. :func:`install` wraps
that function: the name ``ntp_toolkit`` resolves to ``ntp_datasets.builders.ntp_toolkit``;
every other name passes through unchanged. (A local directory named ``ntp_toolkit`` is
shadowed as a result.) ``import ntp_datasets`` calls :func:`install`; an installed (not
editable) package also routes the name when ``datasets`` is imported without it
(``autoload.py``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import datasets.load

from ntp_datasets.autoload import route
from ntp_datasets.resources import resource_dir

BUILDER_MODULE = "ntp_datasets.builders.ntp_toolkit"
_PACKAGE_DIR = Path(__file__).resolve().parent
_CODE_SUFFIXES = (".py", ".lean", ".j2", ".js")


def code_hash() -> str:
    """Hash the code and templates that shape the rows, so a code change gets a fresh cache:
    every module of the package (records, rows, extraction ...), the extractor, the
    templates and the builder."""
    files = [p for p in _PACKAGE_DIR.rglob("*") if p.suffix in _CODE_SUFFIXES and "__pycache__" not in p.parts]
    files += [p for p in resource_dir("builders").glob("*.py")]
    digest = hashlib.sha256()
    for path in sorted(set(files)):
        digest.update(path.relative_to(path.parents[1]).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def builder_dataset_module() -> datasets.load.DatasetModule:
    """Return the ``datasets.load.DatasetModule`` that names our builder module."""
    return datasets.load.DatasetModule(module_path=BUILDER_MODULE, hash=code_hash(), builder_kwargs={})


def install() -> None:
    """Route ``ntp_toolkit`` through ``datasets.load.dataset_module_factory`` (once; the same
    route the installed autoload hook adds when ``datasets`` is imported first)."""
    datasets.load.dataset_module_factory = route(datasets.load.dataset_module_factory)

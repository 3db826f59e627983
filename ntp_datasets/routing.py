"""Route ``datasets.load_dataset("ntp_toolkit", ...)`` to this package's builder.

datasets 5.x has no public registry for builders shipped inside a Python
package. ``datasets.load_dataset`` calls ``load_dataset_builder``, which asks
``datasets.load.dataset_module_factory(path, ...)`` to resolve a name into a
``DatasetModule`` (an importable module path plus a hash used in the cache
directory), then imports the builder class from that module. ``install()``
wraps that function: the name ``ntp_toolkit`` resolves to
``ntp_datasets.builders.ntp_toolkit``; every other name passes through
unchanged. (A local directory named ``ntp_toolkit`` is shadowed as a result.)
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

DATASET_NAME = "ntp_toolkit"
BUILDER_MODULE = "ntp_datasets.builders.ntp_toolkit"


def code_hash() -> str:
    """Hash the code and templates that shape the rows, so a code change gets a fresh cache."""
    import ntp_datasets.builders.ntp_toolkit as builder
    import ntp_datasets.records as records
    from ntp_datasets.resources import resource_dir

    # Every module of the package (records, prompting, splits, truncation, extraction ...),
    # the templates and the extractor: whatever shapes a row invalidates the cache.
    files = [Path(builder.__file__), *sorted(Path(records.__file__).parent.glob("*.py"))]
    files += sorted(resource_dir("prompts").glob("*.j2")) + sorted(resource_dir("lean").glob("*.lean"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def builder_dataset_module():
    """Return the ``datasets.load.DatasetModule`` that names our builder module."""
    from datasets.load import DatasetModule

    return DatasetModule(module_path=BUILDER_MODULE, hash=code_hash(), builder_kwargs={})


def install() -> None:
    """Wrap ``datasets.load.dataset_module_factory`` once so it resolves ``ntp_toolkit``."""
    import datasets.load

    original = datasets.load.dataset_module_factory
    if hasattr(original, "ntp_datasets_original"):
        return  # already installed

    @functools.wraps(original)
    def dataset_module_factory(path, *args, **kwargs):
        if path == DATASET_NAME:
            return builder_dataset_module()
        return original(path, *args, **kwargs)

    dataset_module_factory.ntp_datasets_original = original
    datasets.load.dataset_module_factory = dataset_module_factory

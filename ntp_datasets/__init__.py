"""ntp-datasets: turn Lean 4 projects into Hugging Face datasets for neural theorem proving.

``ntp_datasets.load_dataset("tactic_prediction", project="path/to/lean/project")``
builds a ``DatasetDict``; after ``import ntp_datasets`` the same builder also
answers ``datasets.load_dataset("ntp_toolkit", "tactic_prediction", project=...)``.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata
from pathlib import Path

try:
    __version__ = metadata.version("ntp-datasets")
except metadata.PackageNotFoundError:  # running from a checkout, not installed
    __version__ = "0+checkout"


def _register_checkout_builders() -> None:
    # Installed, setup.cfg maps the repository's builders/ to ntp_datasets.builders.
    # In a checkout nothing does, so load builders/__init__.py as that subpackage;
    # its modules (ntp_toolkit.py) are then found through its __path__.
    if importlib.util.find_spec(__name__ + ".builders") is not None:
        return
    builders_dir = Path(__file__).resolve().parent.parent / "builders"
    spec = importlib.util.spec_from_file_location(
        __name__ + ".builders",
        builders_dir / "__init__.py",
        submodule_search_locations=[str(builders_dir)],
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = package
    spec.loader.exec_module(package)


_register_checkout_builders()


def load_dataset(
    config_name: str,
    project=None,
    *,
    cache_dir=None,
    download_mode=None,
    num_proc: int | None = None,
    streaming: bool = False,
    **config_kwargs,
):
    """Build config ``config_name`` of the ntp_toolkit builder for Lean projects; return a
    ``DatasetDict`` (an ``IterableDatasetDict`` when ``streaming``).

    ``project``: a project spec (``ntp_datasets.specs``): a Lean project directory, a git
    URL at a commit, an ntp-toolkit config JSON file, a dict entry or a list of these
    (None: the bundled sample project).
    ``num_proc``: processes that turn the extracted modules into rows (as for
    ``datasets.load_dataset``); extraction itself runs once, in this process.
    ``streaming``: yield rows while modules are extracted; nothing is written to the cache.
    ``cache_dir``/``download_mode``: as for ``datasets.load_dataset``.
    ``config_kwargs``: further ``NtpToolkitConfig`` fields.
    """
    from ntp_datasets.builders.ntp_toolkit import NtpToolkit
    from ntp_datasets.routing import code_hash

    if project is not None:
        config_kwargs["project"] = str(project) if isinstance(project, Path) else project
    builder = NtpToolkit(config_name=config_name, cache_dir=cache_dir, hash=code_hash(), **config_kwargs)
    if streaming:
        return builder.as_streaming_dataset()
    builder.download_and_prepare(download_mode=download_mode, num_proc=num_proc)
    return builder.as_dataset()


# Dataset folders and the Hub (ntp_datasets.publish); light imports, heavy ones happen inside.
from ntp_datasets.publish import build_dataset_folder, push_to_hub  # noqa: E402
from ntp_datasets.stats import folder_stats, write_stats_plot  # noqa: E402

# Route datasets.load_dataset("ntp_toolkit", ...) here (imports datasets.load).
from ntp_datasets import routing as _routing  # noqa: E402

_routing.install()

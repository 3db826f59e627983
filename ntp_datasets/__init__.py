"""ntp-datasets: turn Lean 4 projects into Hugging Face datasets for neural theorem proving.

``ntp_datasets.load_dataset("tactic_prediction", project="path/to/lean/project")`` builds a
``DatasetDict``; ``ntp_datasets.build(...)`` also returns the build's summary. Importing the
package installs a hook (``ntp_datasets.routing.install``) through which
``datasets.load_dataset("ntp_toolkit", "tactic_prediction", project=...)`` reaches the same
builder; that is the only thing the import does besides defining names.

The rooms, each owning one step (see the README's "Layout"), from the bottom up:
``toolchain``, ``project``, ``extraction``, ``records``, ``rows``, ``builders``
(``summary``), ``api`` (``routing``), ``publish``, ``cli``.
"""

from __future__ import annotations


def _register_checkout_builders() -> None:
    # Installed, setup.cfg maps the repository's builders/ to ntp_datasets.builders. In a
    # checkout nothing does, so builders/ is made the subpackage's path; its modules are then
    # imported from there like any other (nothing is executed here).
    import importlib.machinery
    import importlib.util
    import sys
    from pathlib import Path

    if importlib.util.find_spec(__name__ + ".builders") is not None:
        return
    builders_dir = Path(__file__).resolve().parent.parent / "builders"
    spec = importlib.machinery.ModuleSpec(__name__ + ".builders", None, is_package=True)
    spec.submodule_search_locations = [str(builders_dir)]
    sys.modules[spec.name] = package = importlib.util.module_from_spec(spec)
    globals()["builders"] = package


_register_checkout_builders()

from ntp_datasets.api import BuildResult, build, load_dataset  # noqa: E402
from ntp_datasets.errors import (  # noqa: E402
    ConfigError,
    DependencyError,
    ExtractorError,
    FolderError,
    NtpDatasetsError,
    ProjectError,
    ProjectSpecError,
    PromptRenderError,
    PromptTemplateError,
    PublishError,
    ToolchainError,
)
from ntp_datasets.extraction import ExtractionOptions, Extractor  # noqa: E402
from ntp_datasets.publish import (  # noqa: E402
    build_dataset_folder,
    export_ntp_toolkit,
    folder_stats,
    push_to_hub,
    write_stats_plot,
)
from ntp_datasets.routing import install as _install_routing  # noqa: E402
from ntp_datasets.summary import BuildSummary  # noqa: E402
from ntp_datasets.version import __version__  # noqa: E402

_install_routing()

__all__ = [
    "BuildResult", "BuildSummary", "ConfigError", "DependencyError", "ExtractionOptions", "ExtractorError", "Extractor",
    "FolderError", "NtpDatasetsError",
    "ProjectError", "ProjectSpecError", "PromptRenderError", "PromptTemplateError", "PublishError", "ToolchainError",
    "__version__", "build", "build_dataset_folder", "export_ntp_toolkit", "folder_stats", "load_dataset", "push_to_hub", "write_stats_plot",
]

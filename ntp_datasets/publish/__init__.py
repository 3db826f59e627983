"""The publishing room: dataset folders (``folder``: layout and manifest; ``build``: writing one
from builder configs; ``card``: the dataset card; ``provenance``; ``stats``: row counts and
distributions; ``check``: what a folder passes before it is pushed) and the Hugging Face Hub
(``hub``)."""

from ntp_datasets.publish.build import build_dataset_folder, buildable_configs
from ntp_datasets.publish.check import check_folder, folder_problems
from ntp_datasets.publish.folder import FolderManifest, read_manifest
from ntp_datasets.publish.hub import push_to_hub, redact
from ntp_datasets.publish.stats import folder_stats, format_stats, write_stats_plot

__all__ = ["FolderManifest", "build_dataset_folder", "buildable_configs", "check_folder", "folder_problems",
           "folder_stats", "format_stats", "push_to_hub", "read_manifest", "redact", "write_stats_plot"]

"""The publishing room: dataset folders (``folder``: layout and manifest; ``build``: writing one
from builder configs; ``card``: the dataset card; ``provenance``; ``stats``: row counts and
distributions; ``check``: what a folder passes before it is pushed), the Hugging Face Hub
(``hub``), and ntp-toolkit's layout (``ntp_toolkit_export``)."""

from ntp_datasets.publish.build import build_dataset_folder, buildable_configs
from ntp_datasets.publish.check import check_folder, folder_problems
from ntp_datasets.publish.folder import FolderManifest, read_manifest
from ntp_datasets.publish.hub import push_to_hub, redact
from ntp_datasets.publish.ntp_toolkit_export import NtpToolkitExport, export_ntp_toolkit
from ntp_datasets.publish.stats import folder_stats, format_stats, write_stats_plot

__all__ = ["FolderManifest", "NtpToolkitExport", "build_dataset_folder", "buildable_configs", "check_folder",
           "export_ntp_toolkit", "folder_problems",
           "folder_stats", "format_stats", "push_to_hub", "read_manifest", "redact", "write_stats_plot"]

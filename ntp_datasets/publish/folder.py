"""The layout of a dataset folder that ``ntp-datasets build`` writes and ``push``/``stats`` read.

::

    DIR/README.md                                   dataset card (YAML ``configs:`` and ``dataset_info``)
    DIR/ntp_datasets.json                           manifest: provenance, configs, splits, row counts, files
    DIR/stats.png                                   distributions plot (``ntp_datasets.publish.stats``)
    DIR/<config>/<split>-00000-of-00001.parquet     Parquet files per config and split (more shards when large)

``datasets.load_dataset(DIR, "<config>")`` reads the folder through the card's YAML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ntp_datasets.errors import FolderError

MANIFEST_NAME = "ntp_datasets.json"
CARD_NAME = "README.md"
STATS_PLOT_NAME = "stats.png"
FORMAT = "ntp-datasets-folder"
FORMAT_VERSION = 1

HUB_ROW_GROUP_BYTES = 100_000_000
"""The Hub's bound on a Parquet row group: its dataset viewer uses a dataset's own Parquet files
as they are only while every row group holds at most this many bytes uncompressed (the row
group's ``total_byte_size``; its backend's ``max_row_group_byte_size_for_copy``), else it
converts the data again, and its rows API refuses to read row groups of more than 286.1 MiB
(300,000,000 bytes: "Rows from parquet row groups are too big to be read")."""


def data_file(config: str, split: str, shard: int = 0, num_shards: int = 1) -> str:
    """Path, relative to the folder, of a Parquet file of ``config``'s ``split`` (the Hub's naming)."""
    return f"{config}/{split}-{shard:05d}-of-{num_shards:05d}.parquet"


@dataclass
class FolderManifest:
    """What a dataset folder holds: provenance and, per config, each split's file and row count."""

    provenance: dict
    splits: dict[str, dict[str, dict]] = field(default_factory=dict)
    """``{config: {split: {"paths": [relative paths], "num_rows": int}}}`` in build order."""
    empty_configs: list[str] = field(default_factory=list)
    """Configs that were asked for but had no rows (datasets cannot read back an empty split)."""
    splitting: dict = field(default_factory=dict)
    """How declarations were split: the strategy and its options (``split_strategy``, ``seed``,
    ``cutoff``, ``temporal_field``, ``dedup``, the fractions)."""
    leakage: dict[str, dict] = field(default_factory=dict)
    """Per config with several splits, its ``rows.leakage.LeakageReport`` as JSON data."""

    def row_counts(self) -> dict[str, dict[str, int]]:
        """``{config: {split: rows}}``."""
        return {config: {split: s["num_rows"] for split, s in splits.items()} for config, splits in self.splits.items()}

    def data_files(self) -> list[str]:
        """Relative paths of every Parquet file."""
        return [path for splits in self.splits.values() for s in splits.values() for path in s["paths"]]

    def files(self) -> list[str]:
        """Relative paths of every file the folder is made of (the manifest included)."""
        return [CARD_NAME, MANIFEST_NAME, STATS_PLOT_NAME, *self.data_files()]

    def to_json(self) -> dict:
        """The manifest as JSON data."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "provenance": self.provenance,
            "configs": {config: {"splits": splits} for config, splits in self.splits.items()},
            "empty_configs": self.empty_configs,
            "splitting": self.splitting,
            "leakage": self.leakage,
        }

    def write(self, directory: Path) -> None:
        """Write ``ntp_datasets.json`` into ``directory``."""
        text = json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"
        (Path(directory) / MANIFEST_NAME).write_text(text, encoding="utf-8")


def read_manifest(directory) -> FolderManifest:
    """Read the manifest of the dataset folder ``directory``; :class:`FolderError` if there is none."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FolderError(f"dataset folder not found: {directory}")
    path = directory / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FolderError(f"{directory} is not a dataset folder written by `ntp-datasets build` (no {MANIFEST_NAME})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise FolderError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise FolderError(f"{path} is not an ntp-datasets manifest of format version {FORMAT_VERSION}")
    try:
        splits = {config: entry["splits"] for config, entry in data["configs"].items()}
        for entries in splits.values():
            for entry in entries.values():
                if not isinstance(entry["num_rows"], int) or not all(isinstance(p, str) for p in entry["paths"]):
                    raise TypeError(entry)
    except (KeyError, TypeError, AttributeError) as exc:
        raise FolderError(f"{path} is damaged ({type(exc).__name__}: {exc})") from None
    return FolderManifest(
        provenance=data.get("provenance", {}),
        splits=splits,
        empty_configs=list(data.get("empty_configs", [])),
        splitting=dict(data.get("splitting") or {}),
        leakage=dict(data.get("leakage") or {}),
    )


def missing_files(directory, manifest: FolderManifest) -> list[str]:
    """Files the manifest names that are not in ``directory``."""
    return [rel for rel in manifest.files() if not (Path(directory) / rel).is_file()]

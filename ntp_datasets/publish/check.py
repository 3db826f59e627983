"""The check a dataset folder passes before it is pushed: every file the manifest names is
there, no Parquet file is empty or has a row group the Hub's viewer would not use as it is
(``folder.HUB_ROW_GROUP_BYTES``), and every config loads with plain ``datasets.load_dataset``
from the folder, with the splits and row counts the manifest says."""

from __future__ import annotations

import tempfile
from pathlib import Path

import datasets
import pyarrow.parquet as pq

from ntp_datasets.errors import FolderError
from ntp_datasets.publish.folder import HUB_ROW_GROUP_BYTES, missing_files, read_manifest


def folder_problems(directory, max_row_group_bytes: int = HUB_ROW_GROUP_BYTES) -> list[str]:
    """What is wrong with the dataset folder ``directory`` (see the module docstring), one line
    each; empty when nothing is. ``max_row_group_bytes``: the largest row group allowed
    (uncompressed). Loading every config reads the whole folder once (into a temporary
    datasets cache)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    problems = [f"{rel} is missing" for rel in missing_files(directory, manifest)]
    if problems:
        return problems
    for rel in manifest.data_files():
        metadata = pq.read_metadata(directory / rel)
        if metadata.num_rows == 0:
            problems.append(f"{rel} has no rows")
        for group in range(metadata.num_row_groups):
            size = metadata.row_group(group).total_byte_size
            if size > max_row_group_bytes:
                problems.append(f"{rel}: row group {group} holds {size:,} bytes, more than {max_row_group_bytes:,}")
    with tempfile.TemporaryDirectory(prefix="ntp-datasets-check-") as cache:
        for config, splits in manifest.splits.items():
            try:
                loaded = datasets.load_dataset(str(directory), config, cache_dir=cache)
            except Exception as exc:  # whatever datasets says is the problem to report
                problems.append(f"config {config!r} does not load with datasets.load_dataset: {exc}")
                continue
            counts = {split: dataset.num_rows for split, dataset in loaded.items()}
            expected = {split: entry["num_rows"] for split, entry in splits.items()}
            if counts != expected:
                problems.append(f"config {config!r} loads as {counts}, the manifest says {expected}")
    return problems


def check_folder(directory) -> None:
    """Raise :class:`FolderError` listing :func:`folder_problems` when there are any."""
    problems = folder_problems(directory)
    if problems:
        raise FolderError(f"{directory} cannot be pushed:\n  " + "\n  ".join(problems))

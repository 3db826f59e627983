"""Builder configs -> a dataset folder.

``build_dataset_folder(spec, out_dir)`` builds configs of the ntp_toolkit builder for a
project and writes them as Parquet, one file per config and split, with a dataset card
(``card``), a manifest with the provenance (``folder``, ``provenance``) and a plot of the
distributions (``stats``). The layout is described in ``ntp_datasets.publish.folder``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import datasets

from ntp_datasets.api import build
from ntp_datasets.builders.ntp_toolkit import NtpToolkitConfig
from ntp_datasets.errors import FolderError, PublishError, output_error
from ntp_datasets.extraction import ExtractionOptions, Extractor
from ntp_datasets.extraction.cache import remove_dead_leftovers
from ntp_datasets.project import ResolvedProject, load_project, resolve_projects
from ntp_datasets.publish.card import write_card
from ntp_datasets.publish.folder import FolderManifest, data_file, read_manifest
from ntp_datasets.publish.provenance import build_provenance
from ntp_datasets.publish.stats import write_stats_plot
from ntp_datasets.records import RECORD_KINDS
from ntp_datasets.rows import prompting
from ntp_datasets.summary import BuildSummary

logger = logging.getLogger(__name__)

MAX_SHARD_BYTES = 500 * 2**20
"""A split larger than this in memory (Arrow) is written as several Parquet files, as the Hub prefers."""

MAX_ROW_GROUP_BYTES = 64 * 2**20
"""What a row group we write holds at most, in Arrow's in-memory bytes (a single larger row
alone): below ``folder.HUB_ROW_GROUP_BYTES`` with room to spare."""

# Raised by datasets' ArrowReader for a split without rows; such a config is left out.
_NO_DATA_MESSAGE = "corresponds to no data"


def buildable_configs() -> list[str]:
    """Configs a folder can hold: every record config and every built-in ``instruct_*`` config."""
    return [*RECORD_KINDS, *(f"instruct_{name}" for name in prompting.PROMPT_TYPES)]


NOT_BY_DEFAULT = ("premise_corpus",)
"""Buildable configs built only when named: the premise corpus holds the toolchain library's
constants (tens of thousands of rows, one more Lean run), the same for every project."""


def default_configs() -> list[str]:
    """The configs a folder gets when none are named: every buildable one but ``NOT_BY_DEFAULT``."""
    return [name for name in buildable_configs() if name not in NOT_BY_DEFAULT]


def check_config_names(configs) -> list[str]:
    """The configs to build (default: ``default_configs``); unknown names are an error listing the valid ones."""
    valid = buildable_configs()
    if not configs:
        return default_configs()
    unknown = [name for name in configs if name not in valid]
    if unknown:
        raise PublishError(f"unknown config {', '.join(map(repr, unknown))}; valid configs: {', '.join(valid)}")
    return list(dict.fromkeys(configs))  # drop repeats, keep order


def _files_under(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def check_output_dir(out_dir: Path, force: bool = False, projects: list[ResolvedProject] = ()) -> None:
    """Refuse to replace ``out_dir`` unless it is absent, empty, exactly a previous
    ntp-datasets build, or ``force`` is set: nothing the user did not ask for is deleted.
    Never replace one of the ``projects`` or a directory holding one, even with ``force``."""
    for project_dir in (project.root.resolve() for project in projects if project.root is not None):
        if project_dir == out_dir.resolve() or out_dir.resolve() in project_dir.parents:
            raise PublishError(f"--out {out_dir} would replace the project {project_dir}; choose another directory")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise PublishError(f"{out_dir} exists and is not a directory")
    if force or not any(out_dir.iterdir()):
        return
    try:
        previous = read_manifest(out_dir)
    except FolderError:
        raise PublishError(
            f"{out_dir} is not empty and is not a dataset folder ntp-datasets wrote; "
            "choose another --out or pass --force to replace it"
        ) from None
    extra = sorted(set(_files_under(out_dir)) - set(previous.files()))
    if extra:
        shown = ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else "")
        raise PublishError(f"{out_dir} holds files the previous build did not write ({shown}); move them away or pass --force")


def _build_config(name: str, spec, num_proc, cache_dir, extractor: Extractor, config_kwargs: dict):
    """The ``DatasetDict`` of config ``name`` (None when it has no rows) and its build summary."""
    try:
        result = build(name, spec, cache_dir=cache_dir, num_proc=num_proc, extractor=extractor, **config_kwargs)
    except ValueError as exc:
        if _NO_DATA_MESSAGE in str(exc):
            return None, BuildSummary(config=name)
        raise
    empty = sum(split.num_rows for split in result.dataset.values()) == 0
    return (None if empty else result.dataset), result.summary


def row_groups(table, max_bytes: int = MAX_ROW_GROUP_BYTES):
    """``table`` (a ``pyarrow.Table``) cut into consecutive slices of at most ``max_bytes``
    bytes each (a row larger than that alone), for one Parquet row group each."""
    start, total = 0, table.num_rows
    per_row = max(1, table.nbytes // max(total, 1))
    while start < total:
        count = max(1, min(total - start, max_bytes // per_row))
        group = table.slice(start, count)
        while count > 1 and group.nbytes > max_bytes:  # rows here are larger than the average
            count //= 2
            group = table.slice(start, count)
        yield group
        start += count


def write_parquet(dataset, path: Path, max_row_group_bytes: int = MAX_ROW_GROUP_BYTES) -> None:
    """Write ``dataset`` (a ``datasets.Dataset``) as one Parquet file whose row groups hold at
    most ``max_row_group_bytes`` (:func:`row_groups`), with a page index (the viewer reads pages
    without whole row groups), its features in the schema metadata (reloads keep them)."""
    import pyarrow.parquet as pq

    schema = dataset.features.arrow_schema
    table = dataset.with_format("arrow")[:]
    with pq.ParquetWriter(str(path), schema, write_page_index=True) as writer:
        for group in row_groups(table, max_row_group_bytes):
            writer.write_table(group, row_group_size=group.num_rows)


def _write_config(directory: Path, name: str, dataset_dict, max_shard_bytes: int = MAX_SHARD_BYTES,
                  max_row_group_bytes: int = MAX_ROW_GROUP_BYTES):
    """Write each split of ``dataset_dict`` with rows as Parquet (a split without rows is left
    out: an empty file would not load); return its manifest entry and ``DatasetInfo``."""
    (directory / name).mkdir(parents=True, exist_ok=True)
    splits, split_infos, features = {}, datasets.SplitDict(), None
    for split, dataset in dataset_dict.items():
        if dataset.num_rows == 0:
            continue
        num_shards = min(max(1, -(-dataset.data.nbytes // max_shard_bytes)), dataset.num_rows)
        paths = [data_file(name, split, shard, num_shards) for shard in range(num_shards)]
        for shard, rel in enumerate(paths):
            write_parquet(dataset.shard(num_shards, shard, contiguous=True), directory / rel, max_row_group_bytes)
        splits[split] = {"paths": paths, "num_rows": dataset.num_rows}
        split_infos.add(datasets.SplitInfo(name=split, num_bytes=dataset.data.nbytes, num_examples=dataset.num_rows))
        features = dataset.features
    info = datasets.DatasetInfo(
        features=features,
        splits=split_infos,
        config_name=name,
        dataset_size=sum(s.num_bytes for s in split_infos.values()),
        download_size=sum((directory / path).stat().st_size for s in splits.values() for path in s["paths"]),
    )
    return splits, info


@contextlib.contextmanager
def built_aside(out_dir: Path) -> Iterator[Path]:
    """Yield an empty folder beside ``out_dir`` to build into; when the block ends without an
    error, move it into place (replacing ``out_dir`` only then), else delete it. An ``OSError``
    (disk full, no permission) becomes one :class:`OutputError` naming the path."""
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        remove_killed_builds(out_dir)
        building = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        building.mkdir()
    except OSError as exc:
        raise output_error(exc, out_dir) from exc
    try:
        yield building
        move_into_place(building, out_dir)
    except Exception as exc:
        error = output_error(exc, building)
        if error is None:
            raise
        raise error from exc
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)


def move_into_place(built: Path, out_dir: Path) -> None:
    """Rename the finished folder to ``out_dir``, replacing what is there only once it is complete."""
    if not out_dir.exists():
        built.rename(out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
    out_dir.rename(old)
    try:
        built.rename(out_dir)
    except OSError:
        old.rename(out_dir)
        raise
    shutil.rmtree(old)


def build_dataset_folder(
    spec,
    out_dir,
    configs=None,
    *,
    num_proc: int | None = None,
    force: bool = False,
    cache_dir=None,
    log: Callable[[str], None] = logger.info,
    extractor: Extractor | None = None,
    max_shard_bytes: int = MAX_SHARD_BYTES,
    max_row_group_bytes: int = MAX_ROW_GROUP_BYTES,
    summaries: list[BuildSummary] | None = None,
    license: str | None = None,
    **config_kwargs,
) -> FolderManifest:
    """Build ``configs`` of the project ``spec`` and write them as a dataset folder at ``out_dir``.

    ``spec``: the project, passed as ``project=`` to ``ntp_datasets.load_dataset`` (None: the
    bundled sample). ``configs``: config names (default: every record config and every built-in
    ``instruct_*`` config); a config without rows is left out and listed in the manifest's
    ``empty_configs``. ``num_proc``: worker processes per build. ``force``: replace ``out_dir``
    even if it holds something other than a previous build. ``cache_dir`` and ``config_kwargs``
    go to ``ntp_datasets.load_dataset``; one ``extractor`` (default: a new one) serves every
    config. A split larger than ``max_shard_bytes`` (in Arrow) is written in several shards,
    each in row groups of at most ``max_row_group_bytes`` (see ``folder.HUB_ROW_GROUP_BYTES``).
    ``license``: the card's licence (a Hub licence id); by default the one the projects' licence
    files name, when they all name the same known one.
    The folder is written next to ``out_dir`` and renamed into place when complete.
    Each config's build summary is given to ``log`` as one line (and appended to
    ``summaries`` when given). Returns the folder's manifest.
    """
    out_dir = Path(out_dir)
    names = check_config_names(configs)
    extractor = extractor or Extractor(ExtractionOptions.from_mapping(config_kwargs))  # options checked first
    projects = resolve_projects(spec)
    check_output_dir(out_dir, force, projects)
    # The packages of every Lean project, for the provenance (dependencies not on disk are
    # checked out as a build would, so a build that cannot have them stops here).
    lean_projects = {p.name: load_project(p.root, fetch=extractor.toolchain.is_wasm,
                                          include_untargeted=bool(config_kwargs.get("include_untargeted")))
                     for p in projects if p.output is None}
    with built_aside(out_dir) as building:
        manifest = FolderManifest(provenance=build_provenance(spec, names, projects, lean_projects),
                                  splitting=splitting_options(config_kwargs))
        infos = {}
        for number, name in enumerate(names, 1):
            log(f"[{number}/{len(names)}] building {name}")
            dataset_dict, summary = _build_config(name, spec, num_proc, cache_dir, extractor, config_kwargs)
            log(f"  {summary.format()}")
            if summaries is not None:
                summaries.append(summary)
            if summary.leakage is not None:
                manifest.leakage[name] = summary.leakage.as_dict()
            if dataset_dict is None:
                log(f"  {name}: no rows, left out")
                manifest.empty_configs.append(name)
                continue
            manifest.splits[name], infos[name] = _write_config(building, name, dataset_dict, max_shard_bytes,
                                                               max_row_group_bytes)
        if not manifest.splits:
            raise PublishError(f"no config produced any rows ({', '.join(names)})")
        manifest.write(building)
        write_stats_plot(building)
        write_card(building, manifest, infos, license=license)
    return manifest


SPLITTING_OPTIONS = ("split_strategy", "seed", "cutoff", "temporal_field", "dedup", "dev_fraction", "test_fraction",
                     "file_dev_fraction", "file_test_fraction")


def splitting_options(config_kwargs: dict) -> dict:
    """The options that decide the splits, as given or their defaults (for the manifest and card)."""
    defaults = {f.name: f.default for f in dataclasses.fields(NtpToolkitConfig) if f.name in SPLITTING_OPTIONS}
    return {name: config_kwargs.get(name, defaults[name]) for name in SPLITTING_OPTIONS}


def remove_killed_builds(out_dir: Path) -> None:
    """Delete the unfinished folders (``.OUT.partial-PID-*``) of builds of ``out_dir`` whose
    process is gone (killed); those of builds still running are left alone."""
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.partial-(\d+)-[0-9a-f]+")

    def pid_of(path: Path) -> int | None:
        match = pattern.fullmatch(path.name)
        return int(match.group(1)) if match else None

    for path in remove_dead_leftovers(out_dir.parent.glob(f".{out_dir.name}.partial-*"), pid_of):
        logger.info("removed %s, left by a build that was killed", path)

"""The API: build a config of the ntp_toolkit builder for Lean projects and get the dataset
and the build's summary back as values.

``load_dataset`` is what ``datasets.load_dataset`` would return; ``build`` also returns the
:class:`~ntp_datasets.summary.BuildSummary` of the build. Pass one ``Extractor`` to several
builds (as ``build_dataset_folder`` does) to share the toolchain look-up and the memory of
modules that failed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import datasets
import datasets.exceptions

from ntp_datasets.builders.ntp_toolkit import NtpToolkit
from ntp_datasets.errors import NtpDatasetsError
from ntp_datasets.extraction import Extractor
from ntp_datasets.project import LeanProject, ResolvedProject
from ntp_datasets.project.ntp_toolkit_output import module_names
from ntp_datasets.routing import code_hash
from ntp_datasets.summary import BuildSummary

def make_builder(config_name: str, project=None, *, cache_dir=None, extractor: Extractor | None = None,
                 summary: BuildSummary | None = None, **config_kwargs) -> NtpToolkit:
    """The ntp_toolkit builder of config ``config_name`` for ``project`` (a spec of
    ``ntp_datasets.project.specs``; None: the bundled sample project)."""
    if project is not None:
        config_kwargs["project"] = str(project) if isinstance(project, Path) else project
    return NtpToolkit(config_name=config_name, cache_dir=cache_dir, hash=code_hash(), extractor=extractor,
                      summary=summary, **config_kwargs)


def load_dataset(config_name: str, project=None, *, cache_dir=None, download_mode=None, num_proc: int | None = None,
                 streaming: bool = False, extractor: Extractor | None = None, **config_kwargs):
    """Build config ``config_name`` of the ntp_toolkit builder for Lean projects; return a
    ``DatasetDict`` (an ``IterableDatasetDict`` when ``streaming``).

    ``project``: a project spec: a Lean project directory, a git URL at a commit, an
    ntp-toolkit config JSON file, ntp-toolkit output (a local directory, ``hf://``,
    ``memory://``, ``s3://``, a zip: its rows are read, no Lean runs), a dict entry or a list of
    these (None: the bundled sample project). ``num_proc``: processes that turn the extracted
    modules into rows (as for ``datasets.load_dataset``); extraction itself runs once, in this process. ``streaming``:
    yield rows while modules are extracted; nothing is written to the cache.
    ``cache_dir``/``download_mode``: as for ``datasets.load_dataset``. ``extractor``: the
    ``Extractor`` to use (default: a new one). ``config_kwargs``: further
    ``NtpToolkitConfig`` fields, e.g. ``workers=K`` (Lean processes extracting side by side),
    ``executor="ray"`` and ``ray_address``. A build shows its steps and ends with a one-line summary
    on stderr (``progress=False``: nothing)."""
    builder = make_builder(config_name, project, cache_dir=cache_dir, extractor=extractor, **config_kwargs)
    if streaming:
        return builder.as_streaming_dataset()
    with _own_errors_first():
        builder.download_and_prepare(download_mode=download_mode, num_proc=num_proc)
    return builder.as_dataset()


@contextlib.contextmanager
def _own_errors_first():
    """Raise an ntp-datasets error that datasets wrapped (``DatasetGenerationError: An error
    occurred while generating the dataset``) as itself, so its message is what a user sees."""
    try:
        yield
    except datasets.exceptions.DatasetGenerationError as wrapped:
        cause = wrapped.__cause__ or wrapped.__context__
        if isinstance(cause, NtpDatasetsError):
            raise cause from wrapped
        raise


@dataclass(frozen=True)
class BuildResult:
    """A built config: its dataset and the summary of the build."""

    dataset: datasets.DatasetDict
    summary: BuildSummary


def build(config_name: str, project=None, *, cache_dir=None, num_proc: int | None = None,
          extractor: Extractor | None = None, **config_kwargs) -> BuildResult:
    """Build a config like :func:`load_dataset` and return it with its summary (which is not
    shown: the caller shows it, as the CLI does). When the datasets cache already held the
    config (nothing was extracted), the summary comes from the project's ``errors`` config
    (built, or read from that cache, with the same options)."""
    summary = BuildSummary(config=config_name)
    builder = make_builder(config_name, project, cache_dir=cache_dir, extractor=extractor, summary=summary,
                           **config_kwargs)
    with _own_errors_first():
        builder.download_and_prepare(num_proc=num_proc)
    dataset = _as_dataset(builder)
    if not summary.modules_seen:
        summary = _summary_from_errors(builder, config_name, cache_dir, config_kwargs)
    summary.rows = sum(split.num_rows for split in dataset.values())
    return BuildResult(dataset, summary)


def _as_dataset(builder: NtpToolkit) -> datasets.DatasetDict:
    """``builder.as_dataset()``, or an empty ``train`` split when no row was built (datasets
    cannot read back a split without rows)."""
    splits = builder.info.splits or {}
    if "train" in splits and splits["train"].num_examples == 0:
        features = builder.info.features
        empty = datasets.Dataset.from_dict({name: [] for name in features}, features=features)
        return datasets.DatasetDict({"train": empty})
    return builder.as_dataset()


def _summary_from_errors(builder: NtpToolkit, config_name: str, cache_dir, config_kwargs: dict) -> BuildSummary:
    """The summary of a config read from the datasets cache: module failures and errors from
    the project's ``errors`` config, the other modules counted as built earlier."""
    projects = builder.config.resolved_projects()
    # Its own summary is not shown: this one is built from it. The extractor carries the time
    # limits, which decide which modules fail.
    errors_builder = make_builder("errors", builder.config.project, cache_dir=cache_dir, extractor=builder.extractor,
                                  summary=BuildSummary(config="errors"))
    errors_builder.download_and_prepare()
    errors = _as_dataset(errors_builder)["train"]
    summary = BuildSummary(project=", ".join(p.name for p in projects), config=config_name, from_datasets_cache=True,
                           rows=builder.summary.rows)
    summary.take_splits(builder.summary.splits_as_dict())  # the dates and leakage of the cached build
    whole_module = {(row["project"], row["module"], row["kind"]) for row in errors if row["line"] == 0}
    summary.failed.update(kind for _, _, kind in whole_module)
    summary.errors.update(errors["kind"])
    summary.skipped_commands.update(row["kind"] for row in errors if row["skipped"])
    modules = sum(_module_count(p) for p in projects)
    summary.cached = modules - len(whole_module)
    return summary


def _module_count(project: ResolvedProject) -> int:
    """The modules of a project: its Lean files, or those ntp-toolkit output has files for."""
    return len(module_names(project.output)) if project.output else len(LeanProject(project.root).modules)

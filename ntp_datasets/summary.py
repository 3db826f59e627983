"""What one build did: modules extracted, read from the cache or failed (by kind), errors
recorded (by kind) and rows written; the ``--strict`` exit rule of the CLI.

The builder fills a :class:`BuildSummary` while it builds and logs it at the end; the CLI
prints it (:func:`build_with_summary`) and derives its exit status from it
(:meth:`BuildSummary.exit_status`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class BuildSummary:
    """Counts of one build of one config over one project."""

    project: str
    config: str = ""
    extracted: int = 0
    """Modules elaborated by this build."""
    cached: int = 0
    """Modules read back from the extraction cache."""
    failed: Counter = field(default_factory=Counter)
    """Modules that failed as a whole, by error kind."""
    errors: Counter = field(default_factory=Counter)
    """``errors`` rows of the project, by kind (module failures and Lean error messages)."""
    rows: int = 0
    """Rows the config got."""
    from_datasets_cache: bool = False
    """The config was read back from the datasets cache: module counts come from the project
    and its ``errors`` config."""

    @property
    def modules_built(self) -> int:
        """Modules that gave rows (extracted or read from the cache)."""
        return self.extracted + self.cached

    @property
    def error_count(self) -> int:
        """Number of ``errors`` rows."""
        return sum(self.errors.values())

    def add_module(self, module_output) -> None:
        """Count one extractor output (a ``ModuleOutput``) and its errors."""
        from ntp_datasets.records import error_records

        if module_output.error:
            self.failed[module_output.error_kind or "crash"] += 1
        elif module_output.cached:
            self.cached += 1
        else:
            self.extracted += 1
        self.errors.update(e.kind for e in error_records(module_output))

    def format(self) -> str:
        """One paragraph for logs and the CLI."""
        modules = self.modules_built + sum(self.failed.values())
        if self.from_datasets_cache:
            done = f"{self.modules_built} built earlier (read from the datasets cache)"
        else:
            done = f"{self.extracted} extracted, {self.cached} from cache"
        failed = sum(self.failed.values())
        return (f"build summary of {self.config or 'config'} for {self.project}: {modules} modules: {done}, "
                f"{failed} failed{_by_kind(self.failed)}; {self.error_count} errors{_by_kind(self.errors)}; "
                f"{self.rows} rows")

    def exit_status(self, strict: bool = False) -> int:
        """1 when nothing could be built (every module failed), or when ``strict`` and any error
        was recorded; else 0."""
        if self.modules_built == 0 and self.failed:
            return 1
        return 1 if strict and self.error_count else 0

    def log(self) -> None:
        """Log the summary: a warning when something failed, else at info level."""
        logger.log(logging.WARNING if self.error_count else logging.INFO, self.format())


def _by_kind(counts: Counter) -> str:
    return f" ({', '.join(f'{kind}: {n}' for kind, n in sorted(counts.items()))})" if counts else ""


def build_with_summary(config_name: str, project=None, *, cache_dir=None, **config_kwargs):
    """Build a config like ``ntp_datasets.load_dataset`` and return ``(DatasetDict,
    BuildSummary)``. When the datasets cache already held the config (nothing was built), the
    summary is rebuilt from the project and its ``errors`` config."""
    from ntp_datasets.builders.ntp_toolkit import NtpToolkit
    from ntp_datasets.routing import code_hash

    if project is not None:
        config_kwargs["project"] = str(project)
    builder = NtpToolkit(config_name=config_name, cache_dir=cache_dir, hash=code_hash(), **config_kwargs)
    builder.download_and_prepare()
    dataset = _as_dataset(builder)
    rows = sum(split.num_rows for split in dataset.values())
    summary = builder.build_summary
    if summary is None:
        summary = _summary_from_errors(builder.config.resolved_projects(), config_name, cache_dir, config_kwargs)
    summary.rows = rows
    return dataset, summary


def _as_dataset(builder):
    """``builder.as_dataset()``, or an empty ``train`` split when no row was built (datasets
    cannot read back a split without rows)."""
    import datasets

    splits = builder.info.splits or {}
    if "train" in splits and splits["train"].num_examples == 0:
        features = builder.info.features
        empty = datasets.Dataset.from_dict({name: [] for name in features}, features=features)
        return datasets.DatasetDict({"train": empty})
    return builder.as_dataset()


def _summary_from_errors(projects, config_name: str, cache_dir, config_kwargs) -> BuildSummary:
    from ntp_datasets.builders.ntp_toolkit import NtpToolkit
    from ntp_datasets.project import LeanProject
    from ntp_datasets.routing import code_hash

    kwargs = {k: v for k, v in config_kwargs.items() if k in ("project", "module_timeout")}
    builder = NtpToolkit(config_name="errors", cache_dir=cache_dir, hash=code_hash(), **kwargs)
    builder.download_and_prepare()
    errors = _as_dataset(builder)["train"]
    names = ", ".join(project.name for project in projects)
    summary = BuildSummary(project=names, config=config_name, from_datasets_cache=True)
    whole_module = {(row["project"], row["module"], row["kind"]) for row in errors if row["line"] == 0
                    and row["kind"] != "toolchain_mismatch"}
    summary.failed.update(kind for _, _, kind in whole_module)
    summary.errors.update(errors["kind"])
    modules = sum(len(LeanProject(project.root).modules) for project in projects)
    summary.cached = modules - len(whole_module)
    return summary

"""What one build did: modules extracted, read from the cache or failed (by kind), errors
recorded (by kind) and rows written; the ``--strict`` exit rule of the CLI.

The builder fills a :class:`BuildSummary` it is given while it builds and logs it at the end;
``ntp_datasets.api.build`` returns it beside the dataset, and the CLI prints it and derives
its exit status from it (:meth:`BuildSummary.exit_status`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from ntp_datasets.extraction import ModuleOutput
from ntp_datasets.records import ReadyModule, error_records
from ntp_datasets.rows.leakage import LeakageReport, report_from_dict

logger = logging.getLogger(__name__)


@dataclass
class BuildSummary:
    """Counts of one build of one config over one project."""

    project: str = ""
    config: str = ""
    extracted: int = 0
    """Modules elaborated by this build."""
    cached: int = 0
    """Modules read back from the extraction cache."""
    read_from_output: int = 0
    """Modules whose rows were read from ntp-toolkit output (no Lean ran for them)."""
    failed: Counter = field(default_factory=Counter)
    """Modules that failed as a whole, by error kind."""
    errors: Counter = field(default_factory=Counter)
    """``errors`` rows of the project, by kind (module failures and Lean error messages)."""
    skipped_commands: Counter = field(default_factory=Counter)
    """Commands not elaborated in modules that were extracted, by kind: ``toolchain_limit`` or
    ``crash`` (the command killed the Lean process twice), ``timeout`` (it ran past
    ``command_timeout``). Each is also an ``errors`` row."""
    rows: int = 0
    """Rows the config got."""
    dropped_rows: int = 0
    """Instruction rows left out (``rows.prompting.drop_reason``: sorry, Lean errors, statements)."""
    dropped_by_reason: Counter = field(default_factory=Counter)
    """``dropped_rows`` by reason, a key of ``rows.prompting.DROP_REASONS``."""
    dependency_modules: Counter = field(default_factory=Counter)
    """Modules of dependencies elaborated for the build but whose rows were not asked for
    (``packages=``), by package; failed ones also under ``dependency_failed`` by kind."""
    dependency_failed: Counter = field(default_factory=Counter)
    dates_unavailable: dict[str, str] = field(default_factory=dict)
    """Projects without git dates (``minictx``, ``split_strategy="temporal"``), and why."""
    after_cutoff: int = 0
    """Declarations a temporal split put in dev or test (created after the cut-off)."""
    undated: int = 0
    """Declarations a temporal split put in train because they have no date."""
    leakage: LeakageReport | None = None
    """Statements in more than one split (configs with several splits, ``rows.leakage``)."""
    from_datasets_cache: bool = False
    """The config was read back from the datasets cache (nothing was extracted for it): module
    counts, when there are any, come from the project and its ``errors`` config."""

    @property
    def modules_built(self) -> int:
        """Modules that gave rows (extracted, read from the cache or from ntp-toolkit output)."""
        return self.extracted + self.cached + self.read_from_output

    @property
    def error_count(self) -> int:
        """Number of ``errors`` rows."""
        return sum(self.errors.values())

    @property
    def modules_seen(self) -> int:
        """Modules counted so far (0: nothing was extracted in this build)."""
        return self.modules_built + sum(self.failed.values())

    def start(self, project: str) -> None:
        """Begin counting a fresh extraction of ``project`` (the names of its projects): a
        streamed config extracts once per split, and only the last pass counts."""
        self.project, self.extracted, self.cached, self.read_from_output = project, 0, 0, 0
        self.failed, self.errors, self.skipped_commands = Counter(), Counter(), Counter()
        self.dependency_modules, self.dependency_failed = Counter(), Counter()

    def add_module(self, module_output: ModuleOutput | ReadyModule) -> None:
        """Count one extractor output, or one module read from ntp-toolkit output (those of its
        layout files, module "", count only their errors), and its errors."""
        if isinstance(module_output, ReadyModule):
            self.read_from_output += bool(module_output.module)
        elif module_output.error:
            self.failed[module_output.error_kind or "crash"] += 1
        elif module_output.cached:
            self.cached += 1
        else:
            self.extracted += 1
        errors = list(error_records(module_output))
        self.errors.update(e.kind for e in errors)
        self.skipped_commands.update(e.kind for e in errors if e.skipped)

    def add_dependency_module(self, module_output: ModuleOutput) -> None:
        """Count a module of a dependency whose rows the build does not give."""
        self.dependency_modules[module_output.package] += 1
        if module_output.error:
            self.dependency_failed[module_output.error_kind or "crash"] += 1

    def format(self) -> str:
        """One line for the CLI and the API: where the config's rows came from (modules
        extracted now, read from the extraction cache, or the whole config read from the
        datasets cache), modules failed and errors by kind, commands skipped in extracted
        modules by kind (when any), rows."""
        modules = self.modules_seen
        failed = f"{sum(self.failed.values())} failed{_by_kind(self.failed)}"
        head = f"{self.config or 'config'} of {self.project or 'the project'}"
        if self.from_datasets_cache and not modules:
            return f"{head}: read from the datasets cache (nothing extracted); {self.rows} rows{self._splits_text()}"
        if self.from_datasets_cache:
            done = f"read from the datasets cache: {modules} modules, {failed}"
        elif self.read_from_output and self.read_from_output == modules:
            done = f"{modules} modules read from ntp-toolkit output (no Lean ran)"
        else:
            read = f", {self.read_from_output} read from ntp-toolkit output" if self.read_from_output else ""
            done = (f"{modules} modules: {self.extracted} extracted now, {self.cached} read from the extraction cache"
                    f"{read}, {failed}")
        skipped = sum(self.skipped_commands.values())
        skipped = f"; {skipped} command{'s' * (skipped != 1)} skipped{_by_kind(self.skipped_commands)}" if skipped else ""
        dependencies = ""
        if self.dependency_modules:
            packages = ", ".join(f"{n} of {p}" for p, n in sorted(self.dependency_modules.items()))
            failures = sum(self.dependency_failed.values())
            failures = f"{failures} failed{_by_kind(self.dependency_failed)}"
            dependencies = f"; other packages' modules: {packages} ({failures})"
        return (f"{head}: {done}; {self.error_count} errors{_by_kind(self.errors)}{skipped}{dependencies}; "
                f"{self.rows} rows{self._splits_text()}")

    def _splits_text(self) -> str:
        """What the build found about dates and splits, as phrases after the row count ("" when nothing)."""
        parts = []
        if self.after_cutoff or self.undated:
            parts.append(f"{self.after_cutoff} declarations after the cut-off, {self.undated} without a date (in train)")
        parts += [f"no dates for {project}: {reason}" for project, reason in sorted(self.dates_unavailable.items())]
        if self.leakage is not None:
            parts.append(self.leakage.format())
        return "".join(f"; {part}" for part in parts)

    def splits_as_dict(self) -> dict:
        """What the build found about dates and splits (``dates_unavailable``, ``after_cutoff``,
        ``undated``, ``leakage``) as JSON data, kept beside a config in the datasets cache."""
        return {"dates_unavailable": self.dates_unavailable, "after_cutoff": self.after_cutoff,
                "undated": self.undated, "leakage": self.leakage.as_dict() if self.leakage else None}

    def take_splits(self, data: dict) -> None:
        """Set what :meth:`splits_as_dict` wrote (a config read back from the datasets cache)."""
        self.dates_unavailable = dict(data.get("dates_unavailable") or {})
        self.after_cutoff, self.undated = data.get("after_cutoff", 0), data.get("undated", 0)
        self.leakage = report_from_dict(data["leakage"]) if data.get("leakage") else None

    def exit_status(self, strict: bool = False) -> int:
        """1 when nothing could be built (every module failed), or when ``strict`` and any error
        was recorded; else 0."""
        if self.modules_built == 0 and self.failed:
            return 1
        return 1 if strict and self.error_count else 0

    def log(self) -> None:
        """Log the summary at info level (whoever owns the build shows it, see the builder)."""
        logger.info(self.format())


def _by_kind(counts: Counter) -> str:
    return f" ({', '.join(f'{kind}: {n}' for kind, n in sorted(counts.items()))})" if counts else ""

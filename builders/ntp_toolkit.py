"""Hugging Face dataset builder: a Lean 4 project -> neural theorem proving datasets.

Configs:

- one record config per ``ntp_datasets.records.RECORD_KINDS`` entry, e.g. ``tactic_prediction``
  (one row per tactic step) and ``full_proof`` (one row per declaration with a proof or value);
  a single ``train`` split with every record (``train``/``dev``/``test`` with
  ``split_strategy="novel_premises"``).
- ``instruct_<prompt type>`` for each built-in template (``ntp_datasets/rows/templates/``):
  instruction-tuning prompt/completion rows rendered from the records; rows containing
  ``sorry``, rows of declarations with Lean errors and tactics inside statements are dropped
  (``ntp_datasets.rows.prompting.drop_reason``). Splits ``train``, ``dev``, ``test``,
  ``file_split_dev``, ``file_split_test`` (``ntp_datasets.rows.splits``); a held-out split with
  no rows is left out, since datasets cannot read back an empty split.
- ``instruct``: the same for a user's template, given as ``template_dir=`` (with
  ``prompt_name=`` when it holds several) or ``template=``.

Usage: ``datasets.load_dataset("ntp_toolkit", "full_proof", project="path/to/lean/project")``
after ``import ntp_datasets``; ``project`` is any spec of ``ntp_datasets.project.specs`` (a
directory, a git URL at a commit, an ntp-toolkit config file, a list) and defaults to the
bundled sample project. Every row has a ``project`` column: its project's name. A spec may
also name ntp-toolkit output (its pipeline's task folders, at any location fsspec opens): its
rows are read (``records.from_ntp_toolkit``), no Lean runs.

Generation: ``download_and_prepare`` first extracts every project in the main process (Lean
workers, cached per module: ``ntp_datasets.extraction``) and writes each module's extractor
output to a file; the list of those files is what datasets shards over ``num_proc`` workers.
Streaming (``as_streaming_dataset``) extracts while rows are read.

Injection points (keyword arguments of the builder, beside datasets' own): ``extractor``, an
``ntp_datasets.extraction.Extractor`` (or an object with its ``toolchain`` and
``extract_project``), which carries the extraction options, and ``summary``, a
``BuildSummary`` the builder fills while it builds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import pickle
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
from datasets.builder import Key
from datasets.utils.tqdm import tqdm as hf_tqdm

from ntp_datasets.errors import ConfigError, ProjectSpecError, output_error
from ntp_datasets.extraction import ExtractionOptions, Extractor, given_options
from ntp_datasets.extraction.cache import remove_dead_leftovers
from ntp_datasets.progress import say
from ntp_datasets.project import LeanProject, ResolvedProject, check_toolchain, load_project, resolve_projects
from ntp_datasets.project.ntp_toolkit_output import fingerprint as output_fingerprint
from ntp_datasets.project.history import history_commit, project_history, unavailable
from ntp_datasets.records import (
    RECORD_KINDS,
    TEMPORAL_FIELDS,
    MiniCtxContext,
    ProjectDeclarations,
    ReadyModule,
    as_row,
    creation_date,
    error_records,
    features_of_kind,
    library_corpus_records,
    library_imports,
    records_of_kind,
)
from ntp_datasets.rows import prompting, truncation
from ntp_datasets.records.from_ntp_toolkit import read_modules, source_of
from ntp_datasets.records.premises import declaration_premises
from ntp_datasets.rows.leakage import deduplicate, leakage_report, leaked_statements
from ntp_datasets.rows.splits import (
    DEV,
    SPLIT_NAMES,
    SPLIT_STRATEGIES,
    TEST,
    TRAIN,
    SplitAssignment,
    SplitFractions,
    check_cutoff,
    file_split,
    novel_premises_splits,
    split_of,
    temporal_splits,
)
from ntp_datasets.summary import BuildSummary
from ntp_datasets.toolchain import ntp_home
from ntp_datasets.version import __version__

logger = logging.getLogger(__name__)


def project_fingerprint(project_dir: Path) -> str:
    """Hash of a project's sources and toolchain files and of this package's version."""
    digest = hashlib.sha256(f"ntp-datasets {__version__}\n".encode())
    digest.update(LeanProject(project_dir).fingerprint().encode())
    return digest.hexdigest()


def projects_fingerprint(projects: list[ResolvedProject]) -> str:
    """Hash of every project's name, origin (repository and commit) and content (of ntp-toolkit
    output: its files as listed, ``ntp_toolkit_output.fingerprint``)."""
    digest = hashlib.sha256()
    for project in projects:
        origin = f"{project.name}\0{project.repo or ''}\0{project.commit or ''}\0"
        content = output_fingerprint(project.output) if project.output else project_fingerprint(project.root)
        digest.update(origin.encode() + content.encode() + b"\0")
    return digest.hexdigest()


def templates_fingerprint(template_dir) -> str:
    """Hash of the names and texts of the ``*.j2`` templates in ``template_dir``."""
    digest = hashlib.sha256()
    for path in sorted(Path(template_dir).glob("*" + prompting.TEMPLATE_SUFFIX)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


GENERIC_INSTRUCT_CONFIG = "instruct"

ALL_PACKAGES = "all"
"""``packages=`` value asking for the rows of every package a build elaborates."""

PACKAGE_COLUMN = "package"
"""The column every config has beside its record's fields: the Lake package of the row's module
(empty for a directory without a lakefile, for ntp-toolkit output and for the toolchain library)."""

CORPUS_CONFIG = "premise_corpus"
"""The record config whose rows also come from the toolchain library (``LibraryCorpus``)."""


@dataclass(frozen=True)
class LibraryCorpus:
    """The toolchain library's part of one project's premise corpus: the extractor's corpus
    lines for the library modules the project imports. It travels with the module outputs."""

    project: str
    entries: list


SPLITS_REPORT = "ntp_datasets_splits.json"
"""What a build found about dates and splits (``BuildSummary.splits_as_dict``), kept in the
config's datasets cache directory so a config read back from there reports it too."""

MINICTX = "minictx"
"""The record config whose rows carry git dates (``records.minictx``)."""

SPLIT_RECORD_KINDS = ("tactic_prediction", "tactic_prediction_with_premises", "full_proof", "full_proof_with_states",
                      "minictx")
"""Record configs that ``split_strategy="novel_premises"`` or ``"temporal"`` split into ``train``/``dev``/``test``."""

"""Config name for prompt types of a user's templates (``template_dir=`` or ``template=``)."""


@dataclass
class NtpToolkitConfig(datasets.BuilderConfig):
    """BuilderConfig for NtpToolkit.

    ``project``: the Lean projects, any spec of ``ntp_datasets.specs``: a directory, a
    git URL at a commit, an ntp-toolkit config file, a dict entry or a list (None: the
    bundled sample project).
    ``progress``: show progress bars (modules elaborated; rows, when streaming).
    ``record_kind``: a key of ``records.RECORD_KINDS``; for ``instruct`` with
    ``template=``, the records the template renders unless it declares its own.
    ``fingerprint``: content hash of the project, part of the cache directory name.

    Instruction configs (``instruct_*`` and ``instruct``) only:

    ``prompt_name``: the prompt type, a built-in one or one of ``template_dir``.
    ``template_dir``: a directory whose every ``<name>.j2`` is prompt type ``name``
    (looked up before the built-ins, so it can also reword a built-in one).
    ``template``: a template string (prompt type ``prompt_name``, default ``custom``).
    ``max_context_tokens``: token budget of the ``[CTX]`` file context (0: no limit).
    ``tokenizer``: counts the tokens: None (an offline regex word/punctuation
    tokenizer), ``"tiktoken:<encoding>"``, a callable ``str -> list``, or an
    object whose ``.encode`` returns a list or an object with ``.ids``.
    ``tokenizer_name``: how the tokenizer is named in the cache id (default: its
    class and model name); set it to tell two tokenizers of one class apart.
    ``seed``: seeds the split assignment and each row's truncation choice.
    ``keep_error_rows``: keep rows of declarations in which Lean reported an error (by
    default they are dropped, like rows containing ``sorry``).
    ``dev_fraction``/``test_fraction``: expected share of declarations in dev/test.
    ``file_dev_fraction``/``file_test_fraction``: expected share of files held
    out whole as ``file_split_dev``/``file_split_test``.

    ``split_strategy``: ``"random"`` (each declaration's split by its own seeded hash),
    ``"novel_premises"`` (dev and test declarations each use a premise no train declaration
    uses, ``splits.novel_premises_splits``) or ``"temporal"`` (theorems without ``sorry``
    created after ``cutoff``, ``"YYYY-MM-DD"``, in test and a seeded half of them in dev, the
    date being ``temporal_field``, one of ``records.TEMPORAL_FIELDS``; ``splits.temporal_splits``);
    with ``"novel_premises"`` and ``"temporal"`` the record configs of ``SPLIT_RECORD_KINDS``
    get ``train``/``dev``/``test`` splits too. Not with streaming.
    ``dedup``: of each statement declarations of several splits state (``rows.leakage``; the
    build summary reports them either way), keep one declaration, in train. Not with streaming.

    ``import_closure``: ``imports`` rows for every module of each module's environment
    (``Init``'s closure included), not only its direct and project imports.

    Lake packages: ``include_untargeted``: also extract the ``.lean`` files no target of the
    package builds (listed in the ``modules`` config either way). ``packages``: whose rows: None
    (the root package's only), ``"all"`` (every package the build elaborates: the root's and the
    dependency modules its modules import), or a list of package names. Every row has a
    ``package`` column.

    Extraction options (how, not what: see ``ntp_datasets.extraction.ExtractionOptions``;
    None: the environment's setting, else the default): ``workers`` (Lean processes side by
    side; None: as many as pay for themselves), ``executor`` (``"local"`` or ``"ray"``),
    ``ray_address``, ``module_timeout`` and ``command_timeout`` (CPU seconds a module / a command
    may take; 0: no limit), ``toolchain`` (``"wasm"`` or ``"native"``). The time limits decide
    which commands and modules fail, so they are part of the cache id; the others are not.
    """

    project: Any = None
    record_kind: str = "tactic_prediction"
    prompt_name: str | None = None
    template_dir: str | None = None
    template: str | None = None
    max_context_tokens: int = 1024
    tokenizer: Any = None
    tokenizer_name: str | None = None
    seed: int = 42
    dev_fraction: float = 0.025
    test_fraction: float = 0.025
    file_dev_fraction: float = 0.0
    file_test_fraction: float = 0.0
    keep_error_rows: bool = False
    progress: bool = True
    import_closure: bool = False
    include_untargeted: bool = False
    packages: Any = None
    split_strategy: str = "random"
    workers: int | None = None
    executor: str | None = None
    ray_address: str | None = None
    module_timeout: float | None = None
    command_timeout: float | None = None
    toolchain: str | None = None
    cutoff: str | None = None
    temporal_field: str = "declarationCreated"
    dedup: bool = False
    fingerprint: str = field(default="", init=False)

    def __post_init__(self):
        super().__post_init__()
        self._check_fields()

    def _check_fields(self) -> None:
        """Reject values no build can use (run again after datasets sets overrides)."""
        if self.record_kind not in RECORD_KINDS:
            raise ConfigError(f"record_kind must be one of {sorted(RECORD_KINDS)}, got {self.record_kind!r}")
        if not isinstance(self.max_context_tokens, int) or self.max_context_tokens < 0:
            raise ConfigError(f"max_context_tokens must be an int >= 0, got {self.max_context_tokens!r}")
        if self.split_strategy not in SPLIT_STRATEGIES:
            raise ConfigError(f"split_strategy must be one of {list(SPLIT_STRATEGIES)}, got {self.split_strategy!r}")
        if not isinstance(self.import_closure, bool):
            raise ConfigError(f"import_closure must be True or False, got {self.import_closure!r}")
        if not isinstance(self.include_untargeted, bool):
            raise ConfigError(f"include_untargeted must be True or False, got {self.include_untargeted!r}")
        packages = self.packages
        if not (packages is None or packages == ALL_PACKAGES or (
                isinstance(packages, (list, tuple)) and packages and all(isinstance(p, str) for p in packages))):
            raise ConfigError(f'packages must be None (the root package), "{ALL_PACKAGES}" or a list of package '
                              f"names, got {packages!r}")
        if self.split_strategy == "temporal" and self.cutoff is None:
            raise ConfigError('split_strategy="temporal" needs cutoff="YYYY-MM-DD"')
        if self.cutoff is not None:
            check_cutoff(self.cutoff)
        if self.temporal_field not in TEMPORAL_FIELDS:
            raise ConfigError(f"temporal_field must be one of {list(TEMPORAL_FIELDS)}, got {self.temporal_field!r}")
        if not isinstance(self.dedup, bool):
            raise ConfigError(f"dedup must be True or False, got {self.dedup!r}")
        self.split_fractions()

    @property
    def novel_premises(self) -> bool:
        """Whether splits follow the ``novel_premises`` strategy."""
        return self.split_strategy == "novel_premises"

    @property
    def splits_records(self) -> bool:
        """Whether this record config writes ``train``/``dev``/``test`` (``novel_premises`` and ``temporal``)."""
        return self.split_strategy != "random" and not self.is_instruct and self.record_kind in SPLIT_RECORD_KINDS

    @property
    def uses_history(self) -> bool:
        """Whether the rows depend on the projects' git histories (``minictx`` rows, temporal splits)."""
        if self.split_strategy == "temporal":
            return True
        return (self.prompt_type().record_kind if self.is_instruct else self.record_kind) == MINICTX

    @property
    def needs_whole_build(self) -> bool:
        """Whether the first row needs every module extracted first (so the config does not stream)."""
        return self.split_strategy != "random" or self.dedup or self.uses_history

    def resolved_projects(self) -> list[ResolvedProject]:
        """The Lean projects ``project`` names (git repositories cloned on first use). Resolved
        once per config object and spec: resolving may clone or ask a git server."""
        spec_key = json.dumps(self.project, default=str, sort_keys=True)
        cached = getattr(self, "_resolved", None)
        if cached is None or cached[0] != spec_key:
            cached = (spec_key, resolve_projects(self.project, progress=self.progress))
            self._resolved = cached
        return cached[1]

    @property
    def is_instruct(self) -> bool:
        """Whether this config writes prompt/completion rows rather than records."""
        prompt_options = (self.prompt_name, self.template_dir, self.template)
        return self.name == GENERIC_INSTRUCT_CONFIG or any(option is not None for option in prompt_options)

    def prompt_type(self) -> prompting.PromptType:
        """The prompt type this instruction config renders."""
        if self.name == GENERIC_INSTRUCT_CONFIG and self.template is None and self.template_dir is None:
            raise ConfigError(f"config {GENERIC_INSTRUCT_CONFIG!r} needs template_dir= or template=")
        return prompting.resolve_prompt_type(
            self.prompt_name,
            template=self.template,
            template_dir=self.template_dir,
            record_kind=self.record_kind,
        )

    def split_fractions(self) -> SplitFractions:
        """The split shares and seed of this config."""
        return SplitFractions(
            dev=self.dev_fraction,
            test=self.test_fraction,
            file_dev=self.file_dev_fraction,
            file_test=self.file_test_fraction,
            seed=self.seed,
        )

    def context_truncator(self) -> truncation.ContextTruncator:
        """Cuts prompt contexts to ``max_context_tokens`` of ``tokenizer``."""
        return truncation.ContextTruncator(self.max_context_tokens, self.tokenizer, self.seed)

    def create_config_id(self, config_kwargs: dict, custom_features=None) -> str:
        """Cache id: the config name plus the projects' fingerprint (not their paths) and the
        options as stable text: the tokenizer by name, ``template_dir`` by its templates' hash."""
        # datasets sets `project=` and the other options on a copy of a predefined
        # config after __post_init__ ran, so checks and fingerprint run again here.
        self._check_fields()
        if self.is_instruct:
            self.prompt_type()
        self.fingerprint = projects_fingerprint(self.resolved_projects())
        if self.uses_history:  # dates change with new commits even when the files do not
            self.fingerprint += "".join(f"\0{history_commit(p.root) or ''}" for p in self.resolved_projects())
        # `project` is described by the fingerprint; `progress` does not change the rows.
        # `workers`, `executor` and `ray_address` say how to extract, not what: the rows are the same.
        described_elsewhere = {"project", "progress", "tokenizer", "tokenizer_name", "template_dir", "workers",
                               "executor", "ray_address", "toolchain"}
        id_kwargs = {key: value for key, value in config_kwargs.items() if key not in described_elsewhere}
        id_kwargs["fingerprint"] = self.fingerprint
        # A tokenizer object hashes differently from process to process; its name does not.
        if self.tokenizer is not None or self.tokenizer_name is not None:
            id_kwargs["tokenizer"] = self.tokenizer_name or truncation.tokenizer_name(self.tokenizer)
        if self.template_dir is not None:
            id_kwargs["template_dir"] = templates_fingerprint(self.template_dir)
        return super().create_config_id(id_kwargs, custom_features=custom_features)


class NtpToolkit(datasets.GeneratorBasedBuilder):
    """Datasets of tactic steps, proofs and prompts extracted from a Lean 4 project."""

    BUILDER_CONFIG_CLASS = NtpToolkitConfig
    BUILDER_CONFIGS = [
        *(NtpToolkitConfig(name=kind, record_kind=kind) for kind in RECORD_KINDS),
        *(
            NtpToolkitConfig(name=f"instruct_{name}", prompt_name=name) for name in prompting.BUILTIN_PROMPT_NAMES
        ),
        NtpToolkitConfig(name=GENERIC_INSTRUCT_CONFIG),
    ]
    DEFAULT_CONFIG_NAME = "tactic_prediction"

    def __init__(self, *args, extractor=None, summary: BuildSummary | None = None, **kwargs):
        # Checked before anything else happens (a git checkout, a toolchain install); the
        # limits in force become the config's own, so the cache id tells them apart.
        options = extraction_options(extractor, kwargs)
        kwargs.update(module_timeout=options.module_timeout or 0, command_timeout=options.command_timeout or 0)
        super().__init__(*args, **kwargs)
        self.extractor = extractor or Extractor(options, progress=self.config.progress)
        # A caller that passes its summary shows it; else the builder shows its own, once.
        self._shows_summary = summary is None
        self.summary = summary if summary is not None else BuildSummary(config=self.config.name)
        shown = getattr(self.extractor, "shown_errors", None)
        self._shown_errors = shown if isinstance(shown, set) else set()
        self._contexts: dict[str, MiniCtxContext] = {}
        """Each project's premises and history, for ``minictx`` rows (set by ``_extract_to_files``)."""

    def download_and_prepare(self, *args, **kwargs):
        """datasets' ``download_and_prepare``; then the build summary is complete (a config
        found in the datasets cache is marked so) and, unless a caller passed ``summary=``,
        shown as one line."""
        self._prepared_now = False
        super().download_and_prepare(*args, **kwargs)
        report = Path(self._output_dir) / SPLITS_REPORT
        if self._prepared_now:
            with contextlib.suppress(OSError):  # a remote cache directory keeps no report
                report.write_text(json.dumps(self.summary.splits_as_dict()), encoding="utf-8")
        else:
            self.summary.from_datasets_cache = True
            self.summary.project = ", ".join(p.name for p in self.config.resolved_projects())
            self.summary.rows = sum(split.num_examples for split in (self.info.splits or {}).values())
            with contextlib.suppress(OSError, ValueError, KeyError):
                self.summary.take_splits(json.loads(report.read_text(encoding="utf-8")))
        if self._shows_summary:
            say(self.summary.format(), self.config.progress)

    def _info(self):
        if self.config.is_instruct:
            features = prompting.FEATURES
        else:
            features = datasets.Features({**features_of_kind(self.config.record_kind),
                                          PACKAGE_COLUMN: datasets.Value("string")})
        return datasets.DatasetInfo(description=__doc__, features=features)

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        # Extractor output is written to files for the time of the build: generation (in
        # num_proc workers, too) reads them back, and no process holds the whole project.
        self._prepared_now = True
        self._check_dependencies(self.config.resolved_projects())  # before anything is written
        outputs_root = ntp_home() / "work" / "module-outputs"
        try:
            outputs_root.mkdir(parents=True, exist_ok=True)
            remove_dead_leftovers(outputs_root.glob("tmp*"), _owner_pid)
            # The process id in the name lets a later build remove it if this one is killed.
            with tempfile.TemporaryDirectory(dir=outputs_root, prefix=f"tmp{os.getpid()}-") as outputs_dir:
                self._outputs_dir = Path(outputs_dir)
                try:
                    super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)
                finally:
                    self._outputs_dir = None
        except Exception as exc:  # disk full, no permission: one error naming the path
            error = output_error(exc, self._cache_dir)
            if error is None:
                raise
            raise error from exc
        self.summary.rows = sum(split.num_examples for split in (self.info.splits or {}).values())
        self.summary.log()

    def _check_dependencies(self, projects) -> None:
        """Stop before Lean starts when a project's dependencies cannot be had
        (``DependencyError``) or there is no toolchain: every Lean project is loaded now, with its
        dependencies' source trees (:meth:`_lean_project`). ntp-toolkit output needs neither
        (see :meth:`_check_outputs`)."""
        for project in projects:
            if project.output is None:
                self._lean_project(project)
        self._check_outputs(projects)

    def _lean_project(self, project: ResolvedProject) -> LeanProject:
        """The Lean project ``project`` names, loaded once per builder: its package, its modules as
        Lake selects them, and the dependency modules they import. Dependencies not on disk are
        checked out on the WebAssembly Lean (which has no Lake); natively Lake's own
        ``.lake/packages`` must hold them."""
        loaded = self.__dict__.setdefault("_lean_projects", {})
        if project.root not in loaded:
            loaded[project.root] = load_project(project.root, fetch=self.extractor.toolchain.is_wasm,
                                                include_untargeted=self.config.include_untargeted)
        return loaded[project.root]

    def _wants_rows_of(self, lean_project: LeanProject, package: str) -> bool:
        """Whether rows of modules of ``package`` belong in this config (``packages=``)."""
        wanted = self.config.packages
        if wanted is None:
            return lean_project.package is None or package == lean_project.package.name
        return wanted == ALL_PACKAGES or package in wanted

    def _check_outputs(self, projects) -> None:
        """Stop before anything is read when this config has no folder behind it in a project of
        ntp-toolkit output (``ConfigError``), or asks for what that output does not have: the
        premises of proof terms (``novel_premises``), git dates (``temporal``) or statements to
        compare (``dedup``)."""
        needs = {"novel_premises": "the premises of proof terms", "temporal": "the git history of its sources"}
        for project in projects:
            if project.output is not None:
                source_of(project.output, self._read_kind())
                if self.config.split_strategy in needs:
                    raise ConfigError(f"split_strategy={self.config.split_strategy!r} needs "
                                      f"{needs[self.config.split_strategy]}, which ntp-toolkit output "
                                      f"({project.name}) does not have")
                if self.config.dedup:
                    raise ConfigError(f"dedup needs each declaration's statement, which ntp-toolkit output "
                                      f"({project.name}) does not have")

    def _read_kind(self) -> str:
        """The record kind this config's rows come from."""
        return self.config.prompt_type().record_kind if self.config.is_instruct else self.config.record_kind

    def _split_generators(self, dl_manager):
        projects = self.config.resolved_projects()
        self._check_outputs(projects)
        splits = SPLIT_NAMES if self.config.is_instruct else (TRAIN, DEV, TEST) if self.config.splits_records else (TRAIN,)
        if getattr(dl_manager, "is_streaming", False):
            if self.config.needs_whole_build:
                raise ConfigError(f"config {self.config.name!r} with split_strategy={self.config.split_strategy!r}"
                                  f"{', dedup' if self.config.dedup else ''} needs every module (and for git dates "
                                  "every declaration) before the first row: it does not stream")
            # Rows come as modules are extracted; a split without rows is merely empty.
            return [
                datasets.SplitGenerator(name=split, gen_kwargs={"projects": projects, "split": split})
                for split in splits
            ]
        module_files, rows_per_split, assignment = self._extract_to_files(projects)
        say(f"{self.config.name}: writing rows ...", self.config.progress)
        if self.config.is_instruct:
            if self.summary.dropped_rows:
                reasons = ", ".join(f"{count} {prompting.DROP_REASONS[reason]}"
                                    for reason, count in sorted(self.summary.dropped_by_reason.items()))
                logger.warning("%s: dropped %d rows: %s", self.config.name, self.summary.dropped_rows, reasons)
            logger.info("%s: rows per split: %s", self.config.name, dict(rows_per_split))
        # datasets cannot read back a split without rows, so only train is
        # declared whatever its size; the held-out splits only when they have rows.
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"module_files": module_files, "split": split,
                                                             "assignment": assignment, "contexts": self._contexts})
            for split in splits
            if split == TRAIN or rows_per_split[split]
        ]

    def _extract_to_files(self, projects) -> tuple[list[str], Counter, SplitAssignment | None]:
        """Extract every project, writing each module's output to its own file, and gather
        what ``minictx`` rows (``self._contexts``), splits and leakage need; return the files
        (in project and import order), and for configs with several splits the rows per split
        and every declaration's split."""
        module_files, gathered, premises_used = [], {}, []
        for module_output in self._with_library_corpus(self._extract(projects)):
            path = self._outputs_dir / f"{len(module_files):07d}.pickle"
            path.write_bytes(pickle.dumps(module_output, protocol=pickle.HIGHEST_PROTOCOL))
            module_files.append(str(path))
            if isinstance(module_output, (LibraryCorpus, ReadyModule)):  # rows read have no statements to hash
                continue
            gathered.setdefault(module_output.project, ProjectDeclarations()).add(module_output)
            if self.config.novel_premises:
                premises_used.extend(declaration_premises(module_output))
        self._contexts = self._minictx_contexts(projects, gathered) if self.config.uses_history else {}
        rows_per_split = Counter()
        if not (self.config.is_instruct or self.config.splits_records):
            return module_files, rows_per_split, None
        assignment = self._assignment(gathered, premises_used)
        for path in module_files:  # counted now that every declaration's split is known
            module_output = pickle.loads(Path(path).read_bytes())
            if not isinstance(module_output, LibraryCorpus):
                self._add_counts(module_output, assignment, rows_per_split)
        return module_files, rows_per_split, assignment

    def _minictx_contexts(self, projects, gathered: dict) -> dict[str, MiniCtxContext]:
        """Each project's premises and git history (a clone ntp-datasets made is deepened; a
        project without history is noted in the summary with the reason)."""
        contexts = {}
        for project in projects:
            declarations = gathered.get(project.name, ProjectDeclarations())
            say(f"{self.config.name}: reading the git history of {project.name} ...", self.config.progress)
            try:
                history = project_history(project.root, declarations.history_request(), deepen=project.repo is not None)
            except ProjectSpecError as error:
                history = unavailable(str(error))
            if history.unavailable:
                self.summary.dates_unavailable[project.name] = history.unavailable
            contexts[project.name] = MiniCtxContext(frozenset(declarations.premises), history)
        return contexts

    def _assignment(self, gathered: dict, premises_used: list) -> SplitAssignment:
        """Every declaration's split by the config's strategy, the statements found in more than
        one split (in the summary), and with ``dedup`` one declaration of each kept, in train."""
        facts = [fact for declarations in gathered.values() for fact in declarations.facts]
        fractions = self.config.split_fractions()
        if self.config.novel_premises:
            held_out = novel_premises_splits(fractions, premises_used)
            splits = {(f.project, f.declId): file_split(fractions, f.file) or held_out.get(f.declId, TRAIN)
                      for f in facts}
        elif self.config.split_strategy == "temporal":
            def date_of(fact):
                return creation_date(self._contexts[fact.project].history, fact, self.config.temporal_field)

            temporal = temporal_splits(fractions, facts, date_of, self.config.cutoff)
            self.summary.after_cutoff, self.summary.undated = temporal.after_cutoff, temporal.undated
            splits = {(f.project, f.declId): file_split(fractions, f.file)
                      or temporal.held_out.get((f.project, f.declId), TRAIN) for f in facts}
        else:
            splits = {(f.project, f.declId): split_of(fractions, f.file, f.declId) for f in facts}
        leaked = leaked_statements(facts, splits)
        dropped = frozenset()
        if self.config.dedup:
            splits, dropped = deduplicate(splits, leaked)
        self.summary.leakage = leakage_report(leaked, len(dropped))
        return SplitAssignment(splits, dropped)

    def _with_library_corpus(self, outputs):
        """``outputs``, and for ``premise_corpus`` after each project's modules its
        ``LibraryCorpus`` (from the extractor's ``library_corpus``, when it has one)."""
        if self.config.is_instruct or self.config.record_kind != CORPUS_CONFIG:
            yield from outputs
            return
        project, seen = None, []
        for module_output in outputs:
            if project is not None and module_output.project != project:
                yield self._library_corpus(project, seen)
                seen = []
            project = module_output.project
            seen.append(module_output)
            yield module_output
        if project is not None:
            yield self._library_corpus(project, seen)

    def _library_corpus(self, project: str, module_outputs: list) -> LibraryCorpus:
        """The library part of ``project``'s corpus, given its module outputs."""
        corpus = getattr(self.extractor, "library_corpus", None)
        imports = library_imports(o for o in module_outputs if not o.error)
        say(f"{self.config.name}: the library's premises ({len(imports)} modules) ...", self.config.progress)
        return LibraryCorpus(project, corpus(imports) if corpus is not None else [])

    def _add_counts(self, module_output, assignment, rows_per_split: Counter) -> None:
        """Add a module's rows per split to ``rows_per_split`` and its dropped prompt rows to the summary."""
        counts, dropped = self._count_rows(module_output, assignment)
        rows_per_split.update(counts)
        self.summary.dropped_by_reason.update(dropped)
        self.summary.dropped_rows += dropped.total()

    def _split_of(self, record, assignment: SplitAssignment | None) -> str | None:
        """A row's split: its declaration's in ``assignment`` (None when ``dedup`` left it out);
        for a row of no declaration there (and when streaming), by ``split_of`` (random), else
        its file's if held out whole, else train."""
        fractions = self.config.split_fractions()
        if assignment is not None:
            key = (record.project, record.declId)
            if key in assignment.dropped:
                return None
            if key in assignment.splits:
                return assignment.splits[key]
        if self.config.split_strategy == "random":
            return split_of(fractions, record.file, record.declId)
        return file_split(fractions, record.file) or TRAIN

    def _count_rows(self, module_output, assignment: SplitAssignment | None = None) -> tuple[Counter, Counter]:
        """The number of rows a module gives each split, and the number of prompt rows it drops by reason."""
        instruct = self.config.is_instruct
        record_kind = self.config.prompt_type().record_kind if instruct else self.config.record_kind
        rows_per_split, dropped = Counter(), Counter()
        for record in records_of_kind(record_kind, module_output, minictx=self._contexts.get(module_output.project)):
            reason = prompting.drop_reason(record, self.config.keep_error_rows) if instruct else None
            split = None if reason else self._split_of(record, assignment)
            if reason or (split is None and instruct):
                dropped[reason or "duplicate"] += 1
            elif split is not None:
                rows_per_split[split] += 1
        return rows_per_split, dropped

    def _extract(self, projects):
        """Yield each module's extractor output, project after project, labelled with its
        project's name; log each module's Lean errors and each project's toolchain mismatch,
        and count each module in the build summary."""
        summary = self.summary
        summary.start(", ".join(project.name for project in projects))
        self._check_dependencies(projects)
        for number, project in enumerate(projects, 1):
            if project.output is not None:
                yield from self._read_output(project, number, len(projects))
                continue
            logger.info("Extracting project %s (%d of %d) at %s", project.name, number, len(projects), project.root)
            say(f"{self.config.name}: extracting {project.name} ({number} of {len(projects)}) ...", self.config.progress)
            if ("toolchain", project.name) not in self._shown_errors:  # warned once per build
                self._shown_errors.add(("toolchain", project.name))
                check_toolchain(project, self.extractor.toolchain)
            lean_project = self._lean_project(project)
            for module_output in self.extractor.extract_project(lean_project):
                module_output = dataclasses.replace(module_output, project=project.name)
                if not self._wants_rows_of(lean_project, module_output.package):
                    summary.add_dependency_module(module_output)
                    continue
                _warn_about_errors(module_output, self._shown_errors)
                summary.add_module(module_output)
                yield module_output

    def _read_output(self, project: ResolvedProject, number: int, count: int):
        """Yield each module's records of this config read from ntp-toolkit output, counted in the
        build summary; warn once about the lines that gave no row."""
        say(f"{self.config.name}: reading {project.name} ({number} of {count}) from ntp-toolkit output "
            f"{project.output.display} ...", self.config.progress)
        for ready in read_modules(project.output, project.name, self._read_kind()):
            _warn_about_errors(ready, self._shown_errors, "lines of ntp-toolkit output that give no row")
            self.summary.add_module(ready)
            yield ready

    def _generate_examples(self, split, module_files=None, projects=None, assignment=None, contexts=None):
        self._contexts = contexts or {}
        if module_files is not None:
            outputs = (pickle.loads(Path(path).read_bytes()) for path in module_files)
        else:
            outputs = self._with_library_corpus(self._extract(projects))
        rows = (self._instruction_examples(outputs, split, assignment) if self.config.is_instruct
                else self._record_examples(outputs, split, assignment))
        if module_files is not None:
            yield from rows  # datasets counts the rows it writes
            return
        with hf_tqdm(desc=f"{self.config.name} rows", unit=" rows", disable=None if self.config.progress else True) as bar:
            for key, row in rows:
                yield key, row
                bar.update(1)

    def _record_examples(self, outputs, split=TRAIN, assignment=None):
        """Every record of this config's kind, module by module (of ``split`` only when the
        config splits records)."""
        for shard, module_output in enumerate(outputs):
            if isinstance(module_output, LibraryCorpus):
                for index, record in enumerate(library_corpus_records(module_output.entries, module_output.project)):
                    yield Key(shard, index), {**as_row(record), PACKAGE_COLUMN: ""}
                continue
            records = records_of_kind(self.config.record_kind, module_output, import_closure=self.config.import_closure,
                                      minictx=self._contexts.get(module_output.project))
            if self.config.splits_records:
                records = (r for r in records if self._split_of(r, assignment) == split)
            package = getattr(module_output, "package", "")
            for index, record in enumerate(records):
                yield Key(shard, index), {**as_row(record), PACKAGE_COLUMN: package}

    def _instruction_examples(self, outputs, split, assignment=None):
        """The prompt rows of ``split``: records not dropped (``prompting.drop_reason``) whose file or
        declaration falls in it."""
        prompt_type = self.config.prompt_type()
        truncator = self.config.context_truncator()
        for shard, module_output in enumerate(outputs):
            index = 0
            for record in records_of_kind(prompt_type.record_kind, module_output,
                                          minictx=self._contexts.get(module_output.project)):
                if (prompting.drop_reason(record, self.config.keep_error_rows)
                        or self._split_of(record, assignment) != split):
                    continue
                row = prompting.instruction_row(
                    prompt_type, record, project=module_output.project, package=getattr(module_output, "package", ""),
                    split=split, truncator=truncator
                )
                yield Key(shard, index), row
                index += 1


def extraction_options(extractor, config_kwargs: dict) -> ExtractionOptions:
    """The extraction options of a build: those of ``extractor`` when one is passed (an option
    among ``config_kwargs`` that says otherwise is a :class:`ConfigError`: it would be ignored),
    else built from ``config_kwargs`` (``ExtractionOptions.from_mapping``)."""
    given = given_options(config_kwargs)
    own = getattr(extractor, "options", None)
    if extractor is None or not isinstance(own, ExtractionOptions):
        return ExtractionOptions.from_mapping(config_kwargs) if extractor is None else ExtractionOptions.of()
    wanted = ExtractionOptions.of(**given)
    conflicts = [f"{name}={given[name]!r} (the extractor has {getattr(own, name)!r})" for name in given
                 if getattr(wanted, name) != getattr(own, name)]
    if conflicts:
        raise ConfigError(f"extractor= is given with other extraction options: {', '.join(conflicts)}; "
                          "set them on the Extractor (ExtractionOptions) instead")
    return own


def _warn_about_errors(module_output, shown: set, what: str = "Lean errors") -> None:
    """Log one warning listing a module's Lean errors (``what`` they are), if it has any and they
    are not in ``shown`` (what builds sharing the extractor showed already); add them there."""
    errors = list(error_records(module_output))
    if errors:
        listing = "\n".join(f"  {e.file}:{e.line}:{e.column}: [{e.kind}] {e.message}" for e in errors)
        key = (module_output.project, module_output.module, listing)
        if key in shown:
            return
        shown.add(key)
        logger.warning("%s: %d %s\n%s", module_output.module, len(errors), what, listing)


def _owner_pid(path: Path) -> int | None:
    """The process id in the name of a builder's module-outputs folder (``tmpPID-...``)."""
    match = re.fullmatch(r"tmp(\d+)-\w+", path.name)
    return int(match.group(1)) if match else None

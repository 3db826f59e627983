"""Hugging Face dataset builder: a Lean 4 project -> neural theorem proving datasets.

Configs:

- one record config per ``records.RECORD_KINDS`` entry, e.g. ``tactic_prediction``
  (one row per tactic step) and ``full_proof`` (one row per declaration with a
  proof or value); a single ``train`` split with every record.
- ``instruct_<prompt type>`` for each built-in template of ``prompts/``
  (``ntp_datasets.prompting``): instruction-tuning prompt/completion rows
  rendered from the records; rows containing ``sorry`` are dropped. Splits
  ``train``, ``dev``, ``test``, ``file_split_dev``, ``file_split_test``
  (``ntp_datasets.splits``); a held-out split with no rows is left out,
  since datasets cannot read back an empty split.
- ``instruct``: the same for a user's template, given as ``template_dir=``
  (with ``prompt_name=`` when it holds several) or ``template=``.

Usage: ``datasets.load_dataset("ntp_toolkit", "full_proof", project="path/to/lean/project")``
after ``import ntp_datasets``; ``project`` defaults to the bundled sample project.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
from datasets.builder import Key

from ntp_datasets import __version__, prompting, truncation
from ntp_datasets.project import LeanProject
from ntp_datasets.records import RECORD_KINDS, as_row, error_records, features_of_kind, records_of_kind
from ntp_datasets.resources import resource_dir
from ntp_datasets.splits import SPLIT_NAMES, TRAIN, SplitFractions, split_of
from ntp_datasets.summary import BuildSummary

logger = logging.getLogger(__name__)

def sample_project_dir() -> Path:
    """Return the directory of the Lean project bundled with the package."""
    return resource_dir("lean") / "sample_project"


def project_fingerprint(project_dir: Path) -> str:
    """Hash of a project's sources and toolchain files and of this package's version."""
    digest = hashlib.sha256(f"ntp-datasets {__version__}\n".encode())
    digest.update(LeanProject(project_dir).fingerprint().encode())
    return digest.hexdigest()


def templates_fingerprint(template_dir) -> str:
    """Hash of the names and texts of the ``*.j2`` templates in ``template_dir``."""
    digest = hashlib.sha256()
    for path in sorted(Path(template_dir).glob("*" + prompting.TEMPLATE_SUFFIX)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


GENERIC_INSTRUCT_CONFIG = "instruct"
"""Config name for prompt types of a user's templates (``template_dir=`` or ``template=``)."""


@dataclass
class NtpToolkitConfig(datasets.BuilderConfig):
    """BuilderConfig for NtpToolkit.

    ``project``: path to a Lean project (None: the bundled sample project).
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
    ``dev_fraction``/``test_fraction``: expected share of declarations in dev/test.
    ``file_dev_fraction``/``file_test_fraction``: expected share of files held
    out whole as ``file_split_dev``/``file_split_test``.

    ``module_timeout``: seconds one module may take to elaborate before its Lean
    process is stopped and the module recorded as ``timeout`` (None:
    ``$NTP_DATASETS_MODULE_TIMEOUT``, else 600; 0: no limit).
    """

    project: str | None = None
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
    module_timeout: float | None = None
    fingerprint: str = field(default="", init=False)

    def __post_init__(self):
        super().__post_init__()
        self._check_fields()
        if self.prompt_name is not None and self.template is None and self.template_dir is None:
            self.prompt_type()
        self.fingerprint = project_fingerprint(self.project_dir)

    def _check_fields(self) -> None:
        """Reject values no build can use (run again after datasets sets overrides)."""
        if self.record_kind not in RECORD_KINDS:
            raise ValueError(f"record_kind must be one of {sorted(RECORD_KINDS)}, got {self.record_kind!r}")
        if not isinstance(self.max_context_tokens, int) or self.max_context_tokens < 0:
            raise ValueError(f"max_context_tokens must be an int >= 0, got {self.max_context_tokens!r}")
        if self.module_timeout is not None and not self.module_timeout >= 0:
            raise ValueError(f"module_timeout must be a number of seconds >= 0 (0: no limit), got {self.module_timeout!r}")
        self.split_fractions()

    @property
    def project_dir(self) -> Path:
        """The Lean project this config reads."""
        return Path(self.project).resolve() if self.project else sample_project_dir()

    @property
    def is_instruct(self) -> bool:
        """Whether this config writes prompt/completion rows rather than records."""
        prompt_options = (self.prompt_name, self.template_dir, self.template)
        return self.name == GENERIC_INSTRUCT_CONFIG or any(option is not None for option in prompt_options)

    def prompt_type(self) -> prompting.PromptType:
        """The prompt type this instruction config renders."""
        if self.name == GENERIC_INSTRUCT_CONFIG and self.template is None and self.template_dir is None:
            raise ValueError(f"config {GENERIC_INSTRUCT_CONFIG!r} needs template_dir= or template=")
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
        """Cache id: the config name plus the project fingerprint (not its path) and the
        options as stable text: the tokenizer by name, ``template_dir`` by its templates' hash."""
        # datasets sets `project=` and the other options on a copy of a predefined
        # config after __post_init__ ran, so checks and fingerprint run again here.
        self._check_fields()
        if self.is_instruct:
            self.prompt_type()
        self.fingerprint = project_fingerprint(self.project_dir)
        described_elsewhere = {"project", "tokenizer", "tokenizer_name", "template_dir"}
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
            NtpToolkitConfig(name=f"instruct_{p.name}", record_kind=p.record_kind, prompt_name=p.name)
            for p in prompting.PROMPT_TYPES.values()
        ),
        NtpToolkitConfig(name=GENERIC_INSTRUCT_CONFIG),
    ]
    DEFAULT_CONFIG_NAME = "tactic_prediction"

    dropped_rows: int | None = None
    """Rows an instruction config dropped for sorry in its last build (None: not built by this builder)."""

    build_summary: BuildSummary | None = None
    """Modules, errors and rows of this builder's last build (None: nothing was built, e.g. the
    datasets cache had the config). Also logged at the end of every build."""

    def _info(self):
        if self.config.is_instruct:
            features = prompting.FEATURES
        else:
            features = features_of_kind(self.config.record_kind)
        return datasets.DatasetInfo(description=__doc__, features=features)

    def _split_generators(self, dl_manager):
        project_dir = self.config.project_dir
        if not project_dir.is_dir():
            raise FileNotFoundError(f"Lean project directory not found: {project_dir}")
        if not self.config.is_instruct:
            # Fail here, not inside the generator (datasets wraps errors there): no toolchain.
            from ntp_datasets.toolchain import find_toolchain

            find_toolchain()
            return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={"project_dir": str(project_dir)})]
        # Extract once for all splits, keeping the extractor's output (not the
        # rendered rows) in memory; the list of modules is also what datasets
        # shards across workers when num_proc > 1.
        modules = list(self._extract(project_dir))
        rows_per_split, self.dropped_rows = self._count_rows(modules)
        if self.dropped_rows:
            logger.warning("%s: dropped %d rows containing sorry", self.config.name, self.dropped_rows)
        logger.info("%s: rows per split: %s", self.config.name, dict(rows_per_split))
        self.build_summary.rows = sum(rows_per_split.values())
        self.build_summary.log()
        # datasets cannot read back a split without rows, so only train is
        # declared whatever its size; the held-out splits only when they have rows.
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"modules": modules, "split": split})
            for split in SPLIT_NAMES
            if split == TRAIN or rows_per_split[split]
        ]

    def _count_rows(self, modules) -> tuple[Counter, int]:
        """The number of prompt rows each split will get, and the number of rows dropped for sorry."""
        record_kind = self.config.prompt_type().record_kind
        fractions = self.config.split_fractions()
        rows_per_split, dropped = Counter(), 0
        for module_output in modules:
            for record in records_of_kind(record_kind, module_output):
                if prompting.has_sorry(record):
                    dropped += 1
                else:
                    rows_per_split[split_of(fractions, record.file, record.declId)] += 1
        return rows_per_split, dropped

    def _extract(self, project_dir):
        """Yield each module's extractor output, logging its Lean errors and counting it in a
        fresh ``build_summary``."""
        from ntp_datasets import extract  # imported late: the Lean toolchain layer is heavy

        self.build_summary = summary = BuildSummary(project=str(project_dir), config=self.config.name)
        for module_output in extract.extract_project(project_dir, module_timeout=self.config.module_timeout):
            _warn_about_errors(module_output)
            summary.add_module(module_output)
            yield module_output

    def _generate_examples(self, project_dir=None, modules=None, split=None):
        if modules is None:
            yield from self._record_examples(project_dir)
        else:
            yield from self._instruction_examples(modules, split)

    def _record_examples(self, project_dir):
        """Every record of this config's kind, module by module."""
        index = 0
        for module_output in self._extract(project_dir):
            for record in records_of_kind(self.config.record_kind, module_output):
                yield Key(0, index), as_row(record)
                index += 1
        self.build_summary.rows = index
        self.build_summary.log()

    def _instruction_examples(self, modules, split):
        """The prompt rows of ``split``: records without sorry whose file or declaration falls in it."""
        prompt_type = self.config.prompt_type()
        fractions = self.config.split_fractions()
        truncator = self.config.context_truncator()
        project = self.config.project_dir.name
        for shard, module_output in enumerate(modules):
            index = 0
            for record in records_of_kind(prompt_type.record_kind, module_output):
                if prompting.has_sorry(record) or split_of(fractions, record.file, record.declId) != split:
                    continue
                row = prompting.instruction_row(prompt_type, record, project=project, split=split, truncator=truncator)
                yield Key(shard, index), row
                index += 1


def _warn_about_errors(module_output) -> None:
    """Log one warning listing a module's Lean errors, if it has any."""
    errors = list(error_records(module_output))
    if errors:
        listing = "\n".join(f"  {e.file}:{e.line}:{e.column}: [{e.kind}] {e.message}" for e in errors)
        logger.warning("%s: %d Lean errors\n%s", module_output.module, len(errors), listing)

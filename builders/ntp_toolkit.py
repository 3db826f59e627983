"""Hugging Face dataset builder: a Lean 4 project -> neural theorem proving datasets.

Configs:

- ``tactic_prediction``: one row per tactic step (``ntp_datasets.records.TacticRecord``).
- ``full_proof``: one row per declaration with a proof or value (``FullProofRecord``).
- ``instruct_<prompt type>``: instruction-tuning prompt/completion rows
  rendered from the records (``ntp_datasets.prompting``); rows containing
  ``sorry`` are dropped.

Usage: ``datasets.load_dataset("ntp_toolkit", "full_proof", project="path/to/lean/project")``
after ``import ntp_datasets``; ``project`` defaults to the bundled sample project.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import datasets
from datasets.builder import Key

from ntp_datasets import __version__, prompting
from ntp_datasets.project import LeanProject
from ntp_datasets.records import RECORD_KINDS, as_row, error_records, features_of_kind, records_of_kind
from ntp_datasets.resources import resource_dir

logger = logging.getLogger(__name__)

def sample_project_dir() -> Path:
    """Return the directory of the Lean project bundled with the package."""
    return resource_dir("lean") / "sample_project"


def project_fingerprint(project_dir: Path) -> str:
    """Hash of a project's sources and toolchain files and of this package's version."""
    digest = hashlib.sha256(f"ntp-datasets {__version__}\n".encode())
    digest.update(LeanProject(project_dir).fingerprint().encode())
    return digest.hexdigest()


@dataclass
class NtpToolkitConfig(datasets.BuilderConfig):
    """BuilderConfig for NtpToolkit.

    ``project``: path to a Lean project (None: the bundled sample project).
    ``record_kind``: a key of ``records.RECORD_KINDS``.
    ``prompt_name``: a key of ``prompting.PROMPT_TYPES``, or None for record configs.
    ``fingerprint``: content hash of the project, part of the cache directory name.
    """

    project: str | None = None
    record_kind: str = "tactic_prediction"
    prompt_name: str | None = None
    fingerprint: str = field(default="", init=False)

    def __post_init__(self):
        super().__post_init__()
        if self.record_kind not in RECORD_KINDS:
            raise ValueError(f"record_kind must be one of {sorted(RECORD_KINDS)}, got {self.record_kind!r}")
        if self.prompt_name is not None and self.prompt_name not in prompting.PROMPT_TYPES:
            raise ValueError(f"prompt_name must be one of {sorted(prompting.PROMPT_TYPES)}, got {self.prompt_name!r}")
        self.fingerprint = project_fingerprint(self.project_dir)

    @property
    def project_dir(self) -> Path:
        """The Lean project this config reads."""
        return Path(self.project).resolve() if self.project else sample_project_dir()

    def create_config_id(self, config_kwargs: dict, custom_features=None) -> str:
        """Cache id: the config name plus the project fingerprint (not its path)."""
        # datasets sets `project=` on a copy of a predefined config after
        # __post_init__ ran, so the fingerprint is recomputed here.
        self.fingerprint = project_fingerprint(self.project_dir)
        id_kwargs = {key: value for key, value in config_kwargs.items() if key != "project"}
        id_kwargs["fingerprint"] = self.fingerprint
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
    ]
    DEFAULT_CONFIG_NAME = "tactic_prediction"

    def _info(self):
        if self.config.prompt_name is None:
            features = features_of_kind(self.config.record_kind)
        else:
            features = prompting.FEATURES
        return datasets.DatasetInfo(description=__doc__, features=features)

    def _split_generators(self, dl_manager):
        project_dir = self.config.project_dir
        if not project_dir.is_dir():
            raise FileNotFoundError(f"Lean project directory not found: {project_dir}")
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={"project_dir": str(project_dir)})]

    def _generate_examples(self, project_dir):
        from ntp_datasets import extract  # imported late: the Lean toolchain layer is heavy

        index, dropped = 0, 0
        for module_output in extract.extract_project(project_dir):
            _warn_about_errors(module_output)
            rows, module_dropped = self._rows(module_output)
            dropped += module_dropped
            for row in rows:
                yield Key(0, index), row
                index += 1
        if dropped:
            logger.warning("%s: dropped %d rows containing sorry", self.config.name, dropped)

    def _rows(self, module_output) -> tuple[list[dict], int]:
        """This config's rows for one module and the number of rows dropped for sorry."""
        records = records_of_kind(self.config.record_kind, module_output)
        if self.config.prompt_name is None:
            return [as_row(record) for record in records], 0
        return prompting.instruction_rows(self.config.prompt_name, records)


def _warn_about_errors(module_output) -> None:
    """Log one warning listing a module's Lean errors, if it has any."""
    errors = list(error_records(module_output))
    if errors:
        listing = "\n".join(f"  {e.file}:{e.line}:{e.column}: {e.message}" for e in errors)
        logger.warning("%s: %d Lean errors\n%s", module_output.module, len(errors), listing)

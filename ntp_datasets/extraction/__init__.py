"""The extraction room: the Lean programs (``Extract.lean``, ``WasmCompilerFix.lean``) and the
Python that runs them over a project, caches their output per module and reports failures.

Lean project -> :class:`Extractor` -> one :class:`ModuleOutput` per module.
"""

from ntp_datasets.extraction.outputs import FAILURE_KINDS, ModuleOutput
from ntp_datasets.extraction.program import EXTRACTOR_VERSION, extractor_source
from ntp_datasets.extraction.runner import Extractor, extract_project, module_timeout_seconds
from ntp_datasets.extraction.workers import EXECUTORS, check_executor, default_workers, worker_count

__all__ = ["EXECUTORS", "EXTRACTOR_VERSION", "FAILURE_KINDS", "Extractor", "ModuleOutput", "check_executor",
           "default_workers", "extract_project", "extractor_source", "module_timeout_seconds", "worker_count"]

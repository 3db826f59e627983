"""The extraction room: the Lean programs (``Extract.lean``, and ``WasmCompilerFix.lean`` and
``WasmImports.lean`` for the WebAssembly build) and the Python that runs them over a project,
caches their output per module and reports failures.

Lean project -> :class:`Extractor` (with its :class:`ExtractionOptions`) -> one
:class:`ModuleOutput` per module.
"""

from ntp_datasets.extraction.extractor import Extractor
from ntp_datasets.extraction.options import EXECUTORS, ExtractionOptions, default_workers, given_options
from ntp_datasets.extraction.outputs import FAILURE_KINDS, ModuleOutput
from ntp_datasets.extraction.program import EXTRACTOR_VERSION, extractor_source

__all__ = ["EXECUTORS", "EXTRACTOR_VERSION", "FAILURE_KINDS", "ExtractionOptions", "Extractor", "ModuleOutput",
           "default_workers", "extractor_source", "given_options"]

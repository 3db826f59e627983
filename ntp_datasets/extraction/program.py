"""The extractor program: ``Extract.lean`` (beside this file), and for the WebAssembly build
the compiler repair of ``WasmCompilerFix.lean`` spliced into it. This is the only place where
the two toolchains' extractors differ."""

from __future__ import annotations

from pathlib import Path

from ntp_datasets.errors import ExtractorError
from ntp_datasets.toolchain import Toolchain

EXTRACTOR_VERSION = "5"
"""Bumped whenever the events or cache entries change shape: old cache entries are not read."""

LEAN_DIR = Path(__file__).resolve().parent
EXTRACTOR_FILE = LEAN_DIR / "Extract.lean"
WASM_FIX_FILE = LEAN_DIR / "WasmCompilerFix.lean"

# Lines of Extract.lean that the WebAssembly build replaces (see extractor_source).
_WASM_HOOKS = {
    "def repairImportedEnv (memo : RepairMemo) (env : Environment) : IO Environment := pure env":
        "def repairImportedEnv (memo : RepairMemo) (env : Environment) : IO Environment :=\n"
        "  unsafe NtpWasmFix.repairEnvRemembering memo env",
    "def prepareImports : IO Unit := pure ()":
        "def prepareImports : IO Unit := unsafe NtpWasmFix.loadImportedIRAtImport",
}


def extractor_source(toolchain: Toolchain) -> str:
    """The extractor program for ``toolchain``. The WebAssembly build needs the compiler
    repair of ``WasmCompilerFix.lean``: run right after the extractor's imports, applied to
    each imported environment through ``repairImportedEnv``, and the imported IR loaded at
    import through ``prepareImports``."""
    extractor = EXTRACTOR_FILE.read_text(encoding="utf-8")
    if not toolchain.is_wasm:
        return extractor
    fix = WASM_FIX_FILE.read_text(encoding="utf-8")
    imports, body = _split_imports(extractor)
    _, fix_body = _split_imports(fix)
    for hook, wasm in _WASM_HOOKS.items():
        if hook not in body:
            raise ExtractorError(f"{EXTRACTOR_FILE.name} lacks the line {hook!r}")
        body = body.replace(hook, wasm, 1)
    return imports + fix_body + body


def _split_imports(source: str) -> tuple[str, str]:
    lines = source.splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if line.startswith("import "))
    return "".join(lines[: last + 1]), "".join(lines[last + 1 :])

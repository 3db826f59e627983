"""The extractor program: ``Extract.lean`` (beside this file), and what runs it.

Natively ``lean --run Extract.lean JOB`` elaborates the extractor and runs it. The
WebAssembly build differs in three named ways, all here:

* **the compiler repair**: ``WasmCompilerFix.lean`` is spliced into the extractor (see that
  file),
* **shared toolchain imports**: ``WasmImports.lean`` replaces the extractor's
  ``importModulesOf`` (reading ``.olean`` files is slow there; see that file), and
* **the compiled extractor**: elaborating the extractor took ~20 s of every Lean process's
  start-up there, so it is compiled once per toolchain and extractor text into a module
  (:func:`compiled_extractor`, an ``.olean`` beside the toolchain), and each process runs a
  small runner file that imports it (:func:`runner_source`), found through ``LEAN_PATH``
  (:func:`extractor_lean_path`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from ntp_datasets.errors import ExtractorError
from ntp_datasets.toolchain import Toolchain

EXTRACTOR_VERSION = "5"
"""Bumped whenever the events or cache entries change shape: old cache entries are not read."""

LEAN_DIR = Path(__file__).resolve().parent
EXTRACTOR_FILE = LEAN_DIR / "Extract.lean"
WASM_FIX_FILE = LEAN_DIR / "WasmCompilerFix.lean"
WASM_IMPORTS_FILE = LEAN_DIR / "WasmImports.lean"

COMPILED_MODULE = "NtpDatasetsExtractor"
"""The compiled extractor's module name on the WebAssembly build (a project module of this
name would shadow it)."""

# The default `importModulesOf` of Extract.lean with its docstring, which the WebAssembly build
# replaces with the body of WasmImports.lean.
_IMPORT_HOOK = """/-- Toolchain-specific import of what a header asks for: Lean's own `importModules`, at the
private level for an ordinary file (`privateRoot`), at the exported level for a `module` file.
On the WebAssembly build ntp-datasets substitutes one that reads the toolchain's modules once per
process into `data` (`WasmImports.lean`). -/
def importModulesOf (data : ToolchainData) (imports : Array Import) (privateRoot : Bool) (opts : Options) :
    IO Environment :=
  importModules imports opts (loadExts := true) (level := if privateRoot then .private else .exported)
"""

# Lines of Extract.lean that the WebAssembly build replaces (see extractor_source).
_WASM_HOOKS = {
    "def repairImportedEnv (memo : RepairMemo) (env : Environment) : IO (Environment × NameSet) := pure (env, {})":
        "def repairImportedEnv (memo : RepairMemo) (env : Environment) : IO (Environment × NameSet) :=\n"
        "  unsafe NtpWasmFix.repairEnvRemembering memo env",
    "def prepareImports : IO Unit := pure ()":
        "def prepareImports : IO Unit := unsafe NtpWasmFix.loadImportedIRAtImport",
}

# The compiled module's header: everything in it is `meta`, since this build runs the code of
# an imported module's `meta` definitions only (the rest goes to an `.ir` file it never reads).
_MODULE_HEADER = """module

public meta import Lean
public meta import Lean.PrettyPrinter.Delaborator.Builtins
public meta import Lean.LibrarySuggestions.SymbolFrequency

public meta section
"""

_REPAIR_END = "#ntp_wasm_fix\n\nend NtpWasmFix\n"


def extractor_source(toolchain: Toolchain) -> str:
    """The extractor program for ``toolchain``: ``Extract.lean`` natively; on the WebAssembly
    build the source of the compiled module, with the compiler repair of
    ``WasmCompilerFix.lean`` run right after its imports, applied to each imported environment
    through ``repairImportedEnv``, the imported IR loaded at import through
    ``prepareImports``, and ``importModulesOf`` that of ``WasmImports.lean`` (the toolchain's
    modules read once per process)."""
    extractor = EXTRACTOR_FILE.read_text(encoding="utf-8")
    if not toolchain.is_wasm:
        return extractor
    _, body = _split_imports(extractor)
    _, fix_body = _split_imports(WASM_FIX_FILE.read_text(encoding="utf-8"))
    _, imports_body = _split_imports(WASM_IMPORTS_FILE.read_text(encoding="utf-8"))
    for hook, wasm in {**_WASM_HOOKS, _IMPORT_HOOK: imports_body}.items():
        if hook not in body:
            raise ExtractorError(f"{EXTRACTOR_FILE.name} lacks the line {hook!r}")
        body = body.replace(hook, wasm, 1)
    return _MODULE_HEADER + fix_body + body


def runner_source() -> str:
    """The WebAssembly build's runner: imports the compiled extractor and repairs the
    environment it runs in (the repair block of ``WasmCompilerFix.lean``, under a namespace of
    its own), so that the interpreter finds the compiled module's auxiliary definitions;
    ``lean --run`` then runs the imported ``main``."""
    _, fix_body = _split_imports(WASM_FIX_FILE.read_text(encoding="utf-8"))
    start = fix_body.find("namespace NtpWasmFix\n")
    end = fix_body.find(_REPAIR_END)
    if start < 0 or end < 0:
        raise ExtractorError(f"{WASM_FIX_FILE.name} lacks its repair block")
    repair = fix_body[start:end + len(_REPAIR_END)].replace("NtpWasmFix", "NtpWasmFixRunner")
    return f"module\n\npublic meta import {COMPILED_MODULE}\n\npublic meta section\n\n{repair}"


def compiled_extractor_dir(toolchain: Toolchain) -> Path:
    """Where the compiled extractor of ``toolchain`` lives: beside the toolchain, under a key of
    the toolchain's version and the module's text."""
    key = hashlib.sha256(f"{toolchain.version}\n{extractor_source(toolchain)}".encode()).hexdigest()[:16]
    return Path(toolchain.location).resolve() / "ntp-extractor" / key


def compiled_extractor(toolchain: Toolchain, log: Callable[[str], None] | None = None) -> Path:
    """The directory holding the compiled extractor of the WebAssembly ``toolchain``
    (``NtpDatasetsExtractor.olean``), compiled now if it is not there yet (~2 min, once per
    toolchain and extractor text; ``log`` hears of it). Processes that ask at once wait for one
    compilation; it is assembled in a temporary directory and renamed into place."""
    target = compiled_extractor_dir(toolchain)
    if (target / f"{COMPILED_MODULE}.olean").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / f"{COMPILED_MODULE}.olean").exists():
            return target
        if log is not None:
            log("compiling the extractor for the WebAssembly Lean (once per version, ~2 min)")
        with tempfile.TemporaryDirectory(dir=target.parent, prefix="compiling-") as tmp:
            tmp = Path(tmp)
            source = tmp / f"{COMPILED_MODULE}.lean"
            source.write_text(extractor_source(toolchain), encoding="utf-8")
            olean = tmp / f"{COMPILED_MODULE}.olean"
            done = subprocess.run(toolchain.lean_command(["-o", str(olean), str(source)]), cwd=tmp,
                                  env=toolchain.run_env([tmp]), capture_output=True, text=True,
                                  encoding="utf-8", errors="replace", stdin=subprocess.DEVNULL)
            if not olean.exists() or "error:" in done.stdout:
                raise ExtractorError(f"compiling the extractor failed (exit status {done.returncode}):\n"
                                     f"{(done.stdout + done.stderr)[-3000:]}")
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
            tmp.mkdir()  # for TemporaryDirectory's clean-up
    return target


def extractor_lean_path(toolchain: Toolchain) -> list[Path]:
    """Directories the extractor's Lean process needs on ``LEAN_PATH``: the compiled
    extractor's on the WebAssembly build (compiled now if it is not there, see
    :func:`compiled_extractor`), none natively."""
    return [compiled_extractor(toolchain)] if toolchain.is_wasm else []


def write_program(work: Path, toolchain: Toolchain, log: Callable[[str], None] | None = None) -> Path:
    """Write the file that ``lean --run`` runs into ``work`` and return its path:
    ``Extract.lean`` natively; on the WebAssembly build the runner of the compiled extractor
    (compiled first if need be, see :func:`compiled_extractor`)."""
    if not toolchain.is_wasm:
        program = work / "Extract.lean"
        program.write_text(extractor_source(toolchain), encoding="utf-8")
        return program
    compiled_extractor(toolchain, log)
    program = work / "RunExtractor.lean"
    program.write_text(runner_source(), encoding="utf-8")
    return program


def _split_imports(source: str) -> tuple[str, str]:
    lines = source.splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if line.startswith("import "))
    return "".join(lines[: last + 1]), "".join(lines[last + 1 :])

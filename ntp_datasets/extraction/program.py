"""The extractor program: ``Extract.lean`` (beside this file), and what runs it.

Natively ``lean --run Extract.lean JOB`` elaborates the extractor and runs it. The
WebAssembly build differs in three named ways, all here:

* **the compiler repair**: ``WasmCompilerFix.lean`` is spliced into the extractor (see that
  file),
* **shared toolchain imports**: ``WasmImports.lean`` replaces the extractor's
  ``importModulesOf`` (reading ``.olean`` files is slow there; see that file); these and the
  two other replaced definitions are the blocks of ``Extract.lean`` between
  ``-- ntp-wasm-hook: NAME`` and ``-- ntp-wasm-hook-end`` (:func:`replace_hooks`), and
* **the compiled extractor**: elaborating the extractor took ~20 s of every Lean process's
  start-up there, so it is compiled once per toolchain and extractor text into a module
  (:func:`compiled_extractor`, an ``.olean`` beside the toolchain), and each process runs a
  small runner file that imports it (:func:`runner_source`), found through ``LEAN_PATH``
  (:func:`extractor_lean_path`).
"""

from __future__ import annotations

import hashlib
import os
import re
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

HOOK_START = "-- ntp-wasm-hook: "
HOOK_END = "-- ntp-wasm-hook-end"
"""The lines around each block of Extract.lean that the WebAssembly build replaces: a block
starts with ``-- ntp-wasm-hook: NAME`` and ends with ``-- ntp-wasm-hook-end``."""

# What the WebAssembly build puts in place of each hook block of Extract.lean (None: the body of
# WasmImports.lean, read when the source is made).
_WASM_HOOKS = {
    "repairImportedEnv":
        "/-- The WebAssembly compiler repair of a freshly imported environment (`WasmCompilerFix.lean`). -/\n"
        "def repairImportedEnv (memo : RepairMemo) (env : Environment) : IO (Environment × NameSet) :=\n"
        "  unsafe NtpWasmFix.repairEnvRemembering memo env",
    "prepareImports":
        "/-- The WebAssembly build loads every imported module's IR when it is imported. -/\n"
        "def prepareImports : IO Unit := unsafe NtpWasmFix.loadImportedIRAtImport",
    "importModulesOf": None,
}


_MARKER = re.compile(rf"^(?:{re.escape(HOOK_START)}(?P<name>\S+)|{re.escape(HOOK_END)})[ \t]*$", re.M)


def hook_blocks(source: str) -> dict[str, tuple[int, int]]:
    """The hook blocks of ``source`` (Extract.lean): name -> (start, end) offsets of the whole
    block, its two marker lines included (markers are whole lines). Raises
    :class:`ExtractorError` for a marker without its end, or a name given twice."""
    blocks: dict[str, tuple[int, int]] = {}
    markers = list(_MARKER.finditer(source))
    for opening, closing in zip(markers[::2], markers[1::2] + [None]):
        name = opening.group("name")
        if name is None or closing is None or closing.group("name") is not None:
            what = name or "(an end without a start)"
            raise ExtractorError(f"{EXTRACTOR_FILE.name}: the hook block {what!r} has no {HOOK_END!r} line")
        if name in blocks:
            raise ExtractorError(f"{EXTRACTOR_FILE.name}: the hook block {name!r} appears twice")
        blocks[name] = (opening.start(), closing.end())
    return blocks


def replace_hooks(source: str, replacements: dict[str, str]) -> str:
    """``source`` with the hook block of every name in ``replacements`` replaced by its text;
    every name must have exactly one block (:class:`ExtractorError` otherwise)."""
    blocks = hook_blocks(source)
    missing = sorted(set(replacements) - set(blocks))
    if missing:
        raise ExtractorError(f"{EXTRACTOR_FILE.name} lacks the hook block(s) {', '.join(missing)}")
    for name in sorted(replacements, key=lambda n: blocks[n][0], reverse=True):
        start, end = blocks[name]
        source = source[:start] + replacements[name] + source[end:]
    return source


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
    body = replace_hooks(body, {name: text or imports_body for name, text in _WASM_HOOKS.items()})
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

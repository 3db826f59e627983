"""The extractor program per toolchain: natively ``Extract.lean`` as it is; on the WebAssembly
build a module compiled once (stand-in Lean here) and a runner that imports it."""

from __future__ import annotations

import sys
import threading

import pytest

from ntp_datasets.errors import ExtractorError
from ntp_datasets.extraction.program import (
    COMPILED_MODULE,
    EXTRACTOR_FILE,
    compiled_extractor,
    compiled_extractor_dir,
    extractor_lean_path,
    extractor_source,
    hook_blocks,
    replace_hooks,
    runner_source,
    write_program,
)
from ntp_datasets.toolchain import Toolchain

# A stand-in `lean -o OUT SOURCE`: counts its runs, writes OUT (unless $LEAN_FAILS is set).
COMPILING_LEAN = r'''
import os, pathlib, sys, time
args = sys.argv[1:]
out, source = pathlib.Path(args[1]), pathlib.Path(args[2])
runs = pathlib.Path(sys.argv[0]).with_suffix(".runs")
runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
time.sleep(0.5)
if os.environ.get("LEAN_FAILS"):
    print("NtpDatasetsExtractor.lean:1:0: error: it failed")
    sys.exit(1)
out.write_bytes(b"olean of " + source.name.encode())
'''


def _wasm(tmp_path, script_text=COMPILING_LEAN) -> Toolchain:
    script = tmp_path / "lean.py"
    script.write_text(script_text)
    return Toolchain(kind="wasm", version="Lean (version 4.28.0-pre)", command=[sys.executable, str(script)],
                     location=str(tmp_path / "toolchain"))


def test_native_runs_extract_lean_as_it_is(tmp_path):
    native = Toolchain(kind="native", version="Lean (version 4.28.0)", command=["lean"], location="/usr/bin/lean")
    assert extractor_source(native) == EXTRACTOR_FILE.read_text(encoding="utf-8")
    assert extractor_lean_path(native) == []
    program = write_program(tmp_path, native)
    assert program == tmp_path / "Extract.lean"
    assert program.read_text(encoding="utf-8") == EXTRACTOR_FILE.read_text(encoding="utf-8")


def test_webassembly_module_is_all_meta_with_the_repair_first(tmp_path):
    source = extractor_source(_wasm(tmp_path))
    assert source.startswith("module\n\npublic meta import Lean\n")
    assert source.index("public meta section") < source.index("#ntp_wasm_fix") < source.index("namespace NtpExtract")
    assert "local elab \"#ntp_wasm_fix\"" in source  # not exported: importers could not run it
    assert "unsafe NtpWasmFix.repairEnvRemembering memo env" in source


def test_webassembly_module_imports_through_the_shared_toolchain_data(tmp_path):
    source = extractor_source(_wasm(tmp_path))
    native = EXTRACTOR_FILE.read_text(encoding="utf-8")
    default = "  importModules imports opts (loadExts := true) (level := if privateRoot then .private else .exported)"
    assert default in native and default not in source
    # one definition of the hook, WasmImports.lean's, after the data it reads into
    assert source.count("def importModulesOf (data : ToolchainData)") == 1
    assert source.index("structure ToolchainData where") < source.index("structure LoadedModule extends EffectiveImport") \
        < source.index("def importModulesOf") < source.index("def importHeader")
    assert "structure LoadedModule" not in native


def test_the_webassembly_variant_replaces_exactly_the_marked_hook_blocks(tmp_path):
    native = EXTRACTOR_FILE.read_text(encoding="utf-8")
    blocks = hook_blocks(native)
    assert sorted(blocks) == ["importModulesOf", "prepareImports", "repairImportedEnv"]
    for name, (start, end) in blocks.items():  # each block: its markers, a docstring, one definition of its name
        block = native[start:end]
        assert block.startswith(f"-- ntp-wasm-hook: {name}\n/--") and block.endswith("-- ntp-wasm-hook-end")
        assert block.count(f"def {name} ") == 1
    source = extractor_source(_wasm(tmp_path))
    assert hook_blocks(source) == {}  # no marker line is left
    assert "def prepareImports : IO Unit := unsafe NtpWasmFix.loadImportedIRAtImport" in source
    # Outside the blocks the module's text is Extract.lean's own, whatever its comments say.
    assert native[blocks["prepareImports"][1]:blocks["importModulesOf"][0]] in source


def test_a_hook_block_without_its_end_or_given_twice_is_an_error():
    with pytest.raises(ExtractorError, match="the hook block 'x' has no '-- ntp-wasm-hook-end' line"):
        hook_blocks("-- ntp-wasm-hook: x\ndef x := 1\n-- ntp-wasm-hook: y\n-- ntp-wasm-hook-end\n")
    with pytest.raises(ExtractorError, match="the hook block 'x' appears twice"):
        hook_blocks("-- ntp-wasm-hook: x\n-- ntp-wasm-hook-end\n-- ntp-wasm-hook: x\n-- ntp-wasm-hook-end\n")
    with pytest.raises(ExtractorError, match="lacks the hook block\\(s\\) z"):
        replace_hooks("-- ntp-wasm-hook: x\n-- ntp-wasm-hook-end\n", {"z": "def z := 1"})
    # A marker's words inside prose are no marker.
    assert hook_blocks("/-! between `-- ntp-wasm-hook: NAME` and `-- ntp-wasm-hook-end` -/\n") == {}


def test_runner_imports_the_module_and_repairs_under_its_own_namespace():
    runner = runner_source()
    assert runner.startswith(f"module\n\npublic meta import {COMPILED_MODULE}\n")
    assert "namespace NtpWasmFixRunner" in runner and "#ntp_wasm_fix\n\nend NtpWasmFixRunner" in runner
    assert "NtpWasmFix." not in runner.replace("NtpWasmFixRunner", "")
    assert "def main" not in runner  # `lean --run` runs the module's


def test_compiled_once_by_two_processes_asking_at_once(tmp_path):
    wasm = _wasm(tmp_path)
    found, logs = [], []
    threads = [threading.Thread(target=lambda: found.append(compiled_extractor(wasm, logs.append))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    target = compiled_extractor_dir(wasm)
    assert found == [target, target]
    assert (tmp_path / "lean.runs").read_text() == "x"
    assert (target / f"{COMPILED_MODULE}.olean").read_bytes() == b"olean of NtpDatasetsExtractor.lean"
    assert logs == ["compiling the extractor for the WebAssembly Lean (once per version, ~2 min)"]
    assert extractor_lean_path(wasm) == [target]
    (tmp_path / "work").mkdir()
    program = write_program(tmp_path / "work", wasm)
    assert program.name == "RunExtractor.lean" and program.read_text(encoding="utf-8") == runner_source()
    assert (tmp_path / "lean.runs").read_text() == "x"


def test_a_failed_compilation_says_what_lean_said_and_leaves_nothing(tmp_path, monkeypatch):
    wasm = _wasm(tmp_path)
    monkeypatch.setenv("LEAN_FAILS", "1")
    with pytest.raises(ExtractorError, match="error: it failed"):
        compiled_extractor(wasm)
    target = compiled_extractor_dir(wasm)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name + ".lock"]

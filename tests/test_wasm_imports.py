"""The WebAssembly build's shared import (``WasmImports.lean``) against Lean's own: for headers of
both kinds of file, the import state it builds must be the one this Lean's ``importModulesCore``
builds (same modules, order, levels and data), or a module's environment would differ from
Lean's (or, the structures being mirrored, memory would be misread)."""

import subprocess

import pytest

from ntp_datasets.extraction.program import EXTRACTOR_FILE, WASM_FIX_FILE, WASM_IMPORTS_FILE, _split_imports

pytestmark = pytest.mark.slow

# Headers: Init alone, Lean with a private import, a `meta` import, `import all`, and Lake.
HEADERS = [
    "{ module := `Init }",
    "{ module := `Init }, { module := `Lean.Elab.Command, isExported := false }",
    "{ module := `Init }, { module := `Lean.Elab.Tactic.Basic, isMeta := true, isExported := false }, "
    "{ module := `Std.Data.HashMap }",
    "{ module := `Init }, { module := `Lean.Meta.Basic, importAll := true }, { module := `Lake.Util.Name }",
]

CHECK = r'''
instance : Inhabited LoadedImports := ⟨{}⟩

def phasesName : IRPhases → String
  | .runtime => "runtime" | .comptime => "comptime" | .all => "all"

def describe (m : LoadedModule) : String :=
  s!"{m.module} {m.parts.size} {m.parts.map (·.1.constants.size)} {m.irData?.isSome} {m.importAll} " ++
    s!"{m.isExported} {m.isMeta} {m.needsData} {m.needsIRTrans} {phasesName m.irPhases}"

def compare (data : ToolchainData) (imports : Array Import) (privateRoot : Bool) : IO Unit := do
  let (_, theirs) ← withImporting <| (importModulesCore imports
    (globalLevel := if privateRoot then .private else .exported) (isExported := !privateRoot)).run
  let theirs : LoadedImports := unsafe unsafeCast theirs
  let (_, ours) ← withImporting <| (visitImports data privateRoot imports (importAll := true)
    (isExported := !privateRoot) (needsIRTrans := false)).run {}
  let describeIn (s : LoadedImports) : Array String :=
    s.moduleNames.map fun n => (s.moduleNameMap[n]?.map describe).getD s!"{n} absent"
  IO.println s!"CHECK {privateRoot} {theirs.moduleNames.size} {describeIn theirs == describeIn ours}"

def checkAll : IO Unit := do
  let data : ToolchainData :=
    { libDir := ((← findOLean `Init).parent).getD ".", parts := ← IO.mkRef {}, ir := ← IO.mkRef {},
      regions := ← IO.mkRef {} }
  for imports in ([HEADERS] : List (Array Import)) do
    compare data imports true
    compare data imports false

#eval checkAll
'''


def _toolchain_data_structure() -> str:
    extractor = EXTRACTOR_FILE.read_text(encoding="utf-8")
    start = extractor.index("structure ToolchainData where")
    return extractor[start:extractor.index("\n\n", start)] + "\n\n"


def test_shared_import_builds_the_state_lean_builds(toolchain, tmp_path):
    if not toolchain.is_wasm:
        pytest.skip("WasmImports.lean is the WebAssembly build's only")
    check = CHECK.replace("[HEADERS]", "[" + ", ".join(f"#[{h}]" for h in HEADERS) + "]")
    source = (WASM_FIX_FILE.read_text(encoding="utf-8") + "\nopen Lean\n\n" + _toolchain_data_structure()
              + _split_imports(WASM_IMPORTS_FILE.read_text(encoding="utf-8"))[1] + check)
    (tmp_path / "Check.lean").write_text(source, encoding="utf-8")
    done = subprocess.run(toolchain.lean_command(["Check.lean"]), cwd=tmp_path, capture_output=True, text=True,
                          env=toolchain.run_env([tmp_path]), timeout=900)
    checks = [line.split() for line in done.stdout.splitlines() if line.startswith("CHECK ")]
    assert [c[1] for c in checks] == ["true", "false"] * len(HEADERS), done.stdout[-3000:] + done.stderr[-3000:]
    assert [c[3] for c in checks] == ["true"] * (2 * len(HEADERS))
    # Lean (Init alone) and Lake reach hundreds of modules each
    assert min(int(c[2]) for c in checks) > 300

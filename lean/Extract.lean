/-
ntp-datasets extractor: elaborates the modules of a Lean project, each once, and writes
JSON lines describing every declaration, tactic step and message.

Run as `lean --run Extract.lean JOB.json`. The job file lists the modules in import order:
`{"modules": [{"name": "A.B", "file": "/abs/A/B.lean", "out": "/abs/out.jsonl",
"olean": "/abs/build/A/B.olean"}], "searchPath": ["/abs/build"]}`. `olean` is optional:
when given, the elaborated environment is written there so that later modules in the same
job (the same process) can import it. For each module the extractor writes `out` (through a
temporary file and a rename, so a half-written file never exists) and prints one progress
line `@@ntp {...}` to stdout.
-/
import Lean

open Lean Elab

namespace NtpExtract

/-- One module to elaborate, as given in the job file. -/
structure ModuleJob where
  name : String
  file : String
  out : String
  olean : Option String := none
  deriving FromJson, Inhabited

/-- The whole job: modules in import order and extra `.olean` search directories. -/
structure Job where
  modules : Array ModuleJob
  searchPath : Array String := #[]
  deriving FromJson, Inhabited

/-- Tactic syntax kinds whose children are the steps a user wrote. -/
def seqKinds : List Name :=
  [``Lean.Parser.Tactic.tacticSeq1Indented, ``Lean.Parser.Tactic.tacticSeqBracketed]

/-- Tactic syntax kinds that only group steps and are never a step themselves. -/
def structuralKinds : List Name :=
  [``Lean.Parser.Tactic.tacticSeq, ``Lean.Parser.Term.byTactic, nullKind] ++ seqKinds

/-- Whether `stx` contains `sorry` or `admit`, as a tactic or a term. -/
def hasSorry (stx : Syntax) : Bool :=
  (stx.find? fun s =>
    s.isOfKind ``Lean.Parser.Tactic.tacticSorry || s.isOfKind ``Lean.Parser.Term.sorry ||
    s.isOfKind ``Lean.Parser.Tactic.tacticAdmit).isSome

/-- Byte offset, line (1-based) and column (0-based, codepoints) of a position. -/
def posFields (fileMap : FileMap) (pfx : String) (pos : String.Pos.Raw) : List (String × Json) :=
  let p := fileMap.toPosition pos
  [(pfx, toJson pos.byteIdx)] ++
    (if pfx == "start" then [("line", toJson p.line), ("column", toJson p.column)]
     else [("endLine", toJson p.line), ("endColumn", toJson p.column)])

/-- The tactic steps of an info tree with the context each one runs in. A node is a step when
the nearest enclosing tactic node is a tactic sequence written in the source (not one made by a
macro such as `t <;> s`) and its own syntax comes from the source. -/
partial def collectSteps (ctx? : Option ContextInfo) (inSeq : Bool) (tree : InfoTree)
    (acc : Array (ContextInfo × TacticInfo)) : Array (ContextInfo × TacticInfo) :=
  match tree with
  | .context pci t => collectSteps (pci.mergeIntoOuter? ctx?) inSeq t acc
  | .node (.ofTacticInfo ti) children =>
    let kind := ti.stx.getKind
    let isStep := inSeq && !structuralKinds.contains kind &&
      (ti.stx.getRange? (canonicalOnly := true)).isSome
    let acc := match ctx?, isStep with
      | some ctx, true => acc.push (ctx, ti)
      | _, _ => acc
    let opensSeq := seqKinds.contains kind && ti.stx.getHeadInfo matches .original ..
    children.foldl (init := acc) fun acc c => collectSteps ctx? opensSeq c acc
  | .node _ children => children.foldl (init := acc) fun acc c => collectSteps ctx? inSeq c acc
  | .hole _ => acc

/-- The first command node of an info tree, with its context. -/
partial def findCommand? (ctx? : Option ContextInfo) : InfoTree → Option (ContextInfo × Syntax)
  | .context pci t => findCommand? (pci.mergeIntoOuter? ctx?) t
  | .node (.ofCommandInfo ci) _ => ctx?.map (·, ci.stx)
  | _ => none

/-- Pretty-printed goals, one string per goal. -/
def ppGoals (ctx : ContextInfo) (mctx : MetavarContext) (goals : List MVarId) : IO (Array String) :=
  goals.toArray.mapM fun g => do
    let fmt ← { ctx with mctx }.runMetaM {} (Meta.ppGoal g)
    return fmt.pretty

/-- The JSON event of one tactic step. -/
def tacticEvent (fileMap : FileMap) (declStart : Nat) (ctx : ContextInfo) (ti : TacticInfo) :
    IO (Option Json) := do
  let some range := ti.stx.getRange? (canonicalOnly := true) | return none
  let before ← ppGoals ctx ti.mctxBefore ti.goalsBefore
  let after ← ppGoals ctx ti.mctxAfter ti.goalsAfter
  return some <| Json.mkObj <|
    [("kind", Json.str "tactic"), ("declStart", toJson declStart)] ++
    posFields fileMap "start" range.start ++ posFields fileMap "end" range.stop ++
    [("syntaxKind", toJson ti.stx.getKind.toString), ("goalsBefore", toJson before),
     ("goalsAfter", toJson after), ("hasSorry", toJson (hasSorry ti.stx))]

/-- Short names of declaration kinds, keyed by the syntax kind of the declaration body. -/
def declKindName (k : Name) : String :=
  match k with
  | ``Lean.Parser.Command.definition => "def"
  | ``Lean.Parser.Command.theorem => "theorem"
  | ``Lean.Parser.Command.example => "example"
  | ``Lean.Parser.Command.instance => "instance"
  | ``Lean.Parser.Command.abbrev => "abbrev"
  | ``Lean.Parser.Command.opaque => "opaque"
  | ``Lean.Parser.Command.axiom => "axiom"
  | ``Lean.Parser.Command.inductive => "inductive"
  | ``Lean.Parser.Command.classInductive => "class inductive"
  | ``Lean.Parser.Command.structure => "structure"
  | _ => k.getString!

/-- Syntax kinds of the part of a declaration that holds its value or proof. -/
def declValKinds : List Name :=
  [``Lean.Parser.Command.declValSimple, ``Lean.Parser.Command.declValEqns,
   ``Lean.Parser.Command.whereStructInst]

/-- The user-facing full name of a declared identifier: the current namespace is prepended
and `_root_` and private prefixes are removed. -/
def fullDeclName (ctx : ContextInfo) (id : Name) : Name :=
  let n := if id.getRoot == `_root_ then id.replacePrefix `_root_ .anonymous
    else ctx.currNamespace ++ id
  let candidates := [n, mkPrivateName ctx.env n]
  match candidates.find? (ctx.env.contains ·) with
  | some found => (privateToUserName? found).getD found
  | none => n

/-- The JSON event of a declaration command, or `none` for other commands. -/
def declarationEvent (fileMap : FileMap) (ctx : ContextInfo) (cmd : Syntax) : Option Json := do
  guard (cmd.isOfKind ``Lean.Parser.Command.declaration)
  let body := cmd[1]
  let range ← cmd.getRange? (canonicalOnly := true)
  let sigEnd := (body.getArgs.find? fun a => declValKinds.any a.isOfKind).bind (·.getPos?)
    |>.getD range.stop
  let name := (body.find? (·.isOfKind ``Lean.Parser.Command.declId)).map fun d =>
    fullDeclName ctx d[0].getId
  return Json.mkObj <|
    [("kind", Json.str "declaration"), ("name", toJson (name.map toString)),
     ("declKind", toJson (declKindName body.getKind)), ("sigEnd", toJson sigEnd.byteIdx)] ++
    posFields fileMap "start" range.start ++ posFields fileMap "end" range.stop ++
    [("hasSorry", toJson (hasSorry cmd))]

/-- Events of one top-level command: its declaration (if any), then its tactic steps. -/
def commandEvents (fileMap : FileMap) (tree : InfoTree) : IO (Array Json) := do
  let some (ctx, cmd) := findCommand? none tree | return #[]
  let mut events := #[]
  if let some ev := declarationEvent fileMap ctx cmd then events := events.push ev
  let declStart := (cmd.getPos?.getD 0).byteIdx
  let steps := collectSteps none false tree #[]
  let steps := steps.qsort fun a b =>
    (a.2.stx.getPos?.getD 0).byteIdx < (b.2.stx.getPos?.getD 0).byteIdx
  for (c, ti) in steps do
    if let some ev ← tacticEvent fileMap declStart c ti then events := events.push ev
  return events

/-- The JSON event of a message. -/
def messageEvent (msg : Message) : IO Json := do
  let severity := match msg.severity with
    | .error => "error" | .warning => "warning" | .information => "information"
  return Json.mkObj [("kind", Json.str "message"), ("severity", Json.str severity), ("line", toJson msg.pos.line),
    ("column", toJson msg.pos.column), ("text", toJson (← msg.data.toString))]

/-- Writes `lines` to `path` through a temporary file and a rename. -/
def writeLinesAtomically (path : System.FilePath) (lines : Array Json) : IO Unit := do
  let tmp := path.addExtension "tmp"
  if let some dir := path.parent then IO.FS.createDirAll dir
  IO.FS.withFile tmp .write fun h => do
    for l in lines do h.putStrLn l.compress
  IO.FS.rename tmp path

/-- Elaborates the remaining commands one by one, collecting each command's info trees (the
elaborator clears them, and its messages, at the start of every command). -/
partial def processCommands (ctx : Frontend.Context) (s : Frontend.State) (trees : Array InfoTree)
    (msgs : Array Message) : IO (Frontend.State × Array InfoTree × Array Message) := do
  let (done, s) ← (Frontend.processCommand.run ctx).run s
  let trees := trees ++ s.commandState.infoState.trees.toArray
  let msgs := msgs ++ s.commandState.messages.toArray
  let s := { s with commandState.infoState.trees := {}, commandState.messages := {} }
  if done then return (s, trees, msgs) else processCommands ctx s trees msgs

/-- Toolchain-specific repair of a freshly imported environment. The identity here;
ntp-datasets substitutes the WebAssembly compiler repair on that build. -/
def repairImportedEnv (env : Environment) : Environment := env

/-- Imports what a module's header asks for. Files that start with `module` get Lean's own
header processing. Other files are imported at the private level, which keeps the module
system off for them: their declarations stay public and the `.olean` written for them is an
ordinary one that later modules can import (Lean's own header processing on the WebAssembly
build would treat them as modules and store every declaration under a private name). -/
def importHeader (header : Elab.HeaderSyntax) (opts : Options) (messages : MessageLog)
    (inputCtx : Parser.InputContext) : IO (Environment × MessageLog) := do
  if header.isModule then
    return ← processHeader header opts messages inputCtx
  try
    let env ← importModules header.imports opts (loadExts := true) (level := .private)
    return (env, messages)
  catch e =>
    let pos := inputCtx.fileMap.toPosition header.startPos
    return (← mkEmptyEnvironment, messages.add { fileName := inputCtx.fileName, data := toString e, pos })

/-- Elaborates one module and returns its events and final environment. -/
def elaborate (job : ModuleJob) (opts : Options) : IO (Array Json × Environment × Bool) := do
  let input ← IO.FS.readFile job.file
  let inputCtx := Parser.mkInputContext input job.file
  let (header, parserState, messages) ← Parser.parseHeader inputCtx
  let mainModule := job.name.toName
  let (env, messages) ← importHeader header opts messages inputCtx
  let env := repairImportedEnv (env.setMainModule mainModule)
  let commandState := { Command.mkState env messages opts with infoState.enabled := true }
  let (s, trees, msgs) ← processCommands { inputCtx }
    { commandState, parserState, cmdPos := parserState.pos } #[] #[]
  let fileMap := inputCtx.fileMap
  let mut events := #[]
  for tree in trees do
    events := events ++ (← commandEvents fileMap tree)
  for msg in msgs do
    events := events.push (← messageEvent msg)
  let hasErrors := msgs.any (·.severity == .error)
  return (events, s.commandState.env, hasErrors)

/-- Elaborates one module, writes its events and, if asked, its `.olean`. -/
def runModule (job : ModuleJob) (opts : Options) : IO Unit := do
  let start ← IO.monoMsNow
  let (events, env, hasErrors) ← elaborate job opts
  if let some olean := job.olean then
    if let some dir := (olean : System.FilePath).parent then IO.FS.createDirAll dir
    writeModule env olean
  writeLinesAtomically job.out events
  let elapsed := (← IO.monoMsNow) - start
  IO.println s!"@@ntp {(Json.mkObj [("event", Json.str "done"), ("module", Json.str job.name),
    ("events", toJson events.size), ("hasErrors", toJson hasErrors), ("ms", toJson elapsed)]).compress}"
  (← IO.getStdout).flush

end NtpExtract

open NtpExtract in
/-- Entry point: `lean --run Extract.lean JOB.json`. -/
public def main (args : List String) : IO UInt32 := do
  let [jobFile] := args | IO.eprintln "usage: lean --run Extract.lean JOB.json"; return 2
  let job ← IO.ofExcept <| (Json.parse (← IO.FS.readFile jobFile)) >>= fromJson? (α := Job)
  searchPathRef.modify (· ++ job.searchPath.toList.map System.FilePath.mk)
  let opts := Elab.async.set {} false
  -- A dedicated thread gets Lean's full thread stack; the process's main thread may have a
  -- much smaller one (the WebAssembly build's does), and writing an `.olean` recurses deeply.
  let work ← IO.asTask (prio := .dedicated) do
    for m in job.modules do
      try runModule m opts
      catch e =>
        IO.println s!"@@ntp {(Json.mkObj [("event", Json.str "failed"), ("module", Json.str m.name),
          ("error", Json.str (toString e))]).compress}"
  if let .error e ← IO.wait work then throw e
  IO.println "@@ntp {\"event\":\"finished\"}"
  return 0

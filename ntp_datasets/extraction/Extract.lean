/-
ntp-datasets extractor: elaborates the modules of a Lean project, each once, and writes
JSON lines describing every declaration, tactic step and message.

Run as `lean --run Extract.lean JOB.json`. The job file lists the modules in import order
(and, for a worker of ntp-datasets' scheduler, a `queue` directory of further modules, see
`Job.queue`):
`{"modules": [{"name": "A.B", "file": "/abs/A/B.lean", "out": "/abs/out.jsonl",
"olean": "/abs/build/A/B.olean"}], "searchPath": ["/abs/build"]}`. `olean` is optional:
when given, the elaborated environment is written there so that later modules in the same
job (the same process) can import it. A module may also name commands not to elaborate
(`skip`) and the options to elaborate it with (`options`, a package's `leanOptions`). For each
module the extractor writes `out` (through a temporary file and a rename, so a half-written file
never exists) and prints progress lines `@@ntp TOKEN {...}` to stdout (`TOKEN` is the job's
`token`, a random string per run, so that a line the project's code prints cannot pass for
one): `ready` once the process has started (before its first module), `start` when it begins a
module (the caller's time limit counts from there), `command`
before each command (where it starts: the command a dying process was on is the last one
announced), `elaborated` after the last command, then `done`, or `failed` (`stage`: `import`
when its imports could not be loaded, with their `messages`; `elab` when the extractor itself
failed). Message events carry the `phase` they come from: `parse`, `import`, `elab`, or `skip`
for a command the job said not to elaborate.

Byte offsets in events (`start`, `end`, `sigEnd`, `declStart`) are offsets into the file as
written: Lean parses the text without a leading UTF-8 byte-order mark and with CRLF line
endings turned into LF, and the extractor maps its positions back (`SourceMap`). Lines and
columns are Lean's (the same in both texts, the mark not counted). The `pos` of `command`
lines and of `skip` entries is a byte offset in the parsed text.
-/
import Lean

open Lean Elab

namespace NtpExtract

/-! ## The job file

What ntp-datasets asks of one Lean process: modules in import order, and for a worker a queue
directory of further modules. -/

/-- A command the job says not to elaborate, because it killed an earlier Lean process on this
module or ran past the time limit there: where it starts in the text Lean parses (a byte
offset, as announced by `command` progress lines), and the error it becomes (`kind`, an
`errors` kind of ntp-datasets, and `message`). -/
structure SkippedCommand where
  pos : Nat
  kind : String
  message : String
  deriving FromJson, Inhabited

/-- An option Lean elaborates the module with, as Lake passes a package's `leanOptions`: a
boolean, number or string value. A name starting with `weak.` is set (without that prefix) only
when some imported module declares the option. -/
structure LeanOption where
  name : String
  value : Json
  deriving FromJson, Inhabited

/-- One module to elaborate, as given in the job file. -/
structure ModuleJob where
  name : String
  file : String
  out : String
  olean : Option String := none
  /-- Commands not to elaborate (see `SkippedCommand`); absent: none. -/
  skip : Option (Array SkippedCommand) := none
  /-- Options the module is elaborated with (see `LeanOption`); absent: none. -/
  options : Option (Array LeanOption) := none
  deriving FromJson, Inhabited

/-- A premise corpus to write: every constant of the environment that imports `imports` (the
toolchain library modules a project sees), one JSON line each, to `out`. -/
structure CorpusJob where
  imports : Array String
  out : String
  deriving FromJson, Inhabited

/-- The whole job: modules in import order and extra `.olean` search directories. -/
structure Job where
  modules : Array ModuleJob
  /-- A corpus to write after the modules, if any. -/
  corpus : Option CorpusJob := none
  searchPath : Array String := #[]
  /-- Prefix of every progress line after `@@ntp ` (see the header comment). -/
  token : String := ""
  /-- A worker's queue directory: after `modules`, the process takes further modules from
  `QUEUE/0.json`, `QUEUE/1.json`, ... in turn (see `nextQueued`). -/
  queue : Option String := none
  deriving FromJson, Inhabited

/-- Waits for entry `n` of the queue directory `dir` (a `ModuleJob`) and reads it. The process
runs until ntp-datasets stops it. ntp-datasets writes each
entry under a temporary name and renames it into place, so an entry that exists is whole.
Polling a file rather than reading stdin: the WebAssembly Lean's stdin does not wait for
input (a read with nothing there fails), and a directory works the same on both toolchains. -/
partial def nextQueued (dir : System.FilePath) (n : Nat) : IO ModuleJob := do
  let path := dir / s!"{n}.json"
  if ← path.pathExists then
    IO.ofExcept <| (Json.parse (← IO.FS.readFile path)) >>= fromJson? (α := ModuleJob)
  else
    IO.sleep 20
    nextQueued dir n

/-! ## Source text and positions

The text Lean parses differs from the file's bytes (no byte-order mark, LF line endings);
events carry offsets into the file as written. -/

/-- Whether `stx` contains `sorry` or `admit`, as a tactic or a term. -/
def hasSorry (stx : Syntax) : Bool :=
  (stx.find? fun s =>
    s.isOfKind ``Lean.Parser.Tactic.tacticSorry || s.isOfKind ``Lean.Parser.Term.sorry ||
    s.isOfKind ``Lean.Parser.Tactic.tacticAdmit).isSome

/-- How positions in the text Lean parses map to byte offsets of the file as written. Lean
is given the file without a leading UTF-8 byte-order mark (which its parser rejects) and with
each CRLF line ending turned into LF (as `Parser.mkInputContext` would do anyway, but here the
extractor does it, so that it knows where). -/
structure SourceMap where
  /-- Bytes of the byte-order mark at the start of the file: 0 or 3. -/
  bom : Nat := 0
  /-- Byte offsets, in the parsed text, of the line feeds that were CRLF in the file, ascending. -/
  crlf : Array Nat := #[]
  deriving Inhabited

/-- `out` and `crlf` with the bytes of `bytes[i:]` copied, but the CR of each CRLF, whose LF's
offset in `out` goes to `crlf`. Plain tail recursion: the interpreter runs a `for` loop over a
range with a stack frame per element, and a file of 20,000 lines killed the process ("deep
recursion was detected at 'interpreter'"). -/
def SourceMap.copyBytes (bytes : ByteArray) (i : Nat) (out : ByteArray) (crlf : Array Nat) :
    ByteArray × Array Nat :=
  if h : i < bytes.size then
    if bytes[i] == 13 && i + 1 < bytes.size && bytes[i + 1]! == 10 then
      copyBytes bytes (i + 1) out (crlf.push out.size)  -- where this line ending's LF lands
    else
      copyBytes bytes (i + 1) (out.push bytes[i]) crlf
  else (out, crlf)
termination_by bytes.size - i

/-- The text Lean parses for a file's bytes and the `SourceMap` back to them; `none` when the
bytes are not UTF-8. -/
def SourceMap.ofBytes (bytes : ByteArray) : Option (String × SourceMap) :=
  let bom := if bytes.size ≥ 3 && bytes[0]! == 0xEF && bytes[1]! == 0xBB && bytes[2]! == 0xBF then 3 else 0
  let (out, crlf) := SourceMap.copyBytes bytes bom (ByteArray.emptyWithCapacity bytes.size) #[]
  (String.fromUTF8? out).map (·, { bom, crlf })

/-- The byte offset in the file of position `pos` of the parsed text: the mark and the CR of
every CRLF before `pos` are added back. A position at a line end maps to the line's CR. -/
def SourceMap.toFile (m : SourceMap) (pos : String.Pos.Raw) : Nat := Id.run do
  let n := pos.byteIdx
  -- Binary search: the number of CRLF line feeds strictly before `n`.
  let mut lo := 0
  let mut hi := m.crlf.size
  while lo < hi do
    let mid := (lo + hi) / 2
    if m.crlf[mid]! < n then lo := mid + 1 else hi := mid
  return m.bom + n + lo

/-- Byte offset in the file (see `SourceMap`), line (1-based) and column (0-based, codepoints)
of a position of the parsed text. -/
def posFields (fileMap : FileMap) (srcMap : SourceMap) (pfx : String) (pos : String.Pos.Raw) :
    List (String × Json) :=
  let p := fileMap.toPosition pos
  [(pfx, toJson (srcMap.toFile pos))] ++
    (if pfx == "start" then [("line", toJson p.line), ("column", toJson p.column)]
     else [("endLine", toJson p.line), ("endColumn", toJson p.column)])

/-! ## Profile

Where the events phase of a module spends its time, reported in its `done` line. -/

/-- The parts of a module's events phase that `Profile` times, and what it counts. -/
inductive Part where
  /-- Printing the goals before and after tactic steps. -/
  | goals
  /-- The premise records of tactic steps (the constants of their proof terms and syntax). -/
  | premises
  /-- The hammer recommendations of tactic steps. -/
  | hammer
  /-- Printing declarations' types and signatures. -/
  | declarationTypes
  /-- A theorem's whole-proof row: its goal printed, its value's theorems. -/
  | termStates
  /-- The `dependents` of declarations and constants. -/
  | dependents
  /-- Printing the types of the constants no declaration event printed. -/
  | constantTypes
  /-- Where the constants the events mention are declared. -/
  | premiseSites
  /-- Counts: tactic steps, goals printed, goals taken from `ModuleTables.goals`, declarations,
  constants. -/
  | steps | goalPrints | goalsReused | declarations | constants

/-- Every part, in the order of `Part.index`. -/
def Part.all : Array Part :=
  #[.goals, .premises, .hammer, .declarationTypes, .termStates, .dependents, .constantTypes, .premiseSites,
    .steps, .goalPrints, .goalsReused, .declarations, .constants]

/-- The position of a part in `Part.all`. -/
def Part.index : Part → Nat
  | .goals => 0 | .premises => 1 | .hammer => 2 | .declarationTypes => 3 | .termStates => 4
  | .dependents => 5 | .constantTypes => 6 | .premiseSites => 7 | .steps => 8 | .goalPrints => 9
  | .goalsReused => 10 | .declarations => 11 | .constants => 12

/-- The name of a part in the `done` line's `profile`: counts start with `count.`. -/
def Part.key : Part → String
  | .goals => "goals" | .premises => "premises" | .hammer => "hammer" | .declarationTypes => "declarationTypes"
  | .termStates => "termStates" | .dependents => "dependents" | .constantTypes => "constantTypes"
  | .premiseSites => "premiseSites" | .steps => "count.steps" | .goalPrints => "count.goalPrints"
  | .goalsReused => "count.goalsReused" | .declarations => "count.declarations" | .constants => "count.constants"

/-- Nanoseconds spent in each timed part, and the counts (indexed by `Part.index`). -/
structure Profile where
  parts : IO.Ref (Array Nat)

/-- An empty profile. -/
def Profile.new : BaseIO Profile := return { parts := ← IO.mkRef (Array.replicate Part.all.size 0) }

/-- Adds `n` to `part`. -/
def Profile.add (p : Profile) (part : Part) (n : Nat := 1) : BaseIO Unit :=
  p.parts.modify (·.modify part.index (· + n))

/-- Runs `act`, adding its duration to `part`. -/
def Profile.time [Monad m] [MonadLiftT BaseIO m] (p : Profile) (part : Part) (act : m α) : m α := do
  let start ← IO.monoNanosNow
  let a ← act
  p.add part ((← IO.monoNanosNow) - start)
  return a

/-- The `done` line's `profile`: microseconds of each timed part, and the counts. -/
def Profile.json (p : Profile) : BaseIO Json := do
  let parts ← p.parts.get
  return Json.mkObj <| Part.all.toList.map fun part =>
    let v := parts[part.index]!
    (part.key, toJson (if part.key.startsWith "count." then v else v / 1000))

/-- Whether `ctx` and `other` print the same: the same environment, options and open
declarations (the same objects), and the same namespace. -/
def samePrinting (ctx other : ContextInfo) : Bool :=
  unsafe (ptrEq ctx.env other.env && ptrEq ctx.options other.options && ptrEq ctx.openDecls other.openDecls) &&
    ctx.currNamespace == other.currNamespace

/-- A goal printed for a tactic step, with what its text depends on (see `samePrinting`). -/
structure PrintedGoal where
  goal : MVarId
  ctx : ContextInfo
  mctx : MetavarContext
  text : String

/-- What the events of one module compute once and look up after: the goals printed last (the
goals after one step are usually those before the next, in the same metavariable context), the
premise record of each constant, and of each declared constant its `dependents` and its printed
type, as the declaration's event made them; with the `Profile`. -/
structure ModuleTables where
  profile : Profile
  goals : IO.Ref (Array PrintedGoal)
  premises : IO.Ref (Std.HashMap Name Json)
  dependents : IO.Ref (Std.HashMap Name (Array Json))
  types : IO.Ref (Std.HashMap Name String)

/-- Empty tables. -/
def ModuleTables.new : BaseIO ModuleTables :=
  return { profile := ← Profile.new, goals := ← IO.mkRef #[], premises := ← IO.mkRef {},
           dependents := ← IO.mkRef {}, types := ← IO.mkRef {} }

/-- How many printed goals `ModuleTables.goals` keeps (the most recent ones). -/
def printedGoalsKept : Nat := 16

/-! ## Tactic steps

Which tactic nodes of the info trees are rows, and their goals as ntp-toolkit prints them. -/

/-- Tactic syntax kinds that only structure a proof and are never rows themselves (the
tactics inside them are): as in ntp-toolkit, a bullet `· tacs`, `t <;> s` and `(tacs)`; and
the bracketed sequences `{ tacs }` and their conv twins, which ntp-toolkit's filter lets
through. -/
def structuringKinds : List Name :=
  [``Lean.cdot, ``Lean.Parser.Tactic.«tactic_<;>_», ``Lean.Parser.Tactic.paren,
   ``Lean.Parser.Tactic.tacticSeqBracketed, `Lean.Parser.Tactic.Conv.nestedConv,
   `Lean.Parser.Tactic.Conv.convSeqBracketed, `Lean.Parser.Tactic.Conv.paren]

/-- Whether `stx` comes from the source text itself rather than from a macro expansion. -/
def isOriginal (stx : Syntax) : Bool :=
  stx.getHeadInfo matches .original ..

/-- Whether syntax kind `k` belongs to parser category `cat` (`tactic`, `conv`). -/
def inCategory (env : Environment) (cat k : Name) : Bool :=
  match Parser.getCategory (Parser.parserExtension.getState env).categories cat with
  | some c => c.kinds.contains k
  | none => false

/-- Whether a tactic info node is a row: its syntax is a node written in the source (not an
atom such as the `;` separator, not made by a macro) of the `tactic` or `conv` category, and
not one of the `structuringKinds`. Sequences, `by` blocks, calc step lists and other
non-tactic nodes that carry tactic info are not rows either. -/
def isRow (env : Environment) (stx : Syntax) : Bool :=
  match stx with
  | .node _ k _ => isOriginal stx && !structuringKinds.contains k &&
      (inCategory env `tactic k || inCategory env `conv k)
  | _ => false

/-- The tactic nodes of an info tree that are rows (`isRow`), in tree order, with the context
each runs in and its children. -/
partial def collectSteps (env : Environment) (ctx? : Option ContextInfo) (tree : InfoTree)
    (acc : Array (ContextInfo × TacticInfo × PersistentArray InfoTree)) :
    Array (ContextInfo × TacticInfo × PersistentArray InfoTree) :=
  match tree with
  | .context pci t => collectSteps env (pci.mergeIntoOuter? ctx?) t acc
  | .node (.ofTacticInfo ti) children =>
    let acc := match ctx? with
      | some ctx => if isRow env ti.stx then acc.push (ctx, ti, children) else acc
      | none => acc
    children.foldl (init := acc) fun acc c => collectSteps env ctx? c acc
  | .node _ children => children.foldl (init := acc) fun acc c => collectSteps env ctx? c acc
  | .hole _ => acc

/-- Term nodes written as identifiers in the source, under the given trees: what the
elaborator resolved each identifier of a tactic's syntax to. -/
partial def identTerms (trees : PersistentArray InfoTree) (acc : Array TermInfo := #[]) : Array TermInfo :=
  trees.foldl (init := acc) fun acc t => match t with
    | .context _ t => identTerms #[t].toPArray' acc
    | .node (.ofTermInfo ti) cs =>
      let acc := if ti.stx.isIdent && (ti.stx.getHeadInfo matches .original ..) then acc.push ti else acc
      identTerms cs acc
    | .node _ cs => identTerms cs acc
    | .hole _ => acc

/-- The pretty-printer options ntp-toolkit sets for proof states: full names, binder types
of `fun`, types of numerals, of coercions and of `let` variables. -/
def withStateOptions (opts : Options) : Options :=
  opts.setBool `pp.fullNames true |>.setBool `pp.funBinderTypes true |>.setBool `pp.numericTypes true
    |>.setBool `pp.coercions.types true |>.setBool `pp.letVarTypes true

/-- Pretty-printed goals, one string per goal, with ntp-toolkit's options (`withStateOptions`)
and its width (`Format.pretty`'s default). -/
def ppGoals (ctx : ContextInfo) (mctx : MetavarContext) (goals : List MVarId) : IO (Array String) :=
  goals.toArray.mapM fun g => do
    let fmt ← { ctx with mctx }.runMetaM {} (withOptions withStateOptions (Meta.ppGoal g))
    return fmt.pretty

/-- `ppGoals`, a goal printed before in the same metavariable context and a context that prints
the same (`samePrinting`) taken from `tables` rather than printed again. -/
def ppGoalsOnce (tables : ModuleTables) (ctx : ContextInfo) (mctx : MetavarContext) (goals : List MVarId) :
    IO (Array String) :=
  goals.toArray.mapM fun g => do
    let printed ← tables.goals.get
    if let some p := printed.find? fun (p : PrintedGoal) => p.goal == g && unsafe ptrEq p.mctx mctx && samePrinting p.ctx ctx then
      tables.profile.add .goalsReused
      return p.text
    let text := (← ppGoals ctx mctx [g])[0]!
    tables.profile.add .goalPrints
    let printed := if printed.size ≥ printedGoalsKept then printed.eraseIdx! 0 else printed
    tables.goals.set (printed.push { goal := g, ctx, mctx, text })
    return text

/-! ## Premises

The constants a step or a declaration uses, as ntp-toolkit and LeanDojo list them. -/

/-- A constant as a premise record: its name, whether its type is a proposition (a theorem
rather than data), and the module that declares it (`null` for the current module). -/
def constantJson (name : Name) : MetaM Json := do
  let env ← getEnv
  let isProp ← try Meta.isProp (← getConstInfo name).type catch _ => pure false
  let module := (env.getModuleIdxFor? name).bind fun i => env.header.moduleNames[i.toNat]?
  return Json.mkObj [("name", toJson name.toString), ("isProp", toJson isProp),
    ("module", toJson (module.map toString))]

/-- Constants worth reporting as premises: not internal or auxiliary names. -/
def isReportable (env : Environment) (n : Name) : Bool :=
  !n.isInternalDetail && !isAuxRecursor env n && !isNoConfusion env n && !n.isImplementationDetail

/-- Premise records of `consts`, deduplicated, in first-use order. A constant's record is the
same wherever the module mentions it (its type and module do not change): `known` keeps each one
made. -/
def constantsJson (known : IO.Ref (Std.HashMap Name Json)) (consts : Array Name) : MetaM (Array Json) := do
  let env ← getEnv
  let mut seen : NameSet := {}
  let mut out := #[]
  for c in consts do
    if !seen.contains c && isReportable env c then
      seen := seen.insert c
      match (← known.get)[c]? with
      | some j => out := out.push j
      | none =>
        let j ← constantJson c
        known.modify (·.insert c j)
        out := out.push j
  return out

/-- Constants of the proof term a tactic assigned to the goals it started from. -/
def termConstants (ti : TacticInfo) : MetaM (Array Name) := do
  let mut out := #[]
  for g in ti.goalsBefore do
    let e ← instantiateMVars (mkMVar g)
    if !e.isMVar then out := out ++ e.getUsedConstants
  return out

/-- Identifiers of a tactic's syntax resolved to global constants, and names of the local
hypotheses of propositional type it mentions. -/
def explicitRefs (ctx : ContextInfo) (terms : Array TermInfo) : IO (Array Name × Array String) := do
  let mut consts := #[]
  let mut hyps := #[]
  for t in terms do
    match t.expr with
    | .const n _ => consts := consts.push n
    | .fvar id =>
      let prop ← ctx.runMetaM t.lctx do
        let some d := t.lctx.find? id | return none
        if ← Meta.isProp d.type then return some d.userName.toString else return none
      if let some h := prop then if !hyps.contains h then hyps := hyps.push h
    | _ => pure ()
  return (consts, hyps)

/-- ntp-toolkit's `kind` of a constant (its `declarations` script): the kind of constant,
`instance` for a definition registered as an instance, `class` or `structure` for an
inductive type registered as one, and `def` for constructors, recursors and quotients. -/
def constKindName (env : Environment) (ci : ConstantInfo) : String :=
  match ci with
  | .axiomInfo _ => "axiom"
  | .thmInfo _ => "theorem"
  | .opaqueInfo _ => "opaque"
  | .defnInfo i => if Meta.isInstanceCore env i.name then "instance" else "def"
  | .inductInfo i =>
    if isClass env i.name then "class" else if isStructure env i.name then "structure" else "inductive"
  | _ => "def"

/-- A width no line reaches: types and binders on one line, as ntp-toolkit prints them. -/
def oneLine : Nat := 1000000000

/-- The binders of a constant's signature as `#check` shows them (`{α : Type u}`, `[Monoid M]`,
`(x : T)`) and the type after them. Lean's signature delaborator stops taking binders at the
first one whose name is inaccessible (the `a✝` of `def f : Nat → Nat | …`) or already used, so
the rest stay in the type and no hygienic name is ever printed. -/
def signatureParts (name : Name) : MetaM (Array String × String) := do
  let ci ← getConstInfo name
  let e := Expr.const name (ci.levelParams.map mkLevelParam)
  let (stx, _) ← PrettyPrinter.delabCore e (delab := PrettyPrinter.Delaborator.delabConstWithSignature)
  let stx := (sanitizeSyntax stx).run' { options := (← getOptions) }
  let stx ← PrettyPrinter.parenthesize PrettyPrinter.Delaborator.declSigWithId.parenthesizer stx
  -- `declSigWithId` is the name, then `declSig`: the binders, then `: type`.
  let sig := stx[1]
  let args ← sig[0].getArgs.mapM fun b => do
    return (← PrettyPrinter.format Parser.Term.bracketedBinder.formatter b).pretty oneLine
  let body ← PrettyPrinter.formatTerm sig[1][1]
  return (args, body.pretty oneLine)

/-- Whether `n` is an auxiliary lemma the simplifier made, which premise lists replace by the
constants it uses: `M._auxLemma.3`, the pattern ntp-toolkit unfolds, and `decl._simp_1`, the
name this Lean gives the lemmas it makes for simp arguments such as `← foo`. -/
def isAuxLemma : Name → Bool
  | .num (.str _ "_auxLemma") _ => true
  | .str _ s => s.startsWith "_simp_" && s.length > 6 && (s.toList.drop 6).all Char.isDigit
  | _ => false

/-- A constant's name as users write it: without the `_private.M.0.` prefix of private names. -/
def userName (n : Name) : String :=
  ((privateToUserName? n).getD n).toString

/-- An expression as a key compared structurally, binder names and kinds included (`Expr.equal`). -/
structure ExactExpr where
  expr : Expr

instance : BEq ExactExpr := ⟨fun a b => a.expr.equal b.expr⟩
instance : Hashable ExactExpr := ⟨fun a => a.expr.hash⟩

/-- `explicitConstants`, each subterm looked at once: `seen` keeps what every subterm gave. Proof
terms share subterms, and a traversal that meets a shared one again at every occurrence grows
with the number of paths to it (one module of Batteries spent 25 minutes there). A subterm gives
the same wherever it occurs: its free variables and metavariables keep their types. -/
partial def explicitConstantsIn (seen : IO.Ref (Std.HashMap ExactExpr NameSet)) (e : Expr) : MetaM NameSet := do
  if let some found := (← seen.get)[ExactExpr.mk e]? then return found
  let found ← show MetaM NameSet from do
    match e with
    | .app f x =>
      let fs ← explicitConstantsIn seen f
      match ← tryCatch (some <$> Meta.inferType f) (fun _ => pure none) with
      | some (.forallE _ _ _ .default) => return fs.append (← explicitConstantsIn seen x)
      | _ => return fs
    | .lam _ t b _ | .forallE _ t b _ => explicitConstantsIn seen (b.instantiate1 (← Meta.mkFreshExprMVar t))
    | .letE n t v b _ =>
      let vs ← explicitConstantsIn seen v
      return vs.append (← Meta.withLetDecl n t v fun x => explicitConstantsIn seen (b.instantiate1 x))
    | .const n _ => return ({} : NameSet).insert n
    | .mdata _ b => explicitConstantsIn seen b
    | _ => return {}
  seen.modify (·.insert (ExactExpr.mk e) found)
  return found

/-- The constants of `e` outside implicit and instance arguments, as ntp-toolkit's `premises`
computes its `explicit` flag: an argument counts when the type of the function it is applied
to is syntactically a `∀` with a default binder; binders are opened with fresh metavariables. -/
def explicitConstants (e : Expr) : MetaM NameSet := do
  explicitConstantsIn (← IO.mkRef {}) e

/-- `names` sorted by their text (each printed once, not once per comparison). -/
def sortByText (names : Array Name) : Array Name :=
  (names.map fun n => (n.toString, n)).qsort (·.1 < ·.1) |>.map (·.2)

/-- Names of a set, sorted by their text. -/
def sortedNames (s : NameSet) : Array Name := Id.run do
  let mut out := #[]
  for n in s do out := out.push n
  return sortByText out

/-- The constants `names` stand for, auxiliary lemmas replaced by the constants their type and
value use (one level, as ntp-toolkit does): `(direct, unfolded)`. -/
def unfoldAuxLemmas (env : Environment) (names : NameSet) : NameSet × NameSet := Id.run do
  let mut direct : NameSet := {}
  let mut unfolded : NameSet := {}
  for n in names do
    if isAuxLemma n then
      if let some c := env.find? n then unfolded := unfolded.append c.getUsedConstantsAsSet
    else direct := direct.insert n
  return (direct, unfolded)

/-- ntp-toolkit's `dependents` of a constant: every constant its type and value use, auxiliary
lemmas unfolded; `explicit` when it occurs in the value outside implicit arguments
(`explicitConstants`), `direct` when the constant uses it itself rather than through an
auxiliary lemma. Sorted by name. -/
def dependentsJson (ci : ConstantInfo) : MetaM (Array Json) := do
  let env ← getEnv
  let explicit ← match ci.value? with
    | some v => explicitConstants v
    | none => pure {}
  let (direct, unfolded) := unfoldAuxLemmas env ci.getUsedConstantsAsSet
  return (sortedNames (direct.append unfolded)).map fun n => Json.mkObj
    [("name", toJson (userName n)), ("explicit", toJson (explicit.contains n)), ("direct", toJson (direct.contains n))]

/-! ## Hammer recommendations

ntp-toolkit's `hammerRecommendation` fields: the lemmas a step hands to `simp`/`rw`, with hints. -/

/-- Whether `n` is a theorem or an axiom: what ntp-toolkit's hammer recommendations keep of a
proof term's constants. -/
def isTheoremOrAxiom (env : Environment) (n : Name) : Bool :=
  match env.find? n with
  | some (.thmInfo _) | some (.axiomInfo _) => true
  | _ => false

/-- The theorems and axioms of a proof term, auxiliary lemmas unfolded, sorted by name: the
term part of ntp-toolkit's hammer recommendations (its blacklist is applied by ntp-datasets). -/
def hammerTermNames (env : Environment) (e : Expr) : Array String :=
  let (direct, unfolded) := unfoldAuxLemmas env e.getUsedConstantsAsSet
  (sortedNames (direct.append unfolded)).filter (isTheoremOrAxiom env) |>.map userName

/-- The global constant a simp or rw argument names, unless it is not an identifier of one or
names a simproc (both are left out of ntp-toolkit's hammer recommendations). -/
def hintConstant? (term : Syntax) : CoreM (Option Name) := do
  try
    let n ← realizeGlobalConstNoOverload term
    if ← Meta.Simp.isSimproc n then return none else return some n
  catch _ => return none

/-- ntp-toolkit's hint for a simp argument (`simpErase` for `-foo`; for a lemma, from its `↓`/`↑`
and `←` marks), with the constant it names. -/
def simpArgHint? (arg : Syntax) : CoreM (Option (Name × String)) := do
  if arg.isOfKind ``Lean.Parser.Tactic.simpErase then
    return (← hintConstant? arg[1]).map (·, "simpErase")
  if !arg.isOfKind ``Lean.Parser.Tactic.simpLemma then return none
  let backward := !arg[1].isNone
  let hint :=
    if arg[0].isNone then (if backward then "backwardOnly" else "unmodified")
    else if arg[0][0].isOfKind ``Lean.Parser.Tactic.simpPost then
      (if backward then "simpPostAndBackward" else "simpPostOnly")
    else (if backward then "simpPreAndBackward" else "simpPreOnly")
  return (← hintConstant? arg[2]).map (·, hint)

/-- The lemma list of a simp-family tactic in exactly the forms ntp-toolkit's hammer
recommendations read: written with a lemma list and nothing else but `only` (no configuration,
discharger or location). -/
def simpFormArgs? (stx : Syntax) : Option (Array Syntax) :=
  match stx with
  | `(tactic| simp [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp? [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp? only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp?! [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp?! only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp_all [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp_all only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp_all? [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp_all? only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp_all! [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp_all! only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp_all?! [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simp_all?! only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simpa [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simpa only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simpa? [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simpa? only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simpa! [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simpa! only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simpa?! [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| simpa?! only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| dsimp [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| dsimp only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| dsimp? [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| dsimp? only [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| dsimp?! [$args,*]) => some (args.getElems.map (·.raw))
  | `(tactic| dsimp?! only [$args,*]) => some (args.getElems.map (·.raw))
  | _ => none

/-- The lemmas a tactic's syntax hands to simp or rw, with ntp-toolkit's hints: the lemma list
of the simp forms `simpFormArgs?` reads, and the rules of `rw [rules]` written with no
configuration or location (they get `notInSimpAll`). -/
def hammerSyntaxHints (stx : Syntax) : CoreM (Array (Name × String)) := do
  if let some args := simpFormArgs? stx then
    return ← args.filterMapM simpArgHint?
  match stx with
  | `(tactic| rw $rules:rwRuleSeq) =>
    let rules := rules.raw[1].getArgs
    (List.range ((rules.size + 1) / 2)).toArray.filterMapM fun i =>
      return (← hintConstant? rules[2 * i]![1]).map (·, "notInSimpAll")
  | _ => return #[]

/-- What a tactic hands ntp-toolkit's hammer recommendations: the theorems of the proof term it
assigned to its main goal, and the lemmas its simp or rw syntax names, with their hints. -/
def hammerJson (ctx : ContextInfo) (ti : TacticInfo) : IO (List (String × Json)) := do
  let hints ← ctx.runMetaM {} (hammerSyntaxHints ti.stx)
  let term ← { ctx with mctx := ti.mctxAfter }.runMetaM {} do
    let some g := ti.goalsBefore.head? | return #[]
    return hammerTermNames (← getEnv) (← instantiateMVars (mkMVar g)).headBeta
  return [("hammerTerm", toJson term),
    ("hammerSyntax", toJson (hints.map fun (n, h) => Json.mkObj [("name", toJson (userName n)), ("hint", toJson h)]))]

/-! ## Events of tactic steps and declarations

One JSON event per tactic step and per declaration written in a command. -/

/-- Where a module's positions go: Lean's `FileMap` (lines, columns) and the `SourceMap`
back to the file's bytes. -/
structure Positions where
  fileMap : FileMap
  srcMap : SourceMap

/-- Where the identifiers under `trees` that name global constants are written: the constant
and the byte range in the file (LeanDojo's annotated tactic marks these spans). -/
def constantRefs (pos : Positions) (terms : Array TermInfo) : Array Json :=
  terms.filterMap fun t => match t.expr, t.stx.getRange? (canonicalOnly := true) with
    | .const n _, some r => some <| Json.mkObj [("name", toJson (userName n)),
        ("start", toJson (pos.srcMap.toFile r.start)), ("end", toJson (pos.srcMap.toFile r.stop))]
    | _, _ => none

/-- The JSON event of one tactic step of the declaration starting at file offset `declStart`;
`inStatement` when it lies in the declaration's statement (a `by` in its type or binders). -/
def tacticEvent (tables : ModuleTables) (pos : Positions) (declStart : Nat) (inStatement : Bool) (ctx : ContextInfo)
    (ti : TacticInfo) (children : PersistentArray InfoTree) : IO (Option Json) := do
  let prof := tables.profile
  let some range := ti.stx.getRange? (canonicalOnly := true) | return none
  let before ← prof.time .goals <| ppGoalsOnce tables ctx ti.mctxBefore ti.goalsBefore
  let after ← prof.time .goals <| ppGoalsOnce tables ctx ti.mctxAfter ti.goalsAfter
  prof.add .steps
  let terms := identTerms children
  let (explicitConsts, hyps) ← explicitRefs ctx terms
  let (termPremises, explicit) ← prof.time .premises <| { ctx with mctx := ti.mctxAfter }.runMetaM {} do
    return (← constantsJson tables.premises (← termConstants ti), ← constantsJson tables.premises explicitConsts)
  let hammer ← prof.time .hammer <| try hammerJson ctx ti catch _ => pure []
  return some <| Json.mkObj <|
    [("kind", Json.str "tactic"), ("declStart", toJson declStart)] ++
    posFields pos.fileMap pos.srcMap "start" range.start ++ posFields pos.fileMap pos.srcMap "end" range.stop ++
    [("syntaxKind", toJson ti.stx.getKind.toString), ("goalsBefore", toJson before),
     ("goalsAfter", toJson after), ("hasSorry", toJson (hasSorry ti.stx)),
     ("inStatement", toJson inStatement),
     ("goalIdsBefore", toJson (ti.goalsBefore.map (·.name.toString))),
     ("goalIdsAfter", toJson (ti.goalsAfter.map (·.name.toString))),
     ("termConstants", toJson termPremises), ("explicitConstants", toJson explicit),
     ("explicitLocalHypotheses", toJson hyps), ("refs", toJson (constantRefs pos terms))] ++ hammer

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

/-- Whether option `name` leaves printing a term and inferring types alone: linters, the options
this extractor and Lake's package settings commonly set (`Elab.async`, `experimental.module`,
`autoImplicit`, ...), and heartbeat limits (what the declaration event computed within one, the
`constant` event, which has none, computes the same). Any other option set where a declaration
is written keeps its `constant` event from reusing what its declaration event computed
(`ModuleTables`). -/
def printingNeutral (name : Name) : Bool :=
  name.getRoot == `linter ||
    [`Elab.async, `experimental.module, `autoImplicit, `relaxedAutoImplicit, `backward.privateInPublic.warn,
     `maxHeartbeats, `synthInstance.maxHeartbeats].contains name

/-- Whether every constant of `e` resolves in `ctx` (its namespace and open declarations) as at the
root with nothing open. With `pp.fullNames` that is how these could change the way `e` prints: a
constant whose name means another one in `ctx` prints as `_root_.c` there. -/
def resolvesAsAtRoot (ctx : ContextInfo) (e : Expr) : Bool :=
  e.getUsedConstants.all fun c => [c, (privateToUserName? c).getD c].all fun n =>
    ResolveName.resolveGlobalName ctx.env ctx.options ctx.currNamespace ctx.openDecls n ==
      ResolveName.resolveGlobalName ctx.env {} .anonymous [] n

/-- The goal of a theorem of type `type` with `n` variables introduced (ntp-toolkit introduces
as many as the signature has binder groups), printed with the state's options; `none` when
they cannot be introduced. -/
def theoremGoal (type : Expr) (n : Nat) : MetaM (Option String) := do
  try
    let goal ← Meta.mkFreshExprMVar type
    let (_, g) ← goal.mvarId!.introNP n
    return some (← withOptions withStateOptions (Meta.ppGoal g)).pretty
  catch _ => return none

/-- Facts about a declared constant in the module's final environment: type (whole, its
binders, its body), signature, doc string, whether it is a proposition, the constants its
value uses, the namespace it was declared in, and whether its type or value holds a sorry
that Lean put in place of a part that failed to elaborate (`elabFailed`). -/
def constantDetails (tables : ModuleTables) (ctx : ContextInfo) (name : Name) : IO (List (String × Json)) := do
  let prof := tables.profile
  let env := ctx.env
  let some info := env.find? name <|> env.find? (mkPrivateName env name) | return []
  ctx.runMetaM {} do
    let (type, args, body, numArgs) ← prof.time .declarationTypes <| withOptions withStateOptions do
      let type := (← Meta.ppExpr info.type).pretty oneLine
      let (args, body) ← try signatureParts info.name catch _ => pure (#[], type)
      return (type, args, body, args.size)
    let doc ← findDocString? env info.name
    let isProp ← Meta.isProp info.type
    let used ← constantsJson tables.premises (info.value?.map (·.getUsedConstants) |>.getD #[])
    let elabFailed := info.type.hasSyntheticSorry || info.value?.any (·.hasSyntheticSorry)
    -- ntp-toolkit's row for a theorem's whole proof term: the goal after introducing as many
    -- variables as the signature has binder groups, and the value's theorems.
    let deps ← prof.time .dependents <| dependentsJson info
    -- The module's `constant` event of this constant lists its dependents and prints its type the
    -- same way, at the root with no options: where this context changes neither, it takes them.
    if ctx.options.entries.all (printingNeutral ·.1) then
      tables.dependents.modify (·.insert info.name deps)
      if resolvesAsAtRoot ctx info.type then
        tables.types.modify (·.insert info.name type)
    let termRow ← prof.time .termStates <| match info with
      | .thmInfo v => do
        let state ← theoremGoal v.type numArgs
        pure [("termState", toJson state), ("valueHammer", toJson (hammerTermNames env v.value))]
      | _ => pure []
    return [("type", toJson type), ("typeArgs", toJson args), ("typeBody", toJson body),
      ("constKind", toJson (constKindName env info)), ("doc", toJson doc), ("isProp", toJson isProp),
      ("constants", toJson used), ("dependents", toJson deps),
      ("scope", toJson ctx.currNamespace.toString), ("elabFailed", toJson elabFailed)] ++ termRow

/-- A declaration written in the source, found in a command's info trees. -/
structure DeclSite where
  ctx : ContextInfo
  /-- The `declaration` syntax (for a `mutual` block: the member's own). -/
  stx : Syntax
  /-- Its range in the parsed text: its own, or, when a macro wrote it, the macro call's. -/
  start : String.Pos.Raw
  stop : String.Pos.Raw
  /-- Where its value or proof begins (`:=`, `|`, `where`); `stop` when it has none. -/
  sigEnd : String.Pos.Raw

/-- The part of a declaration's body that holds its value or proof, if any. -/
def declVal? (body : Syntax) : Option Syntax :=
  body.getArgs.find? fun a => declValKinds.any a.isOfKind

/-- Whether a `declaration` syntax was written by the user: its keyword (`theorem`, `def`,
...) is in the source, or a macro (a project's `lemma` command) put a value or proof written
in the source into it. Declarations that commands such as `syntax`, `macro_rules` or
`deriving` make up are not. -/
def isWritten (decl : Syntax) : Bool :=
  isOriginal decl[1] || (declVal? decl[1]).any isOriginal

/-- The declarations of a command's info trees, however the command wraps them: every
`declaration` command node (inside `… in`, `#guard_msgs in`, macro expansions) and every
member of a `mutual` block, when written by the user (`isWritten`). A declaration node below
one already found is Lean's rewrite of it (`theorem A.b` is elaborated as `theorem b` inside
`namespace A`) and is skipped. `origin?` is the innermost command written in the source
around the node: the range of a declaration a macro made is the macro call's. -/
partial def collectDecls (ctx? : Option ContextInfo) (origin? : Option Syntax) (inDecl : Bool)
    (tree : InfoTree) (acc : Array DeclSite) : Array DeclSite :=
  match tree with
  | .context pci t => collectDecls (pci.mergeIntoOuter? ctx?) origin? inDecl t acc
  | .hole _ => acc
  | .node info children =>
    let stx? := match info with
      | .ofCommandInfo ci => some ci.stx
      | .ofMacroExpansionInfo mi => some mi.stx
      | _ => none
    let origin? := match stx? with
      | some stx => if (stx.getRange? (canonicalOnly := true)).isSome then some stx else origin?
      | none => origin?
    let members := match info, inDecl with
      | .ofCommandInfo ci, false =>
        if ci.stx.isOfKind ``Lean.Parser.Command.declaration then #[ci.stx]
        else if ci.stx.isOfKind ``Lean.Parser.Command.mutual then
          ci.stx[1].getArgs.filter (·.isOfKind ``Lean.Parser.Command.declaration)
        else #[]
      | _, _ => #[]
    let sites := match ctx? with
      | some ctx => members.filterMap fun d =>
        let range? := (d.getRange? (canonicalOnly := true)).orElse fun _ =>
          origin?.bind (·.getRange? (canonicalOnly := true))
        match isWritten d, range? with
        | true, some r =>
          let sigEnd := ((declVal? d[1]).bind (·.getPos?)).filter (fun p => r.start ≤ p && p ≤ r.stop)
          some { ctx, stx := d, start := r.start, stop := r.stop, sigEnd := sigEnd.getD r.stop }
        | _, _ => none
      | none => #[]
    let inDecl := inDecl || !sites.isEmpty
    children.foldl (init := acc ++ sites) fun acc c => collectDecls ctx? origin? inDecl c acc

/-- The constants that a command's info trees declare (term nodes marked as binders of a
constant), with the position of the syntax that declares them. -/
partial def collectBinders (tree : InfoTree) (acc : Array (String.Pos.Raw × Name)) :
    Array (String.Pos.Raw × Name) :=
  match tree with
  | .context _ t => collectBinders t acc
  | .hole _ => acc
  | .node info children =>
    let acc := match info with
      | .ofTermInfo ti =>
        match ti.isBinder, ti.expr, ti.stx.getPos? with
        | true, .const n _, some p => acc.push (p, n)
        | _, _, _ => acc
      | _ => acc
    children.foldl (init := acc) fun acc c => collectBinders c acc

/-- The constant a declaration declares, as the environment names it (private names
included): the one declared at its `declId`, or, for an anonymous instance, the one declared
in its statement (the name Lean made up, e.g. `instInhabitedBox`). An `example` has none. -/
def declaredConstant? (binders : Array (String.Pos.Raw × Name)) (site : DeclSite) : Option Name :=
  match site.stx[1].find? (·.isOfKind ``Lean.Parser.Command.declId) with
  | some declId => declId.getPos?.bind fun p => (binders.find? (·.1 == p)).map (·.2)
  | none =>
    if site.stx[1].isOfKind ``Lean.Parser.Command.instance then
      (binders.find? fun (p, _) => site.start ≤ p && p < site.sigEnd).map (·.2)
    else none

/-- Whether position `p` lies between `a` and `b` (inclusive). -/
def posWithin (p a b : Position) : Bool :=
  le (a.line, a.column) (p.line, p.column) && le (p.line, p.column) (b.line, b.column)
where
  le (x y : Nat × Nat) : Bool := x.1 < y.1 || (x.1 == y.1 && x.2 ≤ y.2)

/-- The JSON event of a declaration. `finalEnv` is the module's environment after its last
command. `hasError`: Lean reported an error inside the declaration (an error message of its
command lying in its range, or any when the command holds no other declaration), or a part
of it failed to elaborate (`elabFailed`: also when `#guard_msgs` caught the error). -/
def declarationEvent (tables : ModuleTables) (pos : Positions) (finalEnv : Environment) (binders : Array (String.Pos.Raw × Name))
    (errors : Array Position) (alone : Bool) (site : DeclSite) : IO Json := do
  let body := site.stx[1]
  let ctx := { site.ctx with env := finalEnv }
  let declared := declaredConstant? binders site
  let name := declared.map (fun n => (privateToUserName? n).getD n) |>.orElse fun _ =>
    (body.find? (·.isOfKind ``Lean.Parser.Command.declId)).map fun d => fullDeclName ctx d[0].getId
  let details ← match declared.orElse fun _ => name with
    | some n => constantDetails tables ctx n
    | none => pure []
  let startPos := pos.fileMap.toPosition site.start
  let stopPos := pos.fileMap.toPosition site.stop
  let reported := errors.any fun p => alone || posWithin p startPos stopPos
  let elabFailed := details.any fun (k, v) => k == "elabFailed" && v == toJson true
  return Json.mkObj <|
    [("kind", Json.str "declaration"), ("name", toJson (name.map toString)),
     ("declKind", toJson (declKindName body.getKind)), ("sigEnd", toJson (pos.srcMap.toFile site.sigEnd))] ++
    posFields pos.fileMap pos.srcMap "start" site.start ++ posFields pos.fileMap pos.srcMap "end" site.stop ++
    [("hasSorry", toJson (hasSorry site.stx)), ("hasError", toJson (reported || elabFailed))] ++ details

/-- What elaborating one command left: its info trees and its messages with their phase. -/
structure CommandOutput where
  trees : Array InfoTree
  msgs : Array (String × Message)
  /-- For a command the job said to skip: the skip, where the command starts and the name it
  declares (`""` when it declares none). -/
  skipped : Option (SkippedCommand × Position × String) := none

/-- The message event (phase `extract`) of an exception the extractor met while turning the
declaration or step at `p` into an event (e.g. "unknown metavariable" while printing a goal,
seen on a real library): that one event is lost, not the module. -/
def extractorErrorEvent (pos : Positions) (p : String.Pos.Raw) (what : String) (e : IO.Error) : Json :=
  let position := pos.fileMap.toPosition p
  Json.mkObj [("kind", Json.str "message"), ("severity", Json.str "error"), ("line", toJson position.line),
    ("column", toJson position.column), ("text", Json.str s!"ntp-datasets could not extract this {what}: {e}"),
    ("phase", Json.str "extract")]

/-- Events of one command: its declarations (however wrapped), then the tactic steps inside
them in source order, each with the declaration it lies in (the innermost). Steps outside
every declaration (e.g. in `#eval`) are left out. -/
def commandEvents (tables : ModuleTables) (pos : Positions) (finalEnv : Environment) (cmd : CommandOutput) :
    IO (Array Json) := do
  let prof := tables.profile
  let sites := cmd.trees.foldl (init := #[]) fun acc t => collectDecls none none false t acc
  let sites := sites.qsort fun a b => a.start < b.start
  let binders := cmd.trees.foldl (init := #[]) fun acc t => collectBinders t acc
  let errors := cmd.msgs.filterMap fun (_, m) => if m.severity == .error then some m.pos else none
  let mut events := #[]
  for site in sites do
    prof.add .declarations
    match ← (declarationEvent tables pos finalEnv binders errors (sites.size == 1) site).toBaseIO with
    | .ok ev => events := events.push ev
    | .error e => events := events.push (extractorErrorEvent pos site.start "declaration" e)
  let steps := cmd.trees.foldl (init := #[]) fun acc t => collectSteps finalEnv none t acc
  -- Source order; steps at one position (the tactic after `<;>`, run once per goal) keep
  -- the order Lean ran them in.
  let keyed := (steps.mapIdx fun i s => ((s.2.1.stx.getPos?.getD 0).byteIdx, i, s))
  let keyed := keyed.qsort fun a b => a.1 < b.1 || (a.1 == b.1 && a.2.1 < b.2.1)
  for (p, _, (c, ti, children)) in keyed do
    let inside := sites.filter fun s => s.start.byteIdx ≤ p && p < s.stop.byteIdx
    -- The innermost declaration: the one that starts last.
    let some site := inside.back? | continue
    let declStart := pos.srcMap.toFile site.start
    match ← (tacticEvent tables pos declStart (p < site.sigEnd.byteIdx) c ti children).toBaseIO with
    | .ok (some ev) => events := events.push ev
    | .ok none => pure ()
    | .error e => events := events.push (extractorErrorEvent pos ⟨p⟩ "step" e)
  return events

/-! ## Events of the whole module

Constants the module adds, where the constants its events mention live, imports, messages. -/

/-- Runs `x` on `env` alone (no file, default options). -/
def runMeta (env : Environment) (x : MetaM α) : IO α := do
  let (a, _) ← (x.run' {} {}).toIO { fileName := "<ntp-datasets>", fileMap := default, maxHeartbeats := 0 } { env }
  return a

/-- Line, column, end line and end column of where `n` is declared, when Lean recorded it. -/
def rangeFields (n : Name) : CoreM (List (String × Json)) := do
  let some r ← findDeclarationRanges? n | return []
  return [("line", toJson r.range.pos.line), ("column", toJson r.range.pos.column),
    ("endLine", toJson r.range.endPos.line), ("endColumn", toJson r.range.endPos.column)]

/-- Whether a constant is a candidate premise of the corpus: not an internal or auxiliary one
(`isReportable`), not an auxiliary lemma. -/
def isCorpusCandidate (env : Environment) (n : Name) : Bool :=
  isReportable env n && !isAuxLemma n

/-- One event per constant the module adds to the environment, the elaborator's own included
(recursors, `casesOn`, equation lemmas, instances, matchers, `_proof_N`), sorted by name;
auxiliary lemmas are left out (premise lists unfold them). Each has its user-facing name,
ntp-toolkit's kind, its type (one line), whether it is a proposition and a corpus candidate
(`isCorpusCandidate`), its `dependents` (`dependentsJson`) and where it is declared. -/
def constantEvents (tables : ModuleTables) (env : Environment) : IO (Array Json) := runMeta env do
  let prof := tables.profile
  let types ← tables.types.get
  let dependents ← tables.dependents.get
  let mut names := #[]
  for (n, _) in env.constants.map₂.toList do
    if !isAuxLemma n then names := names.push n
  (sortByText names).filterMapM fun n => do
    let some ci := env.find? n | return none
    prof.add .constants
    let isProp ← try Meta.isProp ci.type catch _ => pure false
    let deps ← prof.time .dependents <| match dependents[n]? with
      | some deps => pure deps
      | none => try dependentsJson ci catch _ => pure #[]
    let type ← prof.time .constantTypes <| match types[n]? with
      | some type => pure type
      | none => try pure ((← withOptions withStateOptions (Meta.ppExpr ci.type)).pretty oneLine) catch _ => pure ""
    return some <| Json.mkObj <| [("kind", Json.str "constant"),
      ("name", toJson ((privateToUserName? n).getD n).toString), ("private", toJson (isPrivateName n)),
      ("constKind", toJson (constKindName env ci)), ("type", toJson type), ("isProp", toJson isProp),
      ("candidate", toJson (isCorpusCandidate env n)), ("dependents", toJson deps)] ++ (← rangeFields n)

/-- Fields of events that list constants, as objects with a `name` or as plain names. -/
def nameListFields : List String :=
  ["dependents", "constants", "termConstants", "explicitConstants", "refs", "hammerSyntax", "hammerTerm", "valueHammer"]

/-- The constants the events mention as premises (`nameListFields`), each once. -/
def mentionedNames (events : Array Json) : Array String := Id.run do
  let mut seen : Std.HashSet String := {}
  let mut out := #[]
  for ev in events do
    for field in nameListFields do
      let items := match ev.getObjValD field with | .arr a => a | _ => #[]
      for item in items do
        let name := match item with
          | .str n => some n
          | obj => (obj.getObjValAs? String "name").toOption
        if let some n := name then
          if !seen.contains n then
            seen := seen.insert n
            out := out.push n
  return out

/-- Where every constant the events mention is declared: its module (`null`: this one) and,
when Lean recorded it, its line and column range. The name Lean stores is tried, then its
private form in this module. -/
def premiseSitesEvent (env : Environment) (events : Array Json) : IO Json := runMeta env do
  let mut sites := #[]
  for s in mentionedNames events do
    let n := s.toName
    let n := if env.contains n then n else mkPrivateName env n
    if !env.contains n then continue
    let module := (env.getModuleIdxFor? n).bind fun i => env.header.moduleNames[i.toNat]?
    sites := sites.push <| Json.mkObj <| [("name", toJson s), ("module", toJson (module.map toString))] ++
      (← rangeFields n)
  return Json.mkObj [("kind", Json.str "premiseSites"), ("sites", toJson sites)]

/-- The corpus line of constant `n` of module `module`: name (user-facing), ntp-toolkit's kind,
type (one line, ntp-toolkit's options), module and where it is declared, when Lean recorded it. -/
def corpusEntry (n : Name) (ci : ConstantInfo) (module : Option Name) : MetaM Json := do
  let env ← getEnv
  let type ← try pure ((← withOptions withStateOptions (Meta.ppExpr ci.type)).pretty oneLine) catch _ => pure ""
  return Json.mkObj <| [("name", toJson ((privateToUserName? n).getD n).toString),
    ("kind", toJson (constKindName env ci)), ("type", toJson type), ("module", toJson (module.map toString))] ++
    (← rangeFields n)

/-- The module's imports: the ones its header names (not the implicit `Init`), and every
module in its environment. -/
def importsEvent (header : Elab.HeaderSyntax) (env : Environment) : Json :=
  Json.mkObj [("kind", Json.str "imports"),
    ("direct", toJson ((header.imports (includeInit := false)).map (·.module.toString))),
    ("all", toJson (env.header.moduleNames.map toString))]

/-- The JSON event of a message. `phase`: `parse` (the parser's), `import` (the header's
imports) or `elab` (everything else). -/
def messageEvent (phase : String) (msg : Message) : IO Json := do
  let severity := match msg.severity with
    | .error => "error" | .warning => "warning" | .information => "information"
  return Json.mkObj [("kind", Json.str "message"), ("severity", Json.str severity), ("line", toJson msg.pos.line),
    ("column", toJson msg.pos.column), ("text", toJson (← msg.data.toString)), ("phase", Json.str phase)]

/-- Writes `lines` to `path` through a temporary file and a rename. -/
def writeLinesAtomically (path : System.FilePath) (lines : Array Json) : IO Unit := do
  let tmp := path.addExtension "tmp"
  if let some dir := path.parent then IO.FS.createDirAll dir
  IO.FS.writeFile tmp (lines.foldl (init := "") fun text l => text ++ l.compress ++ "\n")
  IO.FS.rename tmp path

/-! ## Elaborating commands

Command by command, keeping each command's info trees and messages; commands the job says to
skip (they killed an earlier process, or ran past the time limit) are parsed but not
elaborated, and each is announced on stdout before it runs so that ntp-datasets knows which
command a dying process was on. -/

/-- Tells ntp-datasets, on stdout, where the extractor is in the module it elaborates: an event
name and its fields (see `runModule`). -/
abbrev Announce := String → List (String × Json) → IO Unit

/-- The parser's context for the next command of `s`. -/
def parserContext (s : Frontend.State) : Parser.ParserModuleContext :=
  let cmdState := s.commandState
  let scope := cmdState.scopes.head!
  { env := cmdState.env, options := scope.opts, currNamespace := scope.currNamespace,
    openDecls := scope.openDecls }

/-- The parser's messages for the next command. Parsing is pure, so it can be run ahead of
`Frontend.processCommand`, whose message log does not reliably keep these. -/
def parseMessages (ctx : Frontend.Context) (s : Frontend.State) : Array Message :=
  let (_, _, parseMsgs) := Parser.parseCommand ctx.inputCtx (parserContext s) s.parserState {}
  parseMsgs.toArray

/-- The name a command declares, as its `declId` writes it under the current namespace (`""`
when it has none): how the `errors` row of a skipped command names its declaration. -/
def declaredName (s : Frontend.State) (cmd : Syntax) : String :=
  match cmd.find? (·.isOfKind ``Parser.Command.declId) with
  | some declId =>
    let id := declId[0].getId
    let n := if id.getRoot == `_root_ then id.replacePrefix `_root_ .anonymous
      else s.commandState.scopes.head!.currNamespace ++ id
    n.toString
  | none => ""

/-- Parses the next command of `s` without elaborating it (the job's `skip` names it): as
natively a failed command adds nothing, nothing of it enters the environment. Whether it was
the last command comes third. -/
def skipCommand (ctx : Frontend.Context) (s : Frontend.State) (skip : SkippedCommand) :
    Frontend.State × CommandOutput × Bool :=
  let (cmd, ps, _) := Parser.parseCommand ctx.inputCtx (parserContext s) s.parserState {}
  let startPos := ctx.inputCtx.fileMap.toPosition s.parserState.pos
  ({ s with parserState := ps, cmdPos := ps.pos, commands := s.commands.push cmd },
   { trees := #[], msgs := #[], skipped := some (skip, startPos, declaredName s cmd) }, Parser.isTerminalCommand cmd)

/-- Elaborates the remaining commands one by one, collecting each command's info trees and
messages (the elaborator clears both at the start of every command). Each message comes with
its phase (`parse` or `elab`); the parser's messages go with the command they cut short.
`announce` hears where each command starts before it is elaborated (a `command` event: byte
offset `pos` and `line` in the parsed text); a command whose offset is in `skip` is not
elaborated (`skipCommand`). -/
partial def processCommands (ctx : Frontend.Context) (skip : Array SkippedCommand) (announce : Announce)
    (s : Frontend.State) (done : Array CommandOutput) :
    IO (Frontend.State × Array CommandOutput) := do
  let start := s.parserState.pos
  if let some skipped := skip.find? (·.pos == start.byteIdx) then
    let (s, out, finished) := skipCommand ctx s skipped
    let done := done.push out
    return ← if finished then pure (s, done) else processCommands ctx skip announce s done
  announce "command" [("pos", toJson start.byteIdx), ("line", toJson (ctx.inputCtx.fileMap.toPosition start).line)]
  let parsed := parseMessages ctx s
  let (finished, s) ← (Frontend.processCommand.run ctx).run s
  let trees := s.commandState.infoState.trees.toArray
  let new := s.commandState.messages.toArray
  -- If the log holds the parser's messages after all, they come first: drop them there.
  let repeated := parsed.size ≤ new.size &&
    (parsed.zip (new.extract 0 parsed.size)).all fun (a, b) => a.pos == b.pos && a.severity == b.severity
  let elabMsgs := if repeated then new.extract parsed.size new.size else new
  let done := done.push { trees, msgs := parsed.map ("parse", ·) ++ elabMsgs.map ("elab", ·) }
  let s := { s with commandState.infoState.trees := {}, commandState.messages := {} }
  if finished then return (s, done) else processCommands ctx skip announce s done

/-! ## Toolchain hooks

Natively these do nothing. On the WebAssembly build ntp-datasets replaces each block between
`-- ntp-wasm-hook: NAME` and `-- ntp-wasm-hook-end` (see `program.py`); a test checks the
markers. -/

/-- What a toolchain-specific repair remembers within one process, per imported module part
(its name and the sizes of its arrays): the positions of the extension entries it had to add
for that part. -/
abbrev RepairMemo := IO.Ref (Std.HashMap (Name × Array Nat) (Array (Nat × Array Nat)))

-- ntp-wasm-hook: repairImportedEnv
/-- Toolchain-specific repair of a freshly imported environment, with the names of the imported
compiler declarations it entered into the current module's tables. The identity here;
ntp-datasets substitutes the WebAssembly compiler repair on that build. -/
def repairImportedEnv (memo : RepairMemo) (env : Environment) : IO (Environment × NameSet) := pure (env, {})
-- ntp-wasm-hook-end

-- ntp-wasm-hook: prepareImports
/-- Toolchain-specific preparation of the process's imports, run once before the first one.
Nothing here; ntp-datasets substitutes the WebAssembly build's (`loadImportedIRAtImport`). -/
def prepareImports : IO Unit := pure ()
-- ntp-wasm-hook-end

/-- `x` run on `env` alone (no file, default options), or `none` if it throws. -/
unsafe def runMetaOn (env : Environment) (x : MetaM α) : Option α :=
  match unsafeEIO (((withoutExporting x).run' {} {}).run' { fileName := "<export>", fileMap := default } { env }) with
  | .ok a => some a
  | .error _ => none

/-- Makes the exports of Lean's premise-selection extensions depend on the module being written
only. Lean computes them from process-wide caches filled on first use (`symbolFrequency`: the
module's own symbol frequencies; `sineQueNon`: triggers weighted by the imported frequencies),
meant for a process that writes one module. Here every later module would get the first one's
data, and those caches point into the first module's imports, whose memory is freed when it is
done: writing a later `.olean` read freed memory (the process died with "memory access out of
bounds"). `symbolFrequency` is computed afresh from each module's environment; `sineQueNon`,
whose computation only Lean's private cache can feed, exports nothing (project modules then
give no triggers to Lean's premise selection). -/
unsafe def isolateModuleExports : IO Unit :=
  persistentEnvExtensionsRef.modify fun exts => exts.map fun ext =>
    if ext.name == `symbolFrequency then
      { ext with exportEntriesFn := fun env _ _ =>
          #[unsafeCast ((runMetaOn env LibrarySuggestions.localSymbolFrequencyMap).getD {})] }
    else if ext.name == `sineQueNon then
      { ext with exportEntriesFn := fun _ _ _ => #[] }
    else ext

/-! ## Imports

What a module's header asks for, with the toolchain's own modules shared by every module of
the process on the WebAssembly build. -/

/-- `.olean` data of the toolchain's own modules (`Init`, `Std`, `Lean`, `Lake`) that the
modules of one process share, whatever their headers ask for (filled on the WebAssembly build:
see `importModulesOf`; natively unused). Its regions stay alive for the whole process; the other
regions of a module's imports are freed when it is done. -/
structure ToolchainData where
  /-- The directory of the toolchain's `.olean` files. -/
  libDir : System.FilePath
  parts : IO.Ref (Std.HashMap Name (Array (ModuleData × CompactedRegion)))
  ir : IO.Ref (Std.HashMap Name (Option (ModuleData × CompactedRegion)))
  regions : IO.Ref (Std.HashSet USize)

/-- What the modules of one process share (see `ToolchainData`). -/
structure SharedImports where
  toolchain : ToolchainData
  /-- The memory of `repairImportedEnv`, shared by every module of the process. -/
  repairMemo : RepairMemo
  /-- Regions never to free: those of every import that ran `initialize` declarations (see
  `importHeader`), and their size in bytes. -/
  pinned : IO.Ref (Std.HashSet USize × Nat)


/-- Bytes of pinned imports (see `SharedImports.pinned`) past which the process takes no more
modules, so that the WebAssembly build stays below its 2 GB memory cap: each import that runs
a project's initializers for the first time keeps its project modules' data. -/
def pinnedLimit : Nat := 600 * 1024 * 1024

/-- Empty shared data; the toolchain's directory is that of `Init`'s `.olean`. -/
def newSharedImports : IO SharedImports := do
  let libDir := ((← findOLean `Init).parent).getD "."
  let toolchain := { libDir, parts := ← IO.mkRef {}, ir := ← IO.mkRef {}, regions := ← IO.mkRef {} }
  return { toolchain, repairMemo := ← IO.mkRef {}, pinned := ← IO.mkRef ({}, 0) }

-- ntp-wasm-hook: importModulesOf
/-- Toolchain-specific import of what a header asks for: Lean's own `importModules`, at the
private level for an ordinary file (`privateRoot`), at the exported level for a `module` file.
On the WebAssembly build ntp-datasets substitutes one that reads the toolchain's modules once per
process into `data` (`WasmImports.lean`). -/
def importModulesOf (data : ToolchainData) (imports : Array Import) (privateRoot : Bool) (opts : Options) :
    IO Environment :=
  importModules imports opts (loadExts := true) (level := if privateRoot then .private else .exported)
-- ntp-wasm-hook-end

/-- Imports `imports` at the private level (see `importModulesOf`). -/
def importOrdinary (shared : SharedImports) (imports : Array Import) (opts : Options) : IO Environment :=
  importModulesOf shared.toolchain imports (privateRoot := true) opts

/-- Frees the memory regions of a finished module's imports, except the shared ones. `regions`
must come from an environment that nothing refers to any more. -/
def freeImportRegions (shared : SharedImports) (regions : Array CompactedRegion) : IO Unit := do
  let (pinned, _) ← shared.pinned.get
  let toolchain ← shared.toolchain.regions.get
  for r in regions do
    unless toolchain.contains (show USize from r) || pinned.contains (show USize from r) do
      unsafe r.free

/-- Imports what a module's header asks for, as Lean's header processing does (see
`importModulesOf`). Ordinary files are imported at the private level, which keeps the module
system off for them: their declarations stay public and the `.olean` written for them is an
ordinary one that later modules can import (Lean's own header processing on the WebAssembly
build would treat them as modules and store every declaration under a private name).

Imported `initialize` declarations run, as when Lean elaborates a file: attributes, extensions
and references that the project registers that way exist in its importing modules. Lean runs
a module's initializers once per process (the first time it is imported) and turns initializer
execution off after every import, hence the call before each one. What they registered keeps
referring to the environment they ran in, so the regions of that import are never freed. -/
def importHeader (shared : SharedImports) (header : Elab.HeaderSyntax) (opts : Options)
    (messages : MessageLog) (inputCtx : Parser.InputContext) : IO (Environment × MessageLog) := do
  let initialized := (← interpretedModInits.get).size
  unsafe enableInitializersExecution
  let (env, messages) ←
    try
      pure (← importModulesOf shared.toolchain header.imports (privateRoot := !header.isModule) opts, messages)
    catch e =>
      let pos := inputCtx.fileMap.toPosition header.startPos
      pure (← mkEmptyEnvironment, messages.add { fileName := inputCtx.fileName, data := toString e, pos })
  if (← interpretedModInits.get).size != initialized then
    let toolchain ← shared.toolchain.regions.get
    shared.pinned.modify fun pinned => env.header.regions.foldl (init := pinned) fun (set, bytes) region =>
      let r : USize := region
      if set.contains r || toolchain.contains r then (set, bytes)
      else (set.insert r, bytes + (CompactedRegion.size region).toNat)
  return (env, messages)

/-! ## Writing `.olean`s

The environment of each module, for the later modules of the project to import. -/

/-- `entries` with the entries of extension `name` replaced by `es`. -/
def replaceEntries (entries : Array (Name × Array EnvExtensionEntry)) (name : Name)
    (es : Array EnvExtensionEntry) : Array (Name × Array EnvExtensionEntry) :=
  entries.map fun (n, old) => if n == name then (n, es) else (n, old)

/-- `acc` and the declarations of `es[i:]` (compiler entries) not named in `imported`. Plain
recursion: the interpreter runs library loops with a frame per element. -/
def dropImportedDecls (imported : NameSet) (es : Array EnvExtensionEntry) (i : Nat)
    (acc : Array EnvExtensionEntry) : Array EnvExtensionEntry :=
  if h : i < es.size then
    let e := es[i]
    let name := unsafe (unsafeCast e : Compiler.LCNF.Decl).name
    dropImportedDecls imported es (i + 1) (if imported.contains name then acc else acc.push e)
  else acc

/-- `data` without the compiler declarations named in `imported`, which `repairImportedEnv`
entered into the module's tables: they are its imports', which every importer gets from those
modules themselves, and a module whose `.olean` carried them would offer another module's
declarations as its own (natively no `.olean` does). -/
def withoutImportedDecls (imported : NameSet) (data : ModuleData) : ModuleData :=
  if imported.isEmpty then data
  else
    let tables := [Compiler.LCNF.baseExt.name, Compiler.LCNF.monoExt.name]
    { data with entries := data.entries.map fun (n, es) =>
        if tables.contains n then (n, dropImportedDecls imported es 0 #[]) else (n, es) }

/-- Writes the `.olean` of `env` for the later modules of the project, without the imported
compiler declarations `imported` (see `withoutImportedDecls`). An ordinary file's is Lean's.
For a `module` file Lean keeps the code of its non-`meta` definitions and its non-`meta`
`initialize` declarations out of the `.olean` parts (they go to an `.ir` file), but this Lean
never finds what an `.ir` file holds, so an importer could neither run them (`#eval` of the
project's functions, initializers calling them: "Could not find native implementation of
external declaration") nor run its `initialize`s. Here every part carries the module's whole
IR and all of its `[init]` declarations, as an ordinary file's does. -/
def writeModuleWithCode (env : Environment) (imported : NameSet) (olean : System.FilePath) : IO Unit := do
  unless env.header.isModule do
    return ← saveModuleData olean env.mainModule (withoutImportedDecls imported (← mkModuleData env))
  let irName := IR.declMapExt.name
  let code := (IR.declMapExt.getEntries env).toArray.qsort (fun a b => Name.quickLt a.name b.name)
  let code : Array EnvExtensionEntry := unsafe unsafeCast code
  let priv ← mkModuleData env .private
  let inits := (priv.entries.find? (·.1 == regularInitAttr.ext.name)).map (·.2) |>.getD #[]
  let withCode (data : ModuleData) : ModuleData := withoutImportedDecls imported
    { data with entries := replaceEntries (replaceEntries data.entries irName code) regularInitAttr.ext.name inits }
  let part (level : OLeanLevel) : IO (System.FilePath × ModuleData) :=
    return (level.adjustFileName olean, withCode (← mkModuleData env level))
  saveModuleDataParts env.mainModule #[← part .exported, ← part .server, (OLeanLevel.private.adjustFileName olean, withCode priv)]

/-! ## Running modules

One module from its job to its events file, `.olean` and progress lines; `main`. -/

/-- Milliseconds spent in each phase of a module's extraction, for the progress line. -/
abbrev PhaseTimes := Array (String × Nat)

/-- Runs `act` and appends its duration under `phase`. -/
def timed (phase : String) (times : IO.Ref PhaseTimes) (act : IO α) : IO α := do
  let start ← IO.monoMsNow
  let a ← act
  times.modify (·.push (phase, (← IO.monoMsNow) - start))
  return a

/-- A module elaborated by `elaborate`. -/
structure Elaborated where
  events : Array Json
  /-- Where the events phase spent its time (`Profile.json`). -/
  profile : Json
  /-- The environment after its last command. -/
  env : Environment
  /-- The imported compiler declarations `repairImportedEnv` entered into `env`'s tables. -/
  repaired : NameSet
  hasErrors : Bool

/-- `opts` with the module's options (see `LeanOption`) set, once its imports have declared
theirs: a `weak.` option that no module declares is left out, as Lake's `weak.` prefix means. -/
def withModuleOptions (opts : Options) (options : Array LeanOption) : IO Options := do
  let declared ← getOptionDecls
  options.foldlM (init := opts) fun opts o => do
    let name := o.name.toName
    let (weak, name) := if name.getRoot == `weak then (true, name.replacePrefix `weak .anonymous) else (false, name)
    if weak && !declared.contains name then
      return opts
    match o.value with
    | .bool b => return opts.setBool name b
    | .str v => return opts.setString name v
    | .num n =>
      if n.exponent == 0 && n.mantissa ≥ 0 then return opts.setNat name n.mantissa.toNat
      else throw <| IO.userError s!"option {o.name}: {n} is not a natural number"
    | v => throw <| IO.userError s!"option {o.name}: {v.compress} is not a boolean, number or string"

/-- The event of a command the job said to skip (`SkippedCommand`): an error message at the
command's position, phase `skip`, with ntp-datasets' error kind and the declaration it names. -/
def skippedEvent (skip : SkippedCommand) (startPos : Position) (declName : String) : Json :=
  Json.mkObj [("kind", Json.str "message"), ("severity", Json.str "error"), ("line", toJson startPos.line),
    ("column", toJson startPos.column), ("text", Json.str skip.message), ("phase", Json.str "skip"),
    ("errorKind", Json.str skip.kind), ("declName", Json.str declName)]

/-- Elaborates one module, or returns the messages of its imports when they fail (nothing is
elaborated then: every command would fail). `announce` hears where each command starts before
it is elaborated (see `processCommands`), then `elaborated` when the last one is done. -/
def elaborate (shared : SharedImports) (job : ModuleJob) (opts : Options) (times : IO.Ref PhaseTimes)
    (announce : Announce) : IO (Except (Array Json) Elaborated) := do
  let some (input, srcMap) := SourceMap.ofBytes (← IO.FS.readBinFile job.file)
    | throw <| IO.userError s!"{job.file} is not UTF-8"
  let inputCtx := Parser.mkInputContext input job.file
  let (header, parserState, messages) ← Parser.parseHeader inputCtx
  let headerParsed := messages.toArray.size
  let mainModule := job.name.toName
  let (env, messages) ← timed "import" times <| importHeader shared header opts messages inputCtx
  let headerMsgs := messages.toArray
  let importMsgs := headerMsgs.extract headerParsed headerMsgs.size
  if importMsgs.any (·.severity == .error) then
    return .error (← importMsgs.mapM (messageEvent "import"))
  let (env, repaired) ← timed "repair" times <| repairImportedEnv shared.repairMemo (env.setMainModule mainModule)
  let opts ← withModuleOptions opts (job.options.getD #[])
  let commandState := { Command.mkState env {} opts with infoState.enabled := true }
  let (s, commands) ← timed "elaborate" times <| processCommands { inputCtx } (job.skip.getD #[]) announce
    { commandState, parserState, cmdPos := parserState.pos } #[]
  announce "elaborated" []
  let msgs := (headerMsgs.extract 0 headerParsed).map ("parse", ·) ++ importMsgs.map ("import", ·) ++
    commands.flatMap (·.msgs)
  let pos : Positions := { fileMap := inputCtx.fileMap, srcMap }
  let tables ← ModuleTables.new
  let prof := tables.profile
  timed "events" times do
    let mut events := #[importsEvent header env]
    for cmd in commands do
      events := events ++ (← commandEvents tables pos s.commandState.env cmd)
    events := events ++ (← constantEvents tables s.commandState.env)
    events := events.push (← prof.time .premiseSites <| premiseSitesEvent s.commandState.env events)
    for (phase, msg) in msgs do
      events := events.push (← messageEvent phase msg)
    for cmd in commands do
      if let some (skip, startPos, declName) := cmd.skipped then
        events := events.push (skippedEvent skip startPos declName)
    let hasErrors := msgs.any (·.2.severity == .error) || commands.any (·.skipped.isSome)
    return .ok { events, profile := ← prof.json, env := s.commandState.env, repaired, hasErrors }

/-- Writes the corpus of `job` (see `CorpusJob`), sorted by module and name. -/
def writeCorpus (shared : SharedImports) (job : CorpusJob) (opts : Options) : IO Unit := do
  let env ← importOrdinary shared (job.imports.map fun m => { module := m.toName }) opts
  let lines ← runMeta env do
    let mut found := #[]
    for (n, ci) in env.constants.map₁.toList do
      if isCorpusCandidate env n then
        let module := (env.getModuleIdxFor? n).bind fun i => env.header.moduleNames[i.toNat]?
        found := found.push ((module.map toString).getD "", n.toString, n, ci, module)
    let sorted := found.qsort fun a b => a.1 < b.1 || (a.1 == b.1 && a.2.1 < b.2.1)
    sorted.mapM fun (_, _, n, ci, module) => corpusEntry n ci module
  writeLinesAtomically job.out lines

/-- Prints one progress line `@@ntp TOKEN {...}` and flushes stdout. -/
def progress (token : String) (fields : List (String × Json)) : IO Unit := do
  IO.println s!"@@ntp {token} {(Json.mkObj fields).compress}"
  (← IO.getStdout).flush

/-- Elaborates one module, writes its events and, if asked, its `.olean`. Progress lines:
`start` before, then `done` (with the milliseconds of each phase) or, when its imports
failed, `failed` with `stage: "import"`. -/
def runModule (token : String) (shared : SharedImports) (job : ModuleJob) (opts : Options) : IO Unit := do
  progress token [("event", Json.str "start"), ("module", Json.str job.name)]
  let start ← IO.monoMsNow
  let times ← IO.mkRef #[]
  -- Where each command starts, so that ntp-datasets knows which one a dying process was on.
  let announce : Announce := fun event fields =>
    progress token ([("event", Json.str event), ("module", Json.str job.name)] ++ fields)
  match ← elaborate shared job opts times announce with
  | .error messages =>
    progress token [("event", Json.str "failed"), ("module", Json.str job.name), ("stage", Json.str "import"),
      ("error", Json.str "imports failed"), ("messages", toJson messages)]
  | .ok { events, profile, env, repaired, hasErrors } =>
    if let some olean := job.olean then
      if let some dir := (olean : System.FilePath).parent then IO.FS.createDirAll dir
      timed "olean" times <| writeModuleWithCode env repaired olean
    timed "write" times <| writeLinesAtomically job.out events
    -- Imported `.olean`s live in memory regions that are never freed otherwise: the process
    -- would reach the WebAssembly build's 2 GB cap after a few dozen modules.
    let regions := env.header.regions
    timed "free" times <| freeImportRegions shared regions
    let elapsed := (← IO.monoMsNow) - start
    let phases := Json.mkObj ((← times.get).toList.map fun (k, v) => (k, toJson v))
    progress token [("event", Json.str "done"), ("module", Json.str job.name), ("events", toJson events.size),
      ("hasErrors", toJson hasErrors), ("ms", toJson elapsed), ("phases", phases),
      ("profile", profile)]

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
    unsafe isolateModuleExports
    prepareImports
    let shared ← newSharedImports
    -- Start-up is over: ntp-datasets measures it (and shows it while the next Lean starts).
    progress job.token [("event", Json.str "ready")]
    let runOne (m : ModuleJob) : IO Unit := do
      try runModule job.token shared m opts
      catch e =>
        progress job.token [("event", Json.str "failed"), ("module", Json.str m.name), ("stage", Json.str "elab"),
          ("error", Json.str (toString e))]
    -- Memory that initializers pinned is never given back: past `pinnedLimit` the process
    -- stops after its module, and ntp-datasets starts a fresh one for the modules left.
    let pinnedFull : IO Bool := return (← shared.pinned.get).2 > pinnedLimit
    let mut full := false
    for m in job.modules do
      runOne m
      if ← pinnedFull then full := true; break
    -- A worker: further modules come one by one through its queue, so that Lean's start-up
    -- (and `Init`, read once) serves every module the scheduler hands it.
    if let some dir := job.queue then
      let mut n := 0
      while !full do
        runOne (← nextQueued dir n)
        n := n + 1
        full ← pinnedFull
    if let some corpus := job.corpus then
      try
        writeCorpus shared corpus opts
        progress job.token [("event", Json.str "corpus"), ("out", Json.str corpus.out)]
      catch e =>
        progress job.token [("event", Json.str "corpusFailed"), ("error", Json.str (toString e))]
  if let .error e ← IO.wait work then throw e
  progress job.token [("event", Json.str "finished")]
  return 0

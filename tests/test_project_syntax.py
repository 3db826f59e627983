"""A project's own metaprograms across its modules: module B uses the `macro`, `syntax` with
`macro_rules`, `elab` tactic, `notation`, syntax category, command macro and `initialize`d
attribute and reference that module A defines (on the WebAssembly Lean these failed while
importing A: `(interpreter) unknown declaration '…._closed_N'`). And errors that come from the
WebAssembly Lean's limits rather than from the project are `toolchain_limit` rows."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fixture_projects import register

from ntp_datasets import records
from ntp_datasets.extraction.scheduler import import_failure
from ntp_datasets.records.errors import message_kind

SYNTAX_FILES = {
    "Pkg/Syntax.lean": """import Lean
open Lean Elab Tactic Command

macro "lemma " d:declId sig:declSig val:declVal : command => `(theorem $d $sig $val)

macro "my_triv" : tactic => `(tactic| trivial)

syntax "my_rfl" : tactic
macro_rules | `(tactic| my_rfl) => `(tactic| rfl)

elab "my_exact " t:term : tactic => do
  evalTactic (← `(tactic| exact $t))

notation:65 a:65 " +++ " b:66 => a ++ b

declare_syntax_cat greeting
syntax "hello" : greeting
syntax "greet% " greeting : term
macro_rules | `(greet% hello) => `("hello")

initialize myTagAttr : TagAttribute ← registerTagAttribute `my_tag "a tag of the project"

initialize answer : IO.Ref Nat ← IO.mkRef 41

elab "#tagged" : command => do
  logInfo m!"tagged here: {(myTagAttr.ext.getState (← getEnv)).size}"

elab "#answer" : command => do
  logInfo m!"answer: {(← answer.get) + 1}"
""",
    "Pkg/Use.lean": """import Pkg.Syntax

lemma one_eq : 1 = 1 := rfl

theorem t_triv : True := by
  my_triv

theorem t_rfl (n : Nat) : n + 0 = n := by
  my_rfl

theorem t_exact (p : Prop) (hp : p) : p := by
  my_exact hp

theorem t_append : [1] +++ [2] = [1, 2] := rfl

theorem t_greet : greet% hello = "hello" := rfl

@[my_tag] theorem t_tagged : True := trivial

#tagged
#answer
""",
    # Imports `Pkg.Syntax` again in the same Lean process: its initializers ran already.
    "Pkg/Again.lean": """import Pkg.Use

@[my_tag] theorem t_again (n : Nat) : n + 0 = n := by
  my_rfl

@[my_tag] theorem t_again' : 2 = 2 := by my_rfl

#tagged
#answer
""",
}


register("syntax", SYNTAX_FILES)


@pytest.fixture(scope="module")
def syntax_outputs(extract_files):
    return extract_files("syntax", SYNTAX_FILES)


def _infos(output) -> list[str]:
    return [e["text"] for e in output.events if e["kind"] == "message" and e["severity"] == "information"]


def test_modules_using_the_projects_syntax_have_no_errors(syntax_outputs):
    assert list(syntax_outputs) == ["Pkg.Syntax", "Pkg.Use", "Pkg.Again"]
    for output in syntax_outputs.values():
        assert output.error is None
        assert list(records.error_records(output)) == []


def test_steps_written_with_the_projects_tactics(syntax_outputs):
    steps = [(r.declId, r.nextTactic, r.state, r.stateAfter) for r in records.tactic_records(syntax_outputs["Pkg.Use"])]
    assert steps == [
        ("Pkg.Use:t_triv", "my_triv", "⊢ True", ""),
        ("Pkg.Use:t_rfl", "my_rfl", "n : Nat\n⊢ n + (0 : Nat) = n", ""),
        ("Pkg.Use:t_exact", "my_exact hp", "p : Prop\nhp : p\n⊢ p", ""),
    ]
    again = [(r.declId, r.nextTactic) for r in records.tactic_records(syntax_outputs["Pkg.Again"])]
    assert again == [("Pkg.Again:t_again", "my_rfl"), ("Pkg.Again:t_again'", "my_rfl")]


def test_declarations_using_notation_and_syntax_category_keep_full_proofs(syntax_outputs):
    proofs = {r.declId: r.proof for r in records.full_proof_records(syntax_outputs["Pkg.Use"])}
    assert proofs["Pkg.Use:t_append"] == ":= rfl"
    assert proofs["Pkg.Use:t_greet"] == ":= rfl"
    assert proofs["Pkg.Use:t_tagged"] == ":= trivial"
    # `lemma` expands to a theorem: Lean knows it (no error above); whether it gets rows of
    # its own is the business of wrapped declarations.
    assert {"Pkg.Use:t_triv", "Pkg.Use:t_rfl", "Pkg.Use:t_exact"} <= set(proofs)


def test_initialize_runs_in_importers_once_per_process(syntax_outputs):
    # The attribute exists in both importers and counts each module's own tags; the reference
    # holds its initial value in both (initialized once, not reset by the second import).
    assert _infos(syntax_outputs["Pkg.Use"]) == ["tagged here: 1", "answer: 42"]
    assert _infos(syntax_outputs["Pkg.Again"]) == ["tagged here: 2", "answer: 42"]


LIMIT_FILES = {
    "Lim/Core.lean": """theorem before : 1 + 1 = 2 := rfl

example : (StateT.orElse (pure 1 : StateT Nat Option Nat) (fun _ => pure 2)) 0 = some (1, 0) := by
  simp [StateT.orElse]

theorem after (n : Nat) : n + 0 = n := by
  simp
""",
}


register("limits", LIMIT_FILES)


@pytest.fixture(scope="module")
def limit_outputs(extract_files, toolchain):
    if not toolchain.is_wasm:
        pytest.skip("a native Lean has the private data of its library: nothing is out of reach")
    return extract_files("limits", LIMIT_FILES)


def test_a_core_definition_out_of_reach_is_a_toolchain_limit(limit_outputs):
    output = limit_outputs["Lim.Core"]
    assert output.error is None
    errors = [(r.kind, r.line, r.message) for r in records.error_records(output)]
    assert errors == [
        ("toolchain_limit", 4, "Invalid simp theorem `StateT.orElse`: Expected a definition with an exposed body"),
        ("elaboration", 4, "`simp` made no progress"),
    ]
    steps = [(r.declId, r.nextTactic, r.stateAfter) for r in records.tactic_records(output)]
    assert steps[-1] == ("Lim.Core:after", "simp", "")
    assert {"Lim.Core:before", "Lim.Core:after"} <= {r.declId for r in records.full_proof_records(output)}


def test_message_kinds_tell_the_toolchain_from_the_project():
    hidden = ("Type mismatch\n  x\nNote: The following definitions were not unfolded because their definition is "
              "not exposed:\n  StateT.orElse ↦ 4")
    # An ordinary file sees every body natively: only this build hides core ones.
    assert message_kind("elab", hidden, "theorem t : True := trivial\n") == "toolchain_limit"
    # A `module` file: natively the same unless it imports the core module with `import all`.
    assert message_kind("elab", hidden, "module\n\npublic import Pkg.A\n") == "elaboration"
    assert message_kind("elab", hidden, "module\n\nimport all Init.Control.State\n") == "toolchain_limit"
    native = ("Could not find native implementation of external declaration 'Float.toRatParts' "
              "(symbols 'l_Float_toRatParts___boxed' or 'l_Float_toRatParts').")
    assert message_kind("elab", native, "module\n") == "toolchain_limit"
    # `bv_decide` alone (its SAT solver is another program; Aesop's `AesopTest.AuxDecl` uses it).
    assert message_kind("elab", "unsupported operation (error code: 52, function not implemented)",
                        "import Std.Tactic.BVDecide\n") == "toolchain_limit"
    assert message_kind("elab", "unknown identifier 'x'", "") == "elaboration"
    assert message_kind("parse", "unexpected token ')'", "") == "parse"
    # The extractor's own failure on one step (seen on Batteries.Data.Fin.Lemmas).
    assert message_kind("extract", "ntp-datasets could not extract this step: unknown metavariable '?_uniq.26439'",
                        "") == "extractor"


def test_an_import_that_exists_but_cannot_be_loaded_is_not_missing():
    project = SimpleNamespace(modules={"Pkg.Macros": None})
    module = SimpleNamespace(imports=("Pkg.Macros", "Lean"))

    def failure(text):
        return import_failure(module, project, set(), [{"text": text}])

    kind, message = failure("(interpreter) unknown declaration 'Pkg.command_Lemma___._closed_23'")
    assert kind == "toolchain_limit"
    assert "the interpreter found no code for `Pkg.command_Lemma___._closed_23`" in message
    assert "not a module of the project" not in message
    # Seen on Batteries' scripts, which import Lake.
    kind, message = failure("(interpreter) IR of declaration 'Lake.binder' not available; this may point to a "
                            "missing `meta` check in a metaprogram")
    assert kind == "toolchain_limit"
    assert "the interpreter found no code for `Lake.binder` (this build's `Lake` library carries none)" in message
    kind, message = failure("import Pkg.Macros failed, environment already contains 'foo' from Pkg.Other")
    assert (kind, message.splitlines()[0]) == ("import_failed", "not extracted: its imports exist but could not be loaded")
    module = SimpleNamespace(imports=("Pkg.Macros", "Nowhere.Lemmas"))
    kind, message = import_failure(module, project, set(), [{"text": "unknown module prefix 'Nowhere'\n\nNo directory "
                                                                      "'Nowhere' or file 'Nowhere.olean' in the search path"}])
    assert kind == "missing_import"
    assert "import Nowhere.Lemmas: not a module of the project nor of the toolchain's library" in message
    assert import_failure(module, project, {"Pkg.Macros"}, [])[0] == "dependency"

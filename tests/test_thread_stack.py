"""A command whose code folds over every imported constant through a loop generic in its monad.

Batteries' `#print prefix` does this (`Lean.getMatchingConstants`). This WebAssembly build's
compiler leaves the library's loop over the constant map's buckets unspecialized, and the
generic loop nests a few frames per bucket where a native Lean runs a plain loop: with Lean's
default 8 MB thread stack the interpreter's stack guard fired ("deep recursion was detected at
'interpreter'"), an exception nothing catches, and the Lean process died with the module
(`BatteriesTest.print_prefix`). `wasm_driver.js` gives Lean's threads 64 MB. Natively the
module elaborates as it does here."""

from fixture_projects import register

FILES = register("thread_stack", {
    "DeepFold/Count.lean": (
        "import Lean\n\n"
        "open Lean Meta\n\n"
        "theorem before_fold : 1 + 1 = 2 := rfl\n\n"
        "/-- The number of imported constants satisfying `p`, by a fold generic in its monad. -/\n"
        "def countImported {m} [Monad m] [MonadEnv m] (p : ConstantInfo → m Bool) : m Nat := do\n"
        "  (← getEnv).constants.map₁.foldM (init := 0) fun n _ c => do\n"
        "    return if ← p c then n + 1 else n\n\n"
        "#eval show MetaM Unit from do\n"
        "  let n ← countImported (m := MetaM) fun c => return c.name.getNumParts > 1\n"
        "  logInfo m!\"more than 100000: {decide (n > 100000)}\"\n\n"
        "theorem after_fold : 2 + 2 = 4 := rfl\n"
    ),
})


def test_a_fold_over_every_imported_constant_keeps_the_module(extract_files):
    output = extract_files("thread_stack", FILES)["DeepFold.Count"]
    assert (output.error_kind, output.error) == ("", None)
    assert [(e["name"], e["hasError"]) for e in output.events if e.get("kind") == "declaration"] == [
        ("before_fold", False), ("countImported", False), ("after_fold", False)]
    assert [(e["line"], e["severity"], e["text"]) for e in output.events if e.get("kind") == "message"] == [
        (12, "information", "more than 100000: true")]

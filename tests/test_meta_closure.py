"""A `meta` definition of a `module` file that calls a recursive function of an imported module.

Lean's `meta` inference (`Lean.IR.inferMeta`) follows every declaration that a `meta`
definition's code calls and that belongs to the module being compiled. On the WebAssembly
build the compiler repair once put every imported IR declaration where the compiler keeps the
current module's own, so the inference followed the imported recursive function into itself
without end and the Lean process died ("Maximum call stack size exceeded", whatever the
stack): `Batteries.CodeAction.Match` and its 4 importers were lost that way. Natively (and
now here) the imported function is not followed and the module elaborates."""

from fixture_projects import register

FILES = register("meta_closure", {
    "MetaRec/Count.lean": (
        "module\n\n"
        "/-- Counts down to zero, one call per step. -/\n"
        "public def countdown : Nat → Nat\n"
        "  | 0 => 0\n"
        "  | n + 1 => countdown n\n\n"
        "mutual\n"
        "/-- Whether a number is even, by mutual recursion. -/\n"
        "public def isEven : Nat → Bool\n"
        "  | 0 => true\n"
        "  | n + 1 => isOdd n\n"
        "/-- Whether a number is odd, by mutual recursion. -/\n"
        "public def isOdd : Nat → Bool\n"
        "  | 0 => false\n"
        "  | n + 1 => isEven n\n"
        "end\n"
    ),
    "MetaRec/Uses.lean": (
        "module\n\n"
        "public meta import MetaRec.Count\n\n"
        "public meta section\n\n"
        "theorem first_good : 1 + 1 = 2 := rfl\n\n"
        "/-- A `meta` definition calling the imported recursive functions. -/\n"
        "def useBoth (n : Nat) : Bool := isEven (countdown n)\n\n"
        "theorem second_good : 2 + 2 = 4 := rfl\n"
    ),
    "MetaRec/Later.lean": (
        "module\n\n"
        "public import MetaRec.Uses\n\n"
        "theorem third_good : 1 + 1 = 2 := first_good\n"
    ),
})


def _declarations(output) -> list[tuple[str, str, bool]]:
    return [(e["name"], e["declKind"], e["hasError"]) for e in output.events if e.get("kind") == "declaration"]


def test_a_meta_definition_calling_an_imported_recursive_function_elaborates(extract_files):
    outputs = extract_files("meta_closure", FILES)
    assert {name: (o.error_kind, o.error) for name, o in outputs.items()} == {
        "MetaRec.Count": ("", None), "MetaRec.Uses": ("", None), "MetaRec.Later": ("", None)}
    assert _declarations(outputs["MetaRec.Uses"]) == [
        ("first_good", "theorem", False), ("useBoth", "def", False), ("second_good", "theorem", False)]
    assert _declarations(outputs["MetaRec.Later"]) == [("third_good", "theorem", False)]
    assert [o.module for o in outputs.values() if o.has_errors] == []

"""Ordinary (non-`module`) Lean files that import each other, on whatever Lean runs the tests
(in CI: the WebAssembly build, whose own header processing would hide imported names)."""

from __future__ import annotations

import pytest
from fake_pool import recording_pool
from fixture_projects import register

from ntp_datasets import records
from ntp_datasets.extraction import Extractor
from ntp_datasets.toolchain import Toolchain

FILES = {
    "Geo/Point.lean": """namespace Geo

structure Point where
  x : Nat
  y : Nat

instance : Add Point := ⟨fun p q => ⟨p.x + q.x, p.y + q.y⟩⟩

def Point.origin : Point := ⟨0, 0⟩

theorem Point.add_x (p q : Point) : (p + q).x = p.x + q.x := rfl

end Geo
""",
    "Geo/Lemmas.lean": """import Geo.Point

namespace Geo

theorem Point.origin_add_x (p : Point) : (Point.origin + p).x = p.x := by
  rw [Point.add_x]
  simp [Point.origin]

end Geo
""",
    "Geo/Use.lean": """import Geo.Point
import Geo.Lemmas

open Geo

theorem use_both (p : Point) : (Point.origin + p).x = p.x := by
  rw [Point.origin_add_x]
""",
}


@pytest.fixture(scope="module")
def geo_outputs(extract_files):
    """The Geo modules and the Run modules (below), extracted together: one Lean process."""
    return extract_files("ordinary", {**FILES, **RUN_FILES})


def test_no_errors_across_ordinary_modules(geo_outputs):
    assert [m for m in geo_outputs if m.startswith("Geo.")] == ["Geo.Point", "Geo.Lemmas", "Geo.Use"]
    for output in geo_outputs.values():
        assert output.error is None
        assert list(records.error_records(output)) == []


def test_importers_see_def_theorem_instance_by_public_names(geo_outputs):
    lemmas = list(records.tactic_records(geo_outputs["Geo.Lemmas"]))
    assert [r.nextTactic for r in lemmas] == ["rw [Point.add_x]", "simp [Point.origin]"]
    # States print full names (ntp-toolkit's `pp.fullNames`): imported names resolved.
    assert lemmas[0].state == "p : Geo.Point\n⊢ (Geo.Point.origin + p).x = p.x"
    assert lemmas[0].stateAfter == "p : Geo.Point\n⊢ Geo.Point.origin.x + p.x = p.x"
    (use,) = records.tactic_records(geo_outputs["Geo.Use"])
    assert use.declId == "Geo.Use:use_both"
    assert use.stateAfter == ""
    names = {r.declId for r in records.full_proof_records(geo_outputs["Geo.Lemmas"])}
    assert names == {"Geo.Lemmas:Geo.Point.origin_add_x"}
    assert "_private" not in "".join(e.get("name") or "" for o in geo_outputs.values() for e in o.events)


def test_module_file_importing_an_ordinary_file_is_reported_before_extraction(tmp_path, monkeypatch):
    (tmp_path / "M").mkdir()
    (tmp_path / "M/Plain.lean").write_text("def plain : Nat := 1\n")
    (tmp_path / "M/Strict.lean").write_text("module\n\npublic import M.Plain\n\npublic def strict : Nat := plain\n")
    (tmp_path / "M/User.lean").write_text("import M.Strict\n")
    started = []
    # No Lean runs: the workers are scripted, and the check happens before them.
    toolchain = Toolchain(kind="native", version="unused", command=["lean"], location="lean")
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    extractor = Extractor(toolchain=toolchain, progress=False, start_pool=recording_pool(started))
    outputs = {o.module: o for o in extractor.extract_project(tmp_path)}
    assert "M/Strict.lean starts with `module` but imports ordinary (non-`module`) files M.Plain" in outputs["M.Strict"].error
    assert "imports M.Strict" in outputs["M.User"].error
    assert started == ["M.Plain"]


# Code of one module run by modules importing it: `Run.C` imports `Run.A` again after the
# memory of `Run.B`'s imports (which held `Run.A`) was freed, so whatever the extractor keeps
# about `Run.A` across modules must still be valid there.
RUN_FILES = {
    "Run/A.lean": """def Run.sumList (xs : List Nat) : Nat := xs.foldl (· + ·) 0

partial def Run.collatz (n : Nat) (steps : Nat := 0) : Nat :=
  if n ≤ 1 then steps
  else if n % 2 == 0 then Run.collatz (n / 2) (steps + 1) else Run.collatz (3 * n + 1) (steps + 1)

def Run.names : List String := ["a", "b"].map (· ++ "!")
""",
    "Run/B.lean": """import Run.A

def Run.twice (xs : List Nat) : Nat := 2 * Run.sumList xs

#eval Run.sumList [1, 2, 3]
""",
    "Run/C.lean": """import Run.A
import Run.B

#eval (Run.twice [4, 5], Run.collatz 27, Run.names)

def Run.c : Nat := Run.twice [1] + Run.collatz 6

#eval Run.c
""",
}

register("ordinary", {**FILES, **RUN_FILES})


def test_definitions_compile_and_run_in_the_modules_that_import_them(geo_outputs):
    outputs = geo_outputs

    def evaluated(module):
        output = outputs[module]
        assert output.error is None and list(records.error_records(output)) == []
        return [e["text"] for e in output.events if e.get("kind") == "message" and e["severity"] == "information"]

    assert evaluated("Run.B") == ["6"]
    assert evaluated("Run.C") == ['(18, 111, ["a!", "b!"])', "10"]


# A `module` file with a specialization and an inline function that uses it; a `module` file
# that imports it (its exported part); an ordinary file that imports the latter, hence the
# former's private part, after it in the same Lean process, and compiles and runs code that
# reuses the specialization.
SPEC_FILES = {
    "Spec/Lib.lean": """module

public section

namespace Spec

@[specialize] def applyTwice (f : Nat → Nat) (x : Nat) : Nat := f (f x)

def double (x : Nat) : Nat := x * 2

@[inline] def quad (x : Nat) : Nat := applyTwice double x

def quadPlusOne (x : Nat) : Nat := quad x + 1

end Spec
""",
    "Spec/Api.lean": """module

public import Spec.Lib

public def Spec.one : Nat := 1
""",
    "Spec/Use.lean": """import Spec.Api

def Spec.quadTwice (x : Nat) : Nat := Spec.quad (Spec.quad x)

#eval Spec.quadTwice 1
""",
}

register("specialized", SPEC_FILES)


def test_code_reusing_an_imported_specialization_compiles_whatever_imported_its_module_before(extract_files):
    """On the WebAssembly build the extractor re-enters imported compiler declarations, and
    remembers per imported module which ones: `Spec.Api` imports the exported part of
    `Spec.Lib`, `Spec.Use` its private part, whose entries differ. Remembered by module name
    alone, what was computed for the exported part left the specialization out of `Spec.Use`'s
    environment ("Unknown constant `Spec.applyTwice._at_.Spec.quadPlusOne.spec_0`"): rows that
    depended on which module the process had elaborated before."""
    outputs = extract_files("specialized", SPEC_FILES)
    assert list(outputs) == ["Spec.Lib", "Spec.Api", "Spec.Use"]
    use = outputs["Spec.Use"]
    assert list(records.error_records(use)) == []
    assert [e["text"] for e in use.events if e.get("kind") == "message" and e["severity"] == "information"] == ["16"]

"""Exact `premises`, `declarations`, `tactic_prediction_with_premises` and `premise_corpus` rows
of a small real fixture: a project lemma used by `rw`, by `simp [..]` and only inside a term, a
`def` by pattern matching, a structure and an instance."""

from __future__ import annotations

import pytest
from fixture_projects import register

import ntp_datasets
from ntp_datasets import records
from ntp_datasets.extraction import Extractor

FIXTURE = """\
namespace Fx

/-- Doubling, by pattern matching. -/
def dbl : Nat → Nat
  | 0 => 0
  | n + 1 => dbl n + 2

theorem dbl_eq (n : Nat) : dbl n = 2 * n := by
  induction n with
  | zero => rfl
  | succ k ih => rw [dbl, ih]; omega

theorem dbl_add (a b : Nat) : dbl (a + b) = dbl a + dbl b := by
  rw [dbl_eq, dbl_eq, dbl_eq]
  omega

theorem dbl_sum (a : Nat) : dbl a = a + a := by
  simp [dbl_eq, ← Nat.two_mul]

theorem dbl_two {α : Type u} [Inhabited α] (x : α) : dbl 2 = 4 := (dbl_eq 2).trans rfl

structure Pt where
  x : Nat
  y : Nat

instance : Inhabited Pt := ⟨⟨0, 0⟩⟩

end Fx
"""

# Where Fx.dbl_eq is declared (lines 8-11), as every dependent and premise use gives it.
DBL_EQ_SITE = {"module": "Fx.Basic", "file": "Fx/Basic.lean", "line": 8, "column": 0, "endLine": 11, "endColumn": 36}
# The WebAssembly toolchain's library `.olean`s carry no declaration ranges.
PRELUDE = {"module": "Init.Prelude", "file": "Init/Prelude.lean", "line": 0, "column": 0, "endLine": 0, "endColumn": 0}


register("premise_rows", {"Fx/Basic.lean": FIXTURE})


@pytest.fixture(scope="module")
def fixture_output(extract_files):
    return extract_files("premise_rows", {"Fx/Basic.lean": FIXTURE})["Fx.Basic"]


def _rows(kind, output):
    return [records.as_row(r) for r in records.records_of_kind(kind, output)]


def test_declarations_show_binders_as_written_and_ntp_toolkit_signatures(fixture_output):
    fields = ("kind", "keyword", "type", "typeArgs", "typeBody", "doc", "signature", "isHumanTheorem")
    rows = {r["name"]: tuple(r[f] for f in fields) for r in _rows("declarations", fixture_output)}
    assert rows == {
        "Fx.dbl": ("def", "def", "Nat → Nat", [], "Nat → Nat", "Doubling, by pattern matching. ",
                   "/-- Doubling, by pattern matching. -/\ndef Fx.dbl : Nat → Nat", False),
        "Fx.dbl_eq": ("theorem", "theorem", "∀ (n : Nat), Fx.dbl n = (2 : Nat) * n", ["(n : Nat)"],
                      "Fx.dbl n = (2 : Nat) * n", None, "theorem Fx.dbl_eq (n : Nat) : Fx.dbl n = (2 : Nat) * n", True),
        "Fx.dbl_add": ("theorem", "theorem", "∀ (a b : Nat), Fx.dbl (a + b) = Fx.dbl a + Fx.dbl b", ["(a b : Nat)"],
                       "Fx.dbl (a + b) = Fx.dbl a + Fx.dbl b", None,
                       "theorem Fx.dbl_add (a b : Nat) : Fx.dbl (a + b) = Fx.dbl a + Fx.dbl b", True),
        "Fx.dbl_sum": ("theorem", "theorem", "∀ (a : Nat), Fx.dbl a = a + a", ["(a : Nat)"], "Fx.dbl a = a + a", None,
                       "theorem Fx.dbl_sum (a : Nat) : Fx.dbl a = a + a", True),
        "Fx.dbl_two": ("theorem", "theorem", "∀ {α : Type u} [Inhabited α] (x : α), Fx.dbl (2 : Nat) = (4 : Nat)",
                       ["{α : Type u}", "[Inhabited α]", "(x : α)"], "Fx.dbl (2 : Nat) = (4 : Nat)", None,
                       "theorem Fx.dbl_two {α : Type u} [Inhabited α] (x : α) : Fx.dbl (2 : Nat) = (4 : Nat)", True),
        "Fx.Pt": ("structure", "structure", "Type", [], "Type", None, "structure Fx.Pt : Type", False),
        "Fx.instInhabitedPt": ("instance", "instance", "Inhabited Fx.Pt", [], "Inhabited Fx.Pt", None,
                               "instance Fx.instInhabitedPt : Inhabited Fx.Pt", False),
    }


def test_premises_have_a_row_per_constant_with_dependents_and_sites(fixture_output):
    rows = {r["name"]: r for r in _rows("premises", fixture_output)}
    written = {n for n, r in rows.items() if not r["isGenerated"]}
    assert written == {"Fx.dbl", "Fx.dbl_eq", "Fx.dbl_add", "Fx.dbl_sum", "Fx.dbl_two", "Fx.Pt", "Fx.instInhabitedPt"}
    # What the elaborator made: structure API, equation lemmas, matchers, omega's proofs.
    assert {"Fx.Pt.mk", "Fx.Pt.x", "Fx.Pt.rec", "Fx.Pt.casesOn", "Fx.Pt.mk.injEq", "Fx.dbl.eq_1", "Fx.dbl.eq_2",
            "Fx.dbl.match_1", "Fx.dbl_eq._proof_4"} <= set(rows)
    assert not [n for n in rows if "_auxLemma" in n or "._simp_" in n]  # auxiliary lemmas are unfolded, not rows
    assert (rows["Fx.Pt.x"]["kind"], rows["Fx.Pt.x"]["line"], rows["Fx.Pt.x"]["column"]) == ("def", 23, 2)
    assert rows["Fx.dbl.match_1.splitter"]["isPrivate"] and not rows["Fx.dbl"]["isPrivate"]

    two = rows["Fx.dbl_two"]
    assert {k: two[k] for k in ("declId", "kind", "isProp", "line", "column", "endLine", "endColumn")} == {
        "declId": "Fx.Basic:Fx.dbl_two", "kind": "theorem", "isProp": True,
        "line": 20, "column": 0, "endLine": 20, "endColumn": 86}
    # Used only inside a term: explicit where it is applied, implicit type arguments not.
    assert [(d["name"], d["explicit"], d["direct"]) for d in two["dependents"]] == [
        ("Eq", False, True), ("Eq.trans", True, True), ("Fx.dbl", False, True), ("Fx.dbl_eq", True, True),
        ("HMul.hMul", False, True), ("Inhabited", False, True), ("Nat", False, True), ("OfNat.ofNat", True, True),
        ("instHMul", False, True), ("instMulNat", False, True), ("instOfNatNat", False, True), ("rfl", True, True)]
    dependents = {d["name"]: d for d in two["dependents"]}
    assert dependents["Fx.dbl_eq"] == {"name": "Fx.dbl_eq", "explicit": True, "direct": True, **DBL_EQ_SITE}
    assert dependents["Eq.trans"] == {"name": "Eq.trans", "explicit": True, "direct": True, **PRELUDE}

    # `simp [dbl_eq, ← Nat.two_mul]`: the lemma simp made for `← Nat.two_mul` is unfolded, so
    # Nat.two_mul is a dependent that is not direct.
    by_sum = {d["name"]: d for d in rows["Fx.dbl_sum"]["dependents"]}
    assert (by_sum["Fx.dbl_eq"]["direct"], by_sum["Nat.two_mul"]["direct"]) == (True, False)
    assert by_sum["Nat.two_mul"]["file"] == "Init/Data/Nat/Basic.lean"
    # `rw [dbl_eq, …]`
    assert {d["name"]: d["explicit"] for d in rows["Fx.dbl_add"]["dependents"]}["Fx.dbl_eq"] is True


def test_tactic_rows_carry_hammer_recommendations_and_premise_spans(fixture_output, tmp_path, monkeypatch):
    # A blacklist of our own (ntp-toolkit's is not shipped): a name it holds is never recommended.
    (tmp_path / "blacklist.txt").write_text("Eq.trans\nEq.symm\nEq.mpr\ncongrArg\ncongrFun\ncongr\nid\nof_eq_true\neq_self\n")
    assert any("(Eq.trans, notInSimpAll)" in r["declHammerRecommendation"]
               for r in _rows("tactic_prediction_with_premises", fixture_output))
    monkeypatch.setenv("NTP_HAMMER_BLACKLIST", str(tmp_path / "blacklist.txt"))
    rows = _rows("tactic_prediction_with_premises", fixture_output)
    fields = ("declName", "nextTactic", "nextTacticHammerRecommendation", "annotatedTactic")
    by_add = [tuple(r[f] for f in fields) for r in rows if r["declName"] == "Fx.dbl_add"]
    assert by_add == [
        ("Fx.dbl_add", None, ["(Decidable.byContradiction, notInSimpAll)", "(Fx.dbl_add._proof_1, notInSimpAll)",
                              "(Fx.dbl_eq, notInSimpAll)"], ""),
        ("Fx.dbl_add", "rw [dbl_eq, dbl_eq, dbl_eq]", ["(Fx.dbl_eq, notInSimpAll)"],
         "rw [<a>dbl_eq</a>, <a>dbl_eq</a>, <a>dbl_eq</a>]"),
        ("Fx.dbl_add", "omega", ["(Decidable.byContradiction, notInSimpAll)", "(Fx.dbl_add._proof_1, notInSimpAll)"],
         "omega"),
    ]
    simp = next(r for r in rows if r["nextTactic"] == "simp [dbl_eq, ← Nat.two_mul]")
    assert simp["nextTacticHammerHints"][:2] == [{"name": "Fx.dbl_eq", "hint": "unmodified"},
                                                 {"name": "Nat.two_mul", "hint": "backwardOnly"}]
    assert simp["nextTacticPremiseUses"] == [
        {"name": "Fx.dbl_eq", "start": 6, "end": 12, **DBL_EQ_SITE},
        {"name": "Nat.two_mul", "start": 16, "end": 27, "module": "Init.Data.Nat.Basic",
         "file": "Init/Data/Nat/Basic.lean", "line": 0, "column": 0, "endLine": 0, "endColumn": 0}]
    assert simp["annotatedTactic"] == "simp [<a>dbl_eq</a>, ← <a>Nat.two_mul</a>]"
    # Used only inside a term: one row, the whole proof, with the goal after the binders.
    (two,) = [r for r in rows if r["declName"] == "Fx.dbl_two"]
    assert (two["nextTactic"], two["state"], two["nextTacticHammerRecommendation"], two["srcUpToTactic"][-10:]) == (
        None, "α : Type u\ninst✝ : Inhabited α\nx : α\n⊢ Fx.dbl (2 : Nat) = (4 : Nat)",
        ["(Fx.dbl_eq, notInSimpAll)"], ".trans rfl")
    # The blacklist: `Eq.trans` is in dbl_two's term (see the premises test) but not recommended.
    assert all("Eq.trans" not in rec for r in rows for rec in r["declHammerRecommendation"])
    assert not [r for r in rows if r["declName"] in ("Fx.dbl", "Fx.Pt", "Fx.instInhabitedPt")]


@pytest.mark.slow  # one Lean run that prints every constant of Init (33,613)
def test_premise_corpus_holds_the_project_and_its_library(tmp_path, toolchain):
    project = tmp_path / "tiny"
    (project / "Tiny").mkdir(parents=True)
    (project / "Tiny" / "Same.lean").write_text("prelude\nimport Init.Prelude\n\n"
                                                "/-- Reflexivity. -/\ntheorem Tiny.same (n : Nat) : Eq n n := rfl\n")
    extractor = Extractor(toolchain=toolchain, progress=False)
    rows = ntp_datasets.load_dataset("premise_corpus", project=str(project), cache_dir=str(tmp_path / "cache"),
                                     extractor=extractor, progress=False)["train"].to_list()
    by_name = {r["name"]: r for r in rows}
    assert by_name["Tiny.same"] == {
        "name": "Tiny.same", "kind": "theorem", "type": "∀ (n : Nat), Eq n n", "module": "Tiny.Same",
        "file": "Tiny/Same.lean", "line": 4, "column": 0, "endLine": 5, "endColumn": 43,
        "src": "/-- Reflexivity. -/\ntheorem Tiny.same (n : Nat) : Eq n n := rfl", "project": "tiny", "package": ""}
    assert by_name["Nat.succ"] == {"name": "Nat.succ", "kind": "def", "type": "Nat → Nat", "module": "Init.Prelude",
                                   "file": "Init/Prelude.lean", "line": 0, "column": 0, "endLine": 0, "endColumn": 0,
                                   "src": "", "project": "tiny", "package": ""}
    assert {r["module"] for r in rows} == {"Tiny.Same", "Init.Prelude"}
    assert len(rows) == len(by_name) == 1 + len(extractor.library_corpus(["Init.Prelude"]))
    assert not [n for n in by_name if any(part.startswith("_") for part in n.split("."))]  # no internal names

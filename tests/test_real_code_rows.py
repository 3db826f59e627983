"""Rows of real Lean code, extracted once: declarations however they are wrapped, the exact text
of CRLF and byte-order-mark files, which tactics are rows (as in ntp-toolkit), declarations
with errors, and ntp-toolkit's rendering of proof states."""

from __future__ import annotations

import pytest
from fixture_projects import register

from ntp_datasets import records
from ntp_datasets.rows import prompting

WRAPPED = """\
namespace Real

open Nat in
theorem open_in (n : Nat) : n + 0 = n := by
  simp

set_option maxHeartbeats 400000 in
theorem set_option_in (a b : Nat) : a + b = b + a := by
  omega

#guard_msgs in
theorem guarded : True := by
  trivial

#guard_msgs (drop error) in
theorem guarded_bad : 1 = 2 := by
  decide

mutual
theorem even_two : 2 % 2 = 0 := by
  decide
theorem odd_three : 3 % 2 = 1 := by
  decide
end

syntax (name := lemmaCmd) declModifiers "lemma " declId declSig declVal : command
macro_rules
  | `($mods:declModifiers lemma $id:declId $sig:declSig $val:declVal) =>
    `($mods:declModifiers theorem $id $sig $val)

/-- A lemma. -/
@[simp] lemma via_macro (n : Nat) : n * 1 = n := by
  simp

private theorem priv (n : Nat) : 0 + n = n := by
  simp

structure Box where
  val : Nat

protected theorem Box.val_mk (n : Nat) : (Box.mk n).val = n := by
  rfl

instance : Inhabited Box where
  default := ⟨by exact 0⟩

instance : Add Box := ⟨fun a b => ⟨a.val + b.val⟩⟩

def sumTo : Nat → Nat
  | 0 => 0
  | n + 1 => (n + 1) + sumTo n
termination_by n => n
decreasing_by omega

theorem stmt (n : Nat) (h : n = 1) : (⟨n, by omega⟩ : Fin 2).val = 1 := by
  simp [h]

end Real
"""

TACTICS = """\
theorem semis (p q : Prop) (hp : p) (hq : q) : p ∧ q ∧ p := by
  constructor; exact hp; constructor
  · exact hq
  · exact hp

theorem comb (a b : Nat) (h : a = b) : a + 0 = b ∧ b = a := by
  constructor <;> simp [h]

theorem conv_block (a b : Nat) : a + b = b + a := by
  conv => lhs; rw [Nat.add_comm]

theorem calc_proof (a b c : Nat) (h₁ : a = b) (h₂ : b = c) : a = c := by
  calc a = b := by rw [h₁]
    _ = c := h₂

theorem term_mode (p q : Prop) (hp : p) (hq : q) : p ∧ q := ⟨by exact hp, (fun h => by exact h) hq⟩

theorem bracketed (p : Prop) (hp : p) : p ∧ p := by
  constructor
  { exact hp }
  (exact hp)
"""

FAILED = """\
theorem good_before : 1 + 1 = 2 := by
  decide

theorem failed (n : Nat) : n + 1 = n := by
  omega

theorem good_after : 2 + 2 = 4 := by
  decide
"""

# A byte-order mark, and an import (which must still be seen before the module is ordered).
BOM = "\ufeffimport Real.Failed\n\ntheorem bom_thm : 1 + 1 = 2 := by\n  decide\n"

CRLF = (
    "import Real.Bom\r\n\r\n/-- Lines end in CRLF; ℕ is 3 bytes. -/\r\n"
    "theorem crlf_thm (n : Nat) (h : n = 1) : n + 1 = 2 := by\r\n  subst h\r\n  omega\r\n\r\n"
    "theorem crlf_two : 2 = 2 := by rfl\r\n"
)

FILES = {"Real/Wrapped.lean": WRAPPED, "Real/Tactics.lean": TACTICS, "Real/Failed.lean": FAILED,
         "Real/Bom.lean": BOM, "Real/Crlf.lean": CRLF}


register("real_code", FILES)


@pytest.fixture(scope="module")
def outputs(extract_files):
    return extract_files("real_code", FILES)


def _steps(output) -> dict[str, list[str]]:
    """declId (without the module) -> the nextTactic of each of its rows, in order."""
    steps: dict[str, list[str]] = {}
    for r in records.tactic_records(output):
        steps.setdefault(r.declId.split(":", 1)[1], []).append(r.nextTactic)
    return steps


def _rows(output, name):
    return [r for r in records.tactic_records(output) if r.declId.split(":", 1)[1] == name]


def test_modules_elaborate_in_import_order_with_only_the_intended_error(outputs):
    assert list(outputs) == ["Real.Failed", "Real.Bom", "Real.Crlf", "Real.Tactics", "Real.Wrapped"]
    errors = [(e.module, e.line, e.declaration) for o in outputs.values() for e in records.error_records(o)]
    assert errors == [("Real.Failed", 5, "Real.Failed:failed")]


def test_every_wrapped_declaration_has_its_rows(outputs):
    wrapped = outputs["Real.Wrapped"]
    assert _steps(wrapped) == {
        "Real.open_in": ["simp"],
        "Real.set_option_in": ["omega"],
        "Real.guarded": ["trivial"],
        "Real.guarded_bad": ["decide"],
        "Real.even_two": ["decide"],
        "Real.odd_three": ["decide"],
        "Real.via_macro": ["simp"],
        "Real.priv": ["simp"],
        "Real.Box.val_mk": ["rfl"],
        "Real.instInhabitedBox": ["exact 0"],
        "Real.sumTo": ["omega"],
        "Real.stmt": ["omega", "simp [h]"],
    }
    assert [r.declId for r in records.full_proof_records(wrapped)] == [
        f"Real.Wrapped:Real.{name}" for name in (
            "open_in", "set_option_in", "guarded", "guarded_bad", "even_two", "odd_three", "via_macro", "priv",
            "Box.val_mk", "instInhabitedBox", "instAddBox", "sumTo", "stmt")]
    kinds = {r.name: r.kind for r in records.declaration_records(wrapped)}
    assert kinds["Real.instInhabitedBox"] == kinds["Real.instAddBox"] == "instance"
    assert kinds["Real.Box"] == "structure" and kinds["Real.via_macro"] == "theorem"


def test_decl_and_context_are_the_declarations_own_text(outputs):
    proofs = {r.declId.split(":", 1)[1]: r for r in records.full_proof_records(outputs["Real.Wrapped"])}
    assert proofs["Real.open_in"].decl == "theorem open_in (n : Nat) : n + 0 = n"
    assert proofs["Real.open_in"].srcUpToDecl == "namespace Real\n\nopen Nat in\n"
    assert proofs["Real.set_option_in"].srcUpToDecl.endswith("\nset_option maxHeartbeats 400000 in\n")
    assert proofs["Real.guarded"].srcUpToDecl.endswith("\n\n#guard_msgs in\n")
    assert proofs["Real.odd_three"].decl == "theorem odd_three : 3 % 2 = 1"
    assert proofs["Real.odd_three"].srcUpToDecl.endswith("mutual\ntheorem even_two : 2 % 2 = 0 := by\n  decide\n")
    assert proofs["Real.odd_three"].proof == ":= by\n  decide"
    # A macro's declaration spans the macro call, doc comment and attributes included.
    assert proofs["Real.via_macro"].decl == "/-- A lemma. -/\n@[simp] lemma via_macro (n : Nat) : n * 1 = n"
    assert proofs["Real.priv"].decl == "private theorem priv (n : Nat) : 0 + n = n"
    assert proofs["Real.Box.val_mk"].decl == "protected theorem Box.val_mk (n : Nat) : (Box.mk n).val = n"
    assert (proofs["Real.instInhabitedBox"].decl, proofs["Real.instInhabitedBox"].proof) == (
        "instance : Inhabited Box", "where\n  default := ⟨by exact 0⟩")
    assert proofs["Real.instAddBox"].proof == ":= ⟨fun a b => ⟨a.val + b.val⟩⟩"
    assert proofs["Real.sumTo"].proof == (
        "| 0 => 0\n  | n + 1 => (n + 1) + sumTo n\ntermination_by n => n\ndecreasing_by omega")
    (odd,) = _rows(outputs["Real.Wrapped"], "Real.odd_three")
    assert odd.declUpToTactic == "theorem odd_three : 3 % 2 = 1 := by\n  "
    assert odd.decl == "theorem odd_three : 3 % 2 = 1"


def test_a_tactic_in_the_statement_is_marked_and_left_out_of_prompts(outputs):
    omega, simp = _rows(outputs["Real.Wrapped"], "Real.stmt")
    assert (omega.nextTactic, omega.inStatement, simp.inStatement) == ("omega", True, False)
    assert omega.state == "n : Nat\nh : n = (1 : Nat)\n⊢ n < (2 : Nat)"
    assert simp.state == "n : Nat\nh : n = (1 : Nat)\n⊢ (↑⟨n, ⋯⟩ : Nat) = (1 : Nat)"
    rows, dropped = prompting.instruction_rows("state_tactic", [omega, simp])
    assert (dropped, [r["target"] for r in rows]) == (1, ["simp [h]"])


def test_rows_are_tactics_as_ntp_toolkit_chooses_them(outputs):
    # No row for the `;` separator, a bullet, `t <;> s`, `{ … }`, `( … )` or a calc step list;
    # `s` of `t <;> s` is a row per goal it runs on; conv steps are rows.
    assert _steps(outputs["Real.Tactics"]) == {
        "semis": ["constructor", "exact hp", "constructor", "exact hq", "exact hp"],
        "comb": ["constructor", "simp [h]", "simp [h]"],
        "conv_block": ["conv => lhs; rw [Nat.add_comm]", "lhs", "rw [Nat.add_comm]"],
        "calc_proof": ["calc a = b := by rw [h₁]\n    _ = c := h₂", "rw [h₁]"],
        "term_mode": ["exact hp", "exact h"],
        "bracketed": ["constructor", "exact hp", "exact hp"],
    }


def test_states_are_rendered_as_ntp_toolkit_renders_them(outputs):
    tactics = outputs["Real.Tactics"]
    semis = _rows(tactics, "semis")
    hyps = "p q : Prop\nhp : p\nhq : q\n"
    assert [r.state for r in semis] == [
        hyps + "⊢ p ∧ q ∧ p",
        f"case left\n{hyps}⊢ p\ncase right\n{hyps}⊢ q ∧ p",
        f"case right\n{hyps}⊢ q ∧ p",
        f"case right.left\n{hyps}⊢ q",
        f"case right.right\n{hyps}⊢ p",
    ]
    assert semis[2].goalsAfter == [f"case right.left\n{hyps}⊢ q", f"case right.right\n{hyps}⊢ p"]
    assert semis[2].stateAfter == "\n".join(semis[2].goalsAfter)
    assert (semis[-1].stateAfter, semis[-1].goalsAfter) == ("", [])
    comb = _rows(tactics, "comb")
    assert [r.state for r in comb] == [
        "a b : Nat\nh : a = b\n⊢ a + (0 : Nat) = b ∧ b = a",
        "case left\na b : Nat\nh : a = b\n⊢ a + (0 : Nat) = b",
        "case right\na b : Nat\nh : a = b\n⊢ b = a",
    ]
    conv = _rows(tactics, "conv_block")
    assert [(r.state, r.stateAfter) for r in conv] == [
        ("a b : Nat\n⊢ a + b = b + a", ""),
        ("a b : Nat\n| a + b = b + a", "a b : Nat\n| a + b"),
        ("a b : Nat\n| a + b", "a b : Nat\n| b + a"),
    ]
    assert [r.state for r in _rows(tactics, "calc_proof")] == [
        "a b c : Nat\nh₁ : a = b\nh₂ : b = c\n⊢ a = c", "a b c : Nat\nh₁ : a = b\nh₂ : b = c\n⊢ a = b"]
    assert [r.state for r in _rows(tactics, "term_mode")] == [hyps + "⊢ p", "p q : Prop\nhp : p\nhq h : q\n⊢ q"]
    (val_mk,) = _rows(outputs["Real.Wrapped"], "Real.Box.val_mk")
    assert val_mk.state == "n : Nat\n⊢ { val := n }.val = n"


def test_a_failed_proof_is_flagged_between_two_good_ones(outputs):
    failed = outputs["Real.Failed"]
    assert [(r.nextTactic, r.hasError) for r in records.tactic_records(failed)] == [
        ("decide", False), ("omega", True), ("decide", False)]
    proofs = list(records.full_proof_records(failed))
    assert [(r.declId, r.hasError) for r in proofs] == [
        ("Real.Failed:good_before", False), ("Real.Failed:failed", True), ("Real.Failed:good_after", False)]
    rows, dropped = prompting.instruction_rows("full_proof", proofs)
    assert (dropped, [r["declId"] for r in rows]) == (1, ["Real.Failed:good_before", "Real.Failed:good_after"])
    rows, dropped = prompting.instruction_rows("full_proof", proofs, keep_error_rows=True)
    assert (dropped, len(rows)) == (0, 3)
    # `#guard_msgs` swallowed the error message; the proof still failed.
    (guarded_bad,) = _rows(outputs["Real.Wrapped"], "Real.guarded_bad")
    assert guarded_bad.hasError and not _rows(outputs["Real.Wrapped"], "Real.guarded")[0].hasError


def test_crlf_file_text_is_sliced_exactly(outputs):
    crlf = outputs["Real.Crlf"]
    subst, omega, rfl = records.tactic_records(crlf)
    assert [r.nextTactic for r in (subst, omega, rfl)] == ["subst h", "omega", "rfl"]
    assert omega.srcUpToTactic == CRLF[: CRLF.index("omega")]
    assert omega.declUpToTactic == CRLF[CRLF.index("/--"): CRLF.index("omega")]
    assert (omega.line, omega.column) == (6, 2)
    assert subst.state == "n : Nat\nh : n = (1 : Nat)\n⊢ n + (1 : Nat) = (2 : Nat)"
    assert omega.state == "⊢ (1 : Nat) + (1 : Nat) = (2 : Nat)"
    first, second = records.full_proof_records(crlf)
    assert first.decl == "/-- Lines end in CRLF; ℕ is 3 bytes. -/\r\ntheorem crlf_thm (n : Nat) (h : n = 1) : n + 1 = 2"
    assert first.proof == ":= by\r\n  subst h\r\n  omega"
    assert (second.srcUpToDecl, second.proof) == (CRLF[: CRLF.index("theorem crlf_two")], ":= by rfl")
    (comments,) = records.state_comments_records(crlf)
    assert "  subst h\r\n  /- ⊢ (1 : Nat) + (1 : Nat) = (2 : Nat) -/\r\n  omega\r\n  /- no goals -/\r\n" in comments.text


def test_bom_file_parses_and_its_text_starts_after_the_mark(outputs):
    bom = outputs["Real.Bom"]
    (row,) = records.tactic_records(bom)
    assert (row.nextTactic, row.line, row.column) == ("decide", 4, 2)
    assert row.srcUpToTactic == "import Real.Failed\n\ntheorem bom_thm : 1 + 1 = 2 := by\n  "
    (proof,) = records.full_proof_records(bom)
    assert (proof.srcUpToDecl, proof.decl) == ("import Real.Failed\n\n", "theorem bom_thm : 1 + 1 = 2")
    (comments,) = records.state_comments_records(bom)
    assert comments.text.startswith("import Real.Failed\n")


def test_state_comments_follow_tactics_that_end_a_line(outputs):
    (comments,) = records.state_comments_records(outputs["Real.Tactics"])
    # `constructor` and `exact hp` end mid-line: the line's last step shows the state after it.
    assert "  constructor; exact hp; constructor\n                         /- case right.left\n" in comments.text
    # The runs of `simp [h]` on both goals share one comment.
    assert "  constructor <;> simp [h]\n                  /- no goals -/\n\n" in comments.text
    # Steps ending at one place: innermost first.
    assert "rw [Nat.add_comm]\n               /- a b : Nat\n                  | b + a -/\n  /- no goals -/" in comments.text

"""Tactic steps that failed: their after-state is null with the error beside it, rows holding
them are flagged, prompt configs leave them out. Real Lean on a small fixture (the state Lean's
error recovery leaves is what this is about), and hand-made events for the rule itself."""

from __future__ import annotations

import pytest
from fixture_projects import register
from sample_module import SOURCE, byte_end, byte_offset, line_column, sample_module_output, tactic

import ntp_datasets
from ntp_datasets.records import records_of_kind
from ntp_datasets.records.tactics import failed_steps

STEPS = """\
theorem second_fails (a b : Nat) (h : a = b) : b = a := by
  subst h
  exact Nat.lt_irrefl a
  rfl

theorem bullets (p q : Prop) (hp : p) (hq : q) : p ∧ q := by
  constructor
  · exact hq
  · exact hq

theorem nested (n : Nat) : n + 0 = n := by
  have h : n = n := by exact rfl 0
  simp

theorem gap (n : Nat) : n = n := by
  sorry
"""
FILES = register("failed_steps", {"Failing/Steps.lean": STEPS})
MISMATCH = "Type mismatch\n  Nat.lt_irrefl a\nhas type\n  ¬a < a\nbut is expected to have type\n  a = a"


@pytest.fixture(scope="module")
def steps_output(extract_files):
    return extract_files("failed_steps", FILES)["Failing.Steps"]


def test_a_failed_step_has_no_state_after_and_carries_its_error(steps_output):
    rows = [r for r in records_of_kind("tactic_prediction", steps_output)]
    second = [(r.nextTactic, r.stateAfter, r.goalsAfter, r.tacticError) for r in rows
              if r.declId == "Failing.Steps:second_fails"]
    # Lean ran no tactic after the one that threw: `rfl` is no step.
    assert second == [("subst h", "a : Nat\n⊢ a = a", ["a : Nat\n⊢ a = a"], None),
                      ("exact Nat.lt_irrefl a", None, None, MISMATCH)]
    bullets = [(r.line, r.stateAfter, r.tacticError is None) for r in rows if r.declId == "Failing.Steps:bullets"]
    # The first bullet fails alone; the second still runs.
    assert bullets == [(7, "case left\np q : Prop\nhp : p\nhq : q\n⊢ p\ncase right\np q : Prop\nhp : p\nhq : q\n⊢ q", True),
                       (8, None, False), (9, "", True)]
    nested = [(r.nextTactic, r.stateAfter) for r in rows if r.declId == "Failing.Steps:nested"]
    # The error lies in the inner `exact`, not in the `have` holding it.
    assert nested == [("have h : n = n := by exact rfl 0", "n : Nat\nh : n = n\n⊢ n + (0 : Nat) = n"),
                      ("exact rfl 0", None), ("simp", "")]
    assert all(r.hasError for r in rows if r.declId != "Failing.Steps:gap")
    with_premises = [r for r in records_of_kind("tactic_prediction_with_premises", steps_output)
                     if r.nextTactic == "exact Nat.lt_irrefl a"]
    assert [(r.stateAfter, r.goalsAfter, r.tacticError) for r in with_premises] == [(None, None, MISMATCH)]


def test_state_comments_say_nothing_after_a_failed_step_and_flag_the_module(steps_output):
    (row,) = records_of_kind("state_comments", steps_output)
    assert (row.hasError, row.hasSorry) == (True, True)
    assert row.text.startswith(
        "theorem second_fails (a b : Nat) (h : a = b) : b = a := by\n"
        "  subst h\n"
        "  /- a : Nat\n"
        "     ⊢ a = a -/\n"
        "  exact Nat.lt_irrefl a\n"
        "  rfl\n"
        "\n"
        "theorem bullets")
    (second, *_) = records_of_kind("full_proof_with_states", steps_output)
    assert second.proof == ":= by\n  subst h\n  /- a : Nat\n     ⊢ a = a -/\n  exact Nat.lt_irrefl a\n  rfl"
    assert second.hasError


def test_prompt_configs_build_no_row_from_a_failed_step(steps_output, fake_extractor, tmp_path):
    fake_extractor["outputs"] = [steps_output]
    project = tmp_path / "steps"
    (project / "Failing").mkdir(parents=True)
    (project / "Failing" / "Steps.lean").write_text(STEPS)

    result = ntp_datasets.build("instruct_state_tactic", str(project), cache_dir=str(tmp_path / "c"),
                                extractor=fake_extractor, progress=False, keep_error_rows=True)

    targets = [t for split in result.dataset.values() for t in split["target"]]
    assert sorted(targets) == sorted(["subst h", "constructor", "exact hq", "have h : n = n := by exact rfl 0",
                                      "simp"])
    assert result.summary.dropped_by_reason == {"failed_tactic": 3, "sorry": 1}


def test_the_innermost_step_holding_a_lean_error_fails():
    module = sample_module_output()
    events = [e for e in module.events if e["kind"] != "message"]
    intro = next(e for e in events if e["kind"] == "tactic" and e["goalsBefore"] == ["⊢ ∀ (n : ℕ), n = n"])
    line, column = line_column(SOURCE, "intro n")
    outer = tactic(SOURCE, "example", "intro n\n  sorry", [], [])  # a step holding both, as a combinator would
    outer.update(endLine=line + 1, endColumn=7)
    error = {"kind": "message", "severity": "error", "line": line, "column": column + 6, "text": "bad n",
             "phase": "elab"}
    extractor_own = {"kind": "message", "severity": "error", "line": line + 1, "column": 2,
                     "text": "ntp-datasets could not extract this step", "phase": "extract"}
    module.events = [*events, outer, error, extractor_own]

    assert failed_steps(module) == {(intro["start"], intro["end"]): "bad n"}
    assert (intro["start"], intro["end"]) == (byte_offset(SOURCE, "intro n"), byte_end(SOURCE, "intro n"))
    module.events = [*events, outer]
    assert failed_steps(module) == {}

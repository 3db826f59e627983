"""The real extractor on the real (WebAssembly or native) Lean: values users check first."""

from __future__ import annotations

import datasets
import pytest
from fixture_projects import register

import ntp_datasets
from ntp_datasets import records


def _tactics(output, decl_name):
    return [r for r in records.tactic_records(output) if r.declId.endswith(":" + decl_name)]


def test_every_sample_module_is_elaborated_in_import_order(sample_outputs):
    assert list(sample_outputs) == ["Sample.Basic", "Sample.Lists", "Sample.Calc"]
    for output in sample_outputs.values():
        assert output.error is None
        assert not [e for e in output.events if e["kind"] == "message" and e["severity"] == "error"]


def test_next_tactics_of_a_named_theorem_in_order(sample_outputs):
    rows = _tactics(sample_outputs["Sample.Lists"], "Sample.sum_append")
    assert [r.nextTactic for r in rows][1:] == ["simp [sum]", "simp only [List.cons_append, sum]", "rw [ih]", "omega"]
    assert rows[0].nextTactic.startswith("induction xs with\n  | nil => simp [sum]")
    assert "⊢ Sample.sum (xs ++ ys) = Sample.sum xs + Sample.sum ys" in rows[0].state
    assert rows[-1].stateAfter == ""
    assert rows[0].decl == "theorem sum_append (xs ys : List Nat) : sum (xs ++ ys) = sum xs + sum ys"
    assert rows[2].srcUpToTactic.endswith("  | cons x xs ih =>\n    ")


def test_imported_declarations_are_seen_by_their_public_names(sample_outputs):
    # Lists imports Basic (an ordinary, non-`module` file): `double` must resolve.
    rows = _tactics(sample_outputs["Sample.Lists"], "Sample.sum_double")
    assert rows[0].state.endswith("⊢ Sample.sum (List.map Sample.double xs) = Sample.double (Sample.sum xs)")
    assert "_private" not in "".join(r.state for r in rows)


def test_combinators_and_bullets_are_no_rows_but_the_tactics_in_them_are(sample_outputs):
    lists = sample_outputs["Sample.Lists"]
    # As in ntp-toolkit: `omega` after `<;>` is a row for each goal it runs on.
    assert [r.nextTactic for r in _tactics(lists, "Sample.le_both")] == ["constructor", "omega", "omega"]
    assert [r.nextTactic for r in _tactics(lists, "Sample.and_swap")] == ["constructor", "exact hq", "exact hp"]


def test_sorry_is_marked_and_dropped_from_prompts(sample_outputs):
    calc = sample_outputs["Sample.Calc"]
    (row,) = _tactics(calc, "Sample.sum_le_double")
    assert row.nextTactic == "sorry" and row.hasSorry
    proofs = {r.declId: r for r in records.full_proof_records(calc)}
    assert proofs["Sample.Calc:Sample.sum_le_double"].hasSorry
    assert not proofs["Sample.Calc:Sample.double_le"].hasSorry
    assert "Sample.Calc:_example_14_0" in proofs


def test_full_proof_splits_statement_and_proof(sample_outputs):
    proofs = {r.declId: r for r in records.full_proof_records(sample_outputs["Sample.Basic"])}
    zero = proofs["Sample.Basic:Sample.double_zero"]
    assert zero.decl.endswith("theorem double_zero : double 0 = 0")
    assert zero.proof == ":= rfl"
    assert zero.srcUpToDecl.endswith("omega\n\n")


BROKEN_PROJECT = {
    "Fix/A.lean": "def Fix.one : Nat := 1\n\ntheorem Fix.one_pos : 0 < Fix.one := by decide\n",
    "Fix/B.lean": "import Fix.A\n\ntheorem bad : Fix.one = 2 := by\n  rfl\n\ntheorem good : Fix.one = 1 := by\n  rfl\n",
    "Fix/C.lean": "import Fix.A\n\ntheorem c : Fix.one + 1 = 2 := by\n  decide\n",
}


register("broken", BROKEN_PROJECT)


@pytest.fixture(scope="module")
def broken_outputs(extract_files):
    return extract_files("broken", BROKEN_PROJECT)


def test_elaboration_errors_are_reported_and_other_rows_kept(broken_outputs):
    errors = list(records.error_records(broken_outputs["Fix.B"]))
    assert [(e.module, e.line, e.column) for e in errors] == [("Fix.B", 4, 2)]
    assert errors[0].message.startswith("Tactic `rfl` failed")
    b_decls = {r.declId for r in records.full_proof_records(broken_outputs["Fix.B"])}
    assert {"Fix.B:good", "Fix.B:bad"} <= b_decls
    c_rows = list(records.tactic_records(broken_outputs["Fix.C"]))
    assert [r.nextTactic for r in c_rows] == ["decide"]
    assert [r.nextTactic for r in records.tactic_records(broken_outputs["Fix.A"])] == ["decide"]


def test_load_dataset_by_name_builds_real_rows(tmp_path):
    ds = datasets.load_dataset("ntp_toolkit", "tactic_prediction", cache_dir=str(tmp_path))
    train = ds["train"]
    assert "Sample.Lists:Sample.sum_append" in set(train["declId"])
    assert set(train.column_names) >= {"state", "nextTactic", "srcUpToTactic", "declUpToTactic", "decl", "declId",
                                       "stateAfter", "module", "file", "line", "column"}
    again = ntp_datasets.load_dataset("tactic_prediction", cache_dir=str(tmp_path))
    assert again["train"]["declId"] == train["declId"]

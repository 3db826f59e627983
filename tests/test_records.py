"""Records derived from extractor events of a hand-written module (no Lean needed)."""

import dataclasses
import hashlib

import datasets
import pytest
from sample_module import FILE, MODULE, SOURCE, FakeModuleOutput, declaration, sample_module_output

from ntp_datasets.records import (
    ERROR_KINDS,
    ErrorRecord,
    FullProofRecord,
    SourceBytes,
    TacticRecord,
    as_row,
    error_records,
    full_proof_records,
    tactic_records,
)


def test_tactic_records_slice_source_by_byte_offsets(module_output):
    records = list(tactic_records(module_output))

    assert [r.nextTactic for r in records] == ["simp", "intro n", "sorry"]
    simp = records[0]
    # `ℕ` (3 bytes in UTF-8) precedes the tactic: character and byte offsets differ.
    assert simp.srcUpToTactic == SOURCE[: SOURCE.index("simp")]
    assert simp.srcUpToTactic.endswith("theorem add_zero' (n : ℕ) : n + 0 = n := by\n  ")
    assert simp.declUpToTactic == SOURCE[SOURCE.index("/--") : SOURCE.index("simp")]
    assert simp.decl == "/-- `n + 0` is `n` for `n : ℕ`. -/\ntheorem add_zero' (n : ℕ) : n + 0 = n"


def test_tactic_record_fields(module_output):
    simp, intro, sorry = tactic_records(module_output)

    assert simp == TacticRecord(
        state="n : ℕ\n⊢ n + 0 = n",
        nextTactic="simp",
        srcUpToTactic=simp.srcUpToTactic,
        declUpToTactic=simp.declUpToTactic,
        decl=simp.decl,
        declId="Sample.Basic:Sample.add_zero'",
        stateAfter="",
        goals=["n : ℕ\n⊢ n + 0 = n"],
        goalsAfter=[],
        module=MODULE,
        file=FILE,
        line=5,
        column=2,
        hasSorry=False,
        hasError=False,
        inStatement=False,
        project="",
        tacticError=None,
    )
    assert intro.declUpToTactic == "example : ∀ n : ℕ, n = n := by\n  "
    assert intro.decl == "example : ∀ n : ℕ, n = n"
    assert intro.stateAfter == "n : ℕ\n⊢ n = n"
    assert (intro.declId, sorry.declId) == ("Sample.Basic:_example_7_0", "Sample.Basic:_example_7_0")


def test_record_configs_keep_sorry_rows_flagged(module_output):
    assert [r.hasSorry for r in tactic_records(module_output)] == [False, False, True]
    assert [r.hasSorry for r in full_proof_records(module_output)] == [False, True]


def test_goals_are_joined_by_newlines_as_in_ntp_toolkit():
    events = sample_module_output().events
    events[1]["goalsBefore"] = ["case left\n⊢ p", "case right\n⊢ q"]
    output = FakeModuleOutput(MODULE, FILE, SOURCE, events)

    record = next(tactic_records(output))
    assert record.state == "case left\n⊢ p\ncase right\n⊢ q"
    assert record.goals == ["case left\n⊢ p", "case right\n⊢ q"]


def test_full_proof_records_skip_declarations_without_proof(module_output):
    theorem, example = full_proof_records(module_output)

    assert theorem == FullProofRecord(
        srcUpToDecl="import Sample.Defs\n\n",
        decl="/-- `n + 0` is `n` for `n : ℕ`. -/\ntheorem add_zero' (n : ℕ) : n + 0 = n",
        declId="Sample.Basic:Sample.add_zero'",
        proof=":= by\n  simp",
        module=MODULE,
        file=FILE,
        line=3,
        hasSorry=False,
        hasError=False,
        project="",
        # the statement without doc comment, keyword and name, whitespace squeezed
        statementHash=hashlib.sha256("(n:ℕ):n+0=n".encode()).hexdigest()[:32],
    )
    assert example.proof == ":= by\n  intro n\n  sorry"
    assert example.srcUpToDecl == SOURCE[: SOURCE.index("example")]


def test_opaque_without_value_has_no_full_proof_record():
    source = "opaque secret : ℕ\n"
    opaque = declaration(source, "opaque", "secret", "opaque", "\n", "ℕ")
    opaque["sigEnd"] = opaque["end"]  # nothing after the signature
    output = FakeModuleOutput(MODULE, FILE, source, [opaque])

    assert list(full_proof_records(output)) == []


def test_tactic_outside_known_declaration_is_skipped(module_output, caplog):
    module_output.events = [e for e in module_output.events if e.get("name") != "Sample.add_zero'"]

    assert [r.nextTactic for r in tactic_records(module_output)] == ["intro n", "sorry"]
    assert "tactic outside any extracted declaration" in caplog.text


def test_error_records_keep_errors_only(module_output):
    module_output.error = "the Lean process died twice while elaborating this module"
    module_output.error_kind = "crash"

    assert list(error_records(module_output)) == [
        ErrorRecord(MODULE, FILE, 0, 0, "the Lean process died twice while elaborating this module", "crash", "", "",
                    False),
        ErrorRecord(MODULE, FILE, 12, 6, "unknown identifier 'y'", "elaboration", f"{MODULE}:Sample.Point", "",
                    False),
    ]


def test_error_kinds_come_from_the_message_phase_and_a_skipped_command_keeps_its_kind(module_output):
    module_output.events.append(
        {"kind": "message", "severity": "error", "line": 6, "column": 0, "text": "unexpected token", "phase": "parse"})
    module_output.events.append(
        {"kind": "message", "severity": "error", "line": 20, "column": 0, "phase": "skip", "errorKind": "toolchain_limit",
         "declName": "Sample.deep", "text": "not elaborated: this command killed the Lean process twice (...)"})

    rows = list(error_records(module_output))
    assert [(r.line, r.kind, r.declaration, r.skipped) for r in rows] == [
        (12, "elaboration", f"{MODULE}:Sample.Point", False), (6, "parse", "", False),
        (20, "toolchain_limit", f"{MODULE}:Sample.deep", True)]
    assert {r.kind for r in rows} <= set(ERROR_KINDS)


@pytest.mark.parametrize("record_class", [TacticRecord, FullProofRecord, ErrorRecord])
def test_declared_features_match_record_fields(record_class):
    assert list(record_class.FEATURES) == [f.name for f in dataclasses.fields(record_class)]


def test_rows_encode_with_declared_features(module_output):
    rows = [as_row(r) for r in tactic_records(module_output)]
    dataset = datasets.Dataset.from_list(rows, features=TacticRecord.FEATURES)

    assert dataset[2]["nextTactic"] == "sorry"
    assert dataset[2]["hasSorry"] is True
    assert dataset.features["line"] == datasets.Value("int32")


def test_source_bytes_text_starts_after_a_byte_order_mark():
    source = SourceBytes("\ufefftheorem t : True := by\r\n  trivial\r\n")
    start = len("\ufefftheorem t : True := by\r\n  ".encode())

    assert source.slice(None, start) == "theorem t : True := by\r\n  "
    assert source.slice(start, start + len("trivial")) == "trivial"
    assert source.newline == "\r\n"
    assert SourceBytes("a\nb").newline == "\n"


def test_flags_come_from_the_declaration_and_the_step(module_output):
    module_output.events[2]["hasError"] = True  # the example
    module_output.events[3]["inStatement"] = True  # its `intro n`

    assert [(r.hasError, r.inStatement) for r in tactic_records(module_output)] == [
        (False, False), (True, True), (True, False)]
    assert [r.hasError for r in full_proof_records(module_output)] == [False, True]


def test_source_bytes_rejects_offsets_inside_a_character():
    source = SourceBytes("n : ℕ")
    inside_n = len("n : ".encode()) + 1

    assert source.slice(4, 7) == "ℕ"
    with pytest.raises(ValueError, match="cuts a UTF-8 character"):
        source.slice(0, inside_n)

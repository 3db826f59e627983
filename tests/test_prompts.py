"""Instruction prompts rendered from tactic records."""

import pytest

from ntp_datasets import prompting
from ntp_datasets.records import tactic_records

CONTEXT_STATE_TACTIC_PROMPT = """\
/- You are proving a theorem in Lean 4.
You are given the following information:
- The file contents up to the current tactic, inside [CTX]...[/CTX]
- The current proof state, inside [STATE]...[/STATE]

Your task is to generate the next tactic in the proof.
Put the next tactic inside [TAC]...[/TAC]
-/
[CTX]
theorem t (n : ℕ) : n = n := by
  
[/CTX]
[STATE]
n : ℕ
⊢ n = n
[/STATE]
[TAC]
"""


def test_context_state_tactic_renders_exact_text():
    rendered = prompting.render(
        "context_state_tactic",
        {
            "srcUpToTactic": "theorem t (n : ℕ) : n = n := by\n  ",
            "state": "n : ℕ\n⊢ n = n",
            "nextTactic": "rfl",
        },
    )

    assert rendered == {"prompt": CONTEXT_STATE_TACTIC_PROMPT, "completion": "rfl\n[/TAC]"}


def test_missing_variable_error_names_template_and_variable():
    with pytest.raises(prompting.PromptRenderError) as error:
        prompting.render("context_state_tactic", {"srcUpToTactic": "", "nextTactic": "rfl"})

    assert "context_state_tactic.j2" in str(error.value)
    assert "'state' is undefined" in str(error.value)


def test_instruction_rows_drop_sorry_and_count_them(module_output):
    rows, dropped = prompting.instruction_rows("context_state_tactic", tactic_records(module_output))

    assert dropped == 1
    assert [row["completion"] for row in rows] == ["simp\n[/TAC]", "intro n\n[/TAC]"]
    assert rows[1]["prompt"].endswith("[STATE]\n⊢ ∀ (n : ℕ), n = n\n[/STATE]\n[TAC]\n")
    assert {k: rows[0][k] for k in ("task", "prompt_name", "module", "file", "declId")} == {
        "task": "tactic_prediction",
        "prompt_name": "context_state_tactic",
        "module": "Sample.Basic",
        "file": "Sample/Basic.lean",
        "declId": "Sample.Basic:Sample.add_zero'",
    }
    assert all(list(row) == list(prompting.FEATURES) for row in rows)

"""Instruction prompts: every template's text, metadata, the sorry filter, and users' own templates."""

import pytest
from pathlib import Path

from sample_module import MODULE, SOURCE, sample_module_output

import ntp_datasets
from ntp_datasets import records
from ntp_datasets.rows import prompting
from ntp_datasets.records import full_proof_records, tactic_records


INSTRUCTION_HEAD = "/- You are proving a theorem in Lean 4.\nYou are given the following information:\n"

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

STATE_TACTIC_PROMPT = """\
/- You are proving a theorem in Lean 4.
You are given the following information:
- The current proof state, inside [STATE]...[/STATE]

Your task is to generate the next tactic in the proof.
Put the next tactic inside [TAC]...[/TAC]
-/
[STATE]
n : ℕ
⊢ n = n
[/STATE]
[TAC]
"""

FULL_PROOF_PROMPT = """\
/- You are proving a theorem in Lean 4.
You are given the following information:
- The theorem declaration, inside [DECL]...[/DECL]

Your task is to generate the proof.
Put the proof inside [PROOF]...[/PROOF]
-/
[DECL]
theorem t (n : ℕ) : n = n
[/DECL]
[PROOF]
"""

CONTEXT_FULL_PROOF_PROMPT = """\
/- You are proving a theorem in Lean 4.
You are given the following information:
- The current file contents up to and including the theorem statement, inside [CTX]...[/CTX]

Your task is to generate the proof.
Put the proof inside [PROOF]...[/PROOF]
-/
[CTX]
import Sample.Defs

theorem t (n : ℕ) : n = n
[/CTX]
[PROOF]
"""

FULL_PROOF_STATES_PROMPT = """\
/- You are proving a theorem in Lean 4.
You are given the following information:
- The theorem declaration, inside [DECL]...[/DECL]

Your task is to generate the proof.
Include the proof state after each tactic as a comment.
Put the proof inside [PROOF-WITH-STATES]...[/PROOF-WITH-STATES]
-/
[DECL]
theorem t (n : ℕ) : n = n
[/DECL]
[PROOF-WITH-STATES]
"""

CONTEXT_FULL_PROOF_STATES_PROMPT = """\
/- You are proving a theorem in Lean 4.
You are given the following information:
- The current file contents up to and including the theorem statement, inside [CTX]...[/CTX]

Your task is to generate the proof.
Include the proof state after each tactic as a comment.
Put the proof inside [PROOF-WITH-STATES]...[/PROOF-WITH-STATES]
-/
[CTX]
import Sample.Defs

theorem t (n : ℕ) : n = n
[/CTX]
[PROOF-WITH-STATES]
"""

TACTIC_FIELDS = {"srcUpToTactic": "theorem t (n : ℕ) : n = n := by\n  ", "state": "n : ℕ\n⊢ n = n", "nextTactic": "rfl"}
PROOF_FIELDS = {"srcUpToDecl": "import Sample.Defs\n\n", "decl": "theorem t (n : ℕ) : n = n", "proof": ":= by\n  rfl"}
PROOF_WITH_STATES = ":= by\n  rfl\n  /- no goals -/"

EXPECTED = {
    "state_tactic": (TACTIC_FIELDS, STATE_TACTIC_PROMPT, "rfl\n[/TAC]"),
    "context_state_tactic": (TACTIC_FIELDS, CONTEXT_STATE_TACTIC_PROMPT, "rfl\n[/TAC]"),
    "full_proof": (PROOF_FIELDS, FULL_PROOF_PROMPT, ":= by\n  rfl\n[/PROOF]"),
    "context_full_proof": (PROOF_FIELDS, CONTEXT_FULL_PROOF_PROMPT, ":= by\n  rfl\n[/PROOF]"),
    "full_proof_states": (
        {**PROOF_FIELDS, "proof": PROOF_WITH_STATES},
        FULL_PROOF_STATES_PROMPT,
        PROOF_WITH_STATES + "\n[/PROOF-WITH-STATES]",
    ),
    "context_full_proof_states": (
        {**PROOF_FIELDS, "proof": PROOF_WITH_STATES},
        CONTEXT_FULL_PROOF_STATES_PROMPT,
        PROOF_WITH_STATES + "\n[/PROOF-WITH-STATES]",
    ),
}


def builtin_template(name: str) -> prompting.PromptType:
    """A built-in template read from its file, registered or not (the *_states ones need their records)."""
    return prompting.prompt_type_from_file(prompting.TEMPLATE_DIR / f"{name}.j2")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_template_renders_exact_text(name):
    variables, prompt, completion = EXPECTED[name]

    assert prompting.render(builtin_template(name), variables) == {"prompt": prompt, "completion": completion}


def test_every_template_file_is_covered_and_declares_its_records():
    files = {p.name.removesuffix(".j2") for p in prompting.TEMPLATE_DIR.glob("*.j2")}
    kinds = {name: builtin_template(name).record_kind for name in files}

    assert files == set(EXPECTED)
    assert kinds == {
        "state_tactic": "tactic_prediction",
        "context_state_tactic": "tactic_prediction",
        "full_proof": "full_proof",
        "context_full_proof": "full_proof",
        "full_proof_states": "full_proof_with_states",
        "context_full_proof_states": "full_proof_with_states",
    }


def test_builtin_prompt_names_are_the_template_files():
    files = {p.name.removesuffix(".j2") for p in prompting.TEMPLATE_DIR.glob("*.j2")}
    assert set(prompting.BUILTIN_PROMPT_NAMES) == files == set(prompting.PROMPT_TYPES)


def test_context_state_tactic_renders_by_name():
    rendered = prompting.render("context_state_tactic", TACTIC_FIELDS)

    assert rendered == {"prompt": CONTEXT_STATE_TACTIC_PROMPT, "completion": "rfl\n[/TAC]"}


def test_missing_variable_error_names_template_and_variable():
    with pytest.raises(prompting.PromptRenderError) as error:
        prompting.render("context_state_tactic", {"srcUpToTactic": "", "nextTactic": "rfl"})

    assert "context_state_tactic.j2" in str(error.value)
    assert "'state' is undefined" in str(error.value)


def test_instruction_rows_drop_sorry_and_count_them(module_output):
    rows, dropped = prompting.instruction_rows(
        "context_state_tactic", tactic_records(module_output), project="sample", split="dev"
    )

    assert dropped == 1
    assert [row["completion"] for row in rows] == ["simp\n[/TAC]", "intro n\n[/TAC]"]
    assert rows[1]["prompt"].endswith("[STATE]\n⊢ ∀ (n : ℕ), n = n\n[/STATE]\n[TAC]\n")
    metadata = {k: v for k, v in rows[0].items() if k not in ("prompt", "completion")}
    assert metadata == {
        "task": "tactic_prediction",
        "prompt_name": "context_state_tactic",
        "project": "sample",
        "package": "",
        "module": "Sample.Basic",
        "file": "Sample/Basic.lean",
        "declId": "Sample.Basic:Sample.add_zero'",
        "target": "simp",
        "split": "dev",
    }
    assert all(list(row) == list(prompting.FEATURES) for row in rows)


def test_full_proof_rows_target_the_proof_and_drop_sorry(module_output):
    rows, dropped = prompting.instruction_rows("context_full_proof", full_proof_records(module_output))

    assert dropped == 1  # the example ending in `sorry`
    (row,) = rows
    assert row["target"] == ":= by\n  simp"
    assert row["completion"] == ":= by\n  simp\n[/PROOF]"
    assert row["task"] == "full_proof"
    # The context is the file up to and including the statement.
    assert row["prompt"].endswith("[CTX]\n" + SOURCE[: SOURCE.index(" := by\n  simp")] + "\n[/CTX]\n[PROOF]\n")


def test_error_and_statement_rows_are_dropped_by_reason(module_output):
    module_output.events[0]["hasError"] = True  # the theorem `add_zero'`
    module_output.events[3]["inStatement"] = True  # `intro n` of the example
    tactics = list(tactic_records(module_output))

    assert [prompting.drop_reason(r) for r in tactics] == ["error", "statement", "sorry"]
    assert [prompting.drop_reason(r, keep_error_rows=True) for r in tactics] == [None, "statement", "sorry"]
    rows, dropped = prompting.instruction_rows("state_tactic", tactics)
    assert (rows, dropped) == ([], 3)
    rows, dropped = prompting.instruction_rows("state_tactic", tactics, keep_error_rows=True)
    assert ([r["target"] for r in rows], dropped) == (["simp"], 2)
    assert [prompting.drop_reason(r) for r in full_proof_records(module_output)] == ["error", "sorry"]


def test_states_templates_label_their_task_full_proof():
    assert builtin_template("full_proof_states").task == "full_proof"
    assert builtin_template("state_tactic").task == "tactic_prediction"


def test_target_strips_only_a_closing_marker_line():
    assert prompting.completion_target("rfl\n[/TAC]") == "rfl"
    assert prompting.completion_target(":= by\n  omega\n[/PROOF-WITH-STATES]") == ":= by\n  omega"
    assert prompting.completion_target("exact [1, 2]") == "exact [1, 2]"


USER_TEMPLATE = """\
{# Asks for the name of a declaration from its statement. #}
{% set record_kind = "full_proof" %}
{% macro prompt() -%}
Name this declaration: {{ decl }}
[NAME]
{% endmacro %}
{%- macro completion() -%}
{{ declId.split(":")[1] }}
[/NAME]
{%- endmacro %}
"""


def test_template_dir_makes_each_file_a_prompt_type(tmp_path, module_output):
    (tmp_path / "declaration_name.j2").write_text(USER_TEMPLATE)
    (tmp_path / "notes.txt").write_text("not a template")

    prompt_types = prompting.prompt_types_in_dir(tmp_path)
    rows, _ = prompting.instruction_rows(prompt_types["declaration_name"], full_proof_records(module_output))

    assert list(prompt_types) == ["declaration_name"]
    assert prompt_types["declaration_name"].record_kind == "full_proof"
    assert rows[0]["prompt"].startswith("Name this declaration: /-- `n + 0` is `n`")
    assert (rows[0]["completion"], rows[0]["target"]) == ("Sample.add_zero'\n[/NAME]", "Sample.add_zero'")
    assert rows[0]["prompt_name"] == "declaration_name"


def test_template_without_record_kind_is_rejected_naming_the_file(tmp_path):
    (tmp_path / "bare.j2").write_text(USER_TEMPLATE.replace('{% set record_kind = "full_proof" %}\n', ""))

    with pytest.raises(prompting.PromptTemplateError, match=r"bare\.j2.*set record_kind"):
        prompting.prompt_types_in_dir(tmp_path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (USER_TEMPLATE.replace("full_proof", "modules"), "record_kind 'modules' is not one of"),
        (USER_TEMPLATE.replace("macro completion", "macro answer"), "defines no macro completion()"),
        (USER_TEMPLATE.replace("{% endmacro %}", "", 1), "line"),
    ],
)
def test_unusable_template_string_is_rejected(source, message):
    with pytest.raises(prompting.PromptTemplateError, match=r"<template string>") as error:
        prompting.prompt_type_from_string("mine", source)
    assert message in str(error.value)


def test_template_string_takes_record_kind_from_argument_and_is_strict():
    source = "{% macro prompt() %}{{ state }}{% endmacro %}{% macro completion() %}{{ nextTactc }}{% endmacro %}"
    prompt_type = prompting.prompt_type_from_string("typo", source, record_kind="tactic_prediction")

    with pytest.raises(prompting.PromptRenderError, match=r"<template string>.*completion\(\).*'nextTactc' is undefined"):
        prompting.render(prompt_type, TACTIC_FIELDS)



def test_instruct_config_builds_a_users_template_dir(fake_extractor, project, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "declaration_name.j2").write_text(USER_TEMPLATE)

    dataset = ntp_datasets.load_dataset("instruct", project=project, cache_dir=str(tmp_path / "cache"), template_dir=str(templates), extractor=fake_extractor)

    train = dataset["train"]
    assert train["target"] == ["Sample.add_zero'"]
    assert train["prompt_name"] == ["declaration_name"]
    assert train["project"] == ["my_project"]
    assert train["split"] == ["train"]


def test_instruct_config_builds_a_template_string(fake_extractor, project, tmp_path):
    template = "{% macro prompt() %}{{ state }}{% endmacro %}{% macro completion() %}{{ nextTactic }}{% endmacro %}"

    dataset = ntp_datasets.load_dataset(
        "instruct", project=project, cache_dir=str(tmp_path), template=template, record_kind="tactic_prediction", prompt_name="bare", extractor=fake_extractor
    )

    assert dataset["train"]["prompt"] == ["n : ℕ\n⊢ n + 0 = n", "⊢ ∀ (n : ℕ), n = n"]
    assert dataset["train"]["prompt_name"] == ["bare", "bare"]


def test_template_dir_rewords_a_builtin_prompt_type(fake_extractor, project, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    reworded = builtin_template("state_tactic").source.replace("You are proving", "You prove")
    (templates / "state_tactic.j2").write_text(reworded)

    def first_prompt(**options):
        dataset = ntp_datasets.load_dataset("instruct_state_tactic", project=project, cache_dir=str(tmp_path / "cache"), **options, extractor=fake_extractor)
        return dataset["train"][0]["prompt"]

    assert first_prompt().startswith("/- You are proving a theorem")
    assert first_prompt(template_dir=str(templates)).startswith("/- You prove a theorem")


def test_instruct_config_without_a_template_is_an_error(fake_extractor, project, tmp_path):
    with pytest.raises(ValueError, match="needs template_dir= or template="):
        ntp_datasets.load_dataset("instruct", project=project, cache_dir=str(tmp_path), extractor=fake_extractor)


def test_builtin_prompt_types_on_the_real_sample_project(sample_outputs):
    """Every registered prompt type renders the real records: markers, target and no sorry."""
    closing = {"tactic_prediction": "[/TAC]", "full_proof": "[/PROOF]", "full_proof_with_states": "[/PROOF-WITH-STATES]"}
    for name, prompt_type in prompting.PROMPT_TYPES.items():
        found = [
            (record, row)
            for output in sample_outputs.values()
            for record in records.records_of_kind(prompt_type.record_kind, output)
            for row in prompting.instruction_rows(prompt_type, [record])[0]
        ]
        assert found, name
        for record, row in found:
            expected_target = record.nextTactic if prompt_type.record_kind == "tactic_prediction" else record.proof
            assert row["target"] == expected_target, name
            assert row["completion"] == expected_target + "\n" + closing[prompt_type.record_kind]
            assert row["prompt"].startswith(INSTRUCTION_HEAD)
            assert row["prompt"].endswith(closing[prompt_type.record_kind].replace("/", "") + "\n")
            assert "sorry" not in row["completion"]


def test_a_users_template_over_tactic_prediction_with_premises_renders_rows(fake_extractor, project, tmp_path):
    """The example template of the repository's `prompts/` folder renders premise rows (the
    records of that kind were dicts once, and rendering them failed)."""
    output = sample_module_output()
    for event in output.events:
        if event["kind"] == "tactic":
            event.update(goalIdsBefore=["g"], goalIdsAfter=[], explicitConstants=[],
                         termConstants=[{"name": "Nat.add_zero", "isProp": True, "module": "Init.Core"}])
    fake_extractor["outputs"] = [output]
    templates = Path(__file__).resolve().parents[1] / "prompts"
    dataset = ntp_datasets.load_dataset("instruct", project=project, cache_dir=str(tmp_path), template_dir=str(templates),
                                        prompt_name="premise_selection", dev_fraction=0.0, test_fraction=0.0,
                                        extractor=fake_extractor)
    rows = dataset["train"].to_list()
    assert [(row["task"], row["declId"], row["target"]) for row in rows] == [
        ("premise_selection", f"{MODULE}:Sample.add_zero'", "Nat.add_zero"),
        ("premise_selection", f"{MODULE}:_example_7_0", "Nat.add_zero"),
    ]
    assert rows[0]["prompt"].endswith("[STATE]\nn : ℕ\n⊢ n + 0 = n\n[/STATE]\n[PREMISES]\n")


def test_a_template_cannot_reach_python_internals(tmp_path):
    template = ('{% set record_kind = "tactic_prediction" %}{% macro prompt() %}'
                "{{ cycler.__init__.__globals__.os.popen('id').read() }}{% endmacro %}"
                "{% macro completion() %}x{% endmacro %}")
    prompt_type = prompting.prompt_type_from_string("evil", template)
    with pytest.raises(prompting.PromptRenderError, match=r"<template string>.*macro prompt\(\)"):
        prompting.render(prompt_type, {"state": "s"})


def test_a_template_error_is_raised_as_itself_not_wrapped_by_datasets(fake_extractor, project, tmp_path):
    template = ('{% set record_kind = "tactic_prediction" %}{% macro prompt() %}{{ stat }}{% endmacro %}'
                "{% macro completion() %}{{ nextTactic }}{% endmacro %}")
    with pytest.raises(prompting.PromptRenderError, match=r"prompt template '<template string>', macro prompt\(\): 'stat' is undefined"):
        ntp_datasets.load_dataset("instruct", project=project, cache_dir=str(tmp_path), template=template,
                                  extractor=fake_extractor)

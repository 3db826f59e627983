"""ntp-toolkit output directories as projects: every config's rows read from its task folder,
from a local path, through fsspec's ``memory://`` filesystem and from a zip; prompts built on
them; bad input. No Lean runs (the extractor given would fail if asked)."""

from __future__ import annotations

import json
import logging
import zipfile

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from ntp_toolkit_fixture import BASIC, HASHES, LISTS, output_files, state_comments, write_fs, write_local

import ntp_datasets
from ntp_datasets.cli import main
from ntp_datasets.errors import ConfigError, ProjectSpecError
from ntp_datasets.project import resolve_projects
from ntp_datasets.publish.folder import read_manifest
from ntp_datasets.records.statements import statement_hash

BASIC_PROOF_1 = BASIC.index("/-- Adding zero.")
BASIC_PROOF_2 = BASIC.index("theorem two")
LISTS_PROOF_1 = LISTS.index("private theorem")
LISTS_PROOF_2 = LISTS.index("theorem len_two")


class NoLean:
    """An extractor that fails the test if a build asks it for Lean or to extract anything."""

    shown_errors: set = set()

    @property
    def toolchain(self):
        raise AssertionError("a build of ntp-toolkit output looked for a Lean toolchain")

    def extract_project(self, project_dir):
        raise AssertionError(f"a build of ntp-toolkit output extracted {project_dir}")


@pytest.fixture(params=["local", "memory"])
def demo(request, tmp_path):
    """The fixture output as a project spec: a local directory, or a ``memory://`` location."""
    if request.param == "local":
        yield str(write_local(tmp_path / "demo"))
        return
    fs = MemoryFileSystem()
    root = f"/{tmp_path.name}/demo"
    write_fs(fs, root)
    yield f"memory://{root}"
    fs.rm(root, recursive=True)


def load(config, project, tmp_path, **kwargs):
    """Every row of every split of ``config``, by split."""
    ds = ntp_datasets.load_dataset(config, project, cache_dir=str(tmp_path / "cache"), progress=False,
                                   extractor=NoLean(), **kwargs)
    return {split: list(rows) for split, rows in ds.items()}


def tactic_row(module, source, decl_start, tactic, state, decl, hash_):
    at = source.index("  " + tactic, decl_start) + 2
    before = source[:at]
    decl_line = source[:decl_start].count("\n") + 1
    return {"state": state, "nextTactic": tactic, "srcUpToTactic": before, "declUpToTactic": source[decl_start:at],
            "decl": decl, "declId": f"{module}.{decl_line}_0.{hash_}", "stateAfter": None, "goals": None,
            "goalsAfter": None, "module": module, "file": module.replace(".", "/") + ".lean",
            "line": before.count("\n") + 1, "column": 2, "hasSorry": None, "hasError": None, "inStatement": None,
            "project": "demo", "package": "", "tacticError": None}


EXPECTED_TACTIC_ROWS = [
    tactic_row("Demo.Basic", BASIC, BASIC_PROOF_1, "simp", "n : Nat\n⊢ n + 0 = n",
               "/-- Adding zero. -/\ntheorem add_zero' (n : Nat) : n + 0 = n ", HASHES["Demo.Basic"]),
    tactic_row("Demo.Basic", BASIC, BASIC_PROOF_2, "decide", "⊢ 1 + 1 = 2", "theorem two : 1 + 1 = 2 ",
               HASHES["Demo.Basic"]),
    tactic_row("Demo.Lists", LISTS, LISTS_PROOF_1, "simp", "xs : List Nat\n⊢ [] ++ xs = xs",
               "private theorem nil_append' (xs : List Nat) : [] ++ xs = xs ", HASHES["Demo.Lists"]),
    tactic_row("Demo.Lists", LISTS, LISTS_PROOF_2, "sorry", "⊢ [1, 2].length = 2",
               "theorem len_two : [1, 2].length = 2 ", HASHES["Demo.Lists"]),
]


def test_tactic_prediction_rows_keep_ntp_toolkits_values(demo, tmp_path):
    rows = load("tactic_prediction", demo, tmp_path)

    assert rows == {"train": EXPECTED_TACTIC_ROWS}
    assert [(r["line"], r["column"]) for r in rows["train"]] == [(5, 2), (8, 2), (6, 2), (9, 2)]


def full_proof_row(module, source, start, name, proof, line):
    decl = source[start:source.index(":=", start)]
    return {"srcUpToDecl": source[:start], "decl": decl, "statementHash": statement_hash(decl),
            "declId": f"{module}:{name}", "proof": proof, "module": module,
            "file": "demo/" + module.replace(".", "/") + ".lean", "line": line, "hasSorry": None, "hasError": None,
            "project": "demo", "package": ""}


def test_full_proof_rows_name_their_declaration_by_module_and_declname(demo, tmp_path):
    rows = load("full_proof", demo, tmp_path)

    assert rows == {"train": [
        full_proof_row("Demo.Basic", BASIC, BASIC_PROOF_1, "Demo.add_zero'", ":= by\n  simp", 3),
        full_proof_row("Demo.Basic", BASIC, BASIC_PROOF_2, "Demo.two", ":= by\n  decide", 7),
        full_proof_row("Demo.Lists", LISTS, LISTS_PROOF_1, "Demo.nil_append'", ":= by\n  simp", 5),
        full_proof_row("Demo.Lists", LISTS, LISTS_PROOF_2, "Demo.len_two", ":= by\n  sorry", 8),
    ]}


def test_full_proof_with_states_keeps_the_state_comments_copys_module_and_file(demo, tmp_path):
    rows = load("full_proof_with_states", demo, tmp_path)["train"]

    commented = state_comments("Demo.Basic")
    assert rows[1] == {
        "srcUpToDecl": commented[:commented.index("theorem two")], "decl": "theorem two : 1 + 1 = 2 ",
        "declId": "Demo.Basic:Demo.two", "proof": ":= by\n/-\n  ⊢ 1 + 1 = 2\n-/\n  decide\n/-\n  🎉 no goals\n-/",
        "module": "Examples.demo.StateComments.Demo.Basic", "file": "./Examples/demo/StateComments/Demo/Basic.lean",
        "line": None, "hasSorry": None, "hasError": None, "project": "demo", "package": "",
        "statementHash": statement_hash("theorem two : 1 + 1 = 2 ")}
    assert [r["declId"] for r in rows] == ["Demo.Basic:Demo.add_zero'", "Demo.Basic:Demo.two",
                                           "Demo.Lists:Demo.nil_append'", "Demo.Lists:Demo.len_two"]


def test_state_comments_rows_are_the_files_without_printlns_newline(demo, tmp_path):
    rows = load("state_comments", demo, tmp_path)["train"]

    assert rows == [
        {"module": "Demo.Basic", "file": "Demo/Basic.lean", "text": state_comments("Demo.Basic")[:-1], "project": "demo", "package": "",
         "hasError": None, "hasSorry": None},
        {"module": "Demo.Lists", "file": "Demo/Lists.lean", "text": state_comments("Demo.Lists")[:-1], "project": "demo", "package": "",
         "hasError": None, "hasSorry": None},
    ]
    assert rows[0]["text"].endswith("\nend Demo\n")


def dependent(name, explicit, direct):
    return {"name": name, "explicit": explicit, "direct": direct, "module": None, "file": None, "line": None,
            "column": None, "endLine": None, "endColumn": None}


def test_premises_rows_keep_private_names_as_lean_stores_them(demo, tmp_path):
    rows = load("premises", demo, tmp_path)["train"]

    assert rows[2] == {
        "name": "_private.Demo.Lists.0.Demo.nil_append'",
        "dependents": [dependent("List", False, True), dependent("List.nil_append", True, False)],
        "declId": "Demo.Lists:Demo.nil_append'", "kind": None, "isProp": None, "isGenerated": None, "isPrivate": True,
        "module": "Demo.Lists", "file": "Demo/Lists.lean", "line": None, "column": None, "endLine": None,
        "endColumn": None, "project": "demo", "package": ""}
    assert [(r["name"], r["isPrivate"], len(r["dependents"])) for r in rows] == [
        ("Demo.add_zero'", False, 4), ("Demo.two", False, 3), ("_private.Demo.Lists.0.Demo.nil_append'", True, 2),
        ("Demo.len_two", False, 1)]


def test_tactic_prediction_with_premises_rows_have_hints_and_nulls(demo, tmp_path):
    rows = load("tactic_prediction_with_premises", demo, tmp_path)["train"]

    term, step = rows[0], rows[1]
    end = BASIC.index("  simp") + len("  simp")
    unknown = dict.fromkeys(["decl", "tacticError", "stateAfter", "goals", "goalsAfter", "hasSorry", "hasError", "inStatement",
                             "nextTacticPremiseUses", "annotatedTactic", "nextTacticIsSimpOrRwVariant",
                             "nextTacticTermPremises", "nextTacticExplicitConstants", "nextTacticExplicitPremises",
                             "nextTacticExplicitLocalHypotheses", "nextTacticAllPremises", "declTermPremises",
                             "declExplicitConstants", "declExplicitPremises", "declAllPremises",
                             "termPremisesToEndOfGoal", "explicitConstantsToEndOfGoal", "explicitPremisesToEndOfGoal",
                             "allPremisesToEndOfGoal", "hammerRecommendationToEndOfGoal"])
    hint = [{"name": "Nat.add_zero", "hint": "notInSimpAll"}]
    assert term == {
        "declName": "Demo.add_zero'", "srcUpToTactic": BASIC[:end], "declUpToTactic": BASIC[BASIC_PROOF_1:end],
        "state": "n : Nat\n⊢ n + 0 = n", "nextTactic": None,
        "nextTacticHammerRecommendation": ["(Nat.add_zero, notInSimpAll)"],
        "declHammerRecommendation": ["(Nat.add_zero, notInSimpAll)"], "declId": "Demo.Basic:Demo.add_zero'",
        "module": "Demo.Basic", "file": "Demo/Basic.lean", "line": None, "column": None, "project": "demo", "package": "",
        "nextTacticHammerHints": hint, "declHammerHints": hint, **unknown}
    assert (step["nextTactic"], step["line"], step["column"]) == ("simp", 5, 2)
    assert [(r["declId"], r["nextTactic"]) for r in rows[4:]] == [
        ("Demo.Lists:Demo.nil_append'", None), ("Demo.Lists:Demo.nil_append'", "simp"),
        ("Demo.Lists:Demo.len_two", None), ("Demo.Lists:Demo.len_two", "sorry")]
    assert rows[4]["declName"] == "_private.Demo.Lists.0.Demo.nil_append'"


def test_declarations_imports_and_modules_rows(demo, tmp_path):
    declarations = load("declarations", demo, tmp_path)["train"]
    imports = load("imports", demo, tmp_path)["train"]
    modules = load("modules", demo, tmp_path)["train"]

    assert declarations[0] == {
        "declId": "Demo.Basic:Demo.add_zero'", "name": "Demo.add_zero'", "kind": "theorem", "keyword": None,
        "type": "∀ (n : Nat), n + 0 = n", "typeArgs": ["(n : Nat)"], "typeBody": "n + 0 = n", "doc": "Adding zero.",
        "signature": "/-- Adding zero. -/\ntheorem Demo.add_zero' (n : Nat) : n + 0 = n", "module": "Demo.Basic",
        "file": "Demo/Basic.lean", "line": 3, "column": 0, "isProp": True, "namespace": None,
        "src": BASIC[BASIC_PROOF_1:BASIC_PROOF_2], "isHumanTheorem": True, "project": "demo", "package": "",
        "statementHash": None}
    assert [(d["declId"], d["doc"]) for d in declarations[1:]] == [
        ("Demo.Basic:Demo.two", None), ("Demo.Lists:Demo.nil_append'", None), ("Demo.Lists:Demo.len_two", None)]
    # ntp-toolkit lists the module itself (its only isDirect row) and its closure.
    assert [(i["module"], i["imported"], i["isDirect"]) for i in imports] == [
        ("Demo.Basic", "Demo.Basic", True), ("Demo.Basic", "Init", False), ("Demo.Basic", "Init.Prelude", False),
        ("Demo.Lists", "Demo.Basic", False), ("Demo.Lists", "Demo.Lists", True), ("Demo.Lists", "Init", False),
        ("Demo.Lists", "Init.Prelude", False)]
    assert imports[0] == {"module": "Demo.Basic", "file": "Demo/Basic.lean", "imported": "Demo.Basic",
                          "isDirect": True, "project": "demo", "package": ""}
    assert modules == [
        {"module": "Demo.Basic", "file": "Demo/Basic.lean", "sha256": None, "imports": None, "project": "demo", "package": ""},
        {"module": "Demo.Lists", "file": "Demo/Lists.lean", "sha256": None, "imports": None, "project": "demo", "package": ""}]


def test_errors_of_well_formed_output_are_none(demo, tmp_path):
    result = ntp_datasets.build("errors", demo, cache_dir=str(tmp_path / "cache"), progress=False, extractor=NoLean())

    assert result.dataset["train"].num_rows == 0
    assert result.summary.format() == "errors of demo: 2 modules read from ntp-toolkit output (no Lean ran); 0 errors; 0 rows"


def test_prompts_are_built_on_ntp_toolkit_rows(demo, tmp_path):
    result = ntp_datasets.build("instruct_state_tactic", demo, cache_dir=str(tmp_path / "cache"), progress=False,
                                extractor=NoLean(), dev_fraction=0.0, test_fraction=0.0)
    rows = list(result.dataset["train"])
    full = load("instruct_context_full_proof", demo, tmp_path, dev_fraction=0.0, test_fraction=0.0,
                max_context_tokens=0)["train"]

    # ntp-toolkit's own test drops the step whose tactic says sorry (hasSorry is null here).
    assert [r["target"] for r in rows] == ["simp", "decide", "simp"]
    assert result.summary.dropped_by_reason == {"sorry": 1}
    assert rows[1] == {
        "prompt": "/- You are proving a theorem in Lean 4.\nYou are given the following information:\n"
                  "- The current proof state, inside [STATE]...[/STATE]\n\nYour task is to generate the next tactic in "
                  "the proof.\nPut the next tactic inside [TAC]...[/TAC]\n-/\n[STATE]\n⊢ 1 + 1 = 2\n[/STATE]\n[TAC]\n",
        "completion": "decide\n[/TAC]", "task": "tactic_prediction", "prompt_name": "state_tactic", "project": "demo", "package": "",
        "module": "Demo.Basic", "file": "Demo/Basic.lean", "declId": f"Demo.Basic.7_0.{HASHES['Demo.Basic']}",
        "target": "decide", "split": "train"}
    # ntp-toolkit's decl keeps the space before `:=`: the context ends with it.
    assert full[1]["prompt"].endswith("[CTX]\n" + BASIC[:BASIC.index(":=", BASIC_PROOF_2)] + "\n[/CTX]\n[PROOF]\n")
    assert [(r["declId"], r["target"]) for r in full] == [
        ("Demo.Basic:Demo.add_zero'", ":= by\n  simp"), ("Demo.Basic:Demo.two", ":= by\n  decide"),
        ("Demo.Lists:Demo.nil_append'", ":= by\n  simp")]


def test_the_summary_says_the_rows_were_read_from_ntp_toolkit_output(demo, tmp_path):
    result = ntp_datasets.build("full_proof", demo, cache_dir=str(tmp_path / "cache"), progress=False,
                                extractor=NoLean())
    again = ntp_datasets.build("full_proof", demo, cache_dir=str(tmp_path / "cache"), progress=False,
                               extractor=NoLean())

    assert result.summary.format() == "full_proof of demo: 2 modules read from ntp-toolkit output (no Lean ran); 0 errors; 4 rows"
    assert again.summary.format() == ("full_proof of demo: read from the datasets cache: 2 modules, 0 failed; "
                                      "0 errors; 4 rows")


def test_the_cli_previews_ntp_toolkit_output(demo, tmp_path, capsys):
    status = main(["preview", demo, "--config", "tactic_prediction", "--rows", "1", "--cache-dir",
                   str(tmp_path / "cache")], extractor=NoLean())

    out = capsys.readouterr().out
    assert status == 0
    assert out.splitlines()[0] == ("tactic_prediction of demo: 2 modules read from ntp-toolkit output (no Lean ran); "
                                   "0 errors; 4 rows")
    assert "  nextTactic: 'simp'" in out


def test_streaming_reads_one_module_file_at_a_time(tmp_path):
    opened = []

    class CountingFileSystem(MemoryFileSystem):
        protocol = "countingmem"

        @classmethod
        def _strip_protocol(cls, path):
            return MemoryFileSystem._strip_protocol(path.replace("countingmem://", "memory://", 1))

        def _open(self, path, *args, **kwargs):
            opened.append(path.rsplit("/", 2)[-2:])
            return super()._open(path, *args, **kwargs)

    fsspec.register_implementation("countingmem", CountingFileSystem, clobber=True)
    fs = CountingFileSystem()
    write_fs(fs, "/streamed/demo")
    opened.clear()

    ds = ntp_datasets.load_dataset("tactic_prediction", "countingmem:///streamed/demo", streaming=True,
                                   progress=False, extractor=NoLean())
    rows = iter(ds["train"])
    first = next(rows)
    seen_after_first = list(opened)
    rest = list(rows)

    assert first["nextTactic"] == "simp"
    assert seen_after_first == [["TacticPrediction", "Demo.Basic.jsonl"]]
    assert [r["nextTactic"] for r in rest] == ["decide", "simp", "sorry"]
    assert opened == [["TacticPrediction", "Demo.Basic.jsonl"], ["TacticPrediction", "Demo.Lists.jsonl"]]
    fs.rm("/streamed", recursive=True)


def test_a_zip_and_a_directory_of_base_directories_are_read_too(tmp_path):
    archive = tmp_path / "demo.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for rel, text in output_files().items():
            zipped.writestr(rel, text)
    examples = tmp_path / "Examples"
    write_local(examples / "demo")
    write_local(examples / "other", {"TacticPrediction/Other.A.jsonl": ""})

    assert load("tactic_prediction", str(archive), tmp_path) == {"train": EXPECTED_TACTIC_ROWS}
    projects = resolve_projects(str(examples))
    assert [(p.name, p.output.folders) for p in projects] == [
        ("demo", ("TacticPrediction", "FullProof", "FullProofWithStates", "StateComments", "Premises",
                  "TrainingDataWithPremises", "Imports", "WithImports", "Declarations")),
        ("other", ("TacticPrediction",))]
    rows = load("tactic_prediction", str(examples), tmp_path / "examples")["train"]
    assert [(r["project"], r["module"]) for r in rows] == [("demo", "Demo.Basic"), ("demo", "Demo.Basic"),
                                                           ("demo", "Demo.Lists"), ("demo", "Demo.Lists")]


def test_a_config_entry_names_an_output_project(tmp_path):
    base = write_local(tmp_path / "Mathlib-run-3")

    rows = load("modules", {"repo": str(base), "name": "mathlib"}, tmp_path)["train"]

    assert [(r["project"], r["module"]) for r in rows] == [("mathlib", "Demo.Basic"), ("mathlib", "Demo.Lists")]
    with pytest.raises(ProjectSpecError, match="ntp-toolkit output, which has no commit"):
        resolve_projects({"repo": str(base), "commit": "abc"})


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_a_location_that_is_not_ntp_toolkit_output_is_refused(tmp_path):
    fs = MemoryFileSystem()
    fs.pipe_file("/not-output/README.md", b"hello")
    fs.pipe_file("/not-output/data/train.parquet", b"")

    with pytest.raises(ProjectSpecError) as error:
        resolve_projects("memory:///not-output")
    assert str(error.value) == (
        "memory:///not-output is not ntp-toolkit output: it holds none of the task folders TacticPrediction, "
        "FullProof, FullProofWithStates, StateComments, Premises, TrainingDataWithPremises, Imports, WithImports, "
        "Declarations nor Modules.jsonl or minictx.jsonl (it holds: README.md, data)")
    fs.rm("/not-output", recursive=True)


def test_a_local_folder_that_is_neither_says_so(tmp_path):
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("x")

    with pytest.raises(ntp_datasets.ProjectError, match=r"No \.lean files in .*stuff \(nor is it ntp-toolkit output"):
        load("tactic_prediction", str(tmp_path / "stuff"), tmp_path)


def test_a_lean_project_with_a_folder_named_like_a_task_stays_a_lean_project(tmp_path):
    (tmp_path / "proj" / "Imports").mkdir(parents=True)
    (tmp_path / "proj" / "lakefile.toml").write_text('name = "proj"\n')

    (project,) = resolve_projects(str(tmp_path / "proj"))

    assert project.output is None and project.root == tmp_path / "proj"


class UnreachableFileSystem(MemoryFileSystem):
    protocol = "unreachable"

    def ls(self, path, detail=True, **kwargs):
        raise ConnectionError("[Errno 111] Connection refused: https://user:SECRET@storage.example/bucket")


def test_an_unreachable_remote_is_one_clear_error_without_credentials():
    fsspec.register_implementation("unreachable", UnreachableFileSystem, clobber=True)

    with pytest.raises(ProjectSpecError) as error:
        resolve_projects("unreachable://bucket/ntp")
    with pytest.raises(ProjectSpecError, match="ntp-toolkit output not found: memory:///nowhere does not exist"):
        resolve_projects("memory:///nowhere")
    with pytest.raises(ProjectSpecError, match="cannot open nosuchprotocol://x/y"):
        resolve_projects("nosuchprotocol://x/y")
    assert str(error.value) == ("cannot read unreachable://bucket/ntp: ConnectionError: [Errno 111] Connection refused: "
                                "https://storage.example/bucket")


def test_a_config_with_no_folder_behind_it_is_a_config_error(tmp_path):
    base = write_local(tmp_path / "demo", {k: v for k, v in output_files().items() if k.startswith("FullProof/")})

    with pytest.raises(ConfigError) as missing:
        load("instruct_state_tactic", str(base), tmp_path)
    with pytest.raises(ConfigError) as corpus:
        load("premise_corpus", str(base), tmp_path)

    assert str(missing.value) == (f"config 'tactic_prediction' needs TacticPrediction in the ntp-toolkit output at "
                                  f"{base}, which holds FullProof")
    assert str(corpus.value).startswith(f"config 'premise_corpus' cannot be read from ntp-toolkit output ({base}): "
                                        "no task of ntp-toolkit writes it")
    with pytest.raises(ConfigError, match="novel_premises' needs the premises of proof terms"):
        load("full_proof", str(base), tmp_path, split_strategy="novel_premises")
    with pytest.raises(ConfigError) as temporal:
        load("full_proof", str(base), tmp_path, split_strategy="temporal", cutoff="2024-01-01")
    assert str(temporal.value) == ("split_strategy='temporal' needs the git history of its sources, which "
                                   f"ntp-toolkit output ({base.name}) does not have")
    with pytest.raises(ConfigError, match=r"^dedup needs each declaration's statement"):
        load("full_proof", str(base), tmp_path, dedup=True)


def test_bad_lines_become_error_rows_naming_file_and_line_and_the_others_are_kept(tmp_path, caplog):
    files = output_files()
    good = files["TacticPrediction/Demo.Basic.jsonl"].splitlines()
    missing_state = json.loads(good[1])
    del missing_state["state"]
    files["TacticPrediction/Demo.Basic.jsonl"] = "\n".join(
        [good[0], '{"decl": "theorem x', json.dumps(missing_state), "", "[1, 2]", good[1]]) + "\n"
    declarations = json.loads(files["Declarations/Demo.Basic.jsonl"].splitlines()[0])
    declarations["line"] = "3"
    files["Declarations/Demo.Basic.jsonl"] = json.dumps(declarations) + "\n"
    files["TrainingDataWithPremises/Demo.Lists.jsonl"] = json.dumps(
        {"declName": "Demo.x", "srcUpToTactic": "", "declUpToTactic": "", "state": "", "nextTactic": "simp",
         "nextTacticHammerRecommendation": ["Nat.add_zero"], "declHammerRecommendation": []}) + "\n"
    base = write_local(tmp_path / "demo", files)
    (base / "StateComments" / "Demo.Lists.lean").write_bytes(b"namespace Demo\n\xff\n")

    with caplog.at_level(logging.WARNING):
        tactics = ntp_datasets.build("tactic_prediction", str(base), cache_dir=str(tmp_path / "cache"),
                                     progress=False, extractor=NoLean())
    errors = load("errors", str(base), tmp_path)["train"]

    assert [r["nextTactic"] for r in tactics.dataset["train"]] == ["simp", "decide", "simp", "sorry"]
    assert tactics.summary.format() == ("tactic_prediction of demo: 2 modules read from ntp-toolkit output (no Lean ran); "
                                        "3 errors (ntp_toolkit_output: 3); 4 rows")
    assert [(e["module"], e["file"], e["line"], e["message"]) for e in errors] == [
        ("Demo.Basic", "TacticPrediction/Demo.Basic.jsonl", 2,
         "not JSON: Unterminated string starting at (column 10)"),
        ("Demo.Basic", "TacticPrediction/Demo.Basic.jsonl", 3, "lacks state, which its task always writes"),
        ("Demo.Basic", "TacticPrediction/Demo.Basic.jsonl", 5, "not a JSON object but a list"),
        ("Demo.Basic", "Declarations/Demo.Basic.jsonl", 1, "line is a string, not an integer"),
        ("Demo.Lists", "StateComments/Demo.Lists.lean", 2, "not UTF-8 (byte 15 of the file)"),
        ("Demo.Lists", "TrainingDataWithPremises/Demo.Lists.jsonl", 1,
         "nextTacticHammerRecommendation holds 'Nat.add_zero', not a string \"(name, hint)\""),
    ]
    assert {e["kind"] for e in errors} == {"ntp_toolkit_output"}
    assert ("Demo.Basic: 3 lines of ntp-toolkit output that give no row\n"
            "  TacticPrediction/Demo.Basic.jsonl:2:0: [ntp_toolkit_output] not JSON") in caplog.text


def test_full_proof_comes_from_minictx_jsonl_when_there_is_no_fullproof_folder(tmp_path):
    theorem = {"srcContext": "import Demo.Basic\n\n", "theoremStatement": "theorem t : True ",
               "theoremName": "Demo.t", "fileCreated": {"commit": None, "date": None},
               "theoremCreated": {"commit": None, "date": None}, "file": "demo/Demo/Lists.lean",
               "module": "Demo.Lists", "jsonFile": "Demo.Lists.jsonl",
               "positionMetadata": {"lineInFile": 3, "tokenPositionInFile": 19, "theoremPositionInFile": 0},
               "dependencyMetadata": {}, "proofMetadata": {"hasProof": True, "proof": ":= trivial",
                                                            "proofType": "term", "proofLengthLines": 0,
                                                            "proofLengthTokens": 10}}
    base = write_local(tmp_path / "minictx", {"minictx.jsonl": json.dumps(theorem) + "\n{}\n"})

    rows = load("full_proof", str(base), tmp_path)["train"]
    errors = load("errors", str(base), tmp_path)["train"]

    assert rows == [{"srcUpToDecl": "import Demo.Basic\n\n", "decl": "theorem t : True ", "declId": "Demo.Lists:Demo.t",
                     "proof": ":= trivial", "module": "Demo.Lists", "file": "demo/Demo/Lists.lean", "line": 3,
                     "hasSorry": None, "hasError": None, "project": "minictx", "package": "",
                     "statementHash": statement_hash("theorem t : True ")}]
    assert [(e["file"], e["line"], e["message"]) for e in errors] == [
        ("minictx.jsonl", 2, "lacks srcContext, theoremStatement, theoremName, file, module, proofMetadata, "
                             "which its task always writes")]


def test_a_dataset_folder_of_ntp_toolkit_output_lists_the_null_fields_in_its_card(tmp_path):
    base = write_local(tmp_path / "demo")

    manifest = ntp_datasets.build_dataset_folder(str(base), tmp_path / "folder", ["full_proof", "instruct_full_proof"],
                                                 cache_dir=str(tmp_path / "cache"), extractor=NoLean(),
                                                 progress=False)

    card = (tmp_path / "folder" / "README.md").read_text(encoding="utf-8")
    assert manifest.provenance["projects"] == [{"name": "demo", "ntp_toolkit_output": "demo"}]
    assert read_manifest(tmp_path / "folder").row_counts()["full_proof"] == {"train": 4}
    assert "| `full_proof` | `hasSorry`, `hasError` |" in card
    assert "| project `demo` | rows read from ntp-toolkit output `demo` (no Lean ran) |" in card
    assert "Every row comes from elaborating" not in card
    assert "| Lean used | none: every row was read from ntp-toolkit output |" in card


def test_a_row_of_no_known_declaration_goes_to_train():
    from ntp_datasets.rows.splits import SplitFractions, split_of

    everything_in_dev = SplitFractions(dev=1.0, test=0.0)

    assert split_of(everything_in_dev, "Demo/Basic.lean", "Demo.Basic:Demo.two") == "dev"
    assert split_of(everything_in_dev, "Demo/Basic.lean", None) == "train"

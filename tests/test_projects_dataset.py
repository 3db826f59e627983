"""Datasets of several projects: the ``project`` column, config files, the cache id,
``num_proc`` and streaming. The extractor is faked, except in the last test."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from pathlib import Path

import datasets
import pytest
from sample_module import sample_module_output
from test_specs import make_git_project

import ntp_datasets
from ntp_datasets.rows import prompting
from ntp_datasets.records import RECORD_KINDS

CONFIGS = [*RECORD_KINDS, *(f"instruct_{name}" for name in prompting.PROMPT_TYPES)]


def complete_module_output(module="Sample.Basic", file="Sample/Basic.lean"):
    """The sample module with the events every record kind needs (types, constants, imports)."""
    output = dataclasses.replace(sample_module_output(), module=module, file=file)
    for event in output.events:
        if event["kind"] == "declaration":
            event.update(constants=[{"name": "Nat.add_zero", "module": "Init", "isProp": True}], type="T",
                         typeArgs=[], typeBody="T", signature="sig", isProp=True, scope="Sample", doc=None)
        elif event["kind"] == "tactic":
            event.update(goalIdsBefore=[f"g{event['start']}"], goalIdsAfter=[])
    output.events.append({"kind": "imports", "direct": ["Init"], "all": ["Init"]})
    output.events.append({"kind": "constant", "name": "Sample.add_zero'", "private": False, "constKind": "theorem",
                          "type": "T", "isProp": True, "candidate": True, "line": 3, "column": 0, "endLine": 5,
                          "endColumn": 6, "dependents": [{"name": "Nat.add_zero", "explicit": True, "direct": True}]})
    output.events.append({"kind": "premiseSites", "sites": [{"name": "Nat.add_zero", "module": "Init.Core"}]})
    return output


def lean_dir(path: Path, module_text: str = "theorem t : True := trivial\n") -> Path:
    """A directory with one Lean file (what the project fingerprint reads; Lean is faked)."""
    (path / "Sample").mkdir(parents=True)
    (path / "Sample" / "Basic.lean").write_text(module_text)
    return path


@pytest.fixture
def two_projects(tmp_path, fake_extractor):
    """Two local projects whose (fake) extraction yields the same modules."""
    alpha, beta = lean_dir(tmp_path / "alpha"), lean_dir(tmp_path / "beta")
    fake_extractor["outputs"] = lambda project_dir: [complete_module_output()]
    return [str(alpha), str(beta)]


def rows_of(dataset_dict) -> list[dict]:
    return [row for split in dataset_dict.values() for row in split]


@pytest.mark.parametrize("config", CONFIGS)
def test_every_config_has_a_project_column(fake_extractor, config, two_projects, tmp_path):
    dataset = ntp_datasets.load_dataset(config, project=two_projects, cache_dir=str(tmp_path / "cache"), progress=False, extractor=fake_extractor)

    rows = rows_of(dataset)
    assert dataset["train"].features["project"] == datasets.Value("string")
    projects = Counter(row["project"] for row in rows)
    # Both projects have the same module: the same rows, told apart by their project.
    assert set(projects) == {"alpha", "beta"} and projects["alpha"] == projects["beta"]
    if "declId" in dataset["train"].features:
        keys = [(row["project"], row["declId"]) for row in rows]
        assert set(keys) == {(p, d) for p in ("alpha", "beta") for d in {row["declId"] for row in rows}}


def test_config_file_with_a_git_repository_and_a_directory(fake_extractor, tmp_path, monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))  # the fake extractor needs no toolchain
    clones = tmp_path / "home" / "projects"
    repo, first, _ = make_git_project(tmp_path / "remote")
    local = lean_dir(tmp_path / "local_project")
    config = tmp_path / "projects.json"
    config.write_text(json.dumps([
        {"repo": f"file://{repo}", "commit": first, "name": "tiny", "lean": "", "import_file": "", "imports": []},
        {"repo": "local_project", "name": "local"},
    ]))
    tiny, other = complete_module_output("Tiny.A", "Tiny/A.lean"), complete_module_output()
    fake_extractor["outputs"] = lambda project_dir: [tiny if Path(project_dir).parent == clones else other]

    dataset = ntp_datasets.load_dataset("modules", project=str(config), cache_dir=str(tmp_path / "cache"), extractor=fake_extractor)

    assert [(row["project"], row["module"]) for row in dataset["train"]] == [("tiny", "Tiny.A"), ("local", "Sample.Basic")]
    clone, directory = map(Path, fake_extractor["calls"])
    assert clone.parent == clones and directory == local
    assert sorted(p.name for p in (clone / "Tiny").iterdir()) == ["A.lean"]  # the first commit


def test_cache_id_covers_every_project(fake_extractor, two_projects, tmp_path):
    def build():
        return ntp_datasets.load_dataset("full_proof", project=two_projects, cache_dir=str(tmp_path / "cache"), extractor=fake_extractor)

    build()
    build()
    assert len(fake_extractor["calls"]) == 2  # one extraction per project; the second build was cached

    (Path(two_projects[1]) / "Sample" / "Basic.lean").write_text("theorem t : False := sorry\n")
    build()
    assert len(fake_extractor["calls"]) == 4


def test_a_project_asking_for_another_lean_warns_and_builds(fake_extractor, project, tmp_path, caplog):
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.9.0\n")

    with caplog.at_level(logging.WARNING):
        dataset = ntp_datasets.load_dataset("tactic_prediction", project=project, cache_dir=str(tmp_path), extractor=fake_extractor)

    assert "project 'my_project' asks for Lean 4.9.0 (leanprover/lean4:v4.9.0)" in caplog.text
    assert "the toolchain in use is Lean 4." in caplog.text
    assert dataset["train"]["nextTactic"] == ["simp", "intro n", "sorry"]


def many_modules(project_dir):
    return [complete_module_output(f"Sample.M{i}", f"Sample/M{i}.lean") for i in range(7)]


def test_two_workers_give_the_same_rows_as_one(fake_extractor, two_projects, tmp_path):
    fake_extractor["outputs"] = many_modules

    one = ntp_datasets.load_dataset("tactic_prediction", project=two_projects, cache_dir=str(tmp_path / "1"), num_proc=1, extractor=fake_extractor)
    two = datasets.load_dataset("ntp_toolkit", "tactic_prediction", project=two_projects,
                                cache_dir=str(tmp_path / "2"), num_proc=2, extractor=fake_extractor)

    def multiset(dataset):  # list columns (goals) as tuples, so rows can be counted
        return Counter(tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in row.items()))
                       for row in dataset["train"])

    assert len(two["train"].cache_files) == 2  # written by two workers
    assert len(fake_extractor["calls"]) == 4  # each build extracted each project once, in this process
    assert multiset(two) == multiset(one)
    assert one["train"].num_rows == 2 * 7 * 3


def test_streaming_yields_rows_before_later_modules_are_extracted(fake_extractor, project):
    events = []

    def extraction(project_dir):
        for i in range(3):
            events.append(f"extracted M{i}")
            yield complete_module_output(f"Sample.M{i}", f"Sample/M{i}.lean")

    fake_extractor["outputs"] = extraction

    dataset = ntp_datasets.load_dataset("tactic_prediction", project=project, streaming=True, progress=False, extractor=fake_extractor)
    assert isinstance(dataset, datasets.IterableDatasetDict)
    assert events == []  # nothing runs until rows are read
    rows = iter(dataset["train"])
    first = next(rows)
    events.append("first row read")
    rest = list(rows)

    assert events == ["extracted M0", "first row read", "extracted M1", "extracted M2"]
    assert (first["module"], first["project"], first["nextTactic"]) == ("Sample.M0", "my_project", "simp")
    assert [row["module"] for row in rest] == ["Sample.M0"] * 2 + ["Sample.M1"] * 3 + ["Sample.M2"] * 3


def test_streaming_an_instruction_config(fake_extractor, project):
    dataset = ntp_datasets.load_dataset("instruct_state_tactic", project=project, streaming=True, progress=False,
                                        dev_fraction=0.0, test_fraction=0.0, extractor=fake_extractor)

    assert [row["completion"] for row in dataset["train"]] == ["simp\n[/TAC]", "intro n\n[/TAC]"]
    assert list(dataset["dev"]) == []


@pytest.mark.slow
def test_real_extraction_of_a_config_file_with_two_projects(toolchain, empty_home, tmp_path, monkeypatch):
    """Lean runs: a git repository at its first commit and a local directory, one dataset."""
    monkeypatch.setenv("NTP_DATASETS_HOME", str(empty_home("clones_home")))
    repo, first, _ = make_git_project(tmp_path / "remote")
    local = tmp_path / "local_project"
    (local / "Loc").mkdir(parents=True)
    (local / "Loc" / "Hyp.lean").write_text("theorem Loc.hyp (p : Prop) (h : p) : p := by\n  exact h\n")
    config = tmp_path / "projects.json"
    config.write_text(json.dumps([{"repo": f"file://{repo}", "commit": first, "name": "tiny"},
                                  {"repo": str(local), "name": "local"}]))

    dataset = ntp_datasets.load_dataset("tactic_prediction", project=config, cache_dir=str(tmp_path / "cache"),
                                        progress=False)

    rows = [(row["project"], row["declId"], row["nextTactic"], row["state"]) for row in dataset["train"]]
    assert rows == [
        ("tiny", "Tiny.A:Tiny.a", "rfl", "⊢ (1 : Nat) + (1 : Nat) = (2 : Nat)"),  # Tiny.B is not in the first commit
        ("local", "Loc.Hyp:Loc.hyp", "exact h", "p : Prop\nh : p\n⊢ p"),
    ]

"""Leakage between splits: ``statementHash`` and the statements a build finds in more than one
split, within and across projects; ``dedup=True`` keeps one occurrence, in train. Two git
projects the tests make (``dated_project``), hand-made events (no Lean)."""

from __future__ import annotations

import hashlib

from dated_project import make_dated_project, make_other_project, outputs_by_project

import ntp_datasets
from ntp_datasets.records.statements import normalized_statement, statement_hash
from ntp_datasets.rows.leakage import LeakedStatement, deduplicate, leaked_statements
from ntp_datasets.rows.splits import DEV, TEST, TRAIN

SHARED = ("Demo.Basic:Demo.add_zero", "Other.Basic:nat_add_zero")


def test_a_statement_hash_ignores_comments_attributes_names_and_spacing():
    variants = [
        "theorem add_zero (n : Nat) : n + 0 = n",
        "/-- Adding zero. -/\n@[simp] protected theorem Nat.add_zero' (n: Nat) :\n    n + 0 = n  -- by rfl",
        "lemma   renamed ( n : Nat ) : n+0 = n",
    ]
    assert {normalized_statement(v) for v in variants} == {"(n:Nat):n+0=n"}
    assert statement_hash(variants[0]) == hashlib.sha256(b"(n:Nat):n+0=n").hexdigest()[:32]
    assert normalized_statement("theorem t (m : Nat) : m + 0 = m") == "(m:Nat):m+0=m"  # binder names count
    assert normalized_statement("example : 1 + 1 = 2") == ":1+1=2"
    assert normalized_statement("instance : Inhabited Nat") == normalized_statement("instance named : Inhabited Nat")


def projects(tmp_path, fake_extractor):
    demo, other = tmp_path / "demo", tmp_path / "other"
    make_dated_project(demo)
    make_other_project(other)
    fake_extractor["outputs"] = outputs_by_project
    return [str(demo), str(other)]


def test_a_statement_in_train_and_test_across_projects_is_reported(tmp_path, fake_extractor):
    spec = projects(tmp_path, fake_extractor)
    result = ntp_datasets.build("full_proof", spec, cache_dir=str(tmp_path / "c1"), extractor=fake_extractor,
                                progress=False, split_strategy="temporal", cutoff="2024-02-01")

    train, test = result.dataset["train"], result.dataset["test"]
    assert test["declId"] == [SHARED[0]]  # Demo.add_zero: declared 2024-03-05
    (other_row,) = [row for row in train if row["declId"] == SHARED[1]]  # Other's, 2022
    assert other_row["statementHash"] == test[0]["statementHash"]
    report = result.summary.leakage
    assert (report.statements, report.held_out, report.across_projects, report.removed) == (1, 1, 1, 0)
    assert report.examples == (LeakedStatement(test[0]["statementHash"], (
        ("demo", SHARED[0], TEST), ("other", SHARED[1], TRAIN))),)
    assert ("1 statements in more than one split (1 held-out declarations, 1 statements across projects)"
            in result.summary.format())

    again = ntp_datasets.build("full_proof", spec, cache_dir=str(tmp_path / "c1"), extractor=fake_extractor,
                               progress=False, split_strategy="temporal", cutoff="2024-02-01")
    assert again.summary.from_datasets_cache and again.summary.leakage == report  # kept with the cached config


def test_dedup_keeps_the_statement_once_in_train(tmp_path, fake_extractor):
    spec = projects(tmp_path, fake_extractor)
    result = ntp_datasets.build("full_proof", spec, cache_dir=str(tmp_path / "c2"), extractor=fake_extractor,
                                progress=False, split_strategy="temporal", cutoff="2024-02-01", dedup=True)

    assert list(result.dataset) == ["train"]  # the test split's one declaration is gone
    assert SHARED[0] not in result.dataset["train"]["declId"] and SHARED[1] in result.dataset["train"]["declId"]
    assert result.summary.leakage.removed == 1
    assert "dedup removed 1 declarations" in result.summary.format()

    prompts = ntp_datasets.build("instruct_full_proof", spec, cache_dir=str(tmp_path / "c3"), extractor=fake_extractor,
                                 progress=False, split_strategy="temporal", cutoff="2024-02-01", dedup=True)
    assert prompts.summary.dropped_by_reason["duplicate"] == 1
    assert SHARED[0] not in [d for split in prompts.dataset.values() for d in split["declId"]]


class Fact:
    def __init__(self, project, decl_id, digest):
        self.project, self.declId, self.statementHash = project, decl_id, digest


def test_dedup_moves_a_statement_found_only_in_held_out_splits_to_train():
    facts = [Fact("p", "a", "h1"), Fact("p", "b", "h1"), Fact("q", "c", "h1"), Fact("p", "d", "h2"),
             Fact("q", "e", "h2")]
    splits = {("p", "a"): DEV, ("p", "b"): TEST, ("q", "c"): TEST, ("p", "d"): TRAIN, ("q", "e"): TRAIN}

    leaked = leaked_statements(facts, splits)
    assert [s.statementHash for s in leaked] == ["h1"]  # h2 is twice in train: no leakage
    kept, dropped = deduplicate(splits, leaked)
    assert kept == {("p", "a"): TRAIN, ("p", "d"): TRAIN, ("q", "e"): TRAIN}
    assert dropped == {("p", "b"), ("q", "c")}

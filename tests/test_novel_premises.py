"""The ``novel_premises`` split: dev and test declarations each use a premise no train declaration uses."""

from __future__ import annotations


import pytest
from sample_module import FakeModuleOutput

import ntp_datasets
from ntp_datasets.errors import ConfigError
from ntp_datasets.rows.splits import SplitFractions, file_split, novel_premises_splits

# Six declarations; `only1` and `only2` are each used by one declaration, `three` by three and
# `wide` by all. With one dev and one test declaration wanted, the only groups that fit are {t1}
# and {t2}, whatever order the seed gives the premises.
USES = {
    "t1": ["only1", "wide"],
    "t2": ["only2", "wide"],
    "t3": ["three", "wide"],
    "t4": ["three", "wide"],
    "t5": ["three", "wide"],
    "t6": ["wide"],
}
DECLARATIONS = [("A.lean", f"A:{d}", premises) for d, premises in USES.items()]


def check_novel(assignment, declarations):
    """Every held-out declaration uses a premise that no train declaration uses."""
    train_premises = {p for _, d, ps in declarations if d not in assignment for p in ps}
    for _, d, premises in declarations:
        if d in assignment:
            assert set(premises) - train_premises, d


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 42])
def test_the_only_novel_groups_are_held_out(seed):
    assignment = novel_premises_splits(SplitFractions(dev=1 / 6, test=1 / 6, seed=seed), DECLARATIONS)
    assert set(assignment) == {"A:t1", "A:t2"} and set(assignment.values()) == {"dev", "test"}
    check_novel(assignment, DECLARATIONS)


def test_the_seed_decides_which_group_is_dev():
    firsts = {novel_premises_splits(SplitFractions(dev=1 / 6, test=1 / 6, seed=s), DECLARATIONS)["A:t1"]
              for s in range(8)}
    assert firsts == {"dev", "test"}
    again = novel_premises_splits(SplitFractions(dev=1 / 6, test=1 / 6, seed=5), list(reversed(DECLARATIONS)))
    assert again == novel_premises_splits(SplitFractions(dev=1 / 6, test=1 / 6, seed=5), DECLARATIONS)


def test_a_premise_takes_all_its_users_or_none():
    # Three wanted in dev: {t3, t4, t5} (premise `three`) fits as a whole; {t1} + {t2} leave one
    # missing that `three` cannot fill without overshooting.
    outcomes = set()
    for seed in range(8):
        assignment = novel_premises_splits(SplitFractions(dev=3 / 6, test=0.0, seed=seed), DECLARATIONS)
        assert set(assignment.values()) == {"dev"}
        check_novel(assignment, DECLARATIONS)
        outcomes.add(tuple(sorted(assignment)))
    assert outcomes == {("A:t3", "A:t4", "A:t5"), ("A:t1", "A:t2")}


def test_declarations_of_held_out_files_take_no_part():
    fractions = SplitFractions(dev=0.5, test=0.0, file_dev=0.5, seed=3)
    files = [f"F{i}.lean" for i in range(12)]
    held = [f for f in files if file_split(fractions, f)]
    declarations = [(f, f"{f}:d", [f"p{i}"]) for i, f in enumerate(files)]
    assignment = novel_premises_splits(fractions, declarations)
    assert not {f"{f}:d" for f in held} & set(assignment)
    assert len(assignment) == round(0.5 * (len(files) - len(held)))


def _module(file: str, module: str, uses: dict[str, list[str]]) -> FakeModuleOutput:
    """A module of one-line theorems `theorem NAME : True := by trivial`, each using the given premises."""
    lines, events = [], []
    offset = 0
    for number, (name, premises) in enumerate(uses.items(), 1):
        line = f"theorem {name} : True := by trivial\n"
        by = offset + line.index("trivial")
        events.append({"kind": "declaration", "name": name, "declKind": "theorem", "start": offset,
                       "end": offset + len(line) - 1, "sigEnd": offset + line.index(":="), "line": number,
                       "column": 0, "endLine": number, "endColumn": len(line) - 1, "hasSorry": False,
                       "hasError": False, "constants": [{"name": p, "isProp": True, "module": "X"} for p in premises]})
        events.append({"kind": "tactic", "declStart": offset, "start": by, "end": by + 7, "line": number,
                       "column": by - offset, "endLine": number, "endColumn": by - offset + 7,
                       "syntaxKind": "Lean.Parser.Tactic.tacticTrivial", "goalsBefore": ["⊢ True"],
                       "goalsAfter": [], "hasSorry": False, "inStatement": False})
        lines.append(line)
        offset += len(line)
    return FakeModuleOutput(module=module, file=file, source="".join(lines), events=events)


def test_record_and_prompt_configs_split_by_novel_premises(fake_extractor, project, tmp_path):
    fake_extractor["outputs"] = [_module("Sample/Basic.lean", "Sample.Basic", USES)]
    options = dict(project=project, extractor=fake_extractor, progress=False, split_strategy="novel_premises",
                   dev_fraction=1 / 6, test_fraction=1 / 6, seed=0)
    expected = novel_premises_splits(SplitFractions(dev=1 / 6, test=1 / 6, seed=0),
                                     [("Sample/Basic.lean", f"Sample.Basic:{d}", ps) for d, ps in USES.items()])
    tactics = ntp_datasets.load_dataset("tactic_prediction", cache_dir=str(tmp_path / "a"), **options)
    proofs = ntp_datasets.load_dataset("instruct_full_proof", cache_dir=str(tmp_path / "b"), **options)
    for dataset in (tactics, proofs):
        by_split = {split: sorted(r["declId"] for r in rows) for split, rows in dataset.items()}
        assert by_split == {
            "train": ["Sample.Basic:t3", "Sample.Basic:t4", "Sample.Basic:t5", "Sample.Basic:t6"],
            "dev": [d for d, s in expected.items() if s == "dev"],
            "test": [d for d, s in expected.items() if s == "test"],
        }


def test_unknown_strategy_and_streaming_are_refused(fake_extractor, project, tmp_path):
    with pytest.raises(ConfigError, match="split_strategy must be one of"):
        ntp_datasets.load_dataset("full_proof", project=project, extractor=fake_extractor, split_strategy="by_vibes",
                                  cache_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="does not stream"):
        dataset = ntp_datasets.load_dataset("instruct_full_proof", project=project, extractor=fake_extractor,
                                            split_strategy="novel_premises", streaming=True, cache_dir=str(tmp_path))
        next(iter(dataset["train"]))

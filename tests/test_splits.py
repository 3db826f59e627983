"""Seeded declaration- and file-level splits: pure assignment, disjointness, and builds with 1 or 2 workers."""

import pytest
from sample_module import FakeModuleOutput, declaration, tactic

from ntp_datasets.builders.ntp_toolkit import NtpToolkit
from ntp_datasets.summary import BuildSummary
from ntp_datasets.rows.splits import (
    FILE_SPLIT_DEV,
    FILE_SPLIT_TEST,
    SPLIT_NAMES,
    SplitFractions,
    declaration_split,
    split_of,
)

HELD_OUT = SplitFractions(dev=0.2, test=0.2, file_dev=0.2, file_test=0.2)
SPLIT_OPTIONS = {"dev_fraction": 0.2, "test_fraction": 0.2, "file_dev_fraction": 0.2, "file_test_fraction": 0.2}


def test_declaration_split_shares_follow_the_fractions():
    decl_ids = [f"Mod{i % 50}:lemma_{i}" for i in range(4000)]
    shares = SplitFractions(dev=0.1, test=0.05)
    assigned = [declaration_split(shares, d) for d in decl_ids]

    assert 330 < assigned.count("dev") < 470
    assert 140 < assigned.count("test") < 260
    assert assigned == [declaration_split(shares, d) for d in reversed(decl_ids)][::-1]  # order plays no part
    reseeded = [declaration_split(SplitFractions(dev=0.1, test=0.05, seed=7), d) for d in decl_ids]
    assert reseeded != assigned


def test_held_out_files_take_all_their_rows():
    files = [f"Gen/M{i}.lean" for i in range(200)]
    by_file = {f: {split_of(HELD_OUT, f, f"{f}:lemma_{j}") for j in range(20)} for f in files}
    held_out = {f for f, splits in by_file.items() if splits & {FILE_SPLIT_DEV, FILE_SPLIT_TEST}}

    assert 50 < len(held_out) < 110  # 40% of files expected
    assert all(len(by_file[f]) == 1 for f in held_out)  # one split per held-out file, nothing of it in train/dev/test
    assert all(by_file[f] <= {"train", "dev", "test"} for f in set(files) - held_out)


def test_no_held_out_splits_without_fractions():
    nothing_held_out = SplitFractions(dev=0.0, test=0.0)

    assert {split_of(nothing_held_out, f"F{i}.lean", f"M:d{i}") for i in range(500)} == {"train"}


@pytest.mark.parametrize("fractions", [{"dev": 0.6, "test": 0.5}, {"file_dev": -0.1}, {"file_test": 1.5}])
def test_impossible_fractions_are_rejected(fractions):
    with pytest.raises(ValueError, match="fraction"):
        SplitFractions(**fractions)


def generated_module(index: int, theorems: int = 4) -> FakeModuleOutput:
    """A module of ``theorems`` two-step theorems (the second step of the last one is ``sorry``)."""
    source = "".join(f"theorem t{index}_{j} (n : Nat) : n = n := by\n  skip\n  rfl\n\n" for j in range(theorems))
    source += f"theorem bad{index} : False := by\n  sorry\n"
    events = []
    for j in range(theorems):
        start = f"theorem t{index}_{j} "
        events.append(declaration(source, start, f"Gen.t{index}_{j}", "theorem", ":=", "rfl"))
        events.append(tactic(source, start, "skip", ["n : Nat\n⊢ n = n"], ["n : Nat\n⊢ n = n"]))
        events.append(tactic(source, start, "rfl", ["n : Nat\n⊢ n = n"], []))
    events.append(declaration(source, f"theorem bad{index}", f"Gen.bad{index}", "theorem", ":=", "sorry", has_sorry=True))
    events.append(tactic(source, f"theorem bad{index}", "sorry", ["⊢ False"], [], has_sorry=True))
    return FakeModuleOutput(f"Gen.M{index}", f"Gen/M{index}.lean", source, events)


MODULES = [generated_module(i) for i in range(24)]


@pytest.fixture
def project(tmp_path):
    project_dir = tmp_path / "gen_project"
    (project_dir / "Gen").mkdir(parents=True)
    (project_dir / "Gen" / "M0.lean").write_text("theorem t : True := trivial\n")
    (project_dir / "lean-toolchain").write_text("leanprover/lean4:v4.19.0\n")
    return project_dir


def build(project, cache_dir, config_name="instruct_state_tactic", num_proc=None, *, extractor, **options):
    """Build a config; return (its build summary, {split: list of rows})."""
    summary = BuildSummary()
    builder = NtpToolkit(config_name=config_name, project=str(project), cache_dir=str(cache_dir), extractor=extractor,
                         summary=summary, **options)
    builder.download_and_prepare(num_proc=num_proc)
    return summary, {split: dataset.to_list() for split, dataset in builder.as_dataset().items()}


def test_split_rows_are_disjoint_by_declaration_and_file(fake_extractor, project, tmp_path):
    fake_extractor["outputs"] = MODULES
    summary, splits = build(project, tmp_path, extractor=fake_extractor, **SPLIT_OPTIONS)

    assert set(splits) == set(SPLIT_NAMES)  # this project is big enough for every split
    decls = {split: {row["declId"] for row in rows} for split, rows in splits.items()}
    files = {split: {row["file"] for row in rows} for split, rows in splits.items()}
    for first in SPLIT_NAMES:
        for second in SPLIT_NAMES:
            if first < second:
                assert not decls[first] & decls[second], (first, second)
    for held_out in (FILE_SPLIT_DEV, FILE_SPLIT_TEST):
        others = set().union(*(files[s] for s in SPLIT_NAMES if s != held_out))
        assert not files[held_out] & others
    assert all(row["split"] == split for split, rows in splits.items() for row in rows)
    assert all(len([r for r in rows if r["declId"] == d]) == 2 for split, rows in splits.items() for d in decls[split])
    # Every step without sorry is in exactly one split; the 24 sorry steps are dropped and counted.
    assert sum(len(rows) for rows in splits.values()) == 24 * 4 * 2
    assert summary.dropped_rows == 24


def test_rebuild_with_two_workers_and_other_module_order_gives_the_same_rows(fake_extractor, project, tmp_path):
    fake_extractor["outputs"] = MODULES
    _, one_worker = build(project, tmp_path / "one", num_proc=1, max_context_tokens=20, **SPLIT_OPTIONS, extractor=fake_extractor)
    _, two_workers = build(project, tmp_path / "two", num_proc=2, max_context_tokens=20, **SPLIT_OPTIONS, extractor=fake_extractor)
    fake_extractor["outputs"] = MODULES[::-1]
    _, reordered = build(project, tmp_path / "reordered", num_proc=2, max_context_tokens=20, **SPLIT_OPTIONS, extractor=fake_extractor)

    def canonical(splits):
        return {split: sorted(rows, key=lambda row: (row["declId"], row["prompt"])) for split, rows in splits.items()}

    assert two_workers == one_worker
    assert canonical(reordered) == canonical(one_worker)


def test_context_truncation_is_the_same_with_two_workers(fake_extractor, project, tmp_path):
    fake_extractor["outputs"] = MODULES
    options = {"config_name": "instruct_context_state_tactic", "max_context_tokens": 40, **SPLIT_OPTIONS}
    _, one_worker = build(project, tmp_path / "one", num_proc=1, **options, extractor=fake_extractor)
    _, two_workers = build(project, tmp_path / "two", num_proc=2, **options, extractor=fake_extractor)

    sources = {module.file: module.source for module in MODULES}
    contexts = [(row["prompt"].split("[CTX]\n")[1].split("\n[/CTX]")[0], sources[row["file"]]) for rows in one_worker.values() for row in rows]
    head_and_tail = [c for c, _ in contexts if "[LONG FILE TRUNCATED]" in c]
    tail_only = [c for c, source in contexts if "[LONG FILE TRUNCATED]" not in c and not source.startswith(c)]
    assert head_and_tail and tail_only
    assert all(c.startswith("theorem t") for c in head_and_tail)
    assert two_workers == one_worker


def test_empty_held_out_splits_are_left_out(fake_extractor, project, tmp_path):
    fake_extractor["outputs"] = MODULES[:1]
    _, splits = build(project, tmp_path, dev_fraction=0.0, test_fraction=0.0, extractor=fake_extractor)

    assert list(splits) == ["train"]
    assert len(splits["train"]) == 8


def test_record_configs_keep_one_train_split(fake_extractor, project, tmp_path):
    fake_extractor["outputs"] = MODULES[:2]
    _, splits = build(project, tmp_path, config_name="tactic_prediction", extractor=fake_extractor)

    assert list(splits) == ["train"]
    assert len(splits["train"]) == 2 * (4 * 2 + 1)  # sorry steps kept in record configs

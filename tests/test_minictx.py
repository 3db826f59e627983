"""The ``minictx`` config (ntp-toolkit's ``convert_minictx.py`` rows, with git dates) and
``split_strategy="temporal"``, on a git project the tests make (``dated_project``) with
hand-made extractor events (no Lean)."""

from __future__ import annotations

import shutil

import pytest
from dated_project import DATES, FINAL, demo_output, make_dated_project

import ntp_datasets
from ntp_datasets.cli import main
from ntp_datasets.errors import ConfigError
from ntp_datasets.project.history import ProjectHistory
from ntp_datasets.records import MiniCtxContext, minictx_records
from ntp_datasets.records.statements import statement_hash
from ntp_datasets.rows.splits import seeded_fraction


@pytest.fixture
def demo(tmp_path, fake_extractor):
    """The dated project (a directory named ``demo``), its commits, and the fake extractor set to its module."""
    root = tmp_path / "demo"
    commits = make_dated_project(root)
    fake_extractor["outputs"] = [demo_output()]
    return root, commits


def build(config, root, tmp_path, extractor, **options):
    cache = tmp_path / f"cache-{len(list(tmp_path.glob('cache-*')))}"
    return ntp_datasets.build(config, str(root), cache_dir=str(cache), extractor=extractor, progress=False, **options)


def dated(commits, index):
    return {"commit": commits[index], "date": DATES[index]}


def test_minictx_rows_carry_ntp_toolkits_fields_and_ours(demo, tmp_path, fake_extractor):
    root, commits = demo
    rows = {row["theoremName"]: row for row in build("minictx", root, tmp_path, fake_extractor).dataset["train"]}

    assert list(rows) == ["Demo.one_add_one", "Demo.add_zero", "Demo.two_add_two", "Demo.double", "Demo.late_gap"]
    context = FINAL[:FINAL.index("theorem two_add_two")]
    assert rows["Demo.two_add_two"] == {
        "srcContext": context,
        "theoremStatement": "theorem two_add_two : 2 + 2 = 4 ",
        "theoremName": "Demo.two_add_two",
        "fileCreated": dated(commits, 1),          # the move: `git log -- FILE` follows no rename
        "theoremCreated": dated(commits, 0),       # `git log -S two_add_two`: the comment of 2023
        "file": "demo/Demo/Basic.lean",
        "module": "Demo.Basic",
        "jsonFile": "Demo.Basic.jsonl",
        "positionMetadata": {"lineInFile": 9, "tokenPositionInFile": len(context), "theoremPositionInFile": 2},
        "dependencyMetadata": {"inFilePremises": True, "numInFilePremises": 1, "repositoryPremises": True,
                               "numRepositoryPremises": 1, "numPremises": 2},
        "proofMetadata": {"hasProof": True, "proof": ":= rfl", "proofType": "term", "proofLengthLines": 0,
                          "proofLengthTokens": 6},
        "declId": "Demo.Basic:Demo.two_add_two",
        "declarationCreated": dated(commits, 2),   # where it is declared
        "fileCreatedFollowingRenames": dated(commits, 0),
        "isTheorem": True,
        "hasSorry": False,
        "hasError": False,
        "statementHash": statement_hash("theorem two_add_two : 2 + 2 = 4 "),
        "project": "demo",
        "package": "",
    }
    assert rows["Demo.add_zero"]["theoremCreated"] == dated(commits, 0)  # inside `add_zero_nat`
    assert rows["Demo.add_zero"]["declarationCreated"] == dated(commits, 3)  # renamed then
    assert rows["Demo.add_zero"]["dependencyMetadata"] == dict.fromkeys(
        ["inFilePremises", "numInFilePremises", "repositoryPremises", "numRepositoryPremises", "numPremises"])
    assert rows["Demo.late_gap"]["proofMetadata"]["hasProof"] is False
    assert (rows["Demo.double"]["isTheorem"], rows["Demo.double"]["theoremCreated"]) == (False, dated(commits, 2))


def test_dependency_counts_tell_the_file_from_the_project():
    module = demo_output()
    module.events[-1]["dependents"].append({"name": "Demo.Extra.helper", "explicit": True, "direct": True})
    context = MiniCtxContext(frozenset({"Demo.one_add_one", "Demo.two_add_two", "Demo.Extra.helper"}),
                             ProjectHistory(unavailable="test"))
    (row,) = [r for r in minictx_records(module, context) if r.theoremName == "Demo.two_add_two"]
    assert row.dependencyMetadata == {"inFilePremises": True, "numInFilePremises": 1, "repositoryPremises": True,
                                      "numRepositoryPremises": 2, "numPremises": 3}
    assert row.fileCreated == {"commit": None, "date": None}


def split_ids(dataset) -> dict[str, list[str]]:
    return {split: rows["declId"] for split, rows in dataset.items()}


def test_temporal_split_puts_theorems_created_after_the_cutoff_in_test(demo, tmp_path, fake_extractor):
    root, _ = demo
    result = build("full_proof", root, tmp_path, fake_extractor, split_strategy="temporal", cutoff="2024-02-01")

    # Only add_zero (declared under that name on 2024-03-05) is a sorry-free theorem after the cut-off;
    # late_gap is later too, but proved by sorry.
    assert split_ids(result.dataset) == {
        "train": ["Demo.Basic:Demo.one_add_one", "Demo.Basic:Demo.two_add_two", "Demo.Basic:Demo.double",
                  "Demo.Basic:Demo.late_gap"],
        "test": ["Demo.Basic:Demo.add_zero"],
    }
    assert (result.summary.after_cutoff, result.summary.undated) == (1, 0)
    assert "1 declarations after the cut-off, 0 without a date" in result.summary.format()


def test_temporal_split_sends_a_seeded_half_to_dev(demo, tmp_path, fake_extractor):
    root, _ = demo
    splits = split_ids(build("minictx", root, tmp_path, fake_extractor, split_strategy="temporal",
                             cutoff="2023-12-31", seed=7).dataset)

    late = ["Demo.Basic:Demo.add_zero", "Demo.Basic:Demo.two_add_two"]
    # The documented order: by the seeded fraction of (project, declId); the first half to dev.
    first = min(late, key=lambda d: seeded_fraction(7, "temporal", f"demo\0{d}"))
    assert splits["dev"] == [first]
    assert splits["test"] == [d for d in late if d != first]
    assert sorted(splits["train"]) == ["Demo.Basic:Demo.double", "Demo.Basic:Demo.late_gap",
                                       "Demo.Basic:Demo.one_add_one"]


def test_temporal_split_by_ntp_toolkits_theorem_date(demo, tmp_path, fake_extractor):
    root, _ = demo
    result = build("full_proof", root, tmp_path, fake_extractor, split_strategy="temporal", cutoff="2023-12-31",
                   temporal_field="theoremCreated")
    # `git log -S` dates every theorem to 2023-01-10 (comment, substring): nothing is held out.
    assert list(result.dataset) == ["train"] and result.summary.after_cutoff == 0


def test_a_plain_directory_has_null_dates_and_the_summary_says_why(demo, tmp_path, fake_extractor):
    root, _ = demo
    plain = tmp_path / "plain"
    shutil.copytree(root, plain, ignore=shutil.ignore_patterns(".git"))

    minictx = build("minictx", plain, tmp_path, fake_extractor)
    assert {row["declarationCreated"]["date"] for row in minictx.dataset["train"]} == {None}
    assert minictx.summary.dates_unavailable == {"plain": "not in a git work tree"}
    assert "no dates for plain: not in a git work tree" in minictx.summary.format()

    temporal = build("full_proof", plain, tmp_path, fake_extractor, split_strategy="temporal", cutoff="2020-01-01")
    assert list(temporal.dataset) == ["train"] and temporal.dataset["train"].num_rows == 5
    assert temporal.summary.undated == 5


def test_temporal_options_are_checked(demo, tmp_path, fake_extractor):
    root, _ = demo
    for options, message in (({"split_strategy": "temporal"}, "needs cutoff"),
                             ({"split_strategy": "temporal", "cutoff": "2024-13-01"}, "not a date"),
                             ({"split_strategy": "temporal", "cutoff": "01/02/2024"}, "YYYY-MM-DD"),
                             ({"temporal_field": "authored"}, "temporal_field")):
        with pytest.raises(ConfigError, match=message):
            build("full_proof", root, tmp_path, fake_extractor, **options)
    with pytest.raises(ConfigError, match="does not stream"):
        ntp_datasets.load_dataset("minictx", str(root), streaming=True, extractor=fake_extractor, progress=False)


def test_the_cli_takes_the_temporal_options(demo, tmp_path, fake_extractor, capsys):
    root, _ = demo
    status = main(["preview", str(root), "--config", "minictx", "--split-strategy", "temporal", "--cutoff",
                   "2024-02-01", "--cache-dir", str(tmp_path / "cli-cache")], extractor=fake_extractor)
    out = capsys.readouterr().out
    assert status == 0
    assert "1 declarations after the cut-off, 0 without a date (in train)" in out

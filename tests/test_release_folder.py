"""Dataset folders the Hub shows: Parquet row groups within the viewer's bound, every config
loading with plain ``datasets.load_dataset``, the card's Hub metadata and its splits, leakage
and provenance sections, the check before pushing, and provenance without local paths. Git
projects the tests make (``dated_project``), hand-made events (no Lean)."""

from __future__ import annotations

import json

import datasets
import pyarrow.parquet as pq
import pytest
from dated_project import git, make_dated_project, make_other_project, outputs_by_project
from huggingface_hub import DatasetCard

import ntp_datasets
from ntp_datasets.errors import FolderError
from ntp_datasets.project import LeanProject
from ntp_datasets.publish import build_dataset_folder, push_to_hub, read_manifest
from ntp_datasets.publish.build import write_parquet
from ntp_datasets.publish.card import size_category
from ntp_datasets.publish.check import folder_problems
from ntp_datasets.publish.folder import HUB_ROW_GROUP_BYTES, MANIFEST_NAME
from ntp_datasets.publish.provenance import network_url

CONFIGS = ["minictx", "full_proof", "instruct_full_proof"]
TEMPORAL = {"split_strategy": "temporal", "cutoff": "2024-02-01"}
APACHE = "                                 Apache License\n                           Version 2.0, January 2004\n"


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


@pytest.fixture
def two_projects(tmp_path, fake_extractor):
    demo, other = tmp_path / "demo", tmp_path / "other"
    make_dated_project(demo)
    (demo / "LICENSE").write_text(APACHE)
    git(demo, "add", "LICENSE")
    git(demo, "commit", "-qm", "licence", date="2024-03-06")
    make_other_project(other)
    fake_extractor["outputs"] = outputs_by_project
    return [str(demo), str(other)]


def row_group_sizes(path) -> list[int]:
    metadata = pq.read_metadata(path)
    return [metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)]


def test_folder_row_groups_fit_the_viewer_and_every_config_loads_back(two_projects, tmp_path, fake_extractor, hf_cache):
    out = tmp_path / "folder"
    manifest = build_dataset_folder(two_projects, out, CONFIGS, extractor=fake_extractor, cache_dir=str(hf_cache),
                                    max_row_group_bytes=2_000, **TEMPORAL)

    sizes = {path: row_group_sizes(out / path) for path in manifest.data_files()}
    assert all(0 < size <= HUB_ROW_GROUP_BYTES for groups in sizes.values() for size in groups)
    assert len(sizes["minictx/train-00000-of-00001.parquet"]) > 1  # 2,000 bytes hold about one row
    assert folder_problems(out) == []
    for config in CONFIGS:
        built = ntp_datasets.load_dataset(config, two_projects, cache_dir=str(hf_cache), extractor=fake_extractor,
                                          progress=False, **TEMPORAL)
        reloaded = datasets.load_dataset(str(out), config, cache_dir=str(tmp_path / "reload"))
        assert set(reloaded) == set(built) == {"train", "test"}
        for split in built:
            assert reloaded[split].features == built[split].features
            assert reloaded[split].to_list() == built[split].to_list()


def test_row_groups_are_cut_by_bytes_and_a_larger_row_stands_alone(tmp_path):
    texts = ["x" * 10_000] * 40 + ["y" * 300_000] + ["z" * 10_000] * 40
    dataset = datasets.Dataset.from_dict({"text": texts, "n": list(range(len(texts)))})

    write_parquet(dataset, tmp_path / "t.parquet", max_row_group_bytes=100_000)

    metadata = pq.read_metadata(tmp_path / "t.parquet")
    groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]
    assert [g.num_rows for g in groups if g.total_byte_size > 100_000] == [1]  # the 300 kB row, alone
    assert all(g.total_byte_size <= 100_000 for g in groups if g.num_rows > 1)
    assert sum(g.num_rows for g in groups) == 81
    assert datasets.Dataset.from_parquet(str(tmp_path / "t.parquet")).to_list() == dataset.to_list()


def test_card_has_the_hub_metadata_and_says_how_splits_were_made(two_projects, tmp_path, fake_extractor, hf_cache):
    out = tmp_path / "folder"
    manifest = build_dataset_folder(two_projects[:1], out, CONFIGS, extractor=fake_extractor, cache_dir=str(hf_cache),
                                    **TEMPORAL)
    card = DatasetCard.load(out / "README.md")

    assert card.data.license == "apache-2.0"  # from demo's LICENSE
    assert card.data.pretty_name == "demo (ntp-datasets)"
    assert card.data.size_categories == ["n<1K"]
    assert card.data.source_datasets == ["original"]
    assert card.data.task_categories == ["text-generation"]
    assert "lean4" in card.data.tags
    assert {c["config_name"]: c["data_files"] for c in card.data.configs} == {
        config: [{"split": split, "path": entry["paths"]} for split, entry in splits.items()]
        for config, splits in manifest.splits.items()
    }
    assert ("Declarations are split `temporal`: theorems without `sorry` created after 2024-02-01 (by "
            "`declarationCreated`)") in card.text
    assert "| `minictx` | 0 | 0 | 0 | 0 |" in card.text  # one project: nothing shared
    assert manifest.splitting["cutoff"] == "2024-02-01" and manifest.splitting["dedup"] is False

    relicensed = tmp_path / "relicensed"
    build_dataset_folder(two_projects[:1], relicensed, ["full_proof"], extractor=fake_extractor,
                         cache_dir=str(hf_cache), license="mit")
    assert DatasetCard.load(relicensed / "README.md").data.license == "mit"


def test_card_counts_statements_shared_across_projects(two_projects, tmp_path, fake_extractor, hf_cache):
    out = tmp_path / "folder"
    manifest = build_dataset_folder(two_projects, out, ["full_proof"], extractor=fake_extractor,
                                    cache_dir=str(hf_cache), dedup=True, **TEMPORAL)
    text = (out / "README.md").read_text()
    assert "| `full_proof` | 1 | 1 | 1 | 1 |" in text
    assert "with `dedup`: of each statement stated in several splits one declaration is kept, in train" in text
    assert manifest.leakage["full_proof"]["removed"] == 1
    assert DatasetCard.load(out / "README.md").data.license is None  # demo is Apache, other has no licence


class RecordingHub:
    """An ``api`` for ``push_to_hub`` that records what it is asked (nothing may be asked)."""

    def __init__(self):
        self.calls = []

    def create_repo(self, *args, **kwargs):
        self.calls.append("create_repo")

    def create_commit(self, *args, **kwargs):
        self.calls.append("create_commit")


def test_the_check_before_pushing_finds_empty_files_big_row_groups_and_configs_that_do_not_load(
        two_projects, tmp_path, fake_extractor, hf_cache):
    out = tmp_path / "folder"
    manifest = build_dataset_folder(two_projects, out, CONFIGS, extractor=fake_extractor, cache_dir=str(hf_cache),
                                    **TEMPORAL)
    assert folder_problems(out, max_row_group_bytes=500) == [
        f"{path}: row group 0 holds {row_group_sizes(out / path)[0]:,} bytes, more than 500"
        for path in manifest.data_files()
    ]

    test_file = manifest.splits["full_proof"]["test"]["paths"][0]
    table = pq.read_table(out / test_file)
    pq.write_table(table.slice(0, 0), out / test_file)
    problems = folder_problems(out)
    assert problems[0] == f"{test_file} has no rows"
    assert any(p.startswith("config 'full_proof' ") for p in problems[1:])

    hub = RecordingHub()
    with pytest.raises(FolderError, match="cannot be pushed"):
        push_to_hub(out, "someone/demo", api=hub)
    assert hub.calls == []


def test_a_project_inside_a_clone_is_recorded_without_local_paths(tmp_path, fake_extractor, hf_cache):
    upstream = tmp_path / "upstream"
    make_dated_project(upstream / "lean")
    top = tmp_path / "outer"  # a clone of a local repository, holding the project in a subdirectory
    top.mkdir()
    git(top, "init", "-q")
    (top / "README").write_text("outer repository\n")
    git(top, "remote", "add", "origin", f"file://{upstream}/lean")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "outer", date="2024-04-04")
    project = top / "packages" / "demo"
    project.mkdir(parents=True)
    (project / "Demo").mkdir()
    (project / "Demo" / "Basic.lean").write_text((upstream / "lean" / "Demo" / "Basic.lean").read_text())
    fake_extractor["outputs"] = outputs_by_project

    out = tmp_path / "folder"
    manifest = build_dataset_folder(str(project), out, ["full_proof"], extractor=fake_extractor, cache_dir=str(hf_cache))

    (recorded,) = manifest.provenance["projects"]
    assert recorded == {"name": "demo", "content_sha256": LeanProject(project).fingerprint()}
    assert manifest.provenance["spec"] == "demo"
    for name in ("README.md", MANIFEST_NAME):
        text = (out / name).read_text()
        assert str(tmp_path) not in text and "file://" not in text, name

    # A work tree's own top is recorded by its commit, its local remote not at all.
    git(upstream / "lean", "remote", "add", "origin", f"file://{tmp_path}/elsewhere.git")
    head = git(upstream / "lean", "rev-parse", "HEAD")
    second = build_dataset_folder(str(upstream / "lean"), tmp_path / "second", ["full_proof"], extractor=fake_extractor,
                                  cache_dir=str(hf_cache))
    assert second.provenance["projects"][0]["git_commit"] == head
    assert "git_remote" not in second.provenance["projects"][0]
    assert str(tmp_path) not in json.dumps(read_manifest(tmp_path / "second").provenance)


def test_only_network_remotes_are_published_and_sizes_have_hub_names(tmp_path):
    assert network_url("https://someone:hf_secret123@example.com/p.git") == "https://example.com/p.git"
    assert network_url("ssh://git@example.com/p.git") == "ssh://example.com/p.git"
    assert network_url("git@github.com:owner/p.git") == "github.com:owner/p.git"
    assert network_url(f"file://{tmp_path}/p.git") == ""
    assert network_url(str(tmp_path / "p")) == ""
    assert [size_category(n) for n in (0, 999, 1_000, 12_345, 10**12)] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "n>1T"]

"""Dataset folders (build -> Parquet + card + manifest), the Hub round trip (offline), stats.

Most tests use the fake extractor; one builds every config of the real sample project.
"""

from __future__ import annotations

import datetime
import json
import subprocess
from collections import Counter
from pathlib import Path

import datasets
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, DatasetCard, HfApi, RepoUrl

import ntp_datasets
from ntp_datasets.cli import main
from ntp_datasets.extraction import EXTRACTOR_VERSION
from ntp_datasets.project import LeanProject
from ntp_datasets.resources import sample_project_dir
from ntp_datasets.errors import FolderError, PublishError
from ntp_datasets.publish.folder import MANIFEST_NAME, read_manifest
from ntp_datasets.publish import build_dataset_folder, buildable_configs, push_to_hub, redact
from ntp_datasets.publish.stats import folder_stats, format_stats

# Configs the fake extractor's module gives rows for, and one it gives none (premises).
FAKE_CONFIGS = ["tactic_prediction", "full_proof", "full_proof_with_states", "modules", "instruct_state_tactic", "instruct_full_proof"]
# With seed 1 and half the declarations in dev, the fake module's two declarations land in
# different splits, so instruct configs have both train and dev.
SPLIT_OPTIONS = {"seed": 1, "dev_fraction": 0.5, "test_fraction": 0.0}


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """Keep datasets' cache of this test out of the user's cache (also for CLI runs)."""
    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


def build(project, out, configs=FAKE_CONFIGS, **options):
    return build_dataset_folder(project, out, configs, **{**SPLIT_OPTIONS, **options})


def load_folder(directory, config, cache):
    """What a user does: plain ``datasets.load_dataset`` on the folder."""
    return datasets.load_dataset(str(directory), config, cache_dir=str(cache))


def assert_folder_matches(expected_dir, actual_dir, cache):
    """Every config and split of ``expected_dir``'s manifest loads from ``actual_dir`` with the same rows and features."""
    expected = read_manifest(expected_dir)
    missing = [rel for rel in expected.data_files() if not (Path(actual_dir) / rel).is_file()]
    assert not missing, f"data files missing: {missing}"
    assert set(datasets.get_dataset_config_names(str(actual_dir))) == set(expected.splits)
    for config, splits in expected.splits.items():
        actual = load_folder(actual_dir, config, cache)
        assert set(actual) == set(splits), f"{config}: splits {set(actual)} != {set(splits)}"
        for split in splits:
            files = [str(Path(expected_dir) / path) for path in splits[split]["paths"]]
            reference = datasets.Dataset.from_parquet(files, cache_dir=str(cache))
            assert actual[split].features == reference.features
            assert actual[split].to_list() == reference.to_list()


def test_every_config_and_split_reloads_with_plain_load_dataset(fake_extractor, project, tmp_path, hf_cache):
    out = tmp_path / "folder"
    manifest = build(project, out, cache_dir=str(tmp_path / "build-cache"), extractor=fake_extractor)

    assert list(manifest.splits) == FAKE_CONFIGS
    assert set(manifest.splits["instruct_state_tactic"]) == {"train", "dev"}
    for config in FAKE_CONFIGS:
        built = ntp_datasets.load_dataset(config, project=project, cache_dir=str(tmp_path / "build-cache"), **SPLIT_OPTIONS, extractor=fake_extractor)
        reloaded = load_folder(out, config, hf_cache)
        assert set(reloaded) == set(built)
        for split in built:
            assert reloaded[split].features == built[split].features
            assert reloaded[split].to_list() == built[split].to_list()
            assert manifest.splits[config][split]["num_rows"] == built[split].num_rows
    # Without a name, the card's default config is read.
    assert load_folder(out, None, hf_cache)["train"].to_list() == load_folder(out, "tactic_prediction", hf_cache)["train"].to_list()


def test_card_yaml_and_provenance(fake_extractor, project, tmp_path, hf_cache):
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"], check=True
    )
    subprocess.run(["git", "-C", str(project), "remote", "add", "origin", "https://someone:hf_secretsecret123@example.com/p.git"], check=True)
    commit = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = tmp_path / "folder"
    manifest = build(project, out, cache_dir=str(hf_cache), extractor=fake_extractor)

    card = DatasetCard.load(out / "README.md")
    yaml_configs = {c["config_name"]: c for c in card.data.configs}
    assert set(yaml_configs) == set(FAKE_CONFIGS)
    assert yaml_configs["instruct_state_tactic"]["data_files"] == [
        {"split": split, "path": entry["paths"]} for split, entry in manifest.splits["instruct_state_tactic"].items()
    ]
    infos = {info["config_name"]: info for info in card.data.dataset_info}
    for config, counts in manifest.row_counts().items():
        assert {s["name"]: s["num_examples"] for s in infos[config]["splits"]} == counts
    assert [f["name"] for f in infos["full_proof"]["features"]][:4] == ["srcUpToDecl", "decl", "declId", "proof"]

    provenance = json.loads((out / MANIFEST_NAME).read_text())["provenance"]
    assert provenance["projects"][0]["git_commit"] == commit
    assert provenance["projects"][0]["git_dirty"] is False
    assert provenance["projects"][0]["git_remote"] == "https://example.com/p.git"  # credentials dropped
    assert provenance["projects"][0]["lean_toolchain"] == "leanprover/lean4:v4.19.0"
    assert provenance["extractor_version"] == EXTRACTOR_VERSION
    assert provenance["ntp_datasets_version"] == ntp_datasets.__version__
    built_at = datetime.datetime.strptime(provenance["built_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    assert abs(datetime.datetime.now(datetime.timezone.utc) - built_at) < datetime.timedelta(hours=1)

    text = card.text
    assert commit in text and "leanprover/lean4:v4.19.0" in text and "](stats.png)" in text
    assert "| `instruct_state_tactic` | dev | 1 |" in text
    readme = (out / "README.md").read_text()
    assert str(tmp_path) not in readme and "hf_secret" not in readme  # no local paths, no credentials


def test_config_without_rows_is_left_out_and_listed(fake_extractor, project, tmp_path, hf_cache):
    out = tmp_path / "folder"
    manifest = build(project, out, ["full_proof", "premises"], cache_dir=str(hf_cache), extractor=fake_extractor)

    assert list(manifest.splits) == ["full_proof"]
    assert manifest.empty_configs == ["premises"]
    assert datasets.get_dataset_config_names(str(out)) == ["full_proof"]
    assert "`premises`" in (out / "README.md").read_text()


def test_unknown_config_is_an_error_listing_the_valid_ones(project, tmp_path):
    with pytest.raises(PublishError) as error:
        build_dataset_folder(project, tmp_path / "out", ["full_prof"])
    assert "'full_prof'" in str(error.value)
    assert all(name in str(error.value) for name in buildable_configs())
    assert "full_proof" in buildable_configs() and "instruct_state_tactic" in buildable_configs()
    assert not (tmp_path / "out").exists()


def test_output_dir_is_replaced_only_when_it_is_a_previous_build_or_forced(fake_extractor, project, tmp_path, hf_cache):
    out = tmp_path / "folder"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(PublishError, match="--force"):
        build(project, out, ["full_proof"], cache_dir=str(hf_cache), extractor=fake_extractor)
    assert (out / "notes.txt").read_text() == "mine"

    build(project, out, ["full_proof"], cache_dir=str(hf_cache), force=True, extractor=fake_extractor)
    assert not (out / "notes.txt").exists()
    build(project, out, ["tactic_prediction"], cache_dir=str(hf_cache), extractor=fake_extractor)  # a previous build: replaced
    assert list(read_manifest(out).splits) == ["tactic_prediction"]
    assert not (out / "full_proof").exists()

    (out / "tactic_prediction" / "extra.parquet").write_bytes(b"")
    with pytest.raises(PublishError, match="extra.parquet"):
        build(project, out, ["full_proof"], cache_dir=str(hf_cache), extractor=fake_extractor)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".folder")) == []


def test_project_itself_is_never_replaced(project, tmp_path):
    for out in (project, project.parent):
        with pytest.raises(PublishError, match="would replace the project"):
            build_dataset_folder(project, out, ["full_proof"], force=True)
    assert (project / "Sample" / "Basic.lean").is_file()


def test_large_splits_are_written_in_shards(fake_extractor, project, tmp_path, hf_cache, monkeypatch):
    out = tmp_path / "folder"
    # every row over the limit: one shard per row
    manifest = build(project, out, ["tactic_prediction"], cache_dir=str(hf_cache), max_shard_bytes=1,
                     extractor=fake_extractor)

    assert manifest.splits["tactic_prediction"]["train"]["paths"] == [
        f"tactic_prediction/train-0000{i}-of-00003.parquet" for i in range(3)
    ]
    reloaded = load_folder(out, "tactic_prediction", hf_cache)["train"]
    built = ntp_datasets.load_dataset("tactic_prediction", project=project, cache_dir=str(hf_cache), extractor=fake_extractor)["train"]
    assert reloaded.to_list() == built.to_list()
    assert folder_stats(out).row_counts == {"tactic_prediction": {"train": 3}}


def test_failed_build_leaves_the_previous_folder_and_no_partial_one(fake_extractor, project, tmp_path, hf_cache):
    out = tmp_path / "folder"
    build(project, out, ["full_proof"], cache_dir=str(hf_cache), extractor=fake_extractor)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    class Crash:
        def __iter__(self):
            raise RuntimeError("Lean crashed")

    fake_extractor["outputs"] = Crash()
    (project / "Sample" / "Basic.lean").write_text("-- changed, so nothing comes from the cache\n")
    with pytest.raises(Exception) as error:
        build(project, out, ["full_proof", "tactic_prediction"], cache_dir=str(hf_cache), extractor=fake_extractor)
    causes = [error.value]
    while causes[-1].__cause__ is not None:
        causes.append(causes[-1].__cause__)
    assert "Lean crashed" in [str(c) for c in causes]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".folder")] == []


class FolderHub(HfApi):
    """An offline Hub: each dataset repository is a directory under ``root``; a commit writes
    its files there. Any other HfApi method would try the network (tests run it offline)."""

    def __init__(self, root: Path):
        super().__init__(token=False)
        self.root = Path(root)
        self.created: list[tuple[str, bool]] = []
        self.commits: list[str] = []

    def repo_dir(self, repo_id: str) -> Path:
        return self.root / repo_id

    def create_repo(self, repo_id, *, repo_type=None, private=None, exist_ok=False, **kwargs):
        assert repo_type == "dataset"
        if self.repo_dir(repo_id).exists() and not exist_ok:
            raise FileExistsError(repo_id)
        self.repo_dir(repo_id).mkdir(parents=True, exist_ok=True)
        self.created.append((repo_id, private))
        return RepoUrl(f"https://huggingface.co/datasets/{repo_id}")

    def create_commit(self, repo_id, operations, *, commit_message, repo_type=None, **kwargs):
        assert repo_type == "dataset" and self.repo_dir(repo_id).is_dir()
        for operation in operations:
            target = self.repo_dir(repo_id) / operation.path_in_repo
            if isinstance(operation, CommitOperationDelete):
                target.unlink()
            else:
                assert isinstance(operation, CommitOperationAdd)
                target.parent.mkdir(parents=True, exist_ok=True)
                with operation.as_file() as source:
                    target.write_bytes(source.read())
        self.commits.append(commit_message)


def test_push_round_trip_through_an_offline_hub(fake_extractor, project, tmp_path, hf_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "folder"
    build(project, out, cache_dir=str(hf_cache), extractor=fake_extractor)
    hub = FolderHub(tmp_path / "hub")

    url = push_to_hub(out, "someone/lean-data", private=True, api=hub)

    assert url == "https://huggingface.co/datasets/someone/lean-data"
    assert hub.created == [("someone/lean-data", True)] and len(hub.commits) == 1
    remote = hub.repo_dir("someone/lean-data")
    assert_folder_matches(out, remote, hf_cache)
    assert (remote / "stats.png").read_bytes() == (out / "stats.png").read_bytes()
    assert 'load_dataset("someone/lean-data", "full_proof")' in (remote / "README.md").read_text()


def test_round_trip_check_fails_when_a_config_or_split_is_missing(fake_extractor, project, tmp_path, hf_cache):
    out = tmp_path / "folder"
    build(project, out, cache_dir=str(hf_cache), extractor=fake_extractor)
    hub = FolderHub(tmp_path / "hub")
    push_to_hub(out, "someone/a", api=hub)
    push_to_hub(out, "someone/b", api=hub)
    assert_folder_matches(out, hub.repo_dir("someone/a"), hf_cache)

    # A split's file lost on the way.
    (hub.repo_dir("someone/a") / read_manifest(out).splits["instruct_state_tactic"]["dev"]["paths"][0]).unlink()
    with pytest.raises(AssertionError, match="dev"):
        assert_folder_matches(out, hub.repo_dir("someone/a"), hf_cache)
    # A config dropped from the card (its files still there).
    card = DatasetCard.load(hub.repo_dir("someone/b") / "README.md")
    card.data.configs = [c for c in card.data.configs if c["config_name"] != "full_proof"]
    card.data.dataset_info = [c for c in card.data.dataset_info if c["config_name"] != "full_proof"]
    card.save(hub.repo_dir("someone/b") / "README.md")
    with pytest.raises(AssertionError):
        assert_folder_matches(out, hub.repo_dir("someone/b"), hf_cache)


def test_push_refuses_an_incomplete_folder(fake_extractor, project, tmp_path, hf_cache):
    out = tmp_path / "folder"
    build(project, out, ["full_proof"], cache_dir=str(hf_cache), extractor=fake_extractor)
    (out / "stats.png").unlink()
    hub = FolderHub(tmp_path / "hub")
    with pytest.raises(FolderError, match="stats.png"):
        push_to_hub(out, "someone/x", api=hub)
    assert hub.created == []


def test_cli_push_never_prints_the_token(fake_extractor, project, tmp_path, hf_cache, monkeypatch, capsys):
    out = tmp_path / "folder"
    build(project, out, ["full_proof"], cache_dir=str(hf_cache), extractor=fake_extractor)
    token = "hf_" + "x1y2z3" * 6
    monkeypatch.setenv("HF_TOKEN", token)

    class RejectingHub:
        def __init__(self, token=None):
            self.token = token

        def create_repo(self, repo_id, **kwargs):
            raise RuntimeError(f"401 Unauthorized for {repo_id} with token {self.token or token}")

    monkeypatch.setattr("huggingface_hub.HfApi", RejectingHub)
    assert main(["push", str(out), "--repo", "someone/x"]) == 1
    captured = capsys.readouterr()
    assert "401 Unauthorized" in captured.err
    assert token not in captured.out + captured.err
    assert redact(f"a {token} b") == "a *** b" and redact("key hf_abcdefgh12345") == "key hf_***"


def test_cli_push_without_a_token_says_how_to_log_in(fake_extractor, project, tmp_path, hf_cache, monkeypatch, capsys):
    out = tmp_path / "folder"
    build(project, out, ["full_proof"], cache_dir=str(hf_cache), extractor=fake_extractor)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    assert main(["push", str(out), "--repo", "someone/x"]) == 1
    assert "hf auth login" in capsys.readouterr().err


def test_stats_counts_and_plot(fake_extractor, project, tmp_path, hf_cache):
    out = tmp_path / "folder"
    manifest = build(project, out, cache_dir=str(hf_cache), extractor=fake_extractor)
    tactics = ntp_datasets.load_dataset("tactic_prediction", project=project, cache_dir=str(hf_cache), extractor=fake_extractor)["train"]
    proofs = ntp_datasets.load_dataset("full_proof", project=project, cache_dir=str(hf_cache), extractor=fake_extractor)["train"]

    stats = folder_stats(out)

    assert stats.row_counts == manifest.row_counts()
    assert stats.distributions["tactics_per_proof"].values == sorted(Counter(tactics["declId"]).values())
    assert stats.distributions["tactics_per_proof"].values == [1, 2]  # add_zero': simp; example: intro n, sorry
    assert stats.distributions["state_chars"].values == [len(s) for s in tactics["state"]]
    assert stats.distributions["proof_lines"].values == [p.count("\n") + 1 for p in proofs["proof"]]
    table = format_stats(stats)
    assert "instruct_state_tactic" in table and "Tactic steps per proof (steps): count 2, min 1" in table

    png = (out / "stats.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1200, 800)


def test_cli_build_then_stats(fake_extractor, project, tmp_path, hf_cache, capsys):
    out = tmp_path / "folder"
    assert main(["build", str(project), "--out", str(out), "--config", "full_proof", "--config", "tactic_prediction"], extractor=fake_extractor) == 0
    assert list(read_manifest(out).splits) == ["full_proof", "tactic_prediction"]
    assert load_folder(out, "full_proof", hf_cache)["train"].num_rows == 2
    capsys.readouterr()

    (out / "stats.png").unlink()
    assert main(["stats", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "full_proof" in printed and "tactic_prediction" in printed and (out / "stats.png").stat().st_size > 0

    assert main(["build", str(project), "--out", str(out), "--config", "nope"], extractor=fake_extractor) == 1
    assert "valid configs: tactic_prediction" in capsys.readouterr().err
    assert main(["stats", str(tmp_path / "missing")]) == 1
    assert "not found" in capsys.readouterr().err


def test_sample_project_folder_holds_every_config(sample_outputs, tmp_path, hf_cache):
    """Real Lean: every default config of the bundled sample project, reloaded with plain datasets."""
    out = tmp_path / "sample"
    manifest = build_dataset_folder(None, out, cache_dir=str(hf_cache))

    assert manifest.empty_configs == ["errors"]  # the sample project elaborates without errors
    assert list(manifest.splits) == [c for c in buildable_configs() if c not in ("errors", "premise_corpus")]
    for config in manifest.splits:
        built = ntp_datasets.load_dataset(config, cache_dir=str(hf_cache))
        reloaded = load_folder(out, config, tmp_path / "reload-cache")
        assert set(reloaded) == set(built)
        for split in built:
            assert reloaded[split].to_list() == built[split].to_list(), (config, split)
            assert reloaded[split].features == built[split].features
    # The sample project is a directory inside this repository: recorded by its content, not
    # by the enclosing repository's commit (which says nothing about the project).
    (sample,) = manifest.provenance["projects"]
    assert sample["content_sha256"] == LeanProject(sample_project_dir()).fingerprint()
    assert "git_commit" not in sample and "git_remote" not in sample
    stats = folder_stats(out)
    assert all(d.values for d in stats.distributions.values())


def test_folder_of_two_projects_records_both(fake_extractor, project, tmp_path, hf_cache):
    """A list spec builds one folder whose rows carry each project's name and whose card and
    manifest describe both projects."""
    other = tmp_path / "other_project"
    (other / "Sample").mkdir(parents=True)
    (other / "Sample" / "Basic.lean").write_text((project / "Sample" / "Basic.lean").read_text())
    out = tmp_path / "folder"
    manifest = build([str(project), str(other)], out, configs=["full_proof"], extractor=fake_extractor)

    assert [p["name"] for p in manifest.provenance["projects"]] == ["my_project", "other_project"]
    assert manifest.provenance["projects"][0]["lean_toolchain"] == "leanprover/lean4:v4.19.0"
    rows = load_folder(out, "full_proof", tmp_path / "reload")["train"]
    assert Counter(rows["project"]) == {"my_project": rows.num_rows // 2, "other_project": rows.num_rows // 2}
    card = (out / "README.md").read_text()
    assert "project `my_project`" in card and "project `other_project`" in card
    assert str(tmp_path) not in card  # local paths stay out of the card

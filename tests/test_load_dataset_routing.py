"""``datasets.load_dataset("ntp_toolkit", ...)`` reaches our builder, with ``import ntp_datasets`` or
through the installed autoload hook; the extractor is faked but in one slow test."""

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import datasets.load
import pytest
from sample_module import SOURCE, sample_module_output

import ntp_datasets
from ntp_datasets.records import FullProofRecord



def test_datasets_load_dataset_builds_full_proof_rows(fake_extractor, project, tmp_path):
    dataset = datasets.load_dataset("ntp_toolkit", "full_proof", project=str(project), cache_dir=str(tmp_path / "cache"), extractor=fake_extractor)

    assert fake_extractor["calls"] == [str(project.resolve())]
    train = dataset["train"]
    assert train["declId"] == ["Sample.Basic:Sample.add_zero'", "Sample.Basic:_example_7_0"]
    assert train["proof"] == [":= by\n  simp", ":= by\n  intro n\n  sorry"]
    assert train["hasSorry"] == [False, True]
    assert train.features == datasets.Features({**FullProofRecord.FEATURES, "package": datasets.Value("string")})
    assert train["package"] == ["", ""]  # a directory without a lakefile is no Lake package


def test_package_load_dataset_builds_instruct_rows_without_sorry(fake_extractor, project, tmp_path, caplog):
    dataset = ntp_datasets.load_dataset("instruct_context_state_tactic", project=project, cache_dir=str(tmp_path), extractor=fake_extractor)

    train = dataset["train"]
    assert train["completion"] == ["simp\n[/TAC]", "intro n\n[/TAC]"]
    assert train[0]["prompt"].startswith("/- You are proving a theorem in Lean 4.")
    assert "dropped 1 rows: 1 containing sorry" in caplog.text
    assert "unknown identifier 'y'" in caplog.text  # module errors are reported


def test_cache_is_rebuilt_when_a_lean_file_changes(fake_extractor, project, tmp_path):
    def tactics():
        dataset = datasets.load_dataset("ntp_toolkit", "tactic_prediction", project=str(project), cache_dir=str(tmp_path), extractor=fake_extractor)
        return dataset["train"]["nextTactic"]

    assert tactics() == ["simp", "intro n", "sorry"]
    assert tactics() == ["simp", "intro n", "sorry"]
    assert len(fake_extractor["calls"]) == 1  # second load came from the cache

    edited = SOURCE.replace("  simp\n", "  simp only [Nat.add_zero]\n")
    (project / "Sample" / "Basic.lean").write_text(edited, encoding="utf-8")
    module = sample_module_output(edited)
    for event in module.events:
        if event.get("kind") == "tactic" and event["line"] == 5:
            event["end"] = event["start"] + len("simp only [Nat.add_zero]")
    fake_extractor["outputs"] = [module]

    assert tactics() == ["simp only [Nat.add_zero]", "intro n", "sorry"]


def test_load_dataset_resolves_names_through_dataset_module_factory(monkeypatch):
    """Fails if datasets stops resolving names via datasets.load.dataset_module_factory (our hook)."""

    class Resolved(Exception):
        pass

    def spy(path, *args, **kwargs):
        raise Resolved(path)

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.load, "dataset_module_factory", spy)
    with pytest.raises(Resolved, match="ntp_toolkit"):
        datasets.load_dataset("ntp_toolkit", "full_proof")


def test_hook_is_installed_and_other_names_pass_through(tmp_path):
    assert hasattr(datasets.load.dataset_module_factory, "ntp_datasets_original")
    data_file = tmp_path / "rows.jsonl"
    data_file.write_text(json.dumps({"a": 1}) + "\n")

    dataset = datasets.load_dataset("json", data_files=str(data_file), cache_dir=str(tmp_path / "cache"))

    assert dataset["train"]["a"] == [1]


def test_fingerprint_follows_project_sources_not_dependencies(project):
    from ntp_datasets.builders.ntp_toolkit import project_fingerprint

    before = project_fingerprint(project)
    dependency = project / ".lake" / "packages" / "mathlib" / "Mathlib.lean"
    dependency.parent.mkdir(parents=True)
    dependency.write_text("-- a dependency\n")
    assert project_fingerprint(project) == before

    (project / "lean-toolchain").write_text("leanprover/lean4:v4.20.0\n")
    assert project_fingerprint(project) != before


# What an installed (not editable) ntp-datasets puts in site-packages: `setup.py`'s build step
# writes the autoload module and its `.pth` into a build directory, which a child Python reads
# as a site directory, with this checkout on its path and without `import ntp_datasets`.
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def autoload_site(tmp_path_factory):
    site_dir = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(site_dir)], cwd=ROOT, check=True,
                   capture_output=True)
    return site_dir


def _child(site_dir, code: str, **env) -> subprocess.CompletedProcess:
    prelude = f"import site; site.addsitedir({str(site_dir)!r})\n"
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_the_installed_hook_routes_ntp_toolkit_without_importing_ntp_datasets_until_asked(autoload_site):
    assert sorted(p.name for p in autoload_site.glob("*autoload*")) == ["_ntp_datasets_autoload.py",
                                                                          "ntp_datasets-autoload.pth"]
    done = _child(autoload_site, """import sys, datasets, datasets.load
print("ntp_datasets" in sys.modules)
print(datasets.load.dataset_module_factory("ntp_toolkit").module_path)
print("ntp_datasets" in sys.modules)
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "ntp_datasets.builders.ntp_toolkit", "True"]
    off = _child(autoload_site, "import datasets.load; print(hasattr(datasets.load.dataset_module_factory, "
                                "'ntp_datasets_original'))", NTP_DATASETS_NO_AUTOLOAD="1")
    assert off.stdout.split() == ["False"]


@pytest.mark.slow
def test_datasets_load_dataset_builds_the_sample_project_in_a_fresh_home_without_import(autoload_site, empty_home,
                                                                                         tmp_path):
    done = _child(autoload_site, "import datasets\nds = datasets.load_dataset('ntp_toolkit', 'modules')\n"
                                 "print(sorted(ds['train']['module']))",
                  NTP_DATASETS_HOME=str(empty_home("routing_home")), HF_DATASETS_CACHE=str(tmp_path / "hf"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "['Sample.Basic', 'Sample.Calc', 'Sample.Lists']"

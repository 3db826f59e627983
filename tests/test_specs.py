"""Project specs: local directories, git repositories at a commit, ntp-toolkit config files.
Only local repositories are used (file:// URLs and paths); no network."""

from __future__ import annotations

import json
import logging
import subprocess

import pytest

from ntp_datasets.project import specs
from ntp_datasets.errors import ProjectSpecError
from ntp_datasets.project.specs import ResolvedProject, check_toolchain, resolve_projects
from ntp_datasets.toolchain import Toolchain


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def make_git_project(root, name="tiny"):
    """A Lean project in a git repository with two commits: the first has `Tiny/A.lean`,
    the second adds `Tiny/B.lean`. Returns (repository dir, first commit, second commit)."""
    repo = root / name
    (repo / "Tiny").mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=repo)
    git("config", "user.email", "test@example.com", cwd=repo)
    git("config", "user.name", "Test", cwd=repo)
    (repo / "lean-toolchain").write_text("leanprover/lean4:v4.28.0-pre\n")
    (repo / "Tiny" / "A.lean").write_text("theorem Tiny.a : 1 + 1 = 2 := by rfl\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "first", cwd=repo)
    first = git("rev-parse", "HEAD", cwd=repo)
    (repo / "Tiny" / "B.lean").write_text("import Tiny.A\n\ntheorem Tiny.b : 2 + 2 = 4 := by rfl\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "second", cwd=repo)
    return repo, first, git("rev-parse", "HEAD", cwd=repo)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh $NTP_DATASETS_HOME, so clones of one test are not reused by another."""
    home = tmp_path / "home"
    monkeypatch.setenv("NTP_DATASETS_HOME", str(home))
    return home


@pytest.fixture
def git_project(tmp_path):
    return make_git_project(tmp_path / "remote")


def lean_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.lean") if ".git" not in p.parts)


def test_git_url_at_a_commit_is_a_shallow_checkout_of_that_commit(home, git_project):
    repo, first, _ = git_project

    (project,) = resolve_projects(f"file://{repo}@{first}")

    assert lean_files(project.root) == ["Tiny/A.lean"]
    assert (project.name, project.repo, project.commit) == ("tiny", f"file://{repo}", first)
    assert project.lean == "leanprover/lean4:v4.28.0-pre"
    assert project.root.parent == home / "projects"
    assert git("rev-list", "--count", "HEAD", cwd=project.root) == "1"  # only that commit was fetched


def test_a_checkout_at_a_commit_is_reused_without_the_server(home, git_project):
    repo, first, _ = git_project
    (project,) = resolve_projects(f"git+file://{repo}@{first}")
    subprocess.run(["rm", "-rf", str(repo)], check=True)

    (again,) = resolve_projects(f"git+file://{repo}@{first}")

    assert again == project
    assert [p.name for p in (home / "projects").iterdir()] == [project.root.name]


def test_branch_head_and_abbreviated_commit(home, git_project):
    repo, first, second = git_project

    (head,) = resolve_projects(f"file://{repo}")
    (branch,) = resolve_projects(f"{repo}@main")  # a local repository path with a revision
    (abbreviated,) = resolve_projects(f"file://{repo}@{first[:10]}")  # needs the full history

    assert head.commit == branch.commit == second
    assert lean_files(branch.root) == ["Tiny/A.lean", "Tiny/B.lean"]
    assert abbreviated.commit == first
    assert lean_files(abbreviated.root) == ["Tiny/A.lean"]


def test_git_failure_shows_gits_message_and_leaves_no_partial_checkout(home, git_project, tmp_path):
    repo, _, _ = git_project

    with pytest.raises(ProjectSpecError, match="does not appear to be a git repository"):
        resolve_projects(f"file://{tmp_path / 'missing'}@main")
    with pytest.raises(ProjectSpecError, match=r"git .*checkout.*\n.*0123456789") as failure:
        resolve_projects(f"file://{repo}@0123456789")

    assert "failed (exit" in str(failure.value)
    assert list((home / "projects").iterdir()) == []


def test_local_directory_and_missing_path(tmp_path, project):
    (resolved,) = resolve_projects(str(project))
    assert resolved == ResolvedProject(name="my_project", root=project, lean="leanprover/lean4:v4.19.0")

    with pytest.raises(ProjectSpecError, match="does not exist"):
        resolve_projects(str(tmp_path / "nowhere"))


def test_sample_project_is_the_default():
    (sample,) = resolve_projects(None)
    assert sample.name == "sample_project"
    assert lean_files(sample.root) == ["Sample/Basic.lean", "Sample/Calc.lean", "Sample/Lists.lean"]


def test_config_file_with_a_git_entry_and_a_local_directory(home, git_project, project, tmp_path):
    repo, first, _ = git_project
    config = tmp_path / "config.json"
    config.write_text(json.dumps([
        {"repo": f"file://{repo}", "commit": first, "lean": "leanprover/lean4:v4.28.0-pre", "name": "tiny_first",
         "import_file": "Tiny.lean", "imports": ["Tiny"]},
        {"repo": project.name, "name": "local"},  # relative to the config file's directory
    ]))

    tiny, local = resolve_projects(str(config))

    assert (tiny.name, tiny.commit, tiny.import_file, tiny.imports) == ("tiny_first", first, "Tiny.lean", ("Tiny",))
    assert lean_files(tiny.root) == ["Tiny/A.lean"]
    assert (local.name, local.root, local.commit) == ("local", project, None)


def test_github_shorthand_in_a_config_entry_is_a_github_url(monkeypatch, tmp_path):
    cloned = []

    def fake_clone_at(url, rev=None):
        cloned.append((url, rev))
        return tmp_path, "f" * 40

    (project,) = resolve_projects({"repo": "leanprover-community/batteries", "commit": "abc123"}, clone=fake_clone_at)

    assert cloned == [("https://github.com/leanprover-community/batteries", "abc123")]
    assert (project.name, project.commit) == ("batteries", "f" * 40)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([{"commit": "abc", "name": "x"}], r"entry 0: missing key 'repo'.*keys given: commit, name"),
        ([{"repo": ".", "imports": "Tiny"}], r"entry 0: 'imports' must be a list"),
        ({"projects": []}, r"missing key 'repo'"),
        ([], r"non-empty JSON list"),
        ("not json", r"not valid JSON"),
    ],
)
def test_bad_config_files_are_rejected_with_the_reason(tmp_path, content, message):
    config = tmp_path / "config.json"
    config.write_text(content if isinstance(content, str) else json.dumps(content))

    with pytest.raises(ProjectSpecError, match=message):
        resolve_projects(str(config))


def test_two_projects_with_one_name_are_rejected(tmp_path):
    for parent in ("a", "b"):
        (tmp_path / parent / "proj").mkdir(parents=True)

    with pytest.raises(ProjectSpecError, match="several projects are named 'proj'"):
        resolve_projects([str(tmp_path / "a" / "proj"), str(tmp_path / "b" / "proj")])
    renamed = resolve_projects([str(tmp_path / "a" / "proj"), {"repo": str(tmp_path / "b" / "proj"), "name": "proj_b"}])
    assert [p.name for p in renamed] == ["proj", "proj_b"]


def test_parse_git_spec():
    assert specs.parse_git_spec("https://github.com/o/r.git@abc") == ("https://github.com/o/r.git", "abc")
    assert specs.parse_git_spec("git+https://user@host.org/o/r") == ("https://user@host.org/o/r", None)
    assert specs.parse_git_spec("git@github.com:o/r.git@v1.0") == ("git@github.com:o/r.git", "v1.0")
    assert specs.parse_git_spec("git@github.com:o/r.git") == ("git@github.com:o/r.git", None)
    assert specs.parse_git_spec("some/local/dir") is None


def test_toolchain_mismatch_is_a_warning_naming_both_versions(tmp_path, caplog):
    wasm = Toolchain(kind="wasm", version="Lean (version 4.28.0-pre, wasm32-unknown-emscripten)", command=[], location="")
    old = ResolvedProject(name="old", root=tmp_path, lean="leanprover/lean4:v4.9.0")
    current = ResolvedProject(name="current", root=tmp_path, lean="leanprover/lean4:v4.28.0-pre")

    with caplog.at_level(logging.WARNING, logger="ntp_datasets.project.specs"):
        assert check_toolchain(current, wasm)
        assert caplog.text == ""
        assert not check_toolchain(old, wasm)

    assert "project 'old' asks for Lean 4.9.0 (leanprover/lean4:v4.9.0)" in caplog.text
    assert "the toolchain in use is Lean 4.28.0-pre" in caplog.text


@pytest.mark.parametrize("how", ["url", "config entry"])
def test_a_revision_that_is_a_git_option_is_refused_and_runs_nothing(how, home, tmp_path):
    repo, _, _ = make_git_project(tmp_path / "remote")
    marker = tmp_path / "pwned"
    option = f"--upload-pack=touch {marker}"
    spec = f"file://{repo}@{option}" if how == "url" else {"repo": f"file://{repo}", "commit": option}
    with pytest.raises(ProjectSpecError, match="starts with '-': git would read it as an option"):
        resolve_projects(spec)
    assert not marker.exists()


def test_a_url_starting_with_a_dash_is_never_given_to_git(home, tmp_path):
    with pytest.raises(ProjectSpecError, match="starts with '-'"):
        specs.clone_at("--upload-pack=touch /tmp/x", None)


@pytest.mark.parametrize("url", ["https://user:SECRET@127.0.0.1:9/o/r.git", "https://SECRET@127.0.0.1:9/o/r.git"])
def test_a_url_with_credentials_is_refused_without_showing_them(url, home):
    with pytest.raises(ProjectSpecError) as error:
        resolve_projects(f"{url}@main")
    assert "SECRET" not in str(error.value) and "credential helper" in str(error.value)
    assert not list((home / "projects").glob("*")) if (home / "projects").exists() else True


def test_git_errors_never_show_a_token(home):
    # A user name over SSH is allowed; git's own error for this unreachable host must not
    # carry the URL's user part either way, and a token in any message is removed.
    assert specs.strip_credentials("fatal: unable to access 'https://tok:SECRET@h/r.git/'") == \
        "fatal: unable to access 'https://h/r.git/'"
    with pytest.raises(ProjectSpecError) as error:
        specs.run_git(["ls-remote", "--", "https://user:SECRET@127.0.0.1:9/o/r.git"])
    assert "SECRET" not in str(error.value)

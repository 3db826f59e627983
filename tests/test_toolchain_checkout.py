"""`URL@toolchain`: the newest commit of the default branch whose lean-toolchain the Lean in use
can build, and the version order that decides it. Repositories are file:// ones the tests
make, with fixed dates; no network, no Lean."""

from __future__ import annotations

import os
import subprocess
from datetime import date

import pytest

from ntp_datasets.errors import ProjectSpecError
from ntp_datasets.project import EMBEDDED_LEAN, lean_in_use, parse_version, resolve_projects


def git(*args, cwd, when=None):
    env = dict(os.environ, GIT_AUTHOR_DATE=when or "", GIT_COMMITTER_DATE=when or "") if when else None
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def make_history(root, steps) -> tuple:
    """A repository on `main` with one commit per (date, files) step; returns (dir, commits)."""
    repo = root / "moving"
    repo.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=repo)
    git("config", "user.email", "test@example.com", cwd=repo)
    git("config", "user.name", "Test", cwd=repo)
    git("config", "uploadpack.allowFilter", "true", cwd=repo)  # as GitHub: history first, files when read
    commits = []
    for when, files in steps:
        for rel, text in files.items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (repo / rel).write_text(text)
        git("add", "-A", cwd=repo)
        git("commit", "-q", "-m", f"step {len(commits) + 1}", cwd=repo, when=f"{when}T12:00:00+00:00")
        commits.append(git("rev-parse", "HEAD", cwd=repo))
    return repo, commits


RELEASES = [
    ("2025-10-01", {"lean-toolchain": "leanprover/lean4:v4.27.0\n", "Moving/A.lean": "def a := 1\n"}),
    ("2025-11-01", {"Moving/B.lean": "def b := 2\n"}),
    ("2025-12-01", {"lean-toolchain": "leanprover/lean4:v4.29.0\n"}),
    ("2026-01-01", {"Moving/C.lean": "def c := 3\n"}),
]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def lean_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.lean") if ".git" not in p.parts)


def test_toolchain_checks_out_the_last_commit_before_the_move_to_a_newer_lean(home, tmp_path, capsys):
    repo, (first, before_move, move, newest) = make_history(tmp_path, RELEASES)

    (project,) = resolve_projects(f"file://{repo}@toolchain", progress=True)

    assert project.commit == before_move
    assert project.lean == "leanprover/lean4:v4.27.0"
    assert lean_files(project.root) == ["Moving/A.lean", "Moving/B.lean"]
    assert project.root.parent == home / "projects"
    assert capsys.readouterr().err.splitlines() == [
        f"checking out file://{repo} at the newest commit whose lean-toolchain the embedded Lean 4.28.0-pre can "
        "build (git) ...",
        f"file://{repo}@toolchain: {before_move[:12]} (2025-11-01) of main: its lean-toolchain leanprover/lean4:v4.27.0 "
        "fits (leanprover/lean4:v4.27.0 is older than the embedded Lean 4.28.0-pre); the next commit moves it to "
        "leanprover/lean4:v4.29.0 (leanprover/lean4:v4.29.0 is newer than the embedded Lean 4.28.0-pre), "
        "2 newer commits in all",
    ]
    # The same commit given by hand reuses that checkout.
    (again,) = resolve_projects(f"file://{repo}@{before_move}")
    assert again.root == project.root


def test_a_lean_as_new_as_the_newest_toolchain_takes_the_newest_commit(home, tmp_path, capsys):
    repo, commits = make_history(tmp_path, RELEASES)
    native = lean_in_use("Lean (version 4.29.0, x86_64-unknown-linux-gnu, commit 0123abc, Release)")

    (project,) = resolve_projects(f"file://{repo}@toolchain", lean=native, progress=True)

    assert project.commit == commits[-1]
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"file://{repo}@toolchain: {commits[-1][:12]} (2026-01-01) of main: its lean-toolchain leanprover/lean4:v4.29.0 "
        "fits (leanprover/lean4:v4.29.0 is the same version as Lean 4.29.0); it is the branch's newest commit")


def test_no_fitting_commit_is_an_error_listing_what_was_asked(home, tmp_path):
    repo, _ = make_history(tmp_path, RELEASES)
    old = lean_in_use("Lean (version 4.26.0, x86_64-unknown-linux-gnu, commit 0123abc, Release)")
    with pytest.raises(ProjectSpecError) as raised:
        resolve_projects(f"file://{repo}@toolchain", lean=old)
    assert str(raised.value) == (
        "no commit of main asks for a Lean that Lean 4.26.0 can build; lean-toolchain was, newest first: "
        "leanprover/lean4:v4.29.0 (leanprover/lean4:v4.29.0 is newer than Lean 4.26.0); leanprover/lean4:v4.27.0 "
        "(leanprover/lean4:v4.27.0 is newer than Lean 4.26.0). Give a revision (URL@<commit>) or use a Lean that "
        "can build it")
    assert not list((home / "projects").iterdir())  # the history clone is not left behind


def test_nightlies_are_placed_by_date_against_the_embedded_lean(home, tmp_path):
    repo, commits = make_history(tmp_path, [
        ("2025-12-10", {"lean-toolchain": "leanprover/lean4:nightly-2025-12-10\n", "N/A.lean": ""}),
        ("2025-12-20", {"lean-toolchain": "leanprover/lean4:nightly-2025-12-20\n"}),
    ])
    (project,) = resolve_projects(f"file://{repo}@toolchain")
    assert (project.commit, project.lean) == (commits[0], "leanprover/lean4:nightly-2025-12-10")


VERSION_ORDER = [
    # (lean-toolchain line, the embedded Lean 4.28.0-pre can build it)
    ("leanprover/lean4:v4.27.0", True),
    ("leanprover/lean4:v4.27.0-rc1", True),
    ("v4.9.0", True),
    ("leanprover/lean4:4.0.0", True),
    ("leanprover/lean4:v4.28.0-rc1", False),  # the release branch is cut after the development build
    ("leanprover/lean4:v4.28.0", False),
    ("leanprover/lean4:v4.29.0", False),
    ("leanprover/lean4:nightly-2025-12-17", True),  # EMBEDDED_LEAN_NIGHTLY_FLOOR
    ("leanprover/lean4:nightly-2024-05-01", True),
    ("leanprover/lean4-nightly:nightly-2025-12-18", False),  # unknown order: treated as newer
    ("leanprover/lean4:nightly-2026-01-03", False),
    ("leanprover/lean4:stable", False),
    ("leanprover/lean4-pr-releases:pr-release-11438", False),
    ("", False),
]


@pytest.mark.parametrize("toolchain,fits", VERSION_ORDER, ids=[v[0] or "none" for v in VERSION_ORDER])
def test_the_version_order_for_the_embedded_lean(toolchain, fits):
    assert EMBEDDED_LEAN.can_build(parse_version(toolchain))[0] is fits


def test_versions_of_lean_in_use():
    wasm = lean_in_use("Lean (version 4.28.0-pre, wasm32-unknown-emscripten, commit "
                       "38f3c0c45b8df6da2652faff6dcaa15afb5a6981, Release)")
    assert (wasm.version.key, wasm.nightly_floor) == ((4, 28, 0, 0, 0), date(2025, 12, 17))
    nightly = lean_in_use("Lean (version 4.22.0-nightly-2025-07-01, x86_64-unknown-linux-gnu, commit 1, Release)")
    assert nightly.nightly_floor == date(2025, 7, 1)
    assert [nightly.can_build(parse_version(t))[0] for t in (
        "leanprover/lean4:nightly-2025-07-01", "leanprover/lean4:nightly-2025-07-02", "leanprover/lean4:v4.21.0",
        "leanprover/lean4:v4.22.0-rc1")] == [True, False, True, False]
    release = lean_in_use("Lean (version 4.28.0-rc2, x86_64-unknown-linux-gnu, commit 2, Release)")
    assert [release.can_build(parse_version(t))[0] for t in (
        "leanprover/lean4:v4.28.0-rc1", "leanprover/lean4:v4.28.0-rc2", "leanprover/lean4:v4.28.0",
        "leanprover/lean4:nightly-2025-01-01")] == [True, True, False, False]
    assert release.can_build(parse_version("leanprover/lean4:nightly-2025-01-01"))[1] == (
        "Lean 4.28.0-rc2 cannot be placed against a nightly (no nightly date is known for it)")

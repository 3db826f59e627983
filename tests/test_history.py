"""Dates from a project's git history (``project.history``): ntp-toolkit's ``fileCreated`` and
``theoremCreated`` as its ``convert_minictx.py`` computes them, and ours (renames followed,
declarations rather than text). A git repository each test makes, with fixed dates; no Lean."""

from __future__ import annotations

import json
import shutil
import subprocess

from dated_project import DATES, git, make_dated_project

from ntp_datasets.project.history import (
    GitDate,
    HistoryRequest,
    TextCounter,
    pickaxe_dates,
    project_history,
)
from ntp_datasets.project.lean_text import declared_names, without_comments

FILE = "Demo/Basic.lean"
NAMES = ("Demo.one_add_one", "Demo.add_zero", "Demo.two_add_two", "Demo.double", "Demo.late_gap")
REQUEST = HistoryRequest({FILE: NAMES})


def ntp_toolkit_theorem_date(name: str, repo) -> tuple[str | None, str | None]:
    """What ntp-toolkit's ``get_theorem_commit`` finds: its git command, its retry."""
    out = subprocess.run(["git", "log", "--reverse", "--pretty=format:%H %ad", "--date=short", "-S", name],
                         cwd=repo, capture_output=True, text=True, check=True).stdout
    if not out:
        return ntp_toolkit_theorem_date(name.split(".", 1)[1], repo) if "." in name else (None, None)
    commit, date = out.splitlines()[0].split(" ", 1)
    return commit, date


def test_dates_as_ntp_toolkit_computes_them_and_ours(tmp_path):
    root = tmp_path / "demo"
    commits = make_dated_project(root)
    dated = [GitDate(commit, date) for commit, date in zip(commits, DATES)]

    history = project_history(root, REQUEST, cache_dir=tmp_path / "cache")

    assert history.unavailable is None and history.commit == commits[-1]
    # ntp-toolkit: `git log -- FILE` does not follow the move of 2023-06-15.
    assert history.file_created(FILE) == dated[1]
    assert history.file_created_following_renames(FILE) == dated[0]
    # ntp-toolkit: `git log -S`: "Demo.x" never occurs as text, so "x" is searched: `add_zero`
    # occurs inside `add_zero_nat` and `two_add_two` in a comment, both in the first commit.
    assert {name: history.theorem_created(name) for name in NAMES} == {
        "Demo.one_add_one": dated[0], "Demo.add_zero": dated[0], "Demo.two_add_two": dated[0],
        "Demo.double": dated[2], "Demo.late_gap": dated[3],
    }
    for name in NAMES:
        assert ntp_toolkit_theorem_date(name, root) == (history.theorem_created(name).commit,
                                                        history.theorem_created(name).date)
    # Ours: the first version of the file (renames followed) declaring the name.
    assert {name: history.declaration_created(FILE, name) for name in NAMES} == {
        "Demo.one_add_one": dated[0], "Demo.add_zero": dated[3], "Demo.two_add_two": dated[2],
        "Demo.double": dated[2], "Demo.late_gap": dated[3],
    }


def test_one_walk_counts_every_name_as_git_log_S_does(tmp_path):
    root = tmp_path / "demo"
    make_dated_project(root)
    texts = ["one_add_one", "add_zero", "add_zero_nat", "two_add_two", "Demo", "rfl", "n + 0", "sorry", "absent"]

    found = pickaxe_dates(root, texts)

    for text in texts:
        out = subprocess.run(["git", "log", "--reverse", "--format=%H", "-S", text], cwd=root, capture_output=True,
                             text=True, check=True).stdout.split()
        assert (found[text].commit if text in found else None) == (out[0] if out else None), text
    assert TextCounter(["aa", "a"]).counts(b"aaa aa") == {"aa": 2, "a": 5}  # non-overlapping, as git


def test_a_project_below_its_repository_top_is_dated_by_its_own_directory(tmp_path):
    top = tmp_path / "monorepo"
    top.mkdir()
    git(top, "init", "-q")
    (top / "notes.md").write_text("Plan: two_add_two\n")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "notes", date="2021-02-02")
    make_dated_project(tmp_path / "staging")
    shutil.copytree(tmp_path / "staging" / "Demo", top / "lean" / "Demo")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "the Lean project", date="2024-05-05")
    head = git(top, "rev-parse", "HEAD")

    history = project_history(top / "lean", REQUEST, cache_dir=tmp_path / "cache")

    # The note outside the project does not count; inside it the comment already names the theorem.
    assert history.theorem_created("Demo.two_add_two") == GitDate(head, "2024-05-05")
    assert history.file_created(FILE) == GitDate(head, "2024-05-05")


def test_no_dates_without_a_history_and_why(tmp_path):
    plain = tmp_path / "plain"
    (plain / "Demo").mkdir(parents=True)
    assert project_history(plain, REQUEST, cache_dir=tmp_path / "c").unavailable == "not in a git work tree"

    origin = tmp_path / "demo"
    commits = make_dated_project(origin)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(shallow)], check=True)
    history = project_history(shallow, REQUEST, cache_dir=tmp_path / "c")
    assert history.unavailable.startswith("a shallow clone")
    assert history.declaration_created(FILE, "Demo.add_zero") == GitDate()

    # A clone ntp-datasets made is deepened first.
    deepened = project_history(shallow, REQUEST, deepen=True, cache_dir=tmp_path / "c")
    assert deepened.declaration_created(FILE, "Demo.one_add_one") == GitDate(commits[0], DATES[0])


def test_the_walks_run_once_per_commit(tmp_path):
    root = tmp_path / "demo"
    commits = make_dated_project(root)
    cache = tmp_path / "cache"
    first = project_history(root, REQUEST, cache_dir=cache)
    (stored,) = cache.glob("*.json")
    assert json.loads(stored.read_text())["commit"] == commits[-1]

    # Rewriting the kept file shows it is read, not recomputed.
    data = json.loads(stored.read_text())
    data["declarations"][FILE]["Demo.double"] = ["c0ffee", "1999-09-09"]
    stored.write_text(json.dumps(data))
    assert project_history(root, REQUEST, cache_dir=cache).declaration_created(FILE, "Demo.double") == \
        GitDate("c0ffee", "1999-09-09")
    assert first.declaration_created(FILE, "Demo.double").date == DATES[2]


def test_declared_names_ignore_comments_and_strings_and_follow_namespaces():
    text = """/-! module doc: theorem in_doc /- nested -/ -/
namespace A.B
-- theorem commented : True
/-- doc naming `theorem in_doc_comment` -/
@[simp] private theorem t₁ : True := trivial
def s : String := "theorem in_string"
section Inner
lemma l.{u} (α : Sort u) : True := trivial
instance : Inhabited Nat := ⟨0⟩
instance named : Inhabited Nat := ⟨0⟩
end Inner
theorem _root_.top : True := trivial
class inductive C | c
end A.B
theorem outside : True := trivial
"""
    assert declared_names(text) == {"A.B.t₁", "A.B.s", "A.B.l", "A.B.named", "top", "A.B.C", "outside"}
    assert without_comments('x -- c\n"a -- b" /- d -/ y') == 'x     \n"      "         y'

"""A Lean project with a git history the tests make (fixed author and committer dates), and the
extractor events Lean would give for its last version (hand-made, no Lean needed).

History of ``Demo/Basic.lean``:

1. 2023-01-10: added as ``Demo/Old.lean`` with ``one_add_one``, ``add_zero_nat`` and a comment
   naming ``two_add_two``, a theorem nobody has written yet;
2. 2023-06-15: the file is moved to ``Demo/Basic.lean`` (content unchanged);
3. 2024-01-20: ``two_add_two`` and the definition ``double`` are declared;
4. 2024-03-05: ``add_zero_nat`` is renamed ``add_zero``; ``late_gap`` is added (proved by ``sorry``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sample_module import FakeModuleOutput, declaration

HEADER = "namespace Demo\n\n"
ONE = "theorem one_add_one : 1 + 1 = 2 := rfl\n\n"
COMMENT = "-- TODO: two_add_two, once someone needs it\n\n"
ADD_ZERO_NAT = "theorem add_zero_nat (n : Nat) : n + 0 = n := rfl\n\n"
ADD_ZERO = "theorem add_zero (n : Nat) : n + 0 = n := rfl\n\n"
TWO = "theorem two_add_two : 2 + 2 = 4 := rfl\n\n"
DOUBLE = "def double (n : Nat) : Nat := n + n\n\n"
LATER = "theorem late_gap : 3 + 3 = 6 := sorry\n\n"
FOOTER = "end Demo\n"

FINAL = HEADER + ONE + COMMENT + ADD_ZERO + TWO + DOUBLE + LATER + FOOTER
"""``Demo/Basic.lean`` at the last commit."""

DATES = ("2023-01-10", "2023-06-15", "2024-01-20", "2024-03-05")


def git(repo: Path, *args: str, date: str | None = None) -> str:
    """Run git in ``repo`` (a commit made at noon UTC of ``date``, by a fixed author)."""
    env = dict(os.environ, GIT_AUTHOR_NAME="Ada", GIT_AUTHOR_EMAIL="ada@example.com", GIT_COMMITTER_NAME="Ada",
               GIT_COMMITTER_EMAIL="ada@example.com")
    if date:
        env.update(GIT_AUTHOR_DATE=f"{date}T12:00:00+00:00", GIT_COMMITTER_DATE=f"{date}T12:00:00+00:00")
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def make_dated_project(root: Path) -> list[str]:
    """Write the project at ``root`` with its history; return the four commits, oldest first."""
    (root / "Demo").mkdir(parents=True)
    (root / "lean-toolchain").write_text("leanprover/lean4:v4.28.0-rc1\n")
    git(root, "init", "-q")
    commits = []

    def commit(message: str, date: str) -> None:
        git(root, "add", "-A")
        git(root, "commit", "-qm", message, date=date)
        commits.append(git(root, "rev-parse", "HEAD"))

    (root / "Demo" / "Old.lean").write_text(HEADER + ONE + COMMENT + ADD_ZERO_NAT + FOOTER)
    commit("one_add_one and add_zero_nat", DATES[0])
    git(root, "mv", "Demo/Old.lean", "Demo/Basic.lean")
    commit("move Old to Basic", DATES[1])
    (root / "Demo" / "Basic.lean").write_text(HEADER + ONE + COMMENT + ADD_ZERO_NAT + TWO + DOUBLE + FOOTER)
    commit("two_add_two and double", DATES[2])
    (root / "Demo" / "Basic.lean").write_text(FINAL)
    commit("rename add_zero_nat to add_zero; late_gap", DATES[3])
    return commits


def theorem_event(text: str, name: str, keyword: str = "theorem", last: str = "rfl") -> dict:
    """The declaration event of ``keyword <short name>`` in ``text``, named ``name``."""
    short = name.rsplit(".", 1)[-1]
    event = declaration(text, f"{keyword} {short} ", name, keyword, ":=", last, has_sorry=last == "sorry")
    event["constKind"] = keyword
    return event


def constant_event(name: str, dependents: list[str]) -> dict:
    """A ``constant`` event (a premises row) using ``dependents``."""
    return {"kind": "constant", "name": name, "candidate": True, "private": False, "constKind": "theorem",
            "isProp": True, "dependents": [{"name": d, "explicit": True, "direct": True} for d in dependents]}


def demo_output() -> FakeModuleOutput:
    """What the extractor gives for ``Demo/Basic.lean`` at the last commit."""
    events = [
        theorem_event(FINAL, "Demo.one_add_one"),
        theorem_event(FINAL, "Demo.add_zero"),
        theorem_event(FINAL, "Demo.two_add_two"),
        theorem_event(FINAL, "Demo.double", keyword="def", last="n + n"),
        theorem_event(FINAL, "Demo.late_gap", last="sorry"),
        constant_event("Demo.one_add_one", ["Eq.refl", "Nat"]),
        constant_event("Demo.two_add_two", ["Demo.one_add_one", "Eq.refl"]),
    ]
    return FakeModuleOutput(module="Demo.Basic", file="Demo/Basic.lean", source=FINAL, events=events)


OTHER = "theorem nat_add_zero (n : Nat) : n + 0 = n := rfl\n"
"""``Other/Basic.lean``: a theorem stating what ``Demo.add_zero`` states, committed in 2022."""


def make_other_project(root: Path) -> None:
    """A second project, ``Other``, whose one theorem states what ``Demo.add_zero`` states."""
    (root / "Other").mkdir(parents=True)
    (root / "Other" / "Basic.lean").write_text(OTHER)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "nat_add_zero", date="2022-05-01")


def other_output() -> FakeModuleOutput:
    """What the extractor gives for ``Other/Basic.lean``."""
    events = [theorem_event(OTHER, "nat_add_zero"), constant_event("nat_add_zero", ["Eq.refl"])]
    return FakeModuleOutput(module="Other.Basic", file="Other/Basic.lean", source=OTHER, events=events)


def outputs_by_project(project_dir) -> list[FakeModuleOutput]:
    """``FakeExtractor`` outputs: the module of whichever of the two projects is asked for."""
    return [other_output()] if (Path(project_dir) / "Other").is_dir() else [demo_output()]

"""The same project built twice from empty extraction caches gives identical rows, error rows
included: one Lean process per build elaborates every module, freeing each module's imports,
so anything that outlived a module (caches pointing into freed memory) would show here."""

from __future__ import annotations

import pytest

from ntp_datasets import records
from ntp_datasets.extraction import Extractor

pytestmark = pytest.mark.slow  # two Lean processes, one after the other

FILES = {
    "Det/Syntax.lean": (
        "syntax \"close_it\" : tactic\n"
        "macro_rules | `(tactic| close_it) => `(tactic| first | rfl | omega | simp)\n"
        "notation:65 a:65 \" ⊕⊕ \" b:66 => a + b + 1\n"
    ),
    "Det/Basic.lean": (
        "import Det.Syntax\n\n"
        "theorem Det.plus_one (n : Nat) : n ⊕⊕ 0 = n + 1 := by\n  close_it\n\n"
        "theorem Det.le_twice (n : Nat) : n ≤ 2 * n := by\n  omega\n\n"
        "theorem Det.wrong (n : Nat) : n + 1 = n := by\n  simp\n"
    ),
    "Det/Top.lean": (
        "import Det.Basic\n\n"
        "theorem Det.uses (n : Nat) : n ⊕⊕ 0 = n + 1 ∧ n ≤ 2 * n := by\n"
        "  constructor\n  · rw [Det.plus_one]\n  · exact Det.le_twice n\n"
    ),
}


def _all_rows(toolchain, root) -> dict[str, list[dict]]:
    outputs = list(Extractor(toolchain=toolchain, progress=False).extract_project(root))
    assert not any(o.cached for o in outputs)
    return {kind: [records.as_row(r) for o in outputs for r in records.records_of_kind(kind, o)]
            for kind in records.RECORD_KINDS}


def test_two_builds_from_empty_caches_give_identical_rows(tmp_path, toolchain, empty_home, monkeypatch):
    root = tmp_path / "det"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    builds = []
    for name in ("first", "second"):
        monkeypatch.setenv("NTP_DATASETS_HOME", str(empty_home(name)))
        builds.append(_all_rows(toolchain, root))
    first, second = builds
    assert first == second
    # What the builds agree on is the real thing: the macro's module elaborated, the failed
    # proof is an error row of its own, the importer's steps are there.
    assert [r["nextTactic"] for r in first["tactic_prediction"] if r["declId"] == "Det.Top:Det.uses"] == [
        "constructor", "rw [Det.plus_one]", "exact Det.le_twice n"]
    assert [(r["declaration"], r["kind"]) for r in first["errors"]] == [("Det.Basic:Det.wrong", "elaboration")]

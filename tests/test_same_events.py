"""The events files of the bundled sample project and of every registered Lean fixture are byte
for byte those the extractor wrote before the events phase was made cheaper (#31: goals printed
once, premise records, dependents and types computed once per module, the file written in one
piece): `golden/events_b3aadd9.json.gz`, made by `golden/make_events.py` at b3aadd9."""

from __future__ import annotations

import gzip
import importlib
import json
from pathlib import Path

import fixture_projects

from ntp_datasets.extraction.cache import EVENTS_FILE, cache_root, module_cache_keys
from ntp_datasets.project import LeanProject
from ntp_datasets.resources import sample_project_dir

GOLDEN_FILE = Path(__file__).parent / "golden" / "events_b3aadd9.json.gz"
FIXTURE_FILES = ("test_extraction", "test_ordinary_projects", "test_premise_rows", "test_project_syntax",
                 "test_real_code_rows", "test_same_events")

# Where a declaration's event and its constant's event print or compute alike and where not: a
# name that means another constant in the declaration's namespace (printed `_root_.foo` there, `foo`
# at the root), `open ... in`, an option that changes printing (`pp.all`) and one that does not.
fixture_projects.register("events_contexts", {
    "Contexts/Names.lean": """def foo : Nat := 1

namespace Contexts

def foo : Nat := 2

theorem root_foo : _root_.foo = 1 := rfl

theorem sum_foo : _root_.foo + foo = 3 := by
  simp [foo, _root_.foo]

end Contexts

open Contexts in
theorem opened : _root_.foo + Contexts.foo = 3 := by
  decide

set_option pp.all true in
theorem printed_all (n : Nat) : n + 0 = n := by
  simp

set_option linter.unusedVariables false in
theorem neutral (n m : Nat) : n = n := by
  rfl
""",
})


def events_files(root: Path, modules, toolchain) -> dict[str, str]:
    """The events file the extractor wrote for each of ``modules`` of the project at ``root``."""
    keys = module_cache_keys(LeanProject(root), toolchain)
    return {m: (cache_root() / keys[m] / EVENTS_FILE).read_text(encoding="utf-8") for m in modules}


def first_difference(before: str, now: str) -> str:
    lines = list(zip(before.splitlines(), now.splitlines()))
    for number, (old, new) in enumerate(lines, 1):
        if old != new:
            return f"line {number}:\n  before {old[:400]}\n  now    {new[:400]}"
    return f"{len(before.splitlines())} lines before, {len(now.splitlines())} now"


def test_events_are_byte_for_byte_those_of_before(sample_outputs, extract_files, toolchain):
    golden = json.loads(gzip.decompress(GOLDEN_FILE.read_bytes()))
    for name in FIXTURE_FILES:  # registers their fixtures, as collecting them does
        importlib.import_module(name)
    for name, files in fixture_projects.REGISTERED.items():
        extract_files(name, files)
    now = {"sample": events_files(sample_project_dir(), golden["sample"], toolchain),
           "fixtures": events_files(extract_files.together_root(), golden["fixtures"], toolchain)}
    assert set(golden["sample"]) == {m for m, o in sample_outputs.items() if not o.error}
    assert "Contexts.Names" in golden["fixtures"]
    for project, modules in golden.items():
        for module, before in modules.items():
            assert now[project][module] == before, f"{project} {module}: {first_difference(before, now[project][module])}"

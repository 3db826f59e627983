"""An `initialize` declaration that one module of a worker's process leaves out and a later
module needs. Lean runs a module's initializers once per process, when the module is first
imported, and only those its importer's elaboration can reach: a plain `import` of a `module`
file leaves out a non-`meta` `initialize`. A later module that reaches it through `meta import`
in the same process found it unset, and the interpreter stopped the process ("cannot evaluate
`[init]` declaration 'counterRef' in the same module"); the module then elaborated again in a
fresh process. On Aesop that happened to two modules a run. Now the later import runs what the
earlier one left out, in the same process."""

from __future__ import annotations

import pytest

from ntp_datasets.extraction import ExtractionOptions, Extractor
from ntp_datasets.extraction.cache import work_dir_for
from ntp_datasets.project import LeanProject

FILES = {
    "Ini/Init.lean": (
        "module\n\n"
        "public import Lean\n\n"
        "public section\n\n"
        "/-- A reference that the module's initializer makes. -/\n"
        "initialize counterRef : IO.Ref Nat ← IO.mkRef 7\n"
    ),
    # A plain import: the process imports Ini.Init without running `counterRef`'s initializer.
    "Ini/Plain.lean": (
        "module\n\n"
        "public import Ini.Init\n\n"
        "public def plain : Nat := 1\n"
    ),
    # The same process, later: `#count` reads the reference while Lean elaborates this file.
    "Ini/Use.lean": (
        "module\n\n"
        "public import Ini.Plain\n"
        "public meta import Ini.Init\n"
        "public import Lean\n\n"
        "open Lean Elab Command\n\n"
        "elab \"#count\" : command => do\n"
        "  logInfo m!\"count: {← counterRef.get}\"\n\n"
        "#count\n"
    ),
}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, toolchain, empty_home):
    """The outputs of one worker over the three modules, and the Lean processes it started."""
    root = tmp_path_factory.mktemp("initializers")
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    patch = pytest.MonkeyPatch()
    patch.setenv("NTP_DATASETS_HOME", str(empty_home("initializers")))
    try:
        extractor = Extractor(ExtractionOptions.of(workers=1), toolchain=toolchain, progress=False)
        outputs = {o.module: o for o in extractor.extract_project(root)}
        processes = sorted(p.name for p in work_dir_for(LeanProject(root)).glob("lean-*.stderr"))
    finally:
        patch.undo()
    return outputs, processes


def test_a_later_meta_import_finds_the_initialized_reference(extracted):
    outputs, _ = extracted
    assert {name: (o.error_kind, o.error) for name, o in outputs.items()} == {
        "Ini.Init": ("", None), "Ini.Plain": ("", None), "Ini.Use": ("", None)}
    infos = [e["text"] for e in outputs["Ini.Use"].events if e["kind"] == "message"]
    assert infos == ["count: 7"]


def test_one_process_elaborates_all_three_modules(extracted):
    _, processes = extracted
    assert len(processes) == 1  # no process died on Ini.Use and none was started again for it

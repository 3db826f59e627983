"""What a build shows while it waits: Lean's start-up and the module Lean is on (a fake
Lean process here: no Lean runs)."""

from __future__ import annotations

from ntp_datasets.extraction import Extractor, ModuleOutput
from ntp_datasets.extraction.process import ModuleDone, ModuleStarted
from ntp_datasets.toolchain import Toolchain

WASM = Toolchain(kind="wasm", version="Lean (version 4.28.0-pre)", command=["false"], location="/nowhere")


def _project(root):
    for name, text in {"P/A.lean": "def a := 1\n", "P/B.lean": "import P.A\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _fake_lean(seen):
    def elaborate(project, toolchain, modules, entries, watch):
        for module in modules:
            watch.on_event(ModuleStarted(module.name))
            watch.on_event(ModuleDone(module.name, 5))
            yield ModuleOutput(module.name, module.relpath, "", [])
    return elaborate


def test_the_bar_says_lean_is_starting_then_names_each_module(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    events = []
    extractor = Extractor(WASM, elaborate=_fake_lean(events), on_event=events.append)
    outputs = list(extractor.extract_project(_project(tmp_path / "p")))
    assert [o.module for o in outputs] == ["P.A", "P.B"]
    assert [type(e).__name__ for e in events] == ["ModuleStarted", "ModuleDone"] * 2  # the caller's on_event too
    bar = capsys.readouterr().err
    starting = bar.index("starting Lean (WebAssembly, ~15 s)")
    assert "Elaborating modules of p" in bar
    assert starting < bar.index("P.A]") < bar.index("P.B]")


def test_progress_false_shows_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    list(Extractor(WASM, elaborate=_fake_lean([]), progress=False).extract_project(_project(tmp_path / "p")))
    assert capsys.readouterr().err == ""

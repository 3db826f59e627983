"""What a build shows while it waits: Lean's start-up and the module Lean is on (a fake
Lean process here: no Lean runs)."""

from __future__ import annotations

import logging
import threading
import time

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


def test_a_second_extraction_of_the_same_project_waits_for_the_first(tmp_path, monkeypatch, caplog):
    """Two extractions of one project at once (two notebooks, two test processes) shared its
    work directory's `.olean`s and job files; the second now waits, saying so."""
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    project = _project(tmp_path / "p")
    spans, first_started = [], threading.Event()

    def elaborate(project, toolchain, modules, entries, watch):
        start = time.monotonic()
        first_started.set()
        time.sleep(0.5)
        spans.append((start, time.monotonic()))
        yield from _fake_lean([])(project, toolchain, modules, entries, watch)

    def extract():
        list(Extractor(WASM, elaborate=elaborate, progress=False).extract_project(project))

    first = threading.Thread(target=extract)
    first.start()
    first_started.wait()
    with caplog.at_level(logging.WARNING):
        extract()
    first.join()
    (a_start, a_end), (b_start, b_end) = sorted(spans)
    assert a_end <= b_start
    assert f"another process is extracting {project}; waiting for it to finish" in caplog.text

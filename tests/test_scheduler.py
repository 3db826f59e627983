"""The scheduler's rules with a scripted pool of workers (``fake_pool.py``: no process runs): a
module past the module limit is tried again alone with twice the limit, a further Lean process
starts only while it pays for itself, start-ups are measured and shown."""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from pathlib import Path

import pytest
from fake_pool import ScriptedPool, died, finished, timed_out

from ntp_datasets.extraction import ExtractionOptions, Extractor
from ntp_datasets.extraction.process import Limits
from ntp_datasets.extraction.program import COMPILED_MODULE, compiled_extractor_dir
from ntp_datasets.extraction.scheduler import WorkerGrowth
from ntp_datasets.extraction.startup import measured_startup, starting_text
from ntp_datasets.toolchain import Toolchain

NATIVE = Toolchain(kind="native", version="Lean (version 4.28.0-pre, scripted)", command=["false"], location="-")


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _wide(root: Path, n: int, body: str = "") -> Path:
    files = {"Base.lean": "def base : Nat := 1\n"}
    files |= {f"W{i}.lean": f"import Base\ndef w{i} : Nat := base\n{body}" for i in range(1, n + 1)}
    return _write(root, files)


def _extract(root: Path, script, toolchain=NATIVE, **options):
    """Extract ``root`` on a :class:`ScriptedPool`; its outputs by module and the pool."""
    pools = []

    def start_pool(spec, on_event):
        pools.append(ScriptedPool(script, spec, on_event))
        return pools[-1]

    extractor = Extractor(ExtractionOptions.of(**options), toolchain=toolchain, progress=False, start_pool=start_pool)
    outputs = {o.module: o for o in extractor.extract_project(root)}
    return outputs, pools[0]


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))


@pytest.fixture
def WASM(tmp_path):
    """A WebAssembly toolchain that never runs: its compiled extractor is already "there"."""
    toolchain = Toolchain(kind="wasm", version="Lean (version 4.28.0-pre, scripted)", command=["false"],
                          location=str(tmp_path / "wasm"))
    compiled = compiled_extractor_dir(toolchain) / f"{COMPILED_MODULE}.olean"
    compiled.parent.mkdir(parents=True)
    compiled.write_text("not an olean: no Lean runs here\n")
    return toolchain


def test_a_module_past_the_module_limit_runs_again_alone_with_twice_the_limit(tmp_path):
    tries = []

    def script(job, limits, fresh, pool):
        if job["name"] == "W1":
            tries.append(limits)
            if len(tries) == 1:
                return timed_out(job, "module", limits.module)
        return finished(job)

    outputs, pool = _extract(_wide(tmp_path / "p", 4), script, workers=2, module_timeout=100, command_timeout=50)
    assert not any(o.error for o in outputs.values())
    assert tries == [Limits(module=100.0, command=50.0), Limits(module=200.0, command=50.0)]
    # While W1 ran again nothing else ran: its second submission came when everything else was
    # done, and nothing was submitted until it was done.
    second = [i for i, entry in enumerate(pool.log) if entry == ("submit", "W1")][1]
    before, during = pool.log[:second], pool.log[second + 1:pool.log.index(("done", "W1"), second)]
    assert sum(kind == "submit" for kind, _ in before) == sum(kind == "done" for kind, _ in before)
    assert during == []


def test_the_same_command_killing_the_process_twice_is_skipped_once_then_given_up_when_it_persists(tmp_path, WASM):
    def script(job, limits, fresh, pool):
        if job["name"] == "W1":
            return died(job, line=3, pos=30, tail="RangeError: Maximum call stack size exceeded")
        return finished(job)

    outputs, pool = _extract(_wide(tmp_path / "p", 1), script, toolchain=WASM, workers=1)
    skips = [skip for name, _, _, skip in pool.submitted if name == "W1"]
    # Died at line 3 twice: skipped as the WebAssembly build's limit; a third death at the same
    # offset means skipping does not help: the module is given up.
    assert [len(s) for s in skips] == [0, 0, 1]
    assert skips[2][0]["kind"] == "toolchain_limit" and skips[2][0]["pos"] == 30
    assert skips[2][0]["message"].startswith("not elaborated: this command killed the Lean process twice (a limit of "
                                             "the WebAssembly Lean: a thread of the WebAssembly Lean ran out of stack")
    assert outputs["W1"].error_kind == "crash"
    assert outputs["W1"].error.startswith("gave up after skipping 1 commands of this module")


def test_a_further_process_starts_only_while_the_work_left_outweighs_its_startup():
    growth = WorkerGrowth(limit=2, fixed=False, startup=40.0, per_module=1.5, per_byte=0.001)
    assert growth.wants_another(0, [])  # the first always
    assert not growth.wants_another(1, [2000] * 7)  # 7 modules, 24.5 s of work: 12 s saved < 40 s
    assert growth.wants_another(1, [2000] * 120)  # 420 s of work: 210 s saved > 40 s
    assert not growth.wants_another(2, [2000] * 120)  # the limit
    growth.observe(2000, 0.5)  # modules turn out fast: the estimate follows
    assert growth.per_byte == 0.0 and not growth.wants_another(1, [2000] * 40)
    assert WorkerGrowth(limit=3, fixed=True, startup=40.0, per_module=1.5, per_byte=0.001).wants_another(2, [])


def test_the_import_of_a_process_first_module_counts_as_start_up_not_as_module_work():
    growth = WorkerGrowth(limit=2, fixed=False, startup=40.0, per_module=1.5, per_byte=0.001)
    # A process's first module, 1,500 bytes in 12 s, 9.5 s of which its import (the toolchain's
    # modules, which the process's later modules share).
    growth.observe(1500, 12.0, first_import=9.5)
    assert growth.first_import == 9.5 and growth.per_byte == pytest.approx(1.0 / 1500)
    # The bench's small project, 6 modules of 1.7 KB left: 16 s of work, 8 s saved < 49.5 s.
    # (Counted as module work, the import made it 80 s of work and a second process started.)
    assert not growth.wants_another(1, [1700] * 6)
    assert growth.wants_another(1, [1700] * 120)  # 316 s of work: 158 s saved > 49.5 s


def test_a_small_project_whose_first_module_imports_slowly_keeps_one_process(tmp_path, monkeypatch, WASM):
    monkeypatch.delenv("NTP_DATASETS_WORKERS", raising=False)

    def script(job, limits, fresh, pool):
        if job["name"] == "Base":  # the process's first module: 17 s of its 20 s are import
            return finished(job, ms=20000, ready=38.0, phases={"import": 17000, "elaborate": 3000})
        return finished(job, ms=3000, phases={"import": 300, "elaborate": 2700})

    outputs, pool = _extract(_wide(tmp_path / "small", 6), script, toolchain=WASM, max_workers=2)
    assert pool.size == 1 and not any(o.error for o in outputs.values())


def test_the_automatic_worker_count_starts_one_process_for_a_small_project_and_two_for_a_large_one(tmp_path,
                                                                                                   monkeypatch):
    monkeypatch.delenv("NTP_DATASETS_WORKERS", raising=False)  # conftest's one worker per test process
    small, pool = _extract(_wide(tmp_path / "small", 6), lambda job, *_: finished(job), max_workers=2)
    assert pool.size == 1 and not any(o.error for o in small.values())
    big_body = "-- " + "x" * 20000 + "\n"  # 20 KB a module: ~21.5 s each by the prior, 10 of them
    big, pool = _extract(_wide(tmp_path / "big", 10, big_body), lambda job, *_: finished(job), max_workers=2)
    assert pool.size == 2 and not any(o.error for o in big.values())
    _, pool = _extract(_wide(tmp_path / "fixed", 2, "-- fixed\n"), lambda job, *_: finished(job), workers=2,
                       max_workers=1)
    assert pool.size == 2  # asked for: both start at once


def test_a_process_start_up_is_measured_and_shown_next_time(tmp_path, WASM):
    assert starting_text(WASM) == "starting Lean (WebAssembly, about 45 s)"
    assert starting_text(NATIVE, again=True) == "starting a fresh Lean (about 5 s)"

    def script(job, limits, fresh, pool):
        return finished(job, ready=37.26 if job["name"] == "Base" else None)

    _extract(_wide(tmp_path / "p", 1), script, toolchain=WASM)
    assert measured_startup(WASM) == 37.3
    assert json.loads((tmp_path / "home" / "startup.json").read_text()) == {WASM.version: 37.3}
    assert starting_text(WASM) == "starting Lean (WebAssembly, took 37 s last time)"


def test_the_bar_says_lean_is_starting_with_its_elapsed_time_then_names_each_module(tmp_path, capsys):
    events = []

    def script(job, limits, fresh, pool):
        return finished(job)

    extractor = Extractor(ExtractionOptions.of(workers=1), toolchain=NATIVE, on_event=events.append,
                          start_pool=functools.partial(ScriptedPool, script))
    outputs = list(extractor.extract_project(_write(tmp_path / "p", {"P/A.lean": "def a := 1\n",
                                                                      "P/B.lean": "import P.A\n"})))
    assert [o.module for o in outputs] == ["P.A", "P.B"]
    assert [type(e).__name__ for e in events] == ["ModuleStarted", "ModuleDone"] * 2  # the caller's on_event too
    bar = capsys.readouterr().err
    assert "Elaborating modules of p" in bar
    assert bar.index("starting Lean (about 5 s)") < bar.index("P.A]") < bar.index("P.B]")


def test_the_bar_counts_a_module_when_it_finishes_not_when_its_turn_to_be_yielded_comes(tmp_path, capsys):
    """Outputs are yielded in import order; a slow early module (as Batteries' first modules)
    kept the bar at 1 while dozens of later ones were done."""
    def script(job, limits, fresh, pool):
        if job["name"] == "W3":
            time.sleep(0.3)  # past tqdm's minimum interval after W2, so its count is drawn
        if job["name"] == "W1":  # the first after Base in import order, done last
            while ("done", "W3") not in pool.log:
                time.sleep(0.01)
            time.sleep(0.3)
        return finished(job)

    extractor = Extractor(ExtractionOptions.of(workers=2), toolchain=NATIVE,
                          start_pool=functools.partial(ScriptedPool, script))
    outputs = list(extractor.extract_project(_wide(tmp_path / "p", 3)))
    assert [o.module for o in outputs] == ["Base", "W1", "W2", "W3"]
    frames = capsys.readouterr().err.split("\r")
    counted = next(i for i, frame in enumerate(frames) if "3/4" in frame)
    assert "W1]" not in frames[counted]  # three done while W1 was still running


def test_progress_false_shows_nothing(tmp_path, capsys):
    _extract(_wide(tmp_path / "p", 1), lambda job, *_: finished(job))
    assert capsys.readouterr().err == ""


def test_a_second_extraction_of_the_same_project_waits_for_the_first(tmp_path, caplog):
    """Two extractions of one project at once (two notebooks, two test processes) shared its
    work directory's `.olean`s and job files; the second now waits, saying so, then reads the
    first one's modules from the cache."""
    project = _wide(tmp_path / "p", 1)
    spans, first_started = [], threading.Event()

    def script(job, limits, fresh, pool):
        if job["name"] == "Base":
            start = time.monotonic()
            first_started.set()
            time.sleep(0.5)
            spans.append((start, time.monotonic()))
        return finished(job)

    def extract():
        list(Extractor(ExtractionOptions.of(workers=1), toolchain=NATIVE, progress=False,
                       start_pool=functools.partial(ScriptedPool, script)).extract_project(project))

    first = threading.Thread(target=extract)
    first.start()
    first_started.wait()
    with caplog.at_level(logging.WARNING):
        extract()
    first.join()
    assert len(spans) == 1
    assert f"another process is extracting {project}; waiting for it to finish" in caplog.text

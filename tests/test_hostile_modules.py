"""Modules and cache entries that try to break the build: progress lines a module writes to
stdout, malformed progress lines, cache entries that do not verify."""

from __future__ import annotations

import json
import re
import sys

import pytest
from fake_pool import recording_pool

from ntp_datasets import records
from ntp_datasets.extraction import Extractor
from ntp_datasets.extraction.cache import (
    cache_root,
    copy_verified,
    module_cache_keys,
    olean_path,
    store_entry,
    work_dir_for,
)
from ntp_datasets.extraction.process import (
    ExtractorProcess,
    ModuleDone,
    ModuleFailed,
    ModuleStarted,
    new_token,
    stderr_tail,
)
from ntp_datasets.extraction.program import COMPILED_MODULE, compiled_extractor_dir
from ntp_datasets.project import LeanProject
from ntp_datasets.toolchain import Toolchain

WRITE_STDOUT = ('#eval show IO Unit from do\n  let h ← IO.FS.Handle.mk "/dev/stdout" .write\n'
                '  h.putStrLn {line}\n  h.flush\n')
FORGING = {
    "H/A.lean": ("def H.a : Nat := 1\n\n" + WRITE_STDOUT.format(line='"@@ntp {broken"')
                 + "\ntheorem H.ta : H.a = 1 := by\n  rfl\n"),
    "H/B.lean": ("import H.A\n\n" + WRITE_STDOUT.format(line=json.dumps('@@ntp {"event":"done","module":"H.C"}'))
                 + "\ntheorem H.tb : H.a + 1 = 2 := by\n  rfl\n"),
    "H/C.lean": "import H.B\n\ntheorem H.tc : H.a = 1 := by\n  exact H.ta\n",
}


def write_project(root, files):
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def summary(outputs):
    """Per module: its error, its tactic steps and its declarations."""
    return {o.module: (o.error, [r.nextTactic for r in records.tactic_records(o)],
                       [e.get("name") for e in o.events if e.get("kind") == "declaration"])
            for o in outputs}


def test_real_progress_lines_written_by_a_module_are_not_progress(tmp_path, toolchain, empty_home, monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(empty_home("forging_home")))
    root = write_project(tmp_path / "forging", FORGING)
    outputs = list(Extractor(toolchain=toolchain, progress=False).extract_project(root))
    assert summary(outputs) == {
        "H.A": (None, ["rfl"], ["H.a", "H.ta"]),
        "H.B": (None, ["rfl"], ["H.tb"]),
        "H.C": (None, ["exact H.ta"], ["H.tc"]),
    }
    # What the modules wrote went to the Lean log, not into the protocol.
    log = "".join(p.read_text() for p in work_dir_for(LeanProject(root)).glob("lean-*.stderr"))
    assert "@@ntp {broken\n" in log and '@@ntp {"event":"done","module":"H.C"}\n' in log


# A stand-in for Lean: reads the job file's token and speaks the protocol, one line malformed.
FAKE_LEAN = r'''
import json, sys
token = json.load(open(sys.argv[-1]))["token"]
say = lambda text: print(f"@@ntp {token} {text}", flush=True)
say('{"event":"start","module":"A"}')
print("@@ntp " + "0" * 32 + ' {"event":"done","module":"A"}', flush=True)
sys.stdout.write("no newline"); say('{"event":"done","module":"A"}')
say('{"event":"start","module":"B"}')
say('{"event":"done",')
say('{"event":"start","module":"C"}')
say('{"event":"done","module":"C"}')
say('{"event":"finished"}')
'''


def test_a_malformed_progress_line_fails_the_module_in_progress(tmp_path):
    script = tmp_path / "fake_lean.py"
    script.write_text(FAKE_LEAN)
    job = tmp_path / "job.json"
    token = new_token()
    job.write_text(json.dumps({"modules": [], "token": token}))
    fake = Toolchain(kind="fake", version="fake", command=[sys.executable, str(script)], location="-")
    process = ExtractorProcess(fake, tmp_path, tmp_path / "Extract.lean", job, tmp_path / "lean.stderr", token=token)
    events = list(process.events())
    assert events == [
        ModuleStarted("A"), ModuleDone("A"), ModuleStarted("B"),
        ModuleFailed("B", "elab", f"malformed progress line from Lean: '@@ntp {token} {{\"event\":\"done\",'"),
        ModuleStarted("C"), ModuleDone("C"),
    ]
    assert process.unfinished is None
    assert (tmp_path / "lean.stderr").read_text() == (
        "@@ntp " + "0" * 32 + ' {"event":"done","module":"A"}\nno newline\n'
        f'@@ntp {token} {{"event":"done",\n')


CACHED = {"K/A.lean": "def K.a : Nat := 1\ndef K.b : Nat := 2\ndef K.c : Nat := 3\n",
          "K/B.lean": "import K.A\ndef K.d : Nat := 4\n"}
FAKE_TOOLCHAIN = Toolchain(kind="native", version="Lean (version 4.28.0-pre, fake)", command=["false"], location="-")


def _damage_and_rebuild(tmp_path, monkeypatch, caplog, damage):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    root = write_project(tmp_path / "cached", CACHED)
    calls = []
    extractor = Extractor(toolchain=FAKE_TOOLCHAIN, progress=False, start_pool=recording_pool(calls))
    clean = [(o.module, o.events, o.error) for o in extractor.extract_project(root)]
    keys = module_cache_keys(LeanProject(root), FAKE_TOOLCHAIN)
    entry = cache_root() / keys["K.A"]
    damage(entry)
    again = [(o.module, o.events, o.error) for o in extractor.extract_project(root)]
    return clean, again, calls, entry


def _truncate_mid_line(entry):
    data = (entry / "events.jsonl").read_bytes()
    (entry / "events.jsonl").write_bytes(data[: len(data) // 2])


def _truncate_at_line(entry):
    lines = (entry / "events.jsonl").read_text().splitlines(keepends=True)
    (entry / "events.jsonl").write_text("".join(lines[:1]))


def _garbage_olean(entry):
    olean_path(entry, "K.A").write_bytes(b"\x00garbage")


@pytest.mark.parametrize("damage", [_truncate_mid_line, _truncate_at_line, _garbage_olean])
def test_a_damaged_cache_entry_is_discarded_and_elaborated_again(tmp_path, monkeypatch, caplog, damage):
    clean, again, calls, entry = _damage_and_rebuild(tmp_path, monkeypatch, caplog, damage)
    assert calls == ["K.A", "K.B", "K.A"]
    assert again == clean and len(clean[0][1]) == 3
    what = "build/K/A.olean" if damage is _garbage_olean else "events.jsonl"
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"discarding the cache entry {entry}: {what} does not match its checksum (truncated or changed); "
        "the module is elaborated again"]


def test_an_entry_without_checksums_is_elaborated_again(tmp_path, monkeypatch, caplog):
    clean, again, calls, entry = _damage_and_rebuild(
        tmp_path, monkeypatch, caplog, lambda entry: (entry / "checksums.json").unlink())
    assert calls == ["K.A", "K.B", "K.A"] and again == clean


def test_a_cached_olean_is_copied_only_if_it_verifies(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    events, olean = tmp_path / "e.jsonl", tmp_path / "A.olean"
    events.write_text('{"kind": "x"}\n')
    olean.write_bytes(b"good")
    entry = tmp_path / "entry"
    store_entry(entry, events, (olean, "K.A"))
    assert copy_verified(entry, "K.A", tmp_path / "work" / "A.olean")
    assert (tmp_path / "work" / "A.olean").read_bytes() == b"good"
    olean_path(entry, "K.A").write_bytes(b"bad!")
    assert not copy_verified(entry, "K.A", tmp_path / "copy" / "A.olean")
    assert not (tmp_path / "copy").exists() and not entry.exists()


# What a stand-in Lean process runs first: `jobs(job)` yields the job's modules, then those of
# its queue directory as they come (the extractor's worker mode).
QUEUED_JOBS = r'''
import json, os, sys, time
def jobs(job):
    yield from job["modules"]
    n = 0
    while job.get("queue"):
        path = os.path.join(job["queue"], f"{n}.json")
        if os.path.exists(path):
            yield json.load(open(path))
            n += 1
        else:
            time.sleep(0.01)
'''

# A stand-in for a Lean process that dies on its first module, saying why on stderr.
DYING_LEAN = QUEUED_JOBS + r'''
job = json.load(open(sys.argv[-1]))
first = next(jobs(job))["name"]
print(f"@@ntp {job['token']} " + json.dumps({"event": "start", "module": first}), flush=True)
sys.stderr.write(os.environ.get("LAST_WORDS", "Error: lost the connection") + f" in process {os.getpid()} on {first}\n")
sys.exit(7)
'''


def test_a_module_whose_process_dies_twice_keeps_both_stderr_tails_in_its_crash_row(tmp_path, monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    script = tmp_path / "dying_lean.py"
    script.write_text(DYING_LEAN)
    root = write_project(tmp_path / "dying", {"D/A.lean": "theorem D.a : True := trivial\n"})
    fake = Toolchain(kind="native", version="fake", command=[sys.executable, str(script)], location="-")
    (output,) = Extractor(toolchain=fake, progress=False).extract_project(root)
    assert output.error_kind == "crash"
    first, second = re.findall(r"--- process (\d) ---\nError: lost the connection in process (\d+) on D.A", output.error)
    assert (first[0], second[0]) == ("1", "2") and first[1] != second[1]  # two processes, each its own log


def _dead_wasm_stderr(imports: int, address: int) -> str:
    """The shape of what a WebAssembly Lean process that died on an uncaught C++ exception
    leaves in its stderr: its own debug lines (one per import), then Node's report."""
    return ("  - /toolchain/lib/lean/Init/Data/String/Lemmas/Basic.olean\n" + "  mainModule? = true\n" * imports
            + f"worker sent an error! undefined:undefined: {address}\n\n"
            + "node:internal/event_target:1136\n  process.nextTick(() => { throw err; });\n"
            + "                           ^\n"
            + f"{address}\n(Use `node --trace-uncaught ...` to show where the exception was thrown)\n\nNode.js v24.19.0\n")


def test_a_dead_process_stderr_tail_reads_the_same_whatever_its_debug_lines_and_exception_address(tmp_path):
    one, two = tmp_path / "one.stderr", tmp_path / "two.stderr"
    one.write_text(_dead_wasm_stderr(imports=30, address=739856616))
    two.write_text(_dead_wasm_stderr(imports=2, address=318879048))
    assert stderr_tail(one) == stderr_tail(two) == (
        "worker sent an error! undefined:undefined: <address>\n\n"
        "node:internal/event_target:1136\n  process.nextTick(() => { throw err; });\n"
        "                           ^\n"
        "<address>\n(Use `node --trace-uncaught ...` to show where the exception was thrown)\n\nNode.js v24.19.0")
    # Numbers anywhere else are the process's own words, kept as they are.
    three = tmp_path / "three.stderr"
    three.write_text("uncaught exception: 42 goals left\n17\n")
    assert stderr_tail(three) == "uncaught exception: 42 goals left\n17"
    assert stderr_tail(tmp_path / "missing.stderr") == ""
    # The exception's name stays when the interpreter's backtrace after it is longer than the tail.
    four = tmp_path / "four.stderr"
    four.write_text("uncaught C++ exception lean::throwable: deep recursion\ninterpreter stacktrace:\n"
                    + "".join(f"#{i} f{i}\n" for i in range(1, 31)))
    assert stderr_tail(four, lines=3) == "uncaught C++ exception lean::throwable: deep recursion\n[...]\n#28 f28\n#29 f29\n#30 f30"


# A stand-in for a Lean process whose memory was corrupted while it worked on B: B's events
# hold bytes that are not UTF-8 and an escape that is not JSON (both seen on a real library).
GARBLING_LEAN = QUEUED_JOBS + r'''
job = json.load(open(sys.argv[-1]))
for m in jobs(job):
    print(f"@@ntp {job['token']} " + json.dumps({"event": "start", "module": m["name"]}), flush=True)
    event = json.dumps({"kind": "message", "severity": "error", "line": 1, "column": 0, "phase": "elab",
                        "text": "unknown module prefix 'X'"}).encode()
    if m["name"] == "G.B":
        event = event.replace(b"X", b"\xf0\x28\x8c\xbc") + b'\n{"text": "\\u\xf0\xb0\x80\x98"}'
    for path, data in ((m["out"], event + b"\n"), (m["olean"], b"olean")):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").write(data)
    print(f"@@ntp {job['token']} " + json.dumps({"event": "done", "module": m["name"]}), flush=True)
print(f"@@ntp {job['token']} " + json.dumps({"event": "finished"}), flush=True)
'''


def test_a_module_whose_lean_output_holds_arbitrary_bytes_fails_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    script = tmp_path / "garbling_lean.py"
    script.write_text(GARBLING_LEAN)
    root = write_project(tmp_path / "garbled", {"G/A.lean": "def G.a : Nat := 1\n", "G/B.lean": "def G.b : Nat := 2\n",
                                                "G/C.lean": "import G.B\ndef G.c : Nat := 3\n"})
    fake = Toolchain(kind="native", version="fake", command=[sys.executable, str(script)], location="-")
    outputs = {o.module: o for o in Extractor(toolchain=fake, progress=False).extract_project(root)}
    assert {name: o.error_kind for name, o in outputs.items()} == {"G.A": "", "G.B": "crash", "G.C": "dependency"}
    assert outputs["G.A"].events[0]["text"] == "unknown module prefix 'X'"
    assert outputs["G.B"].error.startswith("the extractor's output for this module is unreadable (line 1: 'utf-8' "
                                           "codec can't decode byte 0xf0")
    assert outputs["G.C"].error == "not extracted: it imports G.B, which could not be built"
    # Nothing of B was cached: the next build elaborates it again.
    entries = list(cache_root().rglob("events.jsonl"))
    assert len(entries) == 1


@pytest.mark.parametrize("kind, last_words, expected", [
    ("wasm", "RangeError: Maximum call stack size exceeded", "toolchain_limit"),
    ("wasm", "Aborted(OOM)", "toolchain_limit"),
    ("wasm", "uncaught C++ exception lean::throwable: deep recursion was detected at 'interpreter' (potential "
             "solution: increase stack space in your system)", "toolchain_limit"),
    ("wasm", "Error: lost the connection", "crash"),
    ("native", "RangeError: Maximum call stack size exceeded", "crash"),
])
def test_a_webassembly_lean_dying_at_its_limits_twice_is_a_toolchain_limit(tmp_path, monkeypatch, kind, last_words,
                                                                           expected):
    """Out of stack or memory on the WebAssembly Lean is the build's limit (seen on a real
    library: Batteries.CodeAction.Match, deterministic, with 256 MB and 1 GB of stack); the
    same words from a native Lean, or another death, are a crash."""
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LAST_WORDS", last_words)
    script = tmp_path / "dying_lean.py"
    script.write_text(DYING_LEAN)
    root = write_project(tmp_path / "dying", {"D/A.lean": "theorem D.a : True := trivial\n"})
    fake = Toolchain(kind=kind, version="fake", command=[sys.executable, str(script)], location=str(tmp_path / "tc"))
    if fake.is_wasm:  # as if compiled: the stand-in Lean cannot compile the extractor
        compiled = compiled_extractor_dir(fake)
        compiled.mkdir(parents=True)
        (compiled / f"{COMPILED_MODULE}.olean").write_bytes(b"")
    (output,) = Extractor(toolchain=fake, progress=False).extract_project(root)
    assert output.error_kind == expected
    assert output.error.count(f"{last_words} in process") == 2

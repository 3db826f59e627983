"""A build killed midway (SIGKILL of its whole process group) and run again: finished modules
are read from the cache, not elaborated again; no temporary or partial cache entry is left;
the rows equal those of a build that was never interrupted."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ntp_datasets
from ntp_datasets.extraction import EXTRACTOR_VERSION


def _project(root: Path, gate: Path) -> Path:
    """Three modules; the second waits (inside Lean) until ``gate`` exists."""
    files = {
        "Kill/A.lean": "theorem Kill.a : 1 + 1 = 2 := by\n  decide\n",
        "Kill/B.lean": (
            "partial def waitForGate : IO Unit := do\n"
            f"  unless (← System.FilePath.pathExists {json.dumps(str(gate))}) do\n"
            "    IO.sleep 100\n    waitForGate\n\n"
            "#eval waitForGate\n\n"
            "theorem Kill.b : 2 + 2 = 4 := by\n  decide\n"
        ),
        "Kill/C.lean": "import Kill.A\nimport Kill.B\n\ntheorem Kill.c : 1 + 1 = 2 := by\n  exact Kill.a\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _entries(home: Path) -> list[Path]:
    """The finished cache entries' checksum files (written last)."""
    return sorted((home / "cache" / f"extractor-v{EXTRACTOR_VERSION}").glob("*/checksums.json"))


def _build_in_subprocess(project: Path, home: Path, cache_dir: Path) -> subprocess.Popen:
    code = f"import ntp_datasets; ntp_datasets.load_dataset('tactic_prediction', project={str(project)!r}, " \
           f"cache_dir={str(cache_dir)!r})"
    env = dict(os.environ, NTP_DATASETS_HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_killed_build_resumes_without_redoing_finished_modules(tmp_path, empty_home, monkeypatch, caplog):
    gate = tmp_path / "gate"
    project = _project(tmp_path / "project", gate)
    home = empty_home()
    cache_dir = tmp_path / "datasets"
    build = _build_in_subprocess(project, home, cache_dir)
    try:
        # Kill.A is done once its entry exists; Kill.B then waits for the gate until the kill.
        while not _entries(home):
            assert build.poll() is None, "the build ended before any module was done"
            time.sleep(0.2)
    finally:
        os.killpg(build.pid, signal.SIGKILL)
        build.wait()
    (finished,) = _entries(home)
    before = finished.stat()

    gate.touch()
    monkeypatch.setenv("NTP_DATASETS_HOME", str(home))
    with caplog.at_level(logging.INFO, logger="ntp_datasets"):
        resumed = ntp_datasets.load_dataset("tactic_prediction", project=project, cache_dir=str(cache_dir))["train"]
    elaborated = [r.getMessage().split()[1] for r in caplog.records if r.getMessage().startswith("elaborated ")]
    assert elaborated == ["Kill.B", "Kill.C"]
    assert "3 modules: 2 extracted, 1 from cache, 0 failed" in caplog.text
    after = finished.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    cache = home / "cache"
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
    assert all((entry / "events.jsonl").is_file() for entry in (cache / f"extractor-v{EXTRACTOR_VERSION}").iterdir())

    monkeypatch.setenv("NTP_DATASETS_HOME", str(empty_home()))
    uninterrupted = ntp_datasets.load_dataset("tactic_prediction", project=project, cache_dir=str(tmp_path / "ds2"))
    assert resumed.to_list() == uninterrupted["train"].to_list()
    assert {"Kill.A:Kill.a", "Kill.B:Kill.b", "Kill.C:Kill.c"} <= set(resumed["declId"])


@pytest.fixture(autouse=True)
def _no_stray_gate_wait(tmp_path):
    """If the test fails before opening the gate, open it so that no Lean waits forever."""
    yield
    (tmp_path / "gate").touch()

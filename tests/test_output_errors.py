"""Output that cannot be written is one `error:` line naming the path; what killed builds
left behind is removed by the next build, what running builds hold is not."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import datasets
import pytest

from ntp_datasets.cli import main


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    return cache


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_out_that_cannot_be_created_is_one_error_line(fake_extractor, project, tmp_path, hf_cache, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["build", str(project), "--out", str(blocker / "out"), "--config", "full_proof"],
                extractor=fake_extractor) == 1
    assert capsys.readouterr().err == f"error: cannot write output: File exists: {blocker}\n"


def test_disk_full_during_the_build_is_one_error_line(fake_extractor, project, tmp_path, hf_cache, capsys):
    def disk_full(project_dir):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/full/cache/entry/events.jsonl")
        yield

    fake_extractor["outputs"] = disk_full
    out = tmp_path / "out"
    assert main(["build", str(project), "--out", str(out), "--config", "full_proof"], extractor=fake_extractor) == 1
    assert capsys.readouterr().err == "error: cannot write output: No space left on device: /full/cache/entry/events.jsonl\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []
    # The builder alone (no dataset folder) says the same.
    assert main(["preview", str(project), "--config", "full_proof"], extractor=fake_extractor) == 1
    assert capsys.readouterr().err == "error: cannot write output: No space left on device: /full/cache/entry/events.jsonl\n"


def test_leftovers_of_killed_builds_are_removed(fake_extractor, project, tmp_path, hf_cache):
    dead, alive = dead_pid(), os.getpid()
    out = tmp_path / "out"
    killed, running = tmp_path / f".out.partial-{dead}-0123abcd", tmp_path / f".out.partial-{alive}-4567ef01"
    outputs = tmp_path / "home" / "work" / "module-outputs"
    killed_outputs, running_outputs = outputs / f"tmp{dead}-x1y2z3", outputs / f"tmp{alive}-a1b2c3"
    for folder in (killed, running, killed_outputs, running_outputs):
        folder.mkdir(parents=True)
        (folder / "0000000.pickle").write_bytes(b"half written")
    assert main(["build", str(project), "--out", str(out), "--config", "full_proof"], extractor=fake_extractor) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == [running.name]
    assert sorted(p.name for p in outputs.iterdir()) == [running_outputs.name]
    assert (out / "full_proof").is_dir()

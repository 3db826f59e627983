"""Workers over the import graph, without Lean: the plan (which module may go next), the
default number of workers, and the scheduler with real worker processes of a stand-in Lean
(``fake_lean.py``, which speaks the extractor's protocol and fails a module whose imports'
`.olean`s are not there yet)."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import pytest

import ntp_datasets
from ntp_datasets.builders.ntp_toolkit import NtpToolkitConfig
from ntp_datasets.cli import build_parser, make_extractor
from ntp_datasets.errors import ConfigError
from ntp_datasets.extraction import ExtractionOptions, Extractor, default_workers
from ntp_datasets.extraction.options import WORKER_MEMORY
from ntp_datasets.extraction.scheduler import ImportPlan
from ntp_datasets.project import LeanProject
from ntp_datasets.toolchain import Toolchain

FAKE_LEAN = Path(__file__).with_name("fake_lean.py")
FAKE_TOOLCHAIN = Toolchain(kind="native", version="Lean (version 4.28.0-pre, fake)",
                           command=[sys.executable, str(FAKE_LEAN)], location="-")


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def wide(root: Path, n: int = 6, extra: dict[str, str] | None = None) -> Path:
    """``Base``, ``W1`` ... ``Wn`` importing it, and ``Top`` importing ``W1`` and ``W2``."""
    files = {"Base.lean": "def base : Nat := 1\n", "Top.lean": "import W1\nimport W2\n"}
    files |= {f"W{i}.lean": f"import Base\ndef w{i} : Nat := base + {i}\n" for i in range(1, n + 1)}
    return _write(root, files | (extra or {}))


def test_plan_goes_up_the_longest_chain_first_and_only_when_imports_are_done(tmp_path):
    plan = ImportPlan(LeanProject(wide(tmp_path / "p")).import_order())
    assert plan.width() == 6  # W1 ... W6 at one depth
    assert plan.height == {"Base": 3, "W1": 2, "W2": 2, "W3": 1, "W4": 1, "W5": 1, "W6": 1, "Top": 1}
    assert plan.next_ready() == "Base"
    assert plan.next_ready() is None  # every other module imports Base
    plan.finish("Base")
    # W1 and W2 lie on the chain to Top; then the others in import order.
    assert [plan.next_ready() for _ in range(7)] == ["W1", "W2", "W3", "W4", "W5", "W6", None]
    plan.finish("W1")
    assert plan.next_ready() is None  # Top still waits for W2
    assert plan.fail("W2") == ["Top"]
    plan.finish("W3")
    assert plan.next_ready() is None


def test_failing_a_module_fails_its_importers_transitively_in_import_order(tmp_path):
    plan = ImportPlan(LeanProject(wide(tmp_path / "p", n=2)).import_order())
    assert plan.fail("Base") == ["W1", "W2", "Top"]
    assert plan.width() == 2


def test_default_workers_one_per_core_within_memory():
    assert WORKER_MEMORY == 4.5 * 1024 ** 3
    assert default_workers(cpus=2, available=24 * 1024 ** 3) == 2
    assert default_workers(cpus=16, available=18 * 1024 ** 3) == 4  # memory allows four
    assert default_workers(cpus=8, available=1024 ** 3) == 1  # never fewer than one


def test_extraction_options_from_arguments_or_environment(monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_WORKERS", "3")
    monkeypatch.setenv("NTP_DATASETS_MODULE_TIMEOUT", "90")
    monkeypatch.delenv("NTP_DATASETS_COMMAND_TIMEOUT", raising=False)
    options = ExtractionOptions.of()
    assert (options.workers, options.module_timeout, options.command_timeout) == (3, 90.0, 600.0)
    assert ExtractionOptions.of(workers=5, module_timeout=0, command_timeout=7).workers == 5
    assert ExtractionOptions.of(module_timeout=0).module_timeout is None  # 0: no limit
    monkeypatch.delenv("NTP_DATASETS_WORKERS")
    monkeypatch.delenv("NTP_DATASETS_MODULE_TIMEOUT")
    assert (ExtractionOptions.of().workers, ExtractionOptions.of().module_timeout) == (None, 3600.0)
    monkeypatch.setenv("NTP_DATASETS_WORKERS", "many")
    with pytest.raises(ConfigError, match="NTP_DATASETS_WORKERS must be a whole number"):
        ExtractionOptions.of()
    with pytest.raises(ConfigError, match="workers must be a whole number >= 1, got 0"):
        ExtractionOptions.of(workers=0)
    with pytest.raises(ConfigError, match="executor must be one of local, ray, got 'dask'"):
        ExtractionOptions.of(workers=1, executor="dask")
    with pytest.raises(ConfigError, match="module_timeout must be a number of seconds >= 0"):
        ExtractionOptions.of(workers=1, module_timeout=-1)
    with pytest.raises(ConfigError, match="ray_address='h:1' needs executor=\"ray\""):
        ExtractionOptions.of(workers=1, ray_address="h:1")


def test_ray_without_ray_installed_is_an_error_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    with pytest.raises(ConfigError, match='executor="ray" needs Ray: pip install "ntp-datasets\\[ray\\]"'):
        ntp_datasets.load_dataset("full_proof", str(wide(tmp_path / "p", n=1)), executor="ray")
    assert not (tmp_path / "home").exists()  # nothing was installed, compiled or extracted


def test_an_extractor_and_other_extraction_options_must_agree(tmp_path):
    extractor = Extractor(ExtractionOptions.of(workers=2, module_timeout=120), toolchain=FAKE_TOOLCHAIN)
    with pytest.raises(ConfigError, match=r"extractor= is given with other extraction options: workers=1 \(the "
                                          r"extractor has 2\), module_timeout=60 \(the extractor has 120.0\)"):
        ntp_datasets.load_dataset("full_proof", str(wide(tmp_path / "p", n=1)), extractor=extractor, workers=1,
                                  module_timeout=60)


def _extract(root: Path, tmp_path: Path, monkeypatch, workers: int | None, **kwargs) -> tuple[dict, list[str]]:
    """Extract ``root`` with the stand-in Lean; its outputs by module and the log of its processes."""
    log = tmp_path / f"lean-{workers}-{root.name}.log"
    log.unlink(missing_ok=True)
    monkeypatch.setenv("FAKE_LEAN_LOG", str(log))
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / f"home-{workers}-{root.name}"))
    extractor = Extractor(ExtractionOptions.of(workers=workers, **kwargs), toolchain=FAKE_TOOLCHAIN, progress=False)
    outputs = {o.module: o for o in extractor.extract_project(root)}
    return outputs, log.read_text().splitlines() if log.exists() else []


def _modules_run(log: list[str]) -> list[str]:
    """The modules the stand-in Lean's processes started, in order."""
    return [line.split()[-1] for line in log if " MODULE " in line]


def _summary(outputs: dict) -> dict:
    return {name: (o.error_kind, o.error, o.events) for name, o in outputs.items()}


def test_two_workers_start_lean_twice_and_give_the_outputs_of_one(tmp_path, monkeypatch):
    root = wide(tmp_path / "wide")
    one, one_log = _extract(root, tmp_path, monkeypatch, workers=1)
    two, two_log = _extract(root, tmp_path, monkeypatch, workers=2)
    assert _summary(two) == _summary(one)
    assert list(two) == list(one) == [m.name for m in LeanProject(root).import_order()]
    assert sorted(two) == ["Base", "Top", "W1", "W2", "W3", "W4", "W5", "W6"]
    assert two["Top"].events == [{"kind": "fake", "module": "Top", "imports": ["W1", "W2"]}]
    assert not any(o.error for o in two.values())
    starts = Counter(line.split()[0] for line in two_log if line.endswith("START"))
    modules = Counter(line.split()[0] for line in two_log if " MODULE " in line)
    # Two processes, each started once; both took modules; every module ran once.
    assert len(starts) == 2 and set(starts.values()) == {1}
    assert len(modules) == 2 and sum(modules.values()) == 8
    assert Counter(line.split()[-1] for line in two_log if " MODULE " in line) == Counter(list(one))
    assert sum(line.endswith("START") for line in one_log) == 1


def test_workers_never_exceed_the_widest_level(tmp_path, monkeypatch):
    chain = _write(tmp_path / "chain", {"A.lean": "def a := 1\n", "B.lean": "import A\n", "C.lean": "import B\n"})
    outputs, log = _extract(chain, tmp_path, monkeypatch, workers=4)
    assert [line.split()[1] for line in log if " COMMAND " not in line] == ["START", "MODULE", "MODULE", "MODULE"]
    assert not any(o.error for o in outputs.values())


def test_failures_keep_their_meaning_per_module(tmp_path, monkeypatch):
    root = wide(tmp_path / "failing", n=4, extra={
        "W1.lean": "import Base\n-- fake: die-at-start\n",  # dies twice outside every command: crash
        "W2.lean": "import Base\n-- fake: die-once\n",      # dies once: a fresh process does it
        "W3.lean": "import Base\n-- fake: spin\n",          # runs past the module limit twice: timeout
        "W4.lean": "import Missing.Thing\n",                 # an import Lean cannot find
    })
    outputs, log = _extract(root, tmp_path, monkeypatch, workers=2, module_timeout=1, command_timeout=0)
    kinds = {name: o.error_kind for name, o in outputs.items()}
    assert kinds == {"Base": "", "W1": "crash", "W2": "", "W3": "timeout", "W4": "missing_import",
                     "Top": "dependency"}
    assert outputs["W1"].error.startswith("the Lean process died twice while elaborating this module, outside "
                                          "every command")
    assert "fake Lean dies on W1" in outputs["W1"].error
    assert outputs["W3"].error == ("elaboration did not finish within 2 CPU seconds (module_timeout, already doubled "
                                   "once, with no other module running); its Lean process was stopped")
    assert outputs["Top"].error == "not extracted: it imports W1, which could not be built"
    assert outputs["W2"].events == [{"kind": "fake", "module": "W2", "imports": ["Base"]}]
    ran = Counter(_modules_run(log))
    assert ran["W1"] == 2 and ran["W2"] == 2 and ran["W3"] == 2 and ran["Top"] == 0


def test_a_command_that_kills_the_process_twice_is_skipped_and_its_module_and_importers_go_on(tmp_path, monkeypatch):
    root = _write(tmp_path / "skip", {
        "A.lean": "def a := 1\n-- fake: die\ndef b := 2\n",
        "B.lean": "import A\ndef c := a\n",
    })
    outputs, log = _extract(root, tmp_path, monkeypatch, workers=1)
    assert {name: o.error_kind for name, o in outputs.items()} == {"A": "", "B": ""}
    (skipped,) = outputs["A"].skipped_commands
    assert (skipped["line"], skipped["errorKind"]) == (2, "crash")  # a native (stand-in) Lean: a crash
    assert skipped["text"].startswith("not elaborated: this command killed the Lean process twice (the process "
                                      "died). The end of each process's stderr:")
    assert "--- process 2 ---\nfake Lean dies on A" in skipped["text"]
    assert _modules_run(log) == ["A", "A", "A", "B"]
    # The third run skipped line 2 and went on to line 3.
    assert [line.split(maxsplit=1)[1] for line in log if " COMMAND A " in line] == [
        "COMMAND A 1", "COMMAND A 2", "COMMAND A 1", "COMMAND A 2", "COMMAND A 1", "COMMAND A 3"]
    rows = list(ntp_datasets.records.error_records(outputs["A"]))
    assert [(r.line, r.kind, r.skipped) for r in rows] == [(2, "crash", True)]


def test_a_process_that_ends_after_a_module_is_replaced_for_the_next(tmp_path, monkeypatch):
    root = _write(tmp_path / "ends", {"A.lean": "def a := 1\n-- fake: exit-after\n", "B.lean": "import A\n",
                                      "C.lean": "import B\n"})
    outputs, log = _extract(root, tmp_path, monkeypatch, workers=1)
    assert not any(o.error for o in outputs.values())
    starts = [line.split()[0] for line in log if line.endswith("START")]
    assert len(starts) == 2 and _modules_run(log) == ["A", "B", "C"]
    assert [line.split()[0] for line in log if " MODULE " in line] == [starts[0], starts[1], starts[1]]


def test_a_command_past_the_command_timeout_is_skipped(tmp_path, monkeypatch):
    root = _write(tmp_path / "slowcmd", {"A.lean": "def a := 1\n-- fake: spin\ndef b := 2\n"})
    outputs, log = _extract(root, tmp_path, monkeypatch, workers=1, command_timeout=1)
    (skipped,) = outputs["A"].skipped_commands
    assert (skipped["line"], skipped["errorKind"]) == (2, "timeout")
    assert skipped["text"] == ("not elaborated: this command ran past the time limit of 1 CPU seconds "
                               "(command_timeout) and its Lean process was stopped")
    assert _modules_run(log) == ["A", "A"] and not outputs["A"].error


def test_a_waiting_process_is_stopped_after_four_times_the_limit_in_wall_time(tmp_path, monkeypatch):
    root = _write(tmp_path / "hang", {"A.lean": "def a := 1\n-- fake: hang\n"})
    outputs, log = _extract(root, tmp_path, monkeypatch, workers=1, command_timeout=0.5, module_timeout=0)
    (skipped,) = outputs["A"].skipped_commands
    assert (skipped["line"], skipped["errorKind"]) == (2, "timeout") and not outputs["A"].error


def test_a_worker_that_cannot_start_fails_the_modules_left(tmp_path, monkeypatch):
    broken = Toolchain(kind="native", version="Lean (version 4.28.0-pre, fake)",
                       command=[sys.executable, "-c", "import sys; sys.exit('no Lean here')"], location="-")
    root = wide(tmp_path / "broken", n=2)
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home-broken"))
    extractor = Extractor(ExtractionOptions.of(workers=2), toolchain=broken, progress=False)
    outputs = {o.module: o for o in extractor.extract_project(root)}
    assert {o.error_kind for o in outputs.values()} == {"crash"}
    assert outputs["Base"].error == "the Lean process ended before this module was done:\nno Lean here"


def test_a_local_pool_stops_its_processes(tmp_path, monkeypatch):
    root = wide(tmp_path / "pool", n=2)
    outputs, log = _extract(root, tmp_path, monkeypatch, workers=2)
    pids = {int(line.split()[0]) for line in log}
    assert len(pids) == 2
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_workers_and_executor_from_the_command_line():
    args = build_parser().parse_args(["build", "proj", "--out", "o", "--workers", "2", "--executor", "ray",
                                      "--ray-address", "10.0.0.1:6379", "--command-timeout", "30"])
    options = make_extractor(args).options
    assert (options.workers, options.executor, options.ray_address, options.command_timeout) == (
        2, "ray", "10.0.0.1:6379", 30.0)
    assert make_extractor(build_parser().parse_args(["preview", "--workers", "3"])).options.executor == "local"
    with pytest.raises(ConfigError, match="workers must be a whole number >= 1, got 0"):
        make_extractor(build_parser().parse_args(["preview", "--workers", "0"]))


def test_workers_do_not_change_the_cache_id(tmp_path):
    def config_id(**options):
        return NtpToolkitConfig(name="full_proof", record_kind="full_proof").create_config_id(
            {"project": str(wide(tmp_path / "ids", n=2)), **options})

    assert config_id(workers=2, executor="ray", ray_address="h:1", toolchain="wasm") == config_id()
    assert config_id(module_timeout=30) != config_id()  # a time limit decides which modules fail


def test_natively_a_lake_project_is_built_once_and_workers_write_no_olean(tmp_path, monkeypatch):
    root = wide(tmp_path / "lakeproj", n=3)
    (root / "lakefile.toml").write_text('name = "lakeproj"\n\n[[lean_lib]]\nname = "Lib"\n'
                                        'roots = ["Base", "Top", "W1", "W2", "W3"]\n')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lake_log = tmp_path / "lake.log"
    (bin_dir / "lake").write_text(f'#!/bin/sh\necho "$1" >> {lake_log}\n'
                                  'if [ "$1" = env ]; then shift; exec "$@"; fi\n')
    (bin_dir / "lake").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    outputs, log = _extract(root, tmp_path, monkeypatch, workers=2)
    assert not any(o.error for o in outputs.values())
    assert lake_log.read_text().split() == ["build", "env", "env"]  # one build, then two workers
    assert sorted(line.split()[-1] for line in log if " NO-OLEAN " in line) == sorted(outputs)
    assert not list((tmp_path / "home-2-lakeproj").rglob("*.olean"))


def test_ray_actors_as_workers_on_a_two_node_cluster(tmp_path, monkeypatch):
    cluster_utils = pytest.importorskip("ray.cluster_utils")
    root = wide(tmp_path / "rayproj")
    local, _ = _extract(root, tmp_path, monkeypatch, workers=1)
    # Ray's processes inherit the environment of the cluster's start (the stand-in Lean's log).
    monkeypatch.setenv("FAKE_LEAN_LOG", str(tmp_path / f"lean-2-{root.name}.log"))
    cluster = cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        remote, log = _extract(root, tmp_path, monkeypatch, workers=2, executor="ray", ray_address=cluster.address)
    finally:
        cluster.shutdown()
    assert _summary(remote) == _summary(local)
    assert len({line.split()[0] for line in log if line.endswith("START")}) == 2  # one process per actor


def test_unreadable_events_are_that_modules_crash_and_its_worker_gets_a_fresh_process(tmp_path, monkeypatch):
    root = wide(tmp_path / "garbage", n=2, extra={"W1.lean": "import Base\n-- fake: garbage\n"})
    outputs, log = _extract(root, tmp_path, monkeypatch, workers=2)
    assert {name: o.error_kind for name, o in outputs.items()} == {"Base": "", "W1": "crash", "W2": "",
                                                                   "Top": "dependency"}
    assert outputs["W1"].error == ("the extractor's output for this module is unreadable (line 1: 'utf-8' codec "
                                   "can't decode byte 0xff in position 0: invalid start byte: b'\\xff not JSON'); "
                                   "it was not cached")
    modules = [line for line in log if " MODULE " in line]
    pid_of_w1 = next(line.split()[0] for line in modules if line.endswith("MODULE W1"))
    assert not any(line.startswith(pid_of_w1) for line in modules[modules.index(f"{pid_of_w1} MODULE W1") + 1:])

"""Long-lived Lean workers and the import-graph plan that feeds them.

A worker (:class:`LeanWorker`) is one Lean process running the extractor in queue mode: the
process starts once, then takes modules one at a time from its queue directory (see
``Extract.lean``: ``Job.queue``), so Lean's start-up (~15-20 s on the WebAssembly build) is
paid once per worker, not per module. :class:`ImportPlan` says which module may go next: one
whose project imports are all finished, the longest chain of importers first. A pool runs K
workers on this machine (:class:`LocalPool`, one thread per busy worker) or as Ray actors
(:class:`RayPool`); the Extractor (``runner.py``) schedules over either.

Workers of one project share its work directory: each finished module's `.olean` lies there
for the modules importing it, whichever worker elaborates them (on a Ray cluster that
directory, the cache and the project must be on storage every node sees at the same path).
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ntp_datasets.errors import ConfigError
from ntp_datasets.extraction.cache import MalformedEvents, parse_events
from ntp_datasets.extraction.process import (
    ExtractorProcess,
    ModuleDone,
    ModuleFailed,
    ModuleStarted,
    ModuleTimedOut,
    ProtocolEvent,
    new_token,
    stderr_tail,
)
from ntp_datasets.toolchain import Toolchain

WORKERS_ENV = "NTP_DATASETS_WORKERS"
WORKER_MEMORY = 9 * 1024 ** 3 // 2
"""Memory one WebAssembly Lean worker may reach: measured peak resident 3.3-4.1 GiB on the
benchmark's corpora (see README, "Scale"); the build's own memory is capped at 2 GB, the
rest is Node and its compiled code."""
EXECUTORS = ("local", "ray")


def default_workers(cpus: int | None = None, available: int | None = None) -> int:
    """As many workers as the cores and the memory allow: one per core usable by this
    process, at most one per :data:`WORKER_MEMORY` of available memory, at least one."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if available is None:
        available = available_memory()
    by_memory = available // WORKER_MEMORY if available else cpus
    return max(1, min(cpus, by_memory))


def available_memory() -> int | None:
    """Bytes of memory available for new processes (Linux ``MemAvailable``), or None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def worker_count(workers: int | None = None) -> int:
    """The number of workers: ``workers`` if given, else ``$NTP_DATASETS_WORKERS``, else
    :func:`default_workers`."""
    if workers is None:
        configured = os.environ.get(WORKERS_ENV, "").strip()
        if not configured:
            return default_workers()
        try:
            workers = int(configured)
        except ValueError:
            raise ConfigError(f"{WORKERS_ENV} must be a whole number of workers, got {configured!r}") from None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a whole number >= 1, got {workers!r}")
    return workers


def check_executor(executor: str) -> str:
    """``executor`` if it is one of :data:`EXECUTORS`; else a :class:`ConfigError`."""
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    return executor


class ImportPlan:
    """Which of ``modules`` (in import order) may be elaborated next: a module is ready once
    every project module it imports, among these, is finished. Ready modules come longest
    chain of importers first (the critical path), then in import order. A failed module's
    importers, transitively, are never ready (:meth:`fail` returns them)."""

    def __init__(self, modules):
        self.order = {m.name: i for i, m in enumerate(modules)}
        self.waiting = {m.name: {d for d in m.imports if d in self.order and d != m.name} for m in modules}
        self.importers: dict[str, list[str]] = defaultdict(list)
        for m in modules:
            for d in self.waiting[m.name]:
                self.importers[d].append(m.name)
        self.height: dict[str, int] = {}
        for m in reversed(modules):  # importers come later in import order
            self.height[m.name] = 1 + max((self.height[i] for i in self.importers[m.name]), default=0)
        self.failed: set[str] = set()
        self.stopped = False
        self._ready = [self._key(name) for name, deps in self.waiting.items() if not deps]
        heapq.heapify(self._ready)

    def _key(self, name: str) -> tuple[int, int, str]:
        return -self.height[name], self.order[name], name

    def next_ready(self) -> str | None:
        """The module to start next, or None (none ready, or :meth:`stop` was called)."""
        if self.stopped or not self._ready:
            return None
        return heapq.heappop(self._ready)[2]

    def finish(self, name: str) -> None:
        """``name`` is done: its importers whose imports are all done become ready."""
        for importer in self.importers[name]:
            deps = self.waiting[importer]
            deps.discard(name)
            if not deps and importer not in self.failed:
                heapq.heappush(self._ready, self._key(importer))

    def fail(self, name: str) -> list[str]:
        """``name`` failed: its importers, transitively, in import order, that were not failed
        already (none of them was ready)."""
        self.failed.add(name)
        found, stack = set(), [name]
        while stack:
            for importer in self.importers[stack.pop()]:
                if importer not in self.failed and importer not in found:
                    found.add(importer)
                    stack.append(importer)
        self.failed |= found
        return sorted(found, key=self.order.__getitem__)

    def stop(self) -> None:
        """Start nothing more."""
        self.stopped = True

    def width(self) -> int:
        """The most modules at one depth of the graph (depth: the longest chain of imports
        below a module): how many workers this graph can keep busy at best."""
        depth: dict[str, int] = {}
        for name in sorted(self.order, key=self.order.__getitem__):
            depth[name] = 1 + max((depth[d] for d in self.waiting[name]), default=0)
        counts: dict[int, int] = defaultdict(int)
        for d in depth.values():
            counts[d] += 1
        return max(counts.values(), default=0)


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker of one project's extraction needs (picklable: Ray sends it to actors)."""

    toolchain: Toolchain
    project_root: Path
    work: Path
    """The project's work directory: `.olean` root, events, queues, Lean's stderr logs."""
    extractor: Path
    search_path: tuple[str, ...]
    lake: bool
    timeout: float | None


@dataclass(frozen=True)
class WorkerResult:
    """How one module went on a worker."""

    module: str
    events: tuple[ProtocolEvent, ...]
    """The progress events of this module, in order."""
    end: ProtocolEvent | None
    """The event that ended it (done, failed, timed out), or None: the Lean process ended."""
    started: bool
    """Whether Lean began the module (a process that ends after that died on it)."""
    stderr_log: str
    stderr_tail: str


class LeanWorker:
    """One Lean process that takes modules one at a time (:meth:`run`). The process starts
    with :meth:`start` or the first module; after a timeout, or when the process ended, the
    next module gets a fresh one. A process that had taken modules and ends before starting
    the next (past its pinned-memory limit, see ``Extract.lean``) is replaced at once."""

    def __init__(self, spec: WorkerSpec, name: str):
        self.spec, self.name = spec, name
        self._process: ExtractorProcess | None = None
        self._events = None
        self._queue: Path | None = None
        self._next = 0
        self._processes = 0
        self._closed = False

    def start(self) -> None:
        """Start the Lean process now, if none runs (its start-up overlaps other work)."""
        if self._events is not None:
            return
        self._processes += 1
        label = f"{self.name}-{self._processes}"
        self._queue = self.spec.work / "workers" / label
        shutil.rmtree(self._queue, ignore_errors=True)
        self._queue.mkdir(parents=True)
        token = new_token()
        job_file = self._queue.parent / f"{label}.json"
        job_file.write_text(json.dumps({"modules": [], "searchPath": list(self.spec.search_path), "token": token,
                                        "queue": str(self._queue)}))
        self._process = ExtractorProcess(self.spec.toolchain, self.spec.project_root, self.spec.extractor, job_file,
                                         self.spec.work / f"lean-{label}.stderr", token=token, lake=self.spec.lake,
                                         timeout=self.spec.timeout)
        self._process.start()
        self._events = self._process.events()
        self._next = 0

    def run(self, job: dict) -> WorkerResult:
        """Elaborate the module of ``job`` (an entry of the extractor's job, see
        ``runner.module_job``) in this worker's process and say how it went."""
        if self._closed:
            raise RuntimeError(f"worker {self.name} is closed")
        while True:
            fresh = self._events is None or self._next == 0
            self.start()
            self._put(job)
            events: list[ProtocolEvent] = []
            started = False
            for event in self._events:
                events.append(event)
                if isinstance(event, ModuleStarted) and event.module == job["name"]:
                    started = True
                elif isinstance(event, (ModuleDone, ModuleFailed, ModuleTimedOut)) and event.module == job["name"]:
                    if isinstance(event, ModuleTimedOut):  # the process was stopped
                        self._end()
                    elif isinstance(event, ModuleDone) and not _readable(Path(job["out"])):
                        # Its memory is corrupted (the caller records the module as a crash):
                        # the next module gets a fresh process.
                        self._end()
                    return WorkerResult(job["name"], tuple(events), event, True, self._log(), "")
            self._end()
            if started or fresh or self._closed:
                return WorkerResult(job["name"], tuple(events), None, started, self._log(), self._tail())

    def close(self) -> None:
        """Stop the Lean process. Safe to call from another thread while :meth:`run` waits
        on it: the process is stopped first, and :meth:`run` then returns."""
        self._closed = True
        if self._process is not None:
            self._process.stop()

    def _put(self, entry: dict) -> None:
        """Queue ``entry`` for the process: written under a temporary name, renamed into place."""
        path = self._queue / f"{self._next}.json"
        tmp = self._queue / f".{self._next}.json.tmp"
        tmp.write_text(json.dumps(entry))
        os.replace(tmp, path)
        self._next += 1

    def _end(self) -> None:
        if self._events is not None:
            self._events.close()
        if self._process is not None:
            self._process.stop()
        self._events = None

    def _log(self) -> str:
        return str(self._process.stderr_path) if self._process is not None else ""

    def _tail(self) -> str:
        return stderr_tail(Path(self._log()))


def _readable(events: Path) -> bool:
    """Whether an events file the extractor wrote is JSON objects in UTF-8, line by line."""
    try:
        parse_events(events.read_bytes())
    except (OSError, MalformedEvents):
        return False
    return True


class LocalPool:
    """``count`` :class:`LeanWorker` s on this machine, started at once; :meth:`submit` runs a
    module on one of them in a thread."""

    def __init__(self, spec: WorkerSpec, count: int):
        self.workers = [LeanWorker(spec, f"{os.getpid()}-{i + 1}") for i in range(count)]
        self._threads = ThreadPoolExecutor(max_workers=count, thread_name_prefix="lean-worker")
        for worker in self.workers:
            worker.start()

    @property
    def size(self) -> int:
        """The number of workers."""
        return len(self.workers)

    def submit(self, index: int, job: dict) -> Future:
        """Run ``job`` on worker ``index``; a future of its :class:`WorkerResult`."""
        return self._threads.submit(self.workers[index].run, job)

    def close(self) -> None:
        """Stop every worker's Lean process (a module still running ends with it)."""
        for worker in self.workers:
            worker.close()
        self._threads.shutdown(wait=True)


class RayPool:
    """``count`` :class:`LeanWorker` s as Ray actors (one CPU and :data:`WORKER_MEMORY` each),
    on the cluster at ``address`` (None: a local Ray started for this build and stopped after
    it, unless this process already joined one). Each actor runs its Lean process on its own
    node; `.olean`s and events go through the work directory, which must be on storage every
    node sees at the same path (as must the project, ``$NTP_DATASETS_HOME`` and the toolchain)."""

    def __init__(self, spec: WorkerSpec, count: int, address: str | None = None):
        try:
            import ray  # an optional extra: `pip install "ntp-datasets[ray]"`
        except ImportError:
            raise ConfigError('executor="ray" needs Ray: pip install "ntp-datasets[ray]"') from None
        self._ray = ray
        self._own_ray = not ray.is_initialized()
        if self._own_ray:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        actor = ray.remote(num_cpus=1, memory=WORKER_MEMORY)(LeanWorker).options(
            runtime_env={"env_vars": ray_worker_env()})
        self.workers = [actor.remote(spec, f"ray{os.getpid()}-{i + 1}") for i in range(count)]
        for worker in self.workers:
            worker.start.remote()

    @property
    def size(self) -> int:
        """The number of workers."""
        return len(self.workers)

    def submit(self, index: int, job: dict) -> Future:
        """Run ``job`` on actor ``index``; a future of its :class:`WorkerResult`."""
        return self.workers[index].run.remote(job).future()

    def close(self) -> None:
        """Stop the actors' Lean processes and the actors (and a Ray this pool started)."""
        ray = self._ray
        try:
            ray.get([worker.close.remote() for worker in self.workers])
        finally:
            for worker in self.workers:
                ray.kill(worker)
            if self._own_ray:
                ray.shutdown()


def ray_worker_env() -> dict[str, str]:
    """Environment of Ray's worker processes: this ntp-datasets importable (its directory on
    ``PYTHONPATH``) and the same ``$NTP_DATASETS_HOME`` and toolchain choice."""
    package_parent = str(Path(__file__).resolve().parents[2])
    paths = [package_parent, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env = {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
    for name in ("NTP_DATASETS_HOME", "NTP_DATASETS_TOOLCHAIN", "NTP_WORKER_STACK_MB"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


StartPool = Callable[[WorkerSpec, int], "LocalPool | RayPool"]
"""Starts ``count`` workers for a project (an injection point: tests pass fake pools)."""


def pool_starter(executor: str, ray_address: str | None = None) -> StartPool:
    """How to start workers for ``executor`` (``local`` or ``ray``)."""
    if check_executor(executor) == "ray":
        return lambda spec, count: RayPool(spec, count, ray_address)
    return LocalPool


__all__ = ["EXECUTORS", "WORKERS_ENV", "WORKER_MEMORY", "ImportPlan", "LeanWorker", "LocalPool", "RayPool",
           "WorkerResult", "WorkerSpec", "check_executor", "default_workers", "pool_starter", "worker_count"]

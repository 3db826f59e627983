"""Long-lived Lean workers and the pools that hold them.

A worker (:class:`LeanWorker`) is one Lean process running the extractor in queue mode: the
process starts once, then takes modules one at a time from its queue directory (see
``Extract.lean``: ``Job.queue``), so Lean's start-up (~35-50 s on the WebAssembly build) is
paid once per worker, not per module. A pool runs workers on this machine
(:class:`LocalPool`, one thread per busy worker) or as Ray actors (:class:`RayPool`), each
started when the scheduler asks for it (``scheduler.py`` decides which module goes where and
what a failure means).

Workers of one project share its work directory: each finished module's `.olean` lies there
for the modules importing it, whichever worker elaborates them (on a Ray cluster that
directory, the cache and the project must be on storage every node sees at the same path).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ntp_datasets.errors import ConfigError
from ntp_datasets.extraction.options import WORKER_MEMORY, ExtractionOptions
from ntp_datasets.extraction.process import (
    CommandStarted,
    ExtractorProcess,
    Limits,
    ModuleDone,
    ModuleFailed,
    ModuleStarted,
    ModuleTimedOut,
    ProtocolEvent,
    Ready,
    new_token,
    stderr_tail,
)
from ntp_datasets.toolchain import Toolchain


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker of one project's extraction needs (picklable: Ray sends it to actors)."""

    toolchain: Toolchain
    project_root: Path
    work: Path
    """The project's work directory: `.olean` root, events, queues, Lean's stderr logs."""
    program: Path
    """The file ``lean --run`` runs (``program.write_program``)."""
    search_path: tuple[str, ...]
    lake: bool


@dataclass(frozen=True)
class WorkerResult:
    """How one module went on a worker."""

    module: str
    events: tuple[ProtocolEvent, ...]
    """The module's progress events but its commands' (start, then done, failed or timed out), in
    order, after the process's ``Ready`` when this module was its first."""
    end: ProtocolEvent | None
    """The event that ended it (done, failed, timed out), or None: the Lean process ended."""
    started: bool
    """Whether Lean began the module (a process that ends after that died on it)."""
    command: CommandStarted | None
    """The command the process was on when it died (None: it died outside every command)."""
    stderr_log: str
    stderr_tail: str


class LeanWorker:
    """One Lean process that takes modules one at a time (:meth:`run`). The process starts
    with :meth:`start` or the first module; after a timeout, when the process ended, or when the
    caller asks for a ``fresh`` one, the next module gets a fresh process. A process that had
    taken modules and ends before starting the next (past its pinned-memory limit, see
    ``Extract.lean``) is replaced at once. ``on_event`` hears the module-level events (not the
    commands') as they come, from the thread that runs :meth:`run`."""

    def __init__(self, spec: WorkerSpec, name: str, on_event: Callable[[ProtocolEvent], None] | None = None):
        self.spec, self.name, self.on_event = spec, name, on_event
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
        self._process = ExtractorProcess(self.spec.toolchain, self.spec.project_root, self.spec.program, job_file,
                                         self.spec.work / f"lean-{label}.stderr", token=token, lake=self.spec.lake)
        self._process.start()
        self._events = self._process.events()
        self._next = 0

    def run(self, job: dict, limits: Limits, fresh: bool = False) -> WorkerResult:
        """Elaborate the module of ``job`` (an entry of the extractor's job, see
        ``scheduler.module_job``) under ``limits`` in this worker's process (a fresh one when
        ``fresh``) and say how it went."""
        if self._closed:
            raise RuntimeError(f"worker {self.name} is closed")
        if fresh:
            self._end()
        while True:
            fresh = self._events is None or self._next == 0
            self.start()
            self._process.limits = limits
            self._put(job)
            events: list[ProtocolEvent] = []
            started = False
            for event in self._events:
                if isinstance(event, CommandStarted) or (event.module != job["name"] and not isinstance(event, Ready)):
                    continue
                events.append(event)  # `Ready`: how long this process took to start
                if self.on_event is not None:
                    self.on_event(event)
                if isinstance(event, ModuleStarted):
                    started = True
                elif isinstance(event, (ModuleDone, ModuleFailed, ModuleTimedOut)):
                    if isinstance(event, ModuleTimedOut):  # the process was stopped
                        self._end()
                    return WorkerResult(job["name"], tuple(events), event, True, None, self._log(), "")
            command = self._process.last_command
            self._end()
            if started or fresh or self._closed:
                return WorkerResult(job["name"], tuple(events), None, started, command, self._log(), self._tail())

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


class LocalPool:
    """:class:`LeanWorker` s on this machine, each started by :meth:`start_worker`;
    :meth:`submit` runs a module on one of them in a thread. ``on_event`` hears the workers'
    module-level events as they come (``live_events``), from their threads."""

    live_events = True

    def __init__(self, spec: WorkerSpec, on_event: Callable[[ProtocolEvent], None] | None = None):
        self.spec, self.on_event = spec, on_event
        self.workers: list[LeanWorker] = []
        self._threads = ThreadPoolExecutor(max_workers=64, thread_name_prefix="lean-worker")

    @property
    def size(self) -> int:
        """The number of workers started."""
        return len(self.workers)

    def start_worker(self) -> int:
        """Start one more worker (its Lean process starts now); its index."""
        worker = LeanWorker(self.spec, f"{os.getpid()}-{len(self.workers) + 1}", self.on_event)
        worker.start()
        self.workers.append(worker)
        return len(self.workers) - 1

    def submit(self, index: int, job: dict, limits: Limits, fresh: bool = False) -> Future:
        """Run ``job`` on worker ``index`` (see :meth:`LeanWorker.run`); a future of its :class:`WorkerResult`."""
        return self._threads.submit(self.workers[index].run, job, limits, fresh)

    def close(self) -> None:
        """Stop every worker's Lean process (a module still running ends with it)."""
        for worker in self.workers:
            worker.close()
        self._threads.shutdown(wait=True)


class RayPool:
    """:class:`LeanWorker` s as Ray actors (one CPU and :data:`WORKER_MEMORY` each), on the
    cluster at ``address`` (None: a local Ray started for this build and stopped after it,
    unless this process already joined one). Each actor runs its Lean process on its own node;
    `.olean`s and events go through the work directory, which must be on storage every node sees
    at the same path (as must the project, ``$NTP_DATASETS_HOME`` and the toolchain). Events
    come back with each module's result (not ``live_events``)."""

    live_events = False

    def __init__(self, spec: WorkerSpec, address: str | None = None):
        try:
            import ray  # an optional extra: `pip install "ntp-datasets[ray]"`
        except ImportError:
            raise ConfigError('executor="ray" needs Ray: pip install "ntp-datasets[ray]"') from None
        self._ray, self.spec = ray, spec
        self._own_ray = not ray.is_initialized()
        if self._own_ray:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self._actor = ray.remote(num_cpus=1, memory=WORKER_MEMORY)(LeanWorker).options(
            runtime_env={"env_vars": ray_worker_env()})
        self.workers: list = []

    @property
    def size(self) -> int:
        """The number of workers started."""
        return len(self.workers)

    def start_worker(self) -> int:
        """Start one more actor (its Lean process starts now); its index."""
        worker = self._actor.remote(self.spec, f"ray{os.getpid()}-{len(self.workers) + 1}")
        worker.start.remote()
        self.workers.append(worker)
        return len(self.workers) - 1

    def submit(self, index: int, job: dict, limits: Limits, fresh: bool = False) -> Future:
        """Run ``job`` on actor ``index``; a future of its :class:`WorkerResult`."""
        return self.workers[index].run.remote(job, limits, fresh).future()

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


StartPool = Callable[[WorkerSpec, "Callable[[ProtocolEvent], None] | None"], "LocalPool | RayPool"]
"""Makes the (empty) pool of one project's extraction, given what hears its events (an injection
point: tests pass fake pools)."""


def pool_starter(options: ExtractionOptions) -> StartPool:
    """How to make pools for ``options.executor`` (``local`` or ``ray``)."""
    if options.executor == "ray":
        return lambda spec, on_event: RayPool(spec, options.ray_address)
    return LocalPool


__all__ = ["LeanWorker", "LocalPool", "RayPool", "StartPool", "WorkerResult", "WorkerSpec", "pool_starter",
           "ray_worker_env"]

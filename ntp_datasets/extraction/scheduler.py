"""The one scheduler: a project's modules over Lean workers, and the one failure policy.

:class:`Scheduler` runs the modules of one project that need elaborating on a pool of
long-lived Lean workers (``workers.py``), one worker or many alike. A module goes to an idle
worker once every project module it imports is finished, the longest chain of importers first
(:class:`ImportPlan`); with the automatic worker count a further Lean process is started only
while the work left outweighs its start-up (:class:`WorkerGrowth`). What each outcome means is
decided in one place, :class:`FailurePolicy`:

* a command that kills the process is found from the extractor's ``command`` announcements: a
  process that dies on the same command twice gets the module elaborated again without that
  command, which becomes one error row (``toolchain_limit`` for the WebAssembly build's limits,
  else ``crash``); a command that runs past ``command_timeout`` CPU seconds is skipped the same
  way (an error row of kind ``timeout``);
* a process that dies twice outside every command loses the module (``crash``, or
  ``toolchain_limit`` at the WebAssembly build's limits);
* a module that runs past ``module_timeout`` CPU seconds is tried once more, alone (no other
  module starts meanwhile), with twice the limit, before it is a ``timeout``;
* the importers of a module that failed as a whole fail as ``dependency``.

Each finished module's events are parsed once, checked, and moved with its `.olean` into its
cache entry.
"""

from __future__ import annotations

import heapq
import logging
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from pathlib import Path

from ntp_datasets.extraction.cache import (
    MalformedEvents,
    copy_verified,
    olean_parts,
    olean_path,
    parse_events,
    store_entry,
    work_dir_for,
)
from ntp_datasets.extraction.options import ExtractionOptions
from ntp_datasets.extraction.outputs import (
    CRASH,
    DEPENDENCY,
    IMPORT_FAILED,
    MISSING_IMPORT,
    TIMEOUT,
    TOOLCHAIN_LIMIT,
    WASM_PROCESS_LIMITS,
    ModuleOutput,
    failed_output,
    read_source,
    toolchain_limit,
)
from ntp_datasets.extraction.process import (
    Limits,
    ModuleDone,
    ModuleFailed,
    ModuleTimedOut,
    ProtocolEvent,
    Ready,
    stderr_tail,
)
from ntp_datasets.extraction.program import write_program
from ntp_datasets.extraction.startup import expected_startup, record_startup
from ntp_datasets.extraction.workers import StartPool, WorkerResult, WorkerSpec
from ntp_datasets.project import LeanModule, LeanProject
from ntp_datasets.toolchain import Toolchain

logger = logging.getLogger(__name__)

MAX_SKIPPED_COMMANDS = 8
"""Commands of one module that may be skipped (each a death twice, or a time limit) before the
module is given up as a ``crash``."""


# ---------------------------------------------------------------------------
# The import graph
# ---------------------------------------------------------------------------


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


def dependency_failure(module: LeanModule, failed, modules=None) -> tuple[str, str]:
    """Kind and message of ``module``, which imports modules among ``failed``; one of another
    package (``modules``: the project's modules by name) is named with its package."""
    modules = modules or {}

    def named(name: str) -> str:
        other = getattr(modules.get(name), "package", "")
        return f"{name} (package {other})" if other and other != module.package else name

    names = ", ".join(named(d) for d in module.imports if d in failed)
    return DEPENDENCY, f"not extracted: it imports {names}, which could not be built"


# ---------------------------------------------------------------------------
# How many workers
# ---------------------------------------------------------------------------

PRIOR_SECONDS_PER_MODULE = {"wasm": 1.5, "native": 0.5}
"""Seconds a module takes besides its size, before any module of the build was measured."""
PRIOR_SECONDS_PER_BYTE = {"wasm": 0.001, "native": 0.0003}
"""Seconds a module takes per byte of source, before any module of the build was measured
(the WebAssembly figure: 841 s for the bench's 597 KB module, docs/scale.md)."""


@dataclass
class WorkerGrowth:
    """How many Lean processes to run. With an explicit worker count (``fixed``) all of them
    start at once, up to ``limit``. Otherwise one starts, and each further one only while it
    pays for itself: the estimated seconds of work left, shared among one more process, save
    more than its start-up and its first import take (``work / (k (k + 1)) > startup +
    first_import`` for ``k`` processes running). Estimates start from priors (seconds per module
    and per byte of source) and follow the modules measured so far."""

    limit: int
    fixed: bool
    startup: float
    per_module: float
    per_byte: float
    measured: list[tuple[int, float]] = field(default_factory=list)
    """(bytes, seconds) of the modules done so far."""
    first_import: float = 0.0
    """The longest import of a process's first module seen so far, in seconds: it reads the
    toolchain's modules (on the WebAssembly build ~10 s), which the process's later modules
    share, so it is what a further process pays besides its start-up, not a cost of that module."""

    @classmethod
    def of(cls, options: ExtractionOptions, toolchain: Toolchain, width: int) -> WorkerGrowth:
        """The growth rule of one extraction whose import graph is ``width`` modules wide."""
        kind = "wasm" if toolchain.is_wasm else "native"
        return cls(limit=max(1, min(options.worker_limit(), width)), fixed=options.workers is not None,
                   startup=expected_startup(toolchain), per_module=PRIOR_SECONDS_PER_MODULE[kind],
                   per_byte=PRIOR_SECONDS_PER_BYTE[kind])

    def estimate(self, size: int) -> float:
        """Seconds a module of ``size`` bytes is expected to take."""
        return self.per_module + self.per_byte * size

    def observe(self, size: int, seconds: float, first_import: float | None = None) -> None:
        """A module of ``size`` bytes took ``seconds``: estimates follow what was measured.
        ``first_import``: the seconds of its import when it was its process's first module."""
        if first_import is not None:
            self.first_import = max(self.first_import, first_import)
            seconds = max(0.0, seconds - first_import)
        self.measured.append((size, seconds))
        total_bytes = sum(b for b, _ in self.measured)
        rest = sum(s for _, s in self.measured) - self.per_module * len(self.measured)
        if total_bytes:
            self.per_byte = max(0.0, rest / total_bytes)

    def wants_another(self, workers: int, sizes_left) -> bool:
        """Whether to start one more process, with ``workers`` started and modules of
        ``sizes_left`` bytes not started yet."""
        if workers >= self.limit:
            return False
        if workers == 0 or self.fixed:
            return True
        work = sum(self.estimate(size) for size in sizes_left)
        return work / (workers * (workers + 1)) > self.startup + self.first_import


# ---------------------------------------------------------------------------
# The failure policy
# ---------------------------------------------------------------------------


@dataclass
class Finished:
    """The module's events and `.olean` are ready to be stored."""


@dataclass
class Again:
    """Run the module again in a fresh process (``alone``: once no other module runs)."""

    alone: bool = False


@dataclass
class Failed:
    """The module failed as a whole."""

    kind: str
    message: str


@dataclass
class Stop:
    """A fresh process ended before it started its module: start nothing more."""


Verdict = Finished | Again | Failed | Stop


@dataclass
class _Attempts:
    """What happened to one module so far."""

    deaths: list[tuple[int | None, str]] = field(default_factory=list)
    """(the command's offset, or None outside every command; the end of stderr) per death."""
    skip: dict[int, dict] = field(default_factory=dict)
    """The commands not to elaborate any more: offset -> the job's skip entry."""
    doubled: bool = False
    """Whether the module limit was doubled after a timeout."""


class FailurePolicy:
    """What an outcome of a module means (see the module docstring): the one place for
    retries, deaths, time limits and skipped commands."""

    def __init__(self, toolchain: Toolchain, options: ExtractionOptions):
        self.toolchain, self.options = toolchain, options
        self._attempts: dict[str, _Attempts] = defaultdict(_Attempts)

    def limits(self, name: str) -> Limits:
        """The time limits of ``name``'s next run."""
        module = self.options.module_timeout
        if module and self._attempts[name].doubled:
            module *= 2
        return Limits(module=module, command=self.options.command_timeout)

    def skip(self, name: str) -> list[dict]:
        """The commands of ``name`` not to elaborate (entries of the job's ``skip``)."""
        return list(self._attempts[name].skip.values())

    def judge(self, module: LeanModule, result: WorkerResult, project: LeanProject, failed: set[str]) -> Verdict:
        """What ``result`` means for ``module`` (``failed``: the modules failed so far)."""
        end, attempts = result.end, self._attempts[module.name]
        if isinstance(end, ModuleDone):
            return Finished()
        if isinstance(end, ModuleFailed) and end.stage == "import":
            return Failed(*import_failure(module, project, failed, end.messages))
        if isinstance(end, ModuleFailed):
            return Failed(CRASH, f"the extractor failed on this module: {end.error}")
        if isinstance(end, ModuleTimedOut) and end.limit == "command" and end.command is not None:
            return self._skip(module, attempts, end.command.pos, TIMEOUT, (
                f"not elaborated: this command ran past the time limit of {end.seconds:g} CPU seconds "
                f"(command_timeout) and its Lean process was stopped"))
        if isinstance(end, ModuleTimedOut):
            if not attempts.doubled:
                attempts.doubled = True
                logger.warning("%s ran past the time limit of %g CPU seconds; trying it once more alone, "
                               "with twice the limit", module.name, end.seconds)
                return Again(alone=True)
            return Failed(TIMEOUT, f"elaboration did not finish within {end.seconds:g} CPU seconds (module_timeout, "
                          "already doubled once, with no other module running); its Lean process was stopped")
        if not result.started:
            return Stop()
        return self._death(module, attempts, result)

    def _death(self, module: LeanModule, attempts: _Attempts, result: WorkerResult) -> Verdict:
        """The process died on ``module`` (see the module docstring)."""
        at = result.command.pos if result.command is not None else None
        attempts.deaths.append((at, result.stderr_tail))
        where = f"command at line {result.command.line}" if result.command is not None else "outside every command"
        same = [tail for pos, tail in attempts.deaths if pos == at]
        logger.warning("the Lean process died while elaborating %s (%s; %s); the end of its stderr:\n%s",
                       module.name, where, "trying it again in a fresh process" if len(same) == 1 else
                       "giving it up" if at is None else "elaborating the module again without that command",
                       result.stderr_tail)
        if len(same) == 1:
            return Again()
        kind = self._death_kind(same)
        if at is None:
            return Failed(kind, "the Lean process died twice while elaborating this module, outside every command "
                          "(killed, out of memory, or the module exits Lean); the end of each process's stderr:\n"
                          + _tails(same))
        cause = f"a limit of the WebAssembly Lean: {toolchain_limit(same[-1])}" if kind == TOOLCHAIN_LIMIT \
            else "the process died"
        return self._skip(module, attempts, at, kind, (
            f"not elaborated: this command killed the Lean process twice ({cause}). The end of each "
            "process's stderr:\n" + _tails(same)))

    def _death_kind(self, tails: list[str]) -> str:
        """Dying at the WebAssembly memory cap or out of a thread's stack, every time, is the
        toolchain's limit, not the module's (a native Lean has neither); else a crash."""
        limit = self.toolchain.is_wasm and all(any(p.search(t) for p in WASM_PROCESS_LIMITS) for t in tails)
        return TOOLCHAIN_LIMIT if limit else CRASH

    def _skip(self, module: LeanModule, attempts: _Attempts, pos: int, kind: str, message: str) -> Verdict:
        """Skip the command at ``pos`` from now on (an error row of ``kind``), or give the module
        up when too many were skipped."""
        if pos in attempts.skip or len(attempts.skip) >= MAX_SKIPPED_COMMANDS:
            return Failed(CRASH, f"gave up after skipping {len(attempts.skip)} commands of this module; the last "
                          f"one: {message}")
        attempts.skip[pos] = {"pos": pos, "kind": kind, "message": message}
        return Again()


def _tails(tails: list[str]) -> str:
    return "\n".join(f"--- process {n} ---\n{tail}" for n, tail in enumerate(tails, 1))


_NOT_FOUND = re.compile(r"unknown module prefix|of module \S+ does not exist|No directory '[^']*' or file")
"""Lean's words for an import it cannot find."""


def import_failure(module: LeanModule, project: LeanProject, failed: set[str],
                   messages: list[dict]) -> tuple[str, str]:
    """Kind and message of a module whose imports Lean could not load: a project module it
    imports failed (`dependency`), an import is neither a project module nor in the
    toolchain's library (`missing_import`), loading it ran into a limit of the WebAssembly Lean
    (`toolchain_limit`, e.g. the declaration the interpreter could not find), or it exists and
    failed to load for another reason that Lean's message gives (`import_failed`)."""
    if any(d in failed for d in module.imports):
        return dependency_failure(module, failed, project.modules)
    lean_text = "\n".join(m.get("text", "") for m in messages)
    if _NOT_FOUND.search(lean_text):
        outside = [d for d in module.imports if d not in project.modules]
        named = [d for d in outside if d in lean_text or d.replace(".", "/") in lean_text] or outside
        what = f"import {', '.join(named)}: not a module of the project nor of the toolchain's library" if named \
            else "an import could not be found"
        return MISSING_IMPORT, f"not extracted: {what}\nLean: {lean_text}"
    if limit := toolchain_limit(lean_text):
        return TOOLCHAIN_LIMIT, (f"not extracted: its imports exist but could not be loaded on the WebAssembly "
                                 f"Lean: {limit}\nLean: {lean_text}")
    return IMPORT_FAILED, f"not extracted: its imports exist but could not be loaded\nLean: {lean_text}"


# ---------------------------------------------------------------------------
# The work directory and the jobs
# ---------------------------------------------------------------------------


def prepare_work_dir(project: LeanProject, toolchain: Toolchain, modules: list[LeanModule],
                     entries: dict[str, Path]) -> tuple[Path, bool]:
    """Make the project's work directory ready for Lean processes that elaborate ``modules``;
    returns it and whether they run under Lake (a native Lake project, built here with
    ``lake build``: Lean imports its own `.olean`s and writes none). Otherwise the `.olean`s of
    cached modules are copied into the work directory's `.olean` root, each checked against its
    entry's checksum, and what an earlier run left for the modules elaborated now is removed."""
    work = work_dir_for(project)
    work.mkdir(parents=True, exist_ok=True)
    lake = project.has_lakefile and not toolchain.is_wasm
    if lake:
        _lake_build(project)
    else:
        for name, entry in entries.items():
            # A cached `.olean` that does not verify is not copied (its entry is discarded):
            # its importers then fail to import it rather than reading garbage.
            if olean_path(entry, name).exists():
                copy_verified(entry, name, olean_path(work, name))
        for m in modules:
            # What an earlier run left for a module elaborated now would be read with the
            # `.olean` this run writes (a `module` file's parts go together).
            for part in olean_parts(olean_path(work, m.name)):
                part.unlink(missing_ok=True)
    return work, lake


def module_job(work: Path, module: LeanModule, lake: bool, skip: list[dict] = ()) -> dict:
    """The extractor's job entry for ``module`` (see ``Extract.lean``: ``ModuleJob``): with the
    options its Lake package and target set (as Lake hands them to Lean), without the commands in
    ``skip``. Under Lake, Lake's own build wrote the `.olean`s: none is asked for."""
    options = [{"name": o.name, "value": o.value} for o in module.settings.elaboration_options()]
    return {
        "name": module.name,
        "file": str(module.path),
        "out": str(work / "events" / f"{module.name}.jsonl"),
        **({} if lake else {"olean": str(olean_path(work, module.name))}),
        **({"skip": list(skip)} if skip else {}),
        **({"options": options} if options else {}),
    }


def search_path(work: Path, lake: bool) -> list[str]:
    """The extra `.olean` directories of the extractor's job (Lake sets Lean's own)."""
    return [] if lake else [str(work / "build")]


def _lake_build(project: LeanProject) -> None:
    subprocess.run(["lake", "build"], cwd=project.root, check=True)


# ---------------------------------------------------------------------------
# The scheduler
# ---------------------------------------------------------------------------


class Scheduler:
    """Elaborates modules of one project on a pool of Lean workers (see the module docstring)
    and yields their outputs as they finish; ``entries`` are the modules' cache entries.
    ``on_event`` hears every module-level progress event (``Ready``, start, done, ...), as it
    comes on this machine and when the module ends on Ray. ``stderr_logs`` lists the stderr log of
    every Lean process that ended, for the caller's report of modules no process reached."""

    def __init__(self, project: LeanProject, toolchain: Toolchain, options: ExtractionOptions,
                 entries: dict[str, Path], start_pool: StartPool,
                 on_event: Callable[[ProtocolEvent], None] | None = None):
        self.project, self.toolchain, self.options = project, toolchain, options
        self.entries, self.start_pool, self.on_event = entries, start_pool, on_event
        self.policy = FailurePolicy(toolchain, options)
        self.failed: set[str] = set()
        self.stderr_logs: list[Path] = []

    def run(self, modules: list[LeanModule]) -> Iterator[ModuleOutput]:
        """Elaborate ``modules`` (in import order) and yield one output per module as it is
        done, or fails (its importers' `dependency` outputs right after it). Modules that no
        process reached (a fresh process ended before starting its module) yield nothing."""
        if not modules:
            return
        work, lake = prepare_work_dir(self.project, self.toolchain, modules, self.entries)
        for old_log in work.glob("lean-*.stderr"):
            old_log.unlink(missing_ok=True)
        shutil.rmtree(work / "workers", ignore_errors=True)
        spec = WorkerSpec(self.toolchain, self.project.root, work, write_program(work, self.toolchain, logger.warning),
                          tuple(search_path(work, lake)), lake)
        plan = ImportPlan(modules)
        growth = WorkerGrowth.of(self.options, self.toolchain, plan.width())
        by_name = {m.name: m for m in modules}
        sizes = {m.name: _size(m) for m in modules}
        not_started = set(by_name)
        pool = self.start_pool(spec, self.on_event)
        idle: list[int] = []
        fresh: set[int] = set()  # workers whose next module needs a fresh process
        running: dict = {}
        again: list[str] = []  # modules to run again, before any new one
        alone: list[str] = []  # modules to run again once nothing else runs, one at a time
        solo: list[str] = []  # the module running alone, if one is
        outputs: list[ModuleOutput] = []

        def submit(index: int, name: str) -> None:
            job = module_job(work, by_name[name], lake, self.policy.skip(name))
            running[pool.submit(index, job, self.policy.limits(name), index in fresh)] = (index, name)
            fresh.discard(index)
            not_started.discard(name)

        try:
            while True:
                if not alone and not solo:
                    while growth.wants_another(pool.size, [sizes[n] for n in not_started]):
                        idle.append(pool.start_worker())
                if alone and not running and idle:
                    solo.append(alone.pop(0))
                    submit(idle.pop(0), solo[0])
                while not alone and not solo and idle and (
                        name := again.pop(0) if again else plan.next_ready()) is not None:
                    submit(idle.pop(0), name)
                # Given out only now: the workers are busy while the caller turns them into rows.
                yield from outputs
                outputs.clear()
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: plan.order[running[f][1]]):
                    index, name = running.pop(future)
                    result: WorkerResult = future.result()
                    idle.append(index)
                    if name in solo:
                        solo.remove(name)
                    self._heard(result, getattr(pool, "live_events", False))
                    module = by_name[name]
                    verdict = self.policy.judge(module, result, self.project, self.failed)
                    if isinstance(verdict, Finished):
                        output = self._store(module, lake, work)
                        slowest = result.end.slowest_command
                        logger.info("elaborated %s in %.1f s%s", name, result.end.ms / 1000,
                                    f" (slowest command: line {slowest[0]}, {slowest[1]:.1f} s)" if slowest else "")
                        if output.error:  # its events were unreadable: that process is not trusted
                            fresh.add(index)
                        else:
                            first = any(isinstance(event, Ready) for event in result.events)
                            growth.observe(sizes[name], result.end.ms / 1000,
                                           result.end.phases.get("import", 0) / 1000 if first else None)
                    elif isinstance(verdict, Again):
                        (alone if verdict.alone else again).append(name)
                        continue
                    elif isinstance(verdict, Stop):
                        self.stderr_logs.append(Path(result.stderr_log))
                        plan.stop()
                        continue
                    else:
                        output = failed_output(module, verdict.kind, verdict.message)
                    outputs.append(output)
                    if output.error:
                        self.failed.add(name)
                        for importer in plan.fail(name):
                            self.failed.add(importer)
                            outputs.append(failed_output(by_name[importer], *dependency_failure(
                                by_name[importer], self.failed, self.project.modules)))
                    else:
                        plan.finish(name)
        finally:
            for future in running:
                future.cancel()
            pool.close()

    def _heard(self, result: WorkerResult, live: bool) -> None:
        """Record what ``result`` tells of the process (its start-up) and its stderr log, and pass
        its events on (unless the pool passed them on ``live`` already)."""
        for event in result.events:
            if isinstance(event, Ready) and event.seconds > 0:
                record_startup(self.toolchain, event.seconds)
            if not live and self.on_event is not None:
                self.on_event(event)
        if result.stderr_log:
            self.stderr_logs.append(Path(result.stderr_log))

    def _store(self, module: LeanModule, lake: bool, work: Path) -> ModuleOutput:
        """The output of a module the extractor finished: its events, parsed once and checked
        (a process whose memory was corrupted writes lines that are not JSON: then the module is
        a `crash` and is not cached), moved with its `.olean` into its cache entry."""
        events_file = work / "events" / f"{module.name}.jsonl"
        try:
            events = parse_events(events_file.read_bytes())
        except (OSError, MalformedEvents) as e:
            return failed_output(module, CRASH, f"the extractor's output for this module is unreadable ({e}); "
                                 "it was not cached")
        store_entry(self.entries[module.name], events_file, None if lake else (olean_path(work, module.name), module.name))
        return ModuleOutput(module.name, module.relpath, read_source(module.path), events)

    def last_stderr_tail(self) -> str:
        """The end of the last ended Lean process's stderr."""
        return stderr_tail(self.stderr_logs[-1]) if self.stderr_logs else ""


def _size(module: LeanModule) -> int:
    try:
        return module.path.stat().st_size
    except OSError:
        return 0

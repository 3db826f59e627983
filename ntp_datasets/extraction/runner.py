"""Running the extractor over a project: Lean project -> one :class:`ModuleOutput` per module.

One Lean process elaborates every module of the project once, in import order (see
``Extract.lean``); or, with several workers, long-lived Lean processes take the modules one by
one as their imports are done (``workers.py``; :meth:`Extractor._elaborate_in_workers`). On the WebAssembly toolchain, and natively for projects without a
lakefile, the same process writes each module's ``.olean`` so that later modules can import
it; a Lake project is built with ``lake build`` first and run under ``lake env``.

An :class:`Extractor` holds what outlives one project: the toolchain, the time limit, and the
modules that failed in this Python process (so building a second config does not wait for
the same timeout again). Builders and the API take one as a parameter.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from ntp_datasets.extraction.cache import (
    MalformedEvents,
    cache_root,
    copy_verified,
    is_complete,
    module_cache_keys,
    olean_parts,
    olean_path,
    parse_events,
    read_entry,
    remove_stale_temporaries,
    store_entry,
    work_dir_for,
)
from ntp_datasets.extraction.corpus import library_corpus
from ntp_datasets.extraction.outputs import (
    CRASH,
    DEPENDENCY,
    IMPORT_FAILED,
    LEAN_FAILURES,
    MISSING_IMPORT,
    TIMEOUT,
    TOOLCHAIN_LIMIT,
    WASM_PROCESS_LIMITS,
    ModuleOutput,
    failed_output,
    toolchain_limit,
)
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
from ntp_datasets.errors import ConfigError
from ntp_datasets.extraction.program import write_program
from ntp_datasets.extraction.workers import (
    ImportPlan,
    StartPool,
    WorkerResult,
    WorkerSpec,
    check_executor,
    pool_starter,
    worker_count,
)
from ntp_datasets.project import LeanModule, LeanProject
from ntp_datasets.toolchain import Toolchain, find_toolchain

logger = logging.getLogger(__name__)

DEFAULT_MODULE_TIMEOUT = 600.0
"""Seconds one module may take (imports and elaboration) before its Lean process is stopped."""
MODULE_TIMEOUT_ENV = "NTP_DATASETS_MODULE_TIMEOUT"


def module_timeout_seconds(module_timeout: float | None = None) -> float | None:
    """The per-module time limit in seconds: ``module_timeout`` if given, else
    ``$NTP_DATASETS_MODULE_TIMEOUT``, else :data:`DEFAULT_MODULE_TIMEOUT`; 0 means no limit."""
    if module_timeout is None:
        configured = os.environ.get(MODULE_TIMEOUT_ENV, "").strip()
        try:
            module_timeout = float(configured) if configured else DEFAULT_MODULE_TIMEOUT
        except ValueError:
            raise ConfigError(f"{MODULE_TIMEOUT_ENV} must be a number of seconds, got {configured!r}") from None
    if module_timeout < 0:
        raise ConfigError(f"module_timeout must be >= 0 seconds (0: no limit), got {module_timeout!r}")
    return float(module_timeout) or None


@dataclass(frozen=True)
class RememberedFailure:
    """A module-level failure seen by an :class:`Extractor`, under the time limit it had."""

    kind: str
    message: str
    timeout: float | None


@dataclass
class _Watch:
    """Settings and outcome shared by the Lean processes of one project's extraction."""

    timeout: float | None
    """Seconds a module may take from its `start` event (Lean's start-up is not counted)."""
    failed: set[str] = field(default_factory=set)
    """Modules that failed as a whole so far (their importers fail as `dependency`)."""
    in_progress: str | None = None
    """The module the last process was elaborating when it ended without finishing it."""
    on_event: Callable[[ProtocolEvent], None] | None = None
    """Called with every progress event of the Lean processes (start, done with its phases, ...)."""
    stderr_logs: list[Path] = field(default_factory=list)
    """The stderr log of each Lean process started so far, in order (none is overwritten)."""

    def next_stderr_log(self, work: Path) -> Path:
        """A fresh stderr log for the next Lean process of this extraction."""
        path = work / f"lean-{len(self.stderr_logs) + 1}.stderr"
        self.stderr_logs.append(path)
        return path

    def last_stderr_tail(self) -> str:
        """The end of the last Lean process's stderr."""
        return stderr_tail(self.stderr_logs[-1]) if self.stderr_logs else ""


Elaborate = Callable[[LeanProject, Toolchain, list, dict, _Watch], Iterator[ModuleOutput]]
"""Runs one Lean process over modules (see :func:`elaborate_modules`); an injection point for tests."""


class Extractor:
    """Extracts projects with one toolchain.

    ``toolchain``: the Lean to use (None: :func:`toolchain.find_toolchain`, looked up once,
    when first needed). ``module_timeout``: see :func:`module_timeout_seconds`. ``progress``:
    show a bar of modules. ``elaborate``: runs one Lean process over modules (default:
    :func:`elaborate_modules`). ``on_event``: called with every progress event of the Lean
    processes (e.g. to sum the time of each phase, as ``bench/`` does).

    ``workers``: Lean processes working side by side over the import graph (None:
    ``$NTP_DATASETS_WORKERS``, else as many as the cores and the memory allow, see
    ``workers.default_workers``); never more than the graph's widest level can keep busy, and
    one runs the sequential path (one process, modules in import order). ``executor``:
    ``local`` (processes on this machine) or ``ray`` (Ray actors, on the cluster at
    ``ray_address``, or a local Ray started for the build). ``start_pool``: starts the
    workers (default: from ``executor``; an injection point for tests)."""

    def __init__(self, toolchain: Toolchain | None = None, *, module_timeout: float | None = None,
                 progress: bool = True, elaborate: Elaborate | None = None,
                 on_event: Callable[[ProtocolEvent], None] | None = None, workers: int | None = None,
                 executor: str = "local", ray_address: str | None = None, start_pool: StartPool | None = None):
        self._toolchain = toolchain
        self.timeout = module_timeout_seconds(module_timeout)
        self.workers = worker_count(workers)
        self.executor = check_executor(executor)
        self._start_pool = start_pool or pool_starter(executor, ray_address)
        self.progress = progress
        self._elaborate = elaborate or elaborate_modules
        self.on_event = on_event
        self.shown_errors: set = set()
        """What builders sharing this extractor have already shown (each module's Lean errors
        once per build, not once per config)."""
        self.failures: dict[str, RememberedFailure] = {}
        """Module-level failures of this extractor's Lean runs, by cache key: a second build
        does not wait for a timeout again (a new Extractor tries such modules again)."""

    @property
    def toolchain(self) -> Toolchain:
        """The toolchain, found on first use."""
        if self._toolchain is None:
            self._toolchain = find_toolchain(progress=self.progress)
        return self._toolchain

    def extract_project(self, project_dir) -> Iterator[ModuleOutput]:
        """Elaborate every module of the Lean project at ``project_dir`` once and yield one
        :class:`ModuleOutput` per module, in import order, as soon as it is done. Modules
        whose cache entry is complete are read back, not elaborated.

        A module that cannot be built yields an output with ``error`` and ``error_kind`` and
        the rest of the project goes on: files that are not UTF-8, import cycles, `module`
        files importing ordinary ones (all found before Lean starts), imports Lean cannot
        find, modules that take longer than the time limit (their Lean process is stopped and
        a fresh one takes the remaining modules), modules whose Lean process dies twice, and
        modules importing any of these."""
        project = LeanProject(project_dir)
        toolchain = self.toolchain
        modules = project.import_order()
        project_imports = project.project_imports()
        keys = module_cache_keys(project, toolchain)
        entries = {m.name: cache_root() / keys[m.name] for m in modules}
        with _project_lock(project):
            remove_stale_temporaries(entries.values())
            # The builder warns about the mismatch; here it only marks the outputs with errors,
            # whose errors rows then mention it.
            mismatch = toolchain.mismatch(project.toolchain_request)
            blocked = _blocked_before_lean(project, modules)
            self._block_remembered_failures(modules, keys, blocked)
            todo = [m for m in modules if m.name not in blocked and not is_complete(entries[m.name])]
            bar = tqdm(total=len(modules), desc=f"Elaborating modules of {project.root.name}", unit="module",
                       disable=not self.progress)
            watch = _Watch(self.timeout, failed=set(blocked), on_event=self._bar_events(bar))
            count = self.workers_for(todo)
            if todo and (count > 1 or self.executor != "local"):
                elaborated = self._elaborate_in_workers(project, toolchain, todo, entries, watch, count, bar)
            else:
                elaborated = self._elaborate_with_restarts(project, toolchain, todo, entries, watch, bar)
            todo_names = {m.name for m in todo}
            finished: dict[str, ModuleOutput] = {}
            for module in modules:
                if module.name in blocked:
                    output = failed_output(module, *blocked[module.name])
                elif module.name in todo_names:
                    # Outputs arrive in import order; pull until this module's has come.
                    while module.name not in finished and (output := next(elaborated, None)) is not None:
                        finished[output.module] = output
                    output = finished.pop(module.name, None)
                    if output is None:  # no Lean process got to it (one that starts none ends the run)
                        output = failed_output(module, CRASH, "the Lean process ended before this module was done:\n"
                                               + watch.last_stderr_tail())
                    elif output.error and output.error_kind != DEPENDENCY:
                        self.failures[keys[module.name]] = RememberedFailure(output.error_kind, output.error, self.timeout)
                else:
                    output = read_entry(module, entries[module.name], cached=True)
                output.project_imports = project_imports.get(module.name, ())
                if mismatch and output.has_errors and output.error_kind in LEAN_FAILURES | {""}:
                    output.toolchain_mismatch = mismatch.sentence(project.root.name)
                bar.update(1)
                yield output
            bar.close()

    def workers_for(self, modules) -> int:
        """How many workers elaborate ``modules`` (in import order): ``workers``, but no more
        than the widest level of their import graph (at least one when there are modules)."""
        return min(self.workers, ImportPlan(modules).width()) if modules else 0

    def _elaborate_in_workers(self, project: LeanProject, toolchain: Toolchain, modules, entries, watch: _Watch,
                              count: int, bar=None) -> Iterator[ModuleOutput]:
        """Elaborate ``modules`` on ``count`` long-lived workers (a pool from ``start_pool``)
        and yield their outputs as they finish. A module goes to an idle worker once every
        project module it imports is finished, longest chain of importers first
        (:class:`workers.ImportPlan`). Per module, as on the sequential path: a timeout stops
        its worker's process (the next module gets a fresh one) and records `timeout`; a
        module whose process died is tried once more in a fresh process (the same worker's),
        then recorded as `crash` (or `toolchain_limit` at the WebAssembly memory cap); the
        importers of a failed module fail as `dependency`. A fresh process that ends before
        starting its module stops the scheduling (the modules left fail as `crash`)."""
        work, lake = prepare_work_dir(project, toolchain, modules, entries)
        for old_log in work.glob("lean-*.stderr"):
            old_log.unlink(missing_ok=True)
        shutil.rmtree(work / "workers", ignore_errors=True)
        spec = WorkerSpec(toolchain, project.root, work, write_program(work, toolchain, logger.warning),
                          tuple(search_path(work, lake)), lake, watch.timeout)
        plan = ImportPlan(modules)
        by_name = {m.name: m for m in modules}
        jobs = {m.name: module_job(work, m, lake) for m in modules}
        deaths: dict[str, list[str]] = {}
        if bar is not None:
            what = "WebAssembly, ~15 s" if toolchain.is_wasm else self.executor
            bar.set_postfix_str(f"starting {count} Lean worker{'s' if count > 1 else ''} ({what})")
        pool = self._start_pool(spec, count)
        running: dict = {}
        idle = list(range(pool.size))
        outputs: list[ModuleOutput] = []
        try:
            while True:
                while idle and (name := plan.next_ready()) is not None:
                    index = idle.pop(0)
                    running[pool.submit(index, jobs[name])] = (index, name)
                # Given out only now: the workers are busy while the caller turns them into rows.
                yield from outputs
                outputs.clear()
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: plan.order[running[f][1]]):
                    index, name = running.pop(future)
                    result: WorkerResult = future.result()
                    module = by_name[name]
                    for event in result.events:
                        if watch.on_event is not None:
                            watch.on_event(event)
                    if result.end is not None:
                        output = output_of_event(result.end, module, jobs[name], project, entries, watch, work, lake)
                    elif not result.started:
                        # As on the sequential path: a process that starts no module ends the run.
                        watch.stderr_logs.append(Path(result.stderr_log))
                        plan.stop()
                        idle.append(index)
                        continue
                    else:
                        tails = deaths.setdefault(name, [])
                        tails.append(result.stderr_tail)
                        logger.warning("the Lean process died while elaborating %s (%s); the end of its stderr:\n%s",
                                       name, "trying it again in a fresh process" if len(tails) == 1 else "giving up",
                                       tails[-1])
                        if len(tails) == 1:  # the same worker: its next process is a fresh one
                            running[pool.submit(index, jobs[name])] = (index, name)
                            continue
                        output = _died_twice(module, toolchain, tails)
                    idle.append(index)
                    outputs.append(output)
                    if output.error:
                        watch.failed.add(name)
                        for importer in plan.fail(name):
                            watch.failed.add(importer)
                            outputs.append(failed_output(by_name[importer],
                                                         *_dependency_failure(by_name[importer], watch.failed)))
                    else:
                        plan.finish(name)
        finally:
            for future in running:
                future.cancel()
            pool.close()

    def library_corpus(self, imports: list[str]) -> list[dict]:
        """The premise corpus of the toolchain library modules ``imports`` (see
        :func:`corpus.library_corpus`): cached, else one Lean run."""
        return library_corpus(self.toolchain, imports)

    def _bar_events(self, bar) -> Callable[[ProtocolEvent], None]:
        """The progress-event handler of one extraction: the bar names the module Lean is on,
        then the caller's ``on_event`` gets the event."""
        def on_event(event: ProtocolEvent) -> None:
            if isinstance(event, ModuleStarted):
                bar.set_postfix_str(event.module)
            if self.on_event is not None:
                self.on_event(event)
        return on_event

    def _block_remembered_failures(self, modules, keys, blocked) -> None:
        """Add to ``blocked`` the modules that failed before in this extractor (a timeout only
        while the time limit is not higher than it was), and their importers."""
        for m in modules:
            seen = self.failures.get(keys[m.name])
            if m.name in blocked or seen is None:
                continue
            if seen.kind != TIMEOUT or (self.timeout and seen.timeout and self.timeout <= seen.timeout):
                blocked[m.name] = (seen.kind, seen.message)
                for importer in modules:
                    if importer.name not in blocked and any(d in blocked for d in importer.imports):
                        blocked[importer.name] = _dependency_failure(importer, blocked)

    def _elaborate_with_restarts(self, project: LeanProject, toolchain: Toolchain, modules, entries,
                                 watch: _Watch, bar=None) -> Iterator[ModuleOutput]:
        """Like :func:`elaborate_modules`, starting a fresh Lean process for the modules a process did
        not finish: after a timeout (the module is recorded as `timeout`), or when the process
        died (the WebAssembly build dies at its memory cap; a module elaborated when its
        process died is tried once more in a fresh process, then recorded as `crash`).
        Finished modules are in the cache by then, so the fresh process imports them.
        Importers of failed modules are not elaborated. Stops when a process starts no module.
        ``bar`` says that Lean is starting (runs only when the first output is asked for)."""
        remaining = list(modules)
        deaths: dict[str, list[str]] = {}
        for old_log in work_dir_for(project).glob("lean-*.stderr"):
            old_log.unlink(missing_ok=True)  # an earlier extraction's; this one numbers its own
        processes = 0
        while remaining:
            watch.in_progress = None
            if bar is not None:
                bar.set_postfix_str(starting_lean_text(toolchain, again=processes > 0))
            processes += 1
            done = set()
            for output in self._elaborate(project, toolchain, remaining, entries, watch):
                done.add(output.module)
                if output.error:
                    watch.failed.add(output.module)
                yield output
            if watch.in_progress:
                tails = deaths.setdefault(watch.in_progress, [])
                tails.append(watch.last_stderr_tail())
                logger.warning("the Lean process died while elaborating %s (%s); the end of its stderr:\n%s",
                               watch.in_progress,
                               "trying it again in a fresh process" if len(tails) == 1 else "giving up", tails[-1])
                if len(tails) > 1:
                    module = next(m for m in remaining if m.name == watch.in_progress)
                    done.add(module.name)
                    watch.failed.add(module.name)
                    yield _died_twice(module, toolchain, tails)
            elif not done:
                return
            remaining = [m for m in remaining if m.name not in done]
            for module in list(remaining):
                if any(d in watch.failed for d in module.imports):
                    remaining.remove(module)
                    watch.failed.add(module.name)
                    yield failed_output(module, *_dependency_failure(module, watch.failed))


def starting_lean_text(toolchain: Toolchain, again: bool = False) -> str:
    """What the bar says while a Lean process starts (before its first module)."""
    what = "a fresh Lean" if again else "Lean"
    return f"starting {what} (WebAssembly, ~15 s)" if toolchain.is_wasm else f"starting {what}"


def extract_project(project_dir, *, toolchain: Toolchain | None = None, progress: bool = True,
                    module_timeout: float | None = None) -> Iterator[ModuleOutput]:
    """Extract one project with a fresh :class:`Extractor` (see :meth:`Extractor.extract_project`)."""
    return Extractor(toolchain, module_timeout=module_timeout, progress=progress).extract_project(project_dir)


@contextlib.contextmanager
def _project_lock(project: LeanProject):
    """Held while this process extracts ``project``: another process extracting it at the same
    time (two notebooks, two test processes) waits, then reads from the cache what this one
    elaborated; without it both wrote the same work directory's `.olean`s and job files."""
    work = work_dir_for(project)
    work.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(work) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.warning("another process is extracting %s; waiting for it to finish", project.root)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _blocked_before_lean(project: LeanProject, modules) -> dict[str, tuple[str, str]]:
    """Modules that cannot be elaborated, found without Lean, with their failure kind and
    message; their importers (transitively) fail as `dependency`."""
    blocked = {name: (kind, f"not extracted: {message}") for name, (kind, message) in project.problems().items()}
    for m in modules:
        if m.name not in blocked and any(d in blocked for d in m.imports):
            blocked[m.name] = _dependency_failure(m, blocked)
    return blocked


def _died_twice(module: LeanModule, toolchain: Toolchain, tails: list[str]) -> ModuleOutput:
    """The output of a module whose Lean process died on it twice (``tails``: the end of each
    process's stderr)."""
    stderr = "\n".join(f"--- process {n} ---\n{tail}" for n, tail in enumerate(tails, 1))
    # Dying at the WebAssembly memory cap or out of a Node thread's stack, twice, is the
    # toolchain's limit, not the module's (a native Lean has neither).
    limit = toolchain.is_wasm and all(any(p.search(t) for p in WASM_PROCESS_LIMITS) for t in tails)
    kind = TOOLCHAIN_LIMIT if limit else CRASH
    return failed_output(module, kind, "the Lean process died twice while elaborating this "
                         f"module (killed, out of memory, or the module exits Lean); the end of "
                         f"each process's stderr:\n{stderr}")


def _dependency_failure(module: LeanModule, failed) -> tuple[str, str]:
    names = ", ".join(d for d in module.imports if d in failed)
    return DEPENDENCY, f"not extracted: it imports {names}, which could not be built"


def elaborate_modules(project: LeanProject, toolchain: Toolchain, modules: list[LeanModule], entries: dict[str, Path],
              watch: _Watch) -> Iterator[ModuleOutput]:
    """Run one Lean process over ``modules`` (in import order) and yield their outputs.

    Lean works in the project's work directory (one `.olean` root, where the `.olean`s of
    cached modules are copied first, each checked against its entry's checksum); each
    finished module's `.olean` and events are moved into its cache entry, and its checksums
    written last (:func:`cache.store_entry`).
    A module running past ``watch.timeout`` stops the process and yields a `timeout` output;
    the module a dying process was elaborating is left in ``watch.in_progress``."""
    work, lake = prepare_work_dir(project, toolchain, modules, entries)
    jobs = [module_job(work, m, lake) for m in modules]
    job_file = work / "job.json"
    token = new_token()
    job_file.write_text(json.dumps({"modules": jobs, "searchPath": search_path(work, lake), "token": token}))
    extractor = write_program(work, toolchain, logger.warning)
    by_name = {m.name: (m, job) for m, job in zip(modules, jobs)}
    process = ExtractorProcess(toolchain, project.root, extractor, job_file, watch.next_stderr_log(work),
                               token=token, lake=lake, timeout=watch.timeout)
    try:
        for event in process.events():
            if watch.on_event is not None:
                watch.on_event(event)
            if isinstance(event, ModuleStarted) or event.module not in by_name:
                continue
            module, job = by_name.pop(event.module)
            output = output_of_event(event, module, job, project, entries, watch, work, lake)
            if output is not None:
                yield output
            if isinstance(event, ModuleDone) and output.error:
                return  # its events were unreadable: a fresh process takes the rest
    finally:
        watch.in_progress = process.unfinished


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


def module_job(work: Path, module: LeanModule, lake: bool) -> dict:
    """The extractor's job entry for ``module`` (see ``Extract.lean``: ``ModuleJob``)."""
    return {
        "name": module.name,
        "file": str(module.path),
        "out": str(work / "events" / f"{module.name}.jsonl"),
        **({} if lake else {"olean": str(olean_path(work, module.name))}),
    }


def search_path(work: Path, lake: bool) -> list[str]:
    """The extra `.olean` directories of the extractor's job (Lake sets Lean's own)."""
    return [] if lake else [str(work / "build")]


def output_of_event(event: ProtocolEvent, module: LeanModule, job: dict, project: LeanProject,
                    entries: dict[str, Path], watch: _Watch, work: Path, lake: bool) -> ModuleOutput | None:
    """The output of ``module`` given the event that ended it (done, failed, timed out); a
    finished module's events and `.olean` are moved into its cache entry first, unless its
    events are unreadable (then it is a `crash`). None for other events."""
    if isinstance(event, ModuleTimedOut):
        return failed_output(module, TIMEOUT, f"elaboration did not finish within {watch.timeout:g} s "
                             f"(module_timeout); its Lean process was stopped")
    if isinstance(event, ModuleFailed) and event.stage == "import":
        return failed_output(module, *_import_failure(module, project, watch.failed, event.messages))
    if isinstance(event, ModuleFailed):
        return failed_output(module, CRASH, f"the extractor failed on this module: {event.error}")
    if isinstance(event, ModuleDone):
        # Lean's output is checked before it is cached: a process whose memory was corrupted
        # has written lines that are not JSON. That is this module's failure, and the process
        # is not trusted with more modules (the callers start a fresh one for the rest).
        try:
            parse_events(Path(job["out"]).read_bytes())
        except (OSError, MalformedEvents) as e:
            return failed_output(module, CRASH, f"the extractor's output for this module is unreadable ({e}); "
                                 "it was not cached")
        entry = entries[module.name]
        store_entry(entry, Path(job["out"]), None if lake else (olean_path(work, module.name), module.name))
        logger.info("elaborated %s in %.1f s", module.name, event.ms / 1000)
        return read_entry(module, entry)
    return None


_NOT_FOUND = re.compile(r"unknown module prefix|of module \S+ does not exist|No directory '[^']*' or file")
"""Lean's words for an import it cannot find."""


def _import_failure(module: LeanModule, project: LeanProject, failed: set[str],
                    messages: list[dict]) -> tuple[str, str]:
    """Kind and message of a module whose imports Lean could not load: a project module it
    imports failed (`dependency`), an import is neither a project module nor in the
    toolchain's library (`missing_import`), loading it ran into a limit of the WebAssembly Lean
    (`toolchain_limit`, e.g. the declaration the interpreter could not find), or it exists and
    failed to load for another reason that Lean's message gives (`import_failed`)."""
    if any(d in failed for d in module.imports):
        return _dependency_failure(module, failed)
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


def _lake_build(project: LeanProject) -> None:
    subprocess.run(["lake", "build"], cwd=project.root, check=True)

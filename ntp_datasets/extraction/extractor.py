"""The Extractor: a Lean project -> one :class:`ModuleOutput` per module, in import order.

Modules found unbuildable before Lean starts (encoding, cycles, ...) fail at once; modules
whose cache entry is complete are read back; the others are elaborated by the one scheduler
(``scheduler.py``) on Lean workers (one or many, on this machine or Ray). On the WebAssembly
toolchain, and natively for projects without a lakefile, the workers write each module's
``.olean`` so that later modules can import it; a native Lake project is built with
``lake build`` first and run under ``lake env``.

An :class:`Extractor` holds what outlives one project: the options, the toolchain, and the
modules that failed in this Python process (so building a second config does not wait for
the same timeout again). Builders and the API take one as a parameter.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from ntp_datasets.extraction.cache import (
    cache_root,
    is_complete,
    module_cache_keys,
    read_entry,
    remove_stale_temporaries,
    work_dir_for,
)
from ntp_datasets.extraction.corpus import library_corpus
from ntp_datasets.extraction.options import ExtractionOptions
from ntp_datasets.extraction.outputs import CRASH, DEPENDENCY, TIMEOUT, ModuleOutput, failed_output
from ntp_datasets.extraction.process import ModuleStarted, ProtocolEvent, Ready
from ntp_datasets.extraction.scheduler import Scheduler, dependency_failure
from ntp_datasets.extraction.startup import starting_text
from ntp_datasets.extraction.workers import StartPool, pool_starter
from ntp_datasets.progress import ticking
from ntp_datasets.project import LeanProject
from ntp_datasets.toolchain import Toolchain, find_toolchain

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RememberedFailure:
    """A module-level failure seen by an :class:`Extractor`, under the module time limit it had."""

    kind: str
    message: str
    timeout: float | None


class Extractor:
    """Extracts projects with one toolchain.

    ``options``: how (:class:`ExtractionOptions`; default: ``ExtractionOptions.of()``, the
    environment's settings). ``toolchain``: the Lean to use (None: :func:`toolchain.find_toolchain`
    for ``options.toolchain``, looked up once, when first needed). ``progress``: show a bar of
    modules. ``on_event``: called with every module-level progress event of the Lean processes
    (e.g. to sum the time of each phase, as ``bench/`` does). ``start_pool``: makes the pool of
    workers (default: from ``options.executor``; an injection point for tests)."""

    def __init__(self, options: ExtractionOptions | None = None, *, toolchain: Toolchain | None = None,
                 progress: bool = True, on_event: Callable[[ProtocolEvent], None] | None = None,
                 start_pool: StartPool | None = None):
        self.options = options or ExtractionOptions.of()
        self._toolchain = toolchain
        self._start_pool = start_pool or pool_starter(self.options)
        self.progress = progress
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
            self._toolchain = find_toolchain(progress=self.progress, kind=self.options.toolchain)
        return self._toolchain

    def extract_project(self, project: LeanProject | str | Path) -> Iterator[ModuleOutput]:
        """Elaborate every module of ``project`` (a :class:`LeanProject`, or its directory) once
        and yield one :class:`ModuleOutput` per module, in import order, as soon as it is done.
        Modules whose cache entry is complete are read back, not elaborated.

        A module that cannot be built yields an output with ``error`` and ``error_kind`` and
        the rest of the project goes on: files that are not UTF-8, import cycles, `module`
        files importing ordinary ones (all found before Lean starts), imports Lean cannot
        find, modules past the time limit, modules whose Lean process dies twice outside every
        command, and modules importing any of these (see ``scheduler.py``)."""
        project = project if isinstance(project, LeanProject) else LeanProject(project)
        toolchain = self.toolchain
        modules = project.import_order()
        project_imports = project.project_imports()
        keys = module_cache_keys(project, toolchain)
        entries = {m.name: cache_root() / keys[m.name] for m in modules}
        with _project_lock(project):
            remove_stale_temporaries(entries.values())
            blocked = _blocked_before_lean(project, modules)
            self._block_remembered_failures(modules, keys, blocked)
            todo = [m for m in modules if m.name not in blocked and not is_complete(entries[m.name])]
            bar = tqdm(total=len(modules), desc=f"Elaborating modules of {project.root.name}", unit="module",
                       disable=not self.progress)
            scheduler = Scheduler(project, toolchain, self.options, entries, self._start_pool,
                                  self._bar_events(bar, toolchain))
            if todo:
                bar.set_postfix_str(starting_text(toolchain))
            elaborated = scheduler.run(todo)
            todo_names = {m.name for m in todo}
            finished: dict[str, ModuleOutput] = {}
            with ticking(bar, self.progress):
                for module in modules:
                    if module.name in blocked:
                        output = failed_output(module, *blocked[module.name])
                    elif module.name in todo_names:
                        # Outputs arrive as modules finish; pull until this module's has come.
                        while module.name not in finished and (output := next(elaborated, None)) is not None:
                            finished[output.module] = output
                            bar.update(1)  # counted as it finishes, not when its turn to be yielded comes
                        output = finished.pop(module.name, None)
                        if output is None:  # no Lean process got to it (one that starts none ends the run)
                            output = failed_output(module, CRASH, "the Lean process ended before this module was "
                                                   "done:\n" + scheduler.last_stderr_tail())
                            bar.update(1)
                        elif output.error and output.error_kind != DEPENDENCY:
                            self.failures[keys[module.name]] = RememberedFailure(output.error_kind, output.error,
                                                                                 self.options.module_timeout)
                    else:
                        output = read_entry(module, entries[module.name], cached=True)
                    if module.name not in todo_names:
                        bar.update(1)
                    output.project_imports = project_imports.get(module.name, ())
                    output.package = module.package
                    yield output
            bar.close()

    def library_corpus(self, imports: list[str]) -> list[dict]:
        """The premise corpus of the toolchain library modules ``imports`` (see
        :func:`corpus.library_corpus`): cached, else one Lean run."""
        return library_corpus(self.toolchain, imports)

    def _bar_events(self, bar, toolchain: Toolchain) -> Callable[[ProtocolEvent], None]:
        """The progress-event handler of one extraction: the bar names the module Lean is on
        (and, once a process has started, how long it took), then the caller's ``on_event``
        gets the event."""
        def on_event(event: ProtocolEvent) -> None:
            if isinstance(event, Ready):
                logger.info("a Lean process started in %.1f s", event.seconds)
            elif isinstance(event, ModuleStarted):
                bar.set_postfix_str(event.module)
            if self.on_event is not None:
                self.on_event(event)
        return on_event

    def _block_remembered_failures(self, modules, keys, blocked) -> None:
        """Add to ``blocked`` the modules that failed before in this extractor (a timeout only
        while the time limit is not higher than it was), and their importers."""
        limit = self.options.module_timeout
        for m in modules:
            seen = self.failures.get(keys[m.name])
            if m.name in blocked or seen is None:
                continue
            if seen.kind != TIMEOUT or (limit and seen.timeout and limit <= seen.timeout):
                blocked[m.name] = (seen.kind, seen.message)
                for importer in modules:
                    if importer.name not in blocked and any(d in blocked for d in importer.imports):
                        blocked[importer.name] = dependency_failure(importer, blocked, {m.name: m for m in modules})


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
            blocked[m.name] = dependency_failure(m, blocked, project.modules)
    return blocked

"""A stand-in pool of Lean workers for tests of the scheduler and the Extractor: no process runs.

``ScriptedPool(script)`` is passed (through ``functools.partial``) as ``Extractor(start_pool=...)``;
each submitted module is answered by ``script(job, limits, fresh, pool)``, which returns a
``WorkerResult`` (see :func:`finished`, :func:`died`, :func:`timed_out`). The pool records what
was submitted, with how many modules were running at that moment, and hears the events as a
local pool does (``live_events``).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from ntp_datasets.extraction.process import (
    CommandStarted,
    ModuleDone,
    ModuleStarted,
    ModuleTimedOut,
    Ready,
)
from ntp_datasets.extraction.workers import WorkerResult


def finished(job: dict, events: list[dict] | None = None, ms: int = 1000, ready: float | None = None,
             phases: dict | None = None) -> WorkerResult:
    """A module the extractor finished: its events file (default: one fake event) and `.olean`
    written; ``phases``: its milliseconds by phase (default: all of them ``elaborate``)."""
    out = Path(job["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    events = events if events is not None else [{"kind": "fake", "module": job["name"]}]
    out.write_text("".join(json.dumps(e) + "\n" for e in events))
    if job.get("olean"):
        Path(job["olean"]).parent.mkdir(parents=True, exist_ok=True)
        Path(job["olean"]).write_text(f"olean of {job['name']}\n")
    done = ModuleDone(job["name"], ms, phases if phases is not None else {"elaborate": ms})
    head = (Ready(ready),) if ready is not None else ()
    return WorkerResult(job["name"], (*head, ModuleStarted(job["name"]), done), done, True, None, "", "")


def line_events(job: dict) -> list[dict]:
    """One event per line of the module's source: ``{"kind": "line", "n": i, "text": line}``."""
    lines = Path(job["file"]).read_text().splitlines()
    return [{"kind": "line", "n": i, "text": text} for i, text in enumerate(lines)]


def recording_pool(calls: list, events=line_events):
    """A ``start_pool`` whose workers finish every module with ``events(job)`` and append its
    name to ``calls``."""
    def script(job, limits, fresh, pool):
        calls.append(job["name"])
        return finished(job, events(job))
    return functools.partial(ScriptedPool, script)


def died(job: dict, line: int | None = None, pos: int = 0, tail: str = "fake Lean died") -> WorkerResult:
    """The process died on the module, on the command at ``line`` (None: outside every command)."""
    command = CommandStarted(job["name"], pos, line) if line is not None else None
    return WorkerResult(job["name"], (ModuleStarted(job["name"]),), None, True, command, "", tail)


def timed_out(job: dict, limit: str, seconds: float, line: int | None = None, pos: int = 0) -> WorkerResult:
    """The module ran past its ``limit`` (``module`` or ``command``) of ``seconds``."""
    command = CommandStarted(job["name"], pos, line) if line is not None else None
    end = ModuleTimedOut(job["name"], limit, seconds, command)
    return WorkerResult(job["name"], (ModuleStarted(job["name"]), end), end, True, None, "", "")


class ScriptedPool:
    """Workers that answer each module with ``script(job, limits, fresh, pool)``, the result
    arriving ``delay`` seconds after it was submitted (from a thread, as a local pool's do).
    ``log`` lists ``("submit", module)`` and ``("done", module)`` in the order they happened."""

    live_events = True

    def __init__(self, script, spec, on_event=None, delay: float = 0.02):
        self.script, self.spec, self.on_event, self.delay = script, spec, on_event, delay
        self.workers: list[int] = []
        self.submitted: list[tuple[str, object, bool, list]] = []
        """(module, its limits, fresh, its job's skip) per submission."""
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.closed = False

    @property
    def size(self) -> int:
        return len(self.workers)

    def start_worker(self) -> int:
        self.workers.append(len(self.workers))
        return len(self.workers) - 1

    def submit(self, index: int, job: dict, limits, fresh: bool = False) -> Future:
        with self._lock:
            self.submitted.append((job["name"], limits, fresh, list(job.get("skip", []))))
            self.log.append(("submit", job["name"]))
        future: Future = Future()

        def run():
            time.sleep(self.delay)
            result = self.script(job, limits, fresh, self)
            for event in result.events:
                if self.on_event is not None:
                    self.on_event(event)
            with self._lock:
                self.log.append(("done", job["name"]))
            future.set_result(result)

        threading.Thread(target=run, daemon=True).start()
        return future

    def close(self) -> None:
        self.closed = True

"""One Lean process running the extractor, and the progress protocol it speaks.

The extractor prints one line ``@@ntp TOKEN {json}`` per step on stdout: ``start`` when it
begins a module, then ``done`` or ``failed``, and ``finished`` at the end. ``TOKEN`` is a
random string made for each run (:func:`new_token`) and passed in the job file, so a line
that the project's own code writes to stdout cannot pass for progress: such lines go to the
stderr log. A progress line with the token that is not a JSON object fails the module in
progress (as ``elab``), never the build. :class:`ExtractorProcess`
turns these lines into typed events, stops the process (its whole process group) when a
module runs past its time limit, and remembers which module a dying process was on.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ntp_datasets.extraction.program import extractor_lean_path
from ntp_datasets.toolchain import Toolchain

PROGRESS_PREFIX = "@@ntp "


@dataclass(frozen=True)
class ModuleStarted:
    """The extractor began a module (its time limit counts from here)."""

    module: str


@dataclass(frozen=True)
class ModuleDone:
    """The extractor finished a module and wrote its events (and `.olean`)."""

    module: str
    ms: int = 0
    phases: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ModuleFailed:
    """The extractor could not do a module: ``stage`` is ``import`` (its imports failed to
    load; ``messages`` are Lean's) or ``elab`` (the extractor itself failed)."""

    module: str
    stage: str
    error: str = ""
    messages: list = field(default_factory=list)


@dataclass(frozen=True)
class ModuleTimedOut:
    """The module ran past its time limit; the process was stopped."""

    module: str | None


ProtocolEvent = ModuleStarted | ModuleDone | ModuleFailed | ModuleTimedOut


UNCAUGHT_CPP_EXCEPTION = "uncaught C++ exception "
"""How ``wasm_driver.js`` starts the line naming a C++ exception that killed the process."""

# Lines the WebAssembly build writes to stderr on every import (its own debug output): they
# would fill a dead process's tail and make it depend on how many imports the process did.
_STDERR_NOISE = re.compile(r"^\s*(mainModule\? = (true|false)|- \S+\.olean)\s*$")
# Node's report of an uncaught exception prints the thrown value under a caret line; for the
# WebAssembly build's C++ exceptions that value is an address, different in every process.
_CARET = re.compile(r"^\s*\^\s*$")
_THROWN_ADDRESS = re.compile(r"^\d+$")
_WORKER_ERROR_ADDRESS = re.compile(r"^(worker sent an error! .*: )\d+$")


def stderr_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a Lean process's stderr log, without the WebAssembly
    build's debug lines, and with the address of an uncaught C++ exception replaced by
    ``<address>``, so that the same failure reads the same in every process. The line that
    names an uncaught C++ exception (see ``wasm_driver.js``) comes first even when the
    interpreter's backtrace after it is longer than the tail."""
    text = path.read_text(errors="replace") if path.is_file() else ""
    kept: list[str] = []
    for line in text.splitlines():
        if _STDERR_NOISE.match(line):
            continue
        if _THROWN_ADDRESS.match(line) and kept and _CARET.match(kept[-1]):
            line = "<address>"
        kept.append(_WORKER_ERROR_ADDRESS.sub(r"\1<address>", line))
    tail = kept[-lines:]
    named = [line for line in kept[:-lines] if line.startswith(UNCAUGHT_CPP_EXCEPTION)]
    return "\n".join(named[-1:] + ["[...]"] * bool(named) + tail)


def new_token() -> str:
    """A fresh random progress token (put it in the job file as ``token``)."""
    return secrets.token_hex(16)


class MalformedProgress(ValueError):
    """A progress line carrying the run's token whose payload is not a JSON object."""


def parse_progress(payload: str) -> ProtocolEvent | None:
    """The event of one progress line's JSON ``payload`` (the text after ``@@ntp TOKEN ``);
    None for ``finished`` and unknown events. Raises :class:`MalformedProgress`."""
    try:
        data = json.loads(payload)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise MalformedProgress(payload)
    event, module = data.get("event"), data.get("module")
    if event == "start":
        return ModuleStarted(module)
    if event == "done":
        return ModuleDone(module, data.get("ms", 0), data.get("phases", {}))
    if event == "failed":
        return ModuleFailed(module, data.get("stage", ""), data.get("error", ""), data.get("messages", []))
    return None


class ExtractorProcess:
    """One Lean process running ``extractor`` over ``job_file``; iterate :meth:`events`.

    ``lake``: run under ``lake env`` from the project's root (native Lake projects).
    ``timeout``: seconds a module may take from its start (None: no limit)."""

    def __init__(self, toolchain: Toolchain, project_root: Path, extractor: Path, job_file: Path,
                 stderr_path: Path, *, token: str, lake: bool = False, timeout: float | None = None):
        self.toolchain, self.project_root, self.extractor = toolchain, project_root, extractor
        self.marker = f"{PROGRESS_PREFIX}{token} "
        """What starts the progress part of a line (the token of this run's job file)."""
        self.job_file, self.stderr_path, self.lake, self.timeout = job_file, stderr_path, lake, timeout
        self.unfinished: str | None = None
        """The module the process was elaborating when it ended without finishing it (it died)."""
        self._proc: subprocess.Popen | None = None
        self._stderr = None

    def command(self) -> list[str]:
        """The command line that runs the extractor."""
        args = self.toolchain.lean_command(["--run", str(self.extractor), str(self.job_file)])
        return ["lake", "env", *args] if self.lake else args

    def start(self) -> None:
        """Start the Lean process now (:meth:`events` starts it if this was not called), so
        that its start-up runs while the caller does something else (a worker waiting for
        its first module)."""
        if self._proc is not None:
            return
        env = self.toolchain.run_env([self.project_root, self.extractor.parent, Path.cwd()])
        # On the WebAssembly build the compiled extractor: already there where the runner was
        # written; a Ray node other than the driver's compiles its own once.
        lean_path = [str(d) for d in extractor_lean_path(self.toolchain)]
        if lean_path:
            env["LEAN_PATH"] = os.pathsep.join([*lean_path, *filter(None, [env.get("LEAN_PATH")])])
        cwd = self.project_root if self.lake else self.extractor.parent
        self._stderr = open(self.stderr_path, "w")
        try:
            self._proc = subprocess.Popen(
                self.command(), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=self._stderr,
                stdin=subprocess.DEVNULL, text=True, encoding="utf-8",
                preexec_fn=functools.partial(_own_process_group, _libc()) if os.name == "posix" else None,
            )
        except BaseException:
            self._stderr.close()
            raise

    def stop(self) -> None:
        """Stop the process if it still runs (a worker's, between modules) and release its files."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            _stop(self._proc)
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()

    def events(self) -> Iterator[ProtocolEvent]:
        """Run the process and yield its events as they come. A module running past the time
        limit stops the process and yields :class:`ModuleTimedOut`."""
        self.start()
        proc = self._proc
        with self._stderr as stderr:
            lines = _line_queue(proc.stdout)
            current, deadline, timed_out = None, None, False
            try:
                while True:
                    wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                    try:
                        line = lines.get(timeout=wait)
                    except queue.Empty:
                        timed_out = True
                        _stop(proc)
                        yield ModuleTimedOut(current)
                        return
                    if line is None:
                        break
                    at = line.find(self.marker)
                    if at >= 0:
                        if line[:at].strip():  # the module wrote to stdout without a newline
                            stderr.write(line[:at] + "\n")
                            stderr.flush()
                        try:
                            event = parse_progress(line[at + len(self.marker):])
                        except MalformedProgress:
                            stderr.write(line)
                            stderr.flush()
                            event = ModuleFailed(current, "elab", f"malformed progress line from Lean: {line.strip()!r}") \
                                if current else None
                        if isinstance(event, ModuleStarted):
                            current = event.module
                            deadline = time.monotonic() + self.timeout if self.timeout else None
                        elif event is not None and event.module == current:
                            current, deadline = None, None
                        if event is not None:
                            yield event
                    elif line.strip():
                        # Anything else the extractor printed (compile errors of the extractor
                        # itself, for instance, or what a module wrote to stdout, forged
                        # progress lines included) is kept for the error report.
                        stderr.write(line)
                        stderr.flush()
            finally:
                if proc.poll() is None:  # a timeout, or the consumer stopped early
                    _stop(proc)
                proc.wait()
                proc.stdout.close()
                self.unfinished = None if timed_out else current


def _line_queue(stream) -> queue.Queue:
    """A queue that a background thread fills with the lines of ``stream``, then ``None``."""
    lines: queue.Queue = queue.Queue()

    def pump():
        try:
            for line in stream:
                lines.put(line)
        except (OSError, ValueError):  # the stream was closed under us
            pass
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@functools.lru_cache(maxsize=1)
def _libc():
    """The C library (Linux only), loaded in the parent: the child between fork and exec
    should do little."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_PR_SET_PDEATHSIG = 1


def _own_process_group(libc) -> None:
    """In the Lean child before exec: its own process group (so a timeout stops all of it), and
    on Linux a SIGKILL when the build process dies (so a killed build leaves no Lean behind)."""
    os.setpgid(0, 0)
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()

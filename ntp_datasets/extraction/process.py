"""One Lean process running the extractor, and the progress protocol it speaks.

The extractor prints one line ``@@ntp TOKEN {json}`` per step on stdout: ``start`` when it
begins a module, ``command`` before each of its commands, ``elaborated`` after the last one,
then ``done`` or ``failed``, and ``finished`` at the end. ``TOKEN`` is a random string made for
each run (:func:`new_token`) and passed in the job file, so a line that the project's own code
writes to stdout cannot pass for progress: such lines go to the stderr log. A progress line with
the token that is not a JSON object fails the module in progress (as ``elab``), never the build.
:class:`ExtractorProcess` turns these lines into typed events, stops the process (its whole
process group) when a module or one of its commands runs past its time limit (CPU time of the
process group, :class:`Limits`), and remembers which module and command a dying process was on.
"""

from __future__ import annotations

import ctypes
import dataclasses
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ntp_datasets.extraction.program import extractor_lean_path
from ntp_datasets.toolchain import Toolchain

PROGRESS_PREFIX = "@@ntp "


@dataclass(frozen=True)
class Ready:
    """The Lean process has started and waits for modules; ``seconds`` since it was spawned."""

    seconds: float
    module: None = None


@dataclass(frozen=True)
class ModuleStarted:
    """The extractor began a module (its time limit counts from here)."""

    module: str


@dataclass(frozen=True)
class ModuleDone:
    """The extractor finished a module and wrote its events (and `.olean`): in ``ms``
    milliseconds, ``phases`` of them by phase; ``profile``: the parts of its ``events`` phase
    (microseconds; ``count.*`` entries are counts: steps, goal prints, ...);
    ``slowest_command`` is the line of its slowest command and the wall-clock seconds it took
    (as seen from here), if it had commands."""

    module: str
    ms: int = 0
    phases: dict = field(default_factory=dict)
    profile: dict = field(default_factory=dict)
    slowest_command: tuple[int, float] | None = None


@dataclass(frozen=True)
class ModuleFailed:
    """The extractor could not do a module: ``stage`` is ``import`` (its imports failed to
    load; ``messages`` are Lean's) or ``elab`` (the extractor itself failed)."""

    module: str
    stage: str
    error: str = ""
    messages: list = field(default_factory=list)


@dataclass(frozen=True)
class CommandStarted:
    """The extractor is about to elaborate a command of ``module``: it starts at byte offset
    ``pos`` of the text Lean parses, on ``line``."""

    module: str
    pos: int
    line: int


@dataclass(frozen=True)
class CommandsDone:
    """The extractor elaborated the last command of ``module`` (what follows is its own work:
    events, `.olean`)."""

    module: str


@dataclass(frozen=True)
class ModuleTimedOut:
    """A module ran past a time limit and the process was stopped: ``limit`` is ``module``
    (the whole module) or ``command`` (the command ``command``, when the extractor had announced
    it); ``seconds`` is the limit it ran past."""

    module: str | None
    limit: str = "module"
    seconds: float = 0.0
    command: CommandStarted | None = None


ProtocolEvent = Ready | ModuleStarted | CommandStarted | CommandsDone | ModuleDone | ModuleFailed | ModuleTimedOut


@dataclass(frozen=True)
class Limits:
    """Time limits of one module, in CPU seconds of its Lean process group (None: no limit):
    the whole module from its ``start`` event, and each of its commands. A process that uses no
    CPU is stopped after :data:`IDLE_FACTOR` times the limit of wall-clock time."""

    module: float | None = None
    command: float | None = None


IDLE_FACTOR = 4
"""A limit in CPU seconds also stops, after this many times as much wall-clock time, a process
that waits rather than computes (CPU time would never reach the limit)."""


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
    if event == "ready":
        return Ready(0.0)
    if event == "start":
        return ModuleStarted(module)
    if event == "command":
        return CommandStarted(module, data.get("pos", 0), data.get("line", 0))
    if event == "elaborated":
        return CommandsDone(module)
    if event == "done":
        return ModuleDone(module, data.get("ms", 0), data.get("phases", {}), data.get("profile", {}))
    if event == "failed":
        return ModuleFailed(module, data.get("stage", ""), data.get("error", ""), data.get("messages", []))
    return None


class ExtractorProcess:
    """One Lean process running the extractor (the file ``program``, see ``program.py``) over
    ``job_file``; iterate :meth:`events`.

    ``lake``: run under ``lake env`` from the project's root (native Lake projects).
    ``limits``: the time limits of each module (:class:`Limits`); a worker may change them
    between modules (they apply from the next ``start`` event). ``clock``: CPU seconds used so
    far by the process group of a process id (default: :func:`process_group_cpu`, which falls
    back to wall-clock time where ``/proc`` is missing)."""

    def __init__(self, toolchain: Toolchain, project_root: Path, program: Path, job_file: Path,
                 stderr_path: Path, *, token: str, lake: bool = False, limits: Limits | None = None,
                 clock: Callable[[int], float] | None = None):
        self.toolchain, self.project_root, self.program = toolchain, project_root, program
        self.marker = f"{PROGRESS_PREFIX}{token} "
        """What starts the progress part of a line (the token of this run's job file)."""
        self.job_file, self.stderr_path, self.lake = job_file, stderr_path, lake
        self.limits = limits or Limits()
        self.clock = clock or process_group_cpu
        self.unfinished: str | None = None
        """The module the process was elaborating when it ended without finishing it (it died)."""
        self.last_command: CommandStarted | None = None
        """The command of ``unfinished`` the process was on when it died (None: it was not in one)."""
        self._proc: subprocess.Popen | None = None
        self._stderr = None
        self._spawned = 0.0

    def command(self) -> list[str]:
        """The command line that runs the extractor."""
        args = self.toolchain.lean_command(["--run", str(self.program), str(self.job_file)])
        return ["lake", "env", *args] if self.lake else args

    def start(self) -> None:
        """Start the Lean process now (:meth:`events` starts it if this was not called), so
        that its start-up runs while the caller does something else (a worker waiting for
        its first module)."""
        if self._proc is not None:
            return
        env = self.toolchain.run_env([self.project_root, self.program.parent, Path.cwd()])
        # On the WebAssembly build the compiled extractor: already there where the runner was
        # written; a Ray node other than the driver's compiles its own once.
        lean_path = [str(d) for d in extractor_lean_path(self.toolchain)]
        if lean_path:
            env["LEAN_PATH"] = os.pathsep.join([*lean_path, *filter(None, [env.get("LEAN_PATH")])])
        cwd = self.project_root if self.lake else self.program.parent
        self._stderr = open(self.stderr_path, "w")
        self._spawned = time.monotonic()
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
        """Run the process and yield its events as they come. A module or a command running
        past its limit stops the process and yields :class:`ModuleTimedOut`."""
        self.start()
        proc = self._proc
        with self._stderr as stderr:
            lines = _line_queue(proc.stdout)
            watch = _Stopwatch(self.clock, proc.pid)
            current, timed_out = None, False
            commands = _CommandTimes()
            try:
                while True:
                    try:
                        item = lines.get(timeout=watch.poll_interval())
                    except queue.Empty:
                        item = ("", time.monotonic())
                    if item is None:
                        break
                    line, read_at = item
                    if (over := watch.over()) is not None:
                        timed_out = True
                        _stop(proc)
                        limit, seconds = over
                        yield ModuleTimedOut(current, limit, seconds, self.last_command if limit == "command" else None)
                        return
                    event = self._read_line(line, current, stderr)
                    if isinstance(event, Ready):
                        event = Ready(read_at - self._spawned)
                    elif isinstance(event, ModuleStarted):
                        current, self.last_command = event.module, None
                        watch.begin(self.limits)
                        commands = _CommandTimes()
                    elif isinstance(event, CommandStarted) and event.module == current:
                        self.last_command = event
                        watch.command_started()
                        commands.next(event.line, read_at)
                    elif isinstance(event, CommandsDone) and event.module == current:
                        self.last_command = None
                        watch.commands_done()
                        commands.next(None, read_at)
                    elif event is not None and event.module == current:
                        current = None
                        watch.end()
                        if isinstance(event, ModuleDone):
                            event = dataclasses.replace(event, slowest_command=commands.slowest)
                    if event is not None:
                        yield event
            finally:
                if proc.poll() is None:  # a timeout, or the consumer stopped early
                    _stop(proc)
                proc.wait()
                proc.stdout.close()
                self.unfinished = None if timed_out else current
                if self.unfinished is None:
                    self.last_command = None

    def _read_line(self, line: str, current: str | None, stderr) -> ProtocolEvent | None:
        """The event of one line of stdout; anything else the line holds goes to ``stderr``."""
        if not line:
            return None
        at = line.find(self.marker)
        if at < 0:
            if line.strip():
                # Anything else the extractor printed (compile errors of the extractor itself,
                # for instance, or what a module wrote to stdout, forged progress lines included)
                # is kept for the error report.
                stderr.write(line)
                stderr.flush()
            return None
        if line[:at].strip():  # the module wrote to stdout without a newline
            stderr.write(line[:at] + "\n")
            stderr.flush()
        try:
            return parse_progress(line[at + len(self.marker):])
        except MalformedProgress:
            stderr.write(line)
            stderr.flush()
            return ModuleFailed(current, "elab", f"malformed progress line from Lean: {line.strip()!r}") \
                if current else None


class _CommandTimes:
    """The wall-clock time of each command of a module, from one announcement to the next: the
    slowest one's line and seconds."""

    def __init__(self):
        self.slowest: tuple[int, float] | None = None
        self._current: tuple[int, float] | None = None

    def next(self, line: int | None, when: float) -> None:
        """A command on ``line`` starts at ``when`` (None: the last one ended then)."""
        if self._current is not None:
            started_line, started = self._current
            if self.slowest is None or when - started > self.slowest[1]:
                self.slowest = (started_line, round(when - started, 3))
        self._current = (line, when) if line is not None else None


class _Stopwatch:
    """The time limits of the module a process is on (:class:`Limits`), in CPU seconds of its
    process group (``clock``), with a wall-clock backstop of :data:`IDLE_FACTOR` times each."""

    def __init__(self, clock: Callable[[int], float], pid: int):
        self.clock, self.pid = clock, pid
        self.limits: Limits | None = None
        self._module_start: tuple[float, float] = (0.0, 0.0)
        self._command_start: tuple[float, float] | None = None

    def _now(self) -> tuple[float, float]:
        return self.clock(self.pid), time.monotonic()

    def begin(self, limits: Limits) -> None:
        """A module starts, under ``limits``."""
        self.limits = limits if (limits.module or limits.command) else None
        self._module_start = self._command_start = self._now()

    def command_started(self) -> None:
        """A command starts: its limit counts from now."""
        self._command_start = self._now()

    def commands_done(self) -> None:
        """The module's last command is done: only the module's limit runs from now."""
        self._command_start = None

    def end(self) -> None:
        """The module is done: no limit until the next."""
        self.limits = None

    def poll_interval(self) -> float | None:
        """How long to wait for a line before looking at the clocks again (None: no limit runs)."""
        return 1.0 if self.limits is not None else None

    def over(self) -> tuple[str, float] | None:
        """``("module" | "command", limit)`` when the module or its command has run past its limit."""
        if self.limits is None:
            return None
        cpu, wall = self._now()
        checks = [("module", self.limits.module, self._module_start)]
        if self._command_start is not None:
            checks.append(("command", self.limits.command, self._command_start))
        for name, limit, (cpu0, wall0) in checks:
            if limit and (cpu - cpu0 > limit or wall - wall0 > IDLE_FACTOR * limit):
                return name, limit
        return None


def process_group_cpu(pgid: int) -> float:
    """CPU seconds (user and system, reaped children included) used so far by the processes of
    process group ``pgid`` (Linux ``/proc``); elsewhere the seconds since the first call for it."""
    total, found = 0.0, False
    try:
        entries = os.listdir("/proc")
    except OSError:
        entries = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command name: state ppid pgrp ... utime(12th) stime cutime cstime.
        if int(fields[2]) == pgid:
            found = True
            total += sum(int(v) for v in fields[11:15])
    if found:
        return total / _CLOCK_TICKS
    return time.monotonic() - _WALL_ORIGIN.setdefault(pgid, time.monotonic())


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_WALL_ORIGIN: dict[int, float] = {}


def _line_queue(stream) -> queue.Queue:
    """A queue that a background thread fills with ``(line, when it was read)`` for each line of
    ``stream`` (``time.monotonic``), then ``None``."""
    lines: queue.Queue = queue.Queue()

    def pump():
        try:
            for line in stream:
                lines.put((line, time.monotonic()))
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

"""Running the Lean extractor over a project: Lean project -> extractor JSON events.

One Lean process elaborates every module of the project once, in import order (see
``lean/Extract.lean``). On the WebAssembly toolchain, and natively for projects without a
lakefile, the same process writes each module's ``.olean`` so that later modules can import
it; a Lake project is built with ``lake build`` first and run under ``lake env``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ntp_datasets.project import LeanProject
from ntp_datasets.resources import resource_dir
from ntp_datasets.toolchain import Toolchain, find_toolchain, ntp_home

logger = logging.getLogger(__name__)

EXTRACTOR_VERSION = "3"
DEFAULT_MODULE_TIMEOUT = 600.0
"""Seconds one module may take (imports and elaboration) before its Lean process is stopped."""
MODULE_TIMEOUT_ENV = "NTP_DATASETS_MODULE_TIMEOUT"

# Kinds of module-level failures (the `kind` of their `errors` row; see records.ERROR_KINDS).
TIMEOUT, CRASH, MISSING_IMPORT, DEPENDENCY = "timeout", "crash", "missing_import", "dependency"
TOOLCHAIN_MISMATCH = "toolchain_mismatch"
_LEAN_FAILURES = {TIMEOUT, CRASH, MISSING_IMPORT}  # failures in Lean, where its version matters
_PROGRESS_PREFIX = "@@ntp "
_REPAIR_HOOK = "def repairImportedEnv (memo : RepairMemo) (env : Environment) : IO Environment := pure env"
_WASM_REPAIR = ("def repairImportedEnv (memo : RepairMemo) (env : Environment) : IO Environment :=\n"
                "  unsafe NtpWasmFix.repairEnvRemembering memo env")


@dataclass
class ModuleOutput:
    """What the extractor produced for one module (events: see ``lean/Extract.lean``)."""

    module: str
    file: str
    source: str
    events: list[dict] = field(default_factory=list)
    error: str | None = None
    cached: bool = False
    error_kind: str = ""
    """Why the module failed as a whole (a key of ``records.ERROR_KINDS``), when ``error`` is set."""
    toolchain_mismatch: str = ""
    """Set when the project asks for another Lean version than the one that built it."""
    project: str = ""
    """Name of the project the module belongs to (the builder sets it; records copy it)."""


def extractor_source(toolchain: Toolchain) -> str:
    """The extractor program for ``toolchain``. The WebAssembly build needs the compiler
    repair of ``lean/WasmCompilerFix.lean``: run right after the extractor's imports, and
    applied to each imported environment through ``repairImportedEnv``. This is the only
    place where the two toolchains differ."""
    lean_dir = resource_dir("lean")
    extractor = (lean_dir / "Extract.lean").read_text(encoding="utf-8")
    if not toolchain.is_wasm:
        return extractor
    fix = (lean_dir / "WasmCompilerFix.lean").read_text(encoding="utf-8")
    imports, body = _split_imports(extractor)
    _, fix_body = _split_imports(fix)
    if _REPAIR_HOOK not in body:
        raise RuntimeError(f"lean/Extract.lean lacks the line {_REPAIR_HOOK!r}")
    return imports + fix_body + body.replace(_REPAIR_HOOK, _WASM_REPAIR, 1)


def _split_imports(source: str) -> tuple[str, str]:
    lines = source.splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if line.startswith("import "))
    return "".join(lines[: last + 1]), "".join(lines[last + 1 :])


def work_dir_for(project: LeanProject) -> Path:
    """Scratch directory of a project's extraction: job file, extractor, Lean's stderr."""
    key = hashlib.sha256(str(project.root).encode()).hexdigest()[:16]
    return ntp_home() / "work" / f"v{EXTRACTOR_VERSION}" / key


def cache_root() -> Path:
    """Versioned root of the per-module extraction cache: an extractor upgrade starts afresh."""
    return ntp_home() / "cache" / f"extractor-v{EXTRACTOR_VERSION}"


def module_cache_keys(project: LeanProject, toolchain: Toolchain) -> dict[str, str]:
    """Cache key of every module: its name and content, the keys of the project modules it
    imports (so a change reaches every importer), the toolchain and the extractor version."""
    extractor_hash = hashlib.sha256(extractor_source(toolchain).encode()).hexdigest()
    keys: dict[str, str] = {}
    for m in project.import_order():
        h = hashlib.sha256()
        for part in (EXTRACTOR_VERSION, extractor_hash, toolchain.version, m.name, m.content_hash()):
            h.update(part.encode() + b"\0")
        for dep in sorted(d for d in m.imports if d in keys):
            h.update(keys[dep].encode() + b"\0")
        keys[m.name] = h.hexdigest()
    return keys


def module_timeout_seconds(module_timeout: float | None = None) -> float | None:
    """The per-module time limit in seconds: ``module_timeout`` if given, else
    ``$NTP_DATASETS_MODULE_TIMEOUT``, else :data:`DEFAULT_MODULE_TIMEOUT`; 0 means no limit."""
    if module_timeout is None:
        configured = os.environ.get(MODULE_TIMEOUT_ENV, "").strip()
        try:
            module_timeout = float(configured) if configured else DEFAULT_MODULE_TIMEOUT
        except ValueError:
            raise ValueError(f"{MODULE_TIMEOUT_ENV} must be a number of seconds, got {configured!r}") from None
    if module_timeout < 0:
        raise ValueError(f"module_timeout must be >= 0 seconds (0: no limit), got {module_timeout!r}")
    return float(module_timeout) or None


def toolchain_mismatch(project: LeanProject, toolchain: Toolchain) -> str:
    """A sentence naming both versions when the project's `lean-toolchain` asks for another Lean
    version than ``toolchain`` is, else ""."""
    request = project.toolchain_request or ""
    wanted = re.search(r"v?(\d+\.\d+\.\d+(?:-[\w.]+)?)\s*$", request)
    available = re.search(r"version (\d+\.\d+\.\d+(?:-[\w.]+)?)", toolchain.version)
    if not wanted or not available or wanted.group(1) == available.group(1):
        return ""
    return (f"{project.root.name}: lean-toolchain asks for Lean {wanted.group(1)} ({request}) but the "
            f"available Lean is {available.group(1)} ({toolchain.kind}); building with it anyway")


# Module-level failures of Lean runs in this Python process, by cache key: building a second
# config does not wait for a timeout again (a new process tries such modules again).
_FAILURE_MEMO: dict[str, tuple[str, str, float | None]] = {}


def extract_project(project_dir, *, toolchain: Toolchain | None = None, progress: bool = True,
                    module_timeout: float | None = None) -> Iterator[ModuleOutput]:
    """Elaborate every module of the Lean project at ``project_dir`` once and yield one
    :class:`ModuleOutput` per module, in import order, as soon as it is done. Modules whose
    cache entry is complete (see :func:`module_cache_keys`) are read back, not elaborated.

    A module that cannot be built yields an output with ``error`` and ``error_kind`` and the
    rest of the project goes on: files that are not UTF-8, import cycles, `module` files
    importing ordinary ones (all found before Lean starts), imports Lean cannot find, modules
    that take longer than ``module_timeout`` seconds (:func:`module_timeout_seconds`; their
    Lean process is stopped and a fresh one takes the remaining modules), modules whose Lean
    process dies twice, and modules importing any of these."""
    project = LeanProject(project_dir)
    toolchain = toolchain or find_toolchain()
    timeout = module_timeout_seconds(module_timeout)
    modules = project.import_order()
    keys = module_cache_keys(project, toolchain)
    entries = {m.name: cache_root() / keys[m.name] for m in modules}
    _remove_stale_temporaries(entries.values())
    # The builder warns about the mismatch (``specs.check_toolchain``); here it only marks the
    # outputs with errors, whose errors rows then mention it.
    mismatch = toolchain_mismatch(project, toolchain)
    # Modules that cannot work are reported before Lean starts, and so are their importers.
    blocked = _blocked_before_lean(project, modules)
    for m in modules:
        memo = _FAILURE_MEMO.get(keys[m.name])
        if m.name not in blocked and memo and (memo[0] != TIMEOUT or (timeout and timeout <= memo[2])):
            blocked[m.name] = memo[:2]
            for importer in modules:
                if importer.name not in blocked and any(d in blocked for d in importer.imports):
                    blocked[importer.name] = _dependency_failure(importer, blocked)
    todo = [m for m in modules if m.name not in blocked and not (entries[m.name] / "events.jsonl").exists()]
    bar = tqdm(total=len(modules), desc="Elaborating modules", unit="module", disable=not progress)
    watch = _Watch(timeout, failed=set(blocked))
    elaborated = _elaborate_with_restarts(project, toolchain, todo, entries, watch)
    todo_names = {m.name for m in todo}
    finished: dict[str, ModuleOutput] = {}
    for module in modules:
        if module.name in blocked:
            kind, message = blocked[module.name]
            output = _failed_output(module, kind, message)
        elif module.name in todo_names:
            # Outputs arrive in import order; pull until this module's has come.
            while module.name not in finished and (output := next(elaborated, None)) is not None:
                finished[output.module] = output
            output = finished.pop(module.name, None)
            if output is None:  # no Lean process got to it (one that starts none ends the run)
                output = _unfinished(module, project)
            elif output.error and output.error_kind != DEPENDENCY:
                _FAILURE_MEMO[keys[module.name]] = (output.error_kind, output.error, timeout)
        else:
            output = _read_output(module, entries[module.name] / "events.jsonl", cached=True)
        if mismatch and _has_errors(output) and output.error_kind in _LEAN_FAILURES | {""}:
            output.toolchain_mismatch = mismatch
        bar.update(1)
        yield output
    bar.close()


def _blocked_before_lean(project: LeanProject, modules) -> dict[str, tuple[str, str]]:
    """Modules that cannot be elaborated, found without Lean, with their failure kind and
    message; their importers (transitively) fail as `dependency`."""
    blocked = {name: (kind, f"not extracted: {message}") for name, (kind, message) in project.problems().items()}
    for m in modules:
        if m.name not in blocked and any(d in blocked for d in m.imports):
            blocked[m.name] = _dependency_failure(m, blocked)
    return blocked


def _dependency_failure(module, failed) -> tuple[str, str]:
    names = ", ".join(d for d in module.imports if d in failed)
    return DEPENDENCY, f"not extracted: it imports {names}, which could not be built"


def _has_errors(output: ModuleOutput) -> bool:
    return bool(output.error) or any(
        e.get("kind") == "message" and e.get("severity") == "error" for e in output.events)


def _remove_stale_temporaries(entry_dirs) -> None:
    """Delete temporary files (`NAME.PID.tmp`) that a killed build left in these cache entries;
    the files of a build still running are left alone."""
    for entry in entry_dirs:
        if not entry.is_dir():
            continue
        for tmp in entry.rglob("*.tmp"):
            pid = tmp.name.rsplit(".", 2)[-2] if tmp.name.count(".") >= 2 else ""
            if pid.isdigit() and not _process_alive(int(pid)):
                tmp.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unfinished(module, project: LeanProject) -> ModuleOutput:
    stderr = work_dir_for(project) / "lean.stderr"
    return _failed_output(module, CRASH, f"the Lean process ended before this module was done:\n{_tail(stderr)}")


@dataclass
class _Watch:
    """Settings and outcome shared by the Lean processes of one extraction."""

    timeout: float | None
    """Seconds a module may take from its `start` event (Lean's start-up is not counted)."""
    failed: set[str] = field(default_factory=set)
    """Modules that failed as a whole so far (their importers fail as `dependency`)."""
    in_progress: str | None = None
    """The module the last process was elaborating when it ended without finishing it."""


def _elaborate_with_restarts(project: LeanProject, toolchain: Toolchain, modules, entries,
                             watch: _Watch | None = None) -> Iterator[ModuleOutput]:
    """Like :func:`_elaborate`, starting a fresh Lean process for the modules a process did not
    finish: after a timeout (the module is recorded as `timeout`), or when the process died
    (the WebAssembly build dies at its memory cap; a module elaborated when its process died
    is tried once more in a fresh process, then recorded as `crash`). Finished modules are in
    the cache by then, so the fresh process imports them. Importers of failed modules are not
    elaborated. Stops when a process starts no module."""
    watch = watch or _Watch(module_timeout_seconds())
    remaining = list(modules)
    deaths: Counter[str] = Counter()
    while remaining:
        watch.in_progress = None
        done = set()
        for output in _elaborate(project, toolchain, remaining, entries, watch):
            done.add(output.module)
            if output.error:
                watch.failed.add(output.module)
            yield output
        if watch.in_progress:
            deaths[watch.in_progress] += 1
            logger.warning("the Lean process died while elaborating %s (%s)", watch.in_progress,
                           "trying it again in a fresh process" if deaths[watch.in_progress] == 1 else "giving up")
            if deaths[watch.in_progress] > 1:
                module = next(m for m in remaining if m.name == watch.in_progress)
                stderr = _tail(work_dir_for(project) / "lean.stderr")
                done.add(module.name)
                watch.failed.add(module.name)
                yield _failed_output(module, CRASH, "the Lean process died twice while elaborating this "
                                     f"module (killed, out of memory, or the module exits Lean); stderr:\n{stderr}")
        elif not done:
            return
        remaining = [m for m in remaining if m.name not in done]
        for module in list(remaining):
            if any(d in watch.failed for d in module.imports):
                remaining.remove(module)
                watch.failed.add(module.name)
                yield _failed_output(module, *_dependency_failure(module, watch.failed))


def _olean_path(root: Path, module_name: str) -> Path:
    return root / "build" / Path(*module_name.split(".")).with_suffix(".olean")


def _elaborate(project: LeanProject, toolchain: Toolchain, modules, entries: dict[str, Path],
               watch: _Watch | None = None) -> Iterator[ModuleOutput]:
    """Run one Lean process over ``modules`` (in import order) and yield their outputs.

    Lean works in the project's work directory (one `.olean` root, where the `.olean`s of
    cached modules are copied first); each finished module's `.olean` and then its events
    are moved into its cache entry, the events last, so an entry with events is complete.
    A module running past ``watch.timeout`` stops the process and yields a `timeout` output;
    the module a dying process was elaborating is left in ``watch.in_progress``."""
    watch = watch or _Watch(module_timeout_seconds())
    work = work_dir_for(project)
    work.mkdir(parents=True, exist_ok=True)
    lake = project.has_lakefile and not toolchain.is_wasm
    if lake:
        _lake_build(project)
    else:
        for name, entry in entries.items():
            if _olean_path(entry, name).exists():
                _copy_atomically(_olean_path(entry, name), _olean_path(work, name))
    jobs = [
        {
            "name": m.name,
            "file": str(m.path),
            "out": str(work / "events" / f"{m.name}.jsonl"),
            **({} if lake else {"olean": str(_olean_path(work, m.name))}),
        }
        for m in modules
    ]
    job_file = work / "job.json"
    job_file.write_text(json.dumps({"modules": jobs, "searchPath": [] if lake else [str(work / "build")]}))
    extractor = work / "Extract.lean"
    extractor.write_text(extractor_source(toolchain), encoding="utf-8")
    by_name = {m.name: (m, job) for m, job in zip(modules, jobs)}
    for event in _run_extractor(toolchain, project, extractor, job_file, work / "lean.stderr", lake, watch):
        if event.get("module") not in by_name or event["event"] == "start":
            continue
        module, job = by_name.pop(event["module"])
        if event["event"] == "timeout":
            yield _failed_output(module, TIMEOUT, f"elaboration did not finish within {watch.timeout:g} s "
                                 f"(module_timeout); its Lean process was stopped")
        elif event["event"] == "failed" and event.get("stage") == "import":
            yield _failed_output(module, *_import_failure(module, project, watch.failed, event.get("messages", [])))
        elif event["event"] != "done":
            yield _failed_output(module, CRASH, f"the extractor failed on this module: {event.get('error', '')}")
        else:
            entry = entries[module.name]
            if not lake:
                _copy_atomically(_olean_path(work, module.name), _olean_path(entry, module.name))
            entry.mkdir(parents=True, exist_ok=True)
            os.replace(job["out"], entry / "events.jsonl")
            logger.info("elaborated %s in %.1f s", module.name, event.get("ms", 0) / 1000)
            yield _read_output(module, entry / "events.jsonl")


def _import_failure(module, project: LeanProject, failed: set[str], messages: list[dict]) -> tuple[str, str]:
    """Kind and message of a module whose imports Lean could not load: a project module it
    imports failed (`dependency`), or an import is neither a project module nor in the
    toolchain's library (`missing_import`)."""
    if any(d in failed for d in module.imports):
        return _dependency_failure(module, failed)
    lean_text = "\n".join(m.get("text", "") for m in messages)
    outside = [d for d in module.imports if d not in project.modules]
    named = [d for d in outside if d in lean_text or d.replace(".", "/") in lean_text] or outside
    what = f"import {', '.join(named)}: not a module of the project nor of the toolchain's library" if named \
        else "its imports could not be loaded"
    return MISSING_IMPORT, f"not extracted: {what}\nLean: {lean_text}"


def _copy_atomically(src: Path, dest: Path) -> None:
    # The temporary name carries the process id, so that a later build can tell a killed
    # build's leftovers from a running build's files (see _remove_stale_temporaries).
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def _lake_build(project: LeanProject) -> None:
    subprocess.run(["lake", "build"], cwd=project.root, check=True)


def _run_extractor(toolchain, project, extractor, job_file, stderr_path, lake, watch: _Watch) -> Iterator[dict]:
    """Run the extractor and yield its progress events. A module running past
    ``watch.timeout`` after its `start` event stops the process (its whole process group) and
    yields ``{"event": "timeout", "module": ...}``."""
    args = ["--run", str(extractor), str(job_file)]
    command = ["lake", "env", *toolchain.lean_command(args)] if lake else toolchain.lean_command(args)
    env = toolchain.run_env([project.root, extractor.parent, Path.cwd()])
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen(
            command, cwd=project.root if lake else extractor.parent, env=env,
            stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True, encoding="utf-8",
            preexec_fn=_own_process_group if os.name == "posix" else None,
        )
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
                    yield {"event": "timeout", "module": current}
                    return
                if line is None:
                    break
                if line.startswith(_PROGRESS_PREFIX):
                    event = json.loads(line[len(_PROGRESS_PREFIX):])
                    if event.get("event") == "start":
                        current = event["module"]
                        deadline = time.monotonic() + watch.timeout if watch.timeout else None
                    elif event.get("module") == current:
                        current, deadline = None, None
                    yield event
                elif line.strip():
                    # Anything else the extractor printed (compile errors of the extractor
                    # itself, for instance) is kept for the error report.
                    stderr.write(line)
                    stderr.flush()
        finally:
            if proc.poll() is None:  # a timeout, or the consumer stopped early
                _stop(proc)
            proc.wait()
            proc.stdout.close()
            watch.in_progress = None if timed_out else current


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


def _load_libc():
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()  # loaded here: the child between fork and exec should do little
_PR_SET_PDEATHSIG = 1


def _own_process_group() -> None:
    """In the Lean child before exec: its own process group (so a timeout stops all of it), and
    on Linux a SIGKILL when the build process dies (so a killed build leaves no Lean behind)."""
    os.setpgid(0, 0)
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _read_output(module, events_file: Path, cached: bool = False) -> ModuleOutput:
    events = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines() if line]
    return ModuleOutput(module.name, module.relpath, _read_source(module.path), events, cached=cached)


def _failed_output(module, kind: str, error: str) -> ModuleOutput:
    return ModuleOutput(module.name, module.relpath, _read_source(module.path), [], error, error_kind=kind)


def _read_source(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def _tail(path: Path, lines: int = 20) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])

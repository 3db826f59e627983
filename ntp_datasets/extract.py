"""Running the Lean extractor over a project: Lean project -> extractor JSON events.

One Lean process elaborates every module of the project once, in import order (see
``lean/Extract.lean``). On the WebAssembly toolchain, and natively for projects without a
lakefile, the same process writes each module's ``.olean`` so that later modules can import
it; a Lake project is built with ``lake build`` first and run under ``lake env``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ntp_datasets.project import LeanProject
from ntp_datasets.resources import resource_dir
from ntp_datasets.toolchain import Toolchain, find_toolchain, ntp_home

EXTRACTOR_VERSION = "1"
_PROGRESS_PREFIX = "@@ntp "
_REPAIR_HOOK = "def repairImportedEnv (env : Environment) : Environment := env"
_WASM_REPAIR = "def repairImportedEnv (env : Environment) : Environment := unsafe NtpWasmFix.repairEnv env"


@dataclass
class ModuleOutput:
    """What the extractor produced for one module (events: see ``lean/Extract.lean``)."""

    module: str
    file: str
    source: str
    events: list[dict] = field(default_factory=list)
    error: str | None = None
    cached: bool = False
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


def extract_project(project_dir, *, toolchain: Toolchain | None = None, progress: bool = True) -> Iterator[ModuleOutput]:
    """Elaborate every module of the Lean project at ``project_dir`` once and yield one
    :class:`ModuleOutput` per module, in import order, as soon as it is done. Modules whose
    cache entry is complete (see :func:`module_cache_keys`) are read back, not elaborated."""
    project = LeanProject(project_dir)
    toolchain = toolchain or find_toolchain()
    modules = project.import_order()
    keys = module_cache_keys(project, toolchain)
    entries = {m.name: cache_root() / keys[m.name] for m in modules}
    # Modules that cannot work are reported before Lean starts, and so are their importers.
    unsupported = project.unsupported_imports()
    for m in modules:
        if m.name not in unsupported and any(d in unsupported for d in m.imports):
            unsupported[m.name] = f"it imports {', '.join(d for d in m.imports if d in unsupported)}, which cannot be built"
    todo = [m for m in modules if m.name not in unsupported and not (entries[m.name] / "events.jsonl").exists()]
    bar = tqdm(total=len(modules), desc="Elaborating modules", unit="module", disable=not progress)
    elaborated = _elaborate_with_restarts(project, toolchain, todo, entries)
    todo_names = {m.name for m in todo}
    finished: dict[str, ModuleOutput] = {}
    for module in modules:
        if module.name in unsupported:
            output = _failed_output(module, f"not extracted: {unsupported[module.name]}")
        elif module.name in todo_names:
            # Outputs arrive in import order; pull until this module's has come.
            while module.name not in finished and (output := next(elaborated, None)) is not None:
                finished[output.module] = output
            output = finished.pop(module.name, None) or _unfinished(module, project)
        else:
            output = _read_output(module, entries[module.name] / "events.jsonl", cached=True)
        bar.update(1)
        yield output
    bar.close()


def _unfinished(module, project: LeanProject) -> ModuleOutput:
    stderr = work_dir_for(project) / "lean.stderr"
    return _failed_output(module, f"the Lean process ended before this module was done:\n{_tail(stderr)}")


def _elaborate_with_restarts(project: LeanProject, toolchain: Toolchain, modules, entries) -> Iterator[ModuleOutput]:
    """Like :func:`_elaborate`, starting a fresh Lean process for the modules a process did not
    reach when it died (the WebAssembly build dies at its 2 GB memory cap after many modules);
    the finished ones are in the cache by then. Stops when a process finishes no module."""
    remaining = list(modules)
    while remaining:
        done = set()
        for output in _elaborate(project, toolchain, remaining, entries):
            done.add(output.module)
            yield output
        if not done:
            return
        remaining = [m for m in remaining if m.name not in done]


def _olean_path(root: Path, module_name: str) -> Path:
    return root / "build" / Path(*module_name.split(".")).with_suffix(".olean")


def _elaborate(project: LeanProject, toolchain: Toolchain, modules, entries: dict[str, Path]) -> Iterator[ModuleOutput]:
    """Run one Lean process over ``modules`` (in import order) and yield their outputs.

    Lean works in the project's work directory (one `.olean` root, where the `.olean`s of
    cached modules are copied first); each finished module's `.olean` and then its events
    are moved into its cache entry, the events last, so an entry with events is complete."""
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
    for event in _run_extractor(toolchain, project, extractor, job_file, work / "lean.stderr", lake):
        if event.get("module") not in by_name:
            continue
        module, job = by_name.pop(event["module"])
        if event["event"] != "done":
            yield _failed_output(module, event.get("error", "extraction failed"))
            continue
        entry = entries[module.name]
        if not lake:
            _copy_atomically(_olean_path(work, module.name), _olean_path(entry, module.name))
        entry.mkdir(parents=True, exist_ok=True)
        os.replace(job["out"], entry / "events.jsonl")
        yield _read_output(module, entry / "events.jsonl")


def _copy_atomically(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def _lake_build(project: LeanProject) -> None:
    subprocess.run(["lake", "build"], cwd=project.root, check=True)


def _run_extractor(toolchain, project, extractor, job_file, stderr_path, lake) -> Iterator[dict]:
    args = ["--run", str(extractor), str(job_file)]
    command = ["lake", "env", *toolchain.lean_command(args)] if lake else toolchain.lean_command(args)
    env = toolchain.run_env([project.root, extractor.parent, Path.cwd()])
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen(
            command, cwd=project.root if lake else extractor.parent, env=env,
            stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True, encoding="utf-8",
        )
        try:
            for line in proc.stdout:
                if line.startswith(_PROGRESS_PREFIX):
                    yield json.loads(line[len(_PROGRESS_PREFIX):])
                elif line.strip():
                    # Anything else the extractor printed (compile errors of the extractor
                    # itself, for instance) is kept for the error report.
                    stderr.write(line)
                    stderr.flush()
        finally:
            proc.stdout.close()
            proc.wait()


def _read_output(module, events_file: Path, cached: bool = False) -> ModuleOutput:
    events = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines() if line]
    return ModuleOutput(module.name, module.relpath, _read_source(module.path), events, cached=cached)


def _failed_output(module, error: str) -> ModuleOutput:
    return ModuleOutput(module.name, module.relpath, _read_source(module.path), [], error)


def _read_source(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def _tail(path: Path, lines: int = 20) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])

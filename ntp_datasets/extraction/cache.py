"""The per-module extraction cache and the work directories of extraction.

An entry (``$NTP_DATASETS_HOME/cache/extractor-vN/<key>/``) holds a module's events
(``events.jsonl``) and, where the extractor writes them, its ``.olean``. The key covers the
module's name and content, the keys of the project modules it imports, the toolchain and the
extractor (:func:`module_cache_keys`). Files are written under a temporary name carrying the
writer's process id and renamed into place, the events last, so an entry with events is
complete and a killed build's leftovers can be told from a running build's files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from ntp_datasets.extraction.outputs import ModuleOutput, read_source
from ntp_datasets.extraction.program import EXTRACTOR_VERSION, extractor_source
from ntp_datasets.project import LeanProject
from ntp_datasets.toolchain import Toolchain, ntp_home

EVENTS_FILE = "events.jsonl"


def cache_root() -> Path:
    """Versioned root of the per-module extraction cache: an extractor upgrade starts afresh."""
    return ntp_home() / "cache" / f"extractor-v{EXTRACTOR_VERSION}"


def work_dir_for(project: LeanProject) -> Path:
    """Scratch directory of a project's extraction: job file, extractor, Lean's stderr."""
    key = hashlib.sha256(str(project.root).encode()).hexdigest()[:16]
    return ntp_home() / "work" / f"v{EXTRACTOR_VERSION}" / key


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


def olean_path(root: Path, module_name: str) -> Path:
    """Where the `.olean` of ``module_name`` lies under the `.olean` root ``root``."""
    return root / "build" / Path(*module_name.split(".")).with_suffix(".olean")


def is_complete(entry: Path) -> bool:
    """Whether a cache entry holds a finished module (its events, written last)."""
    return (entry / EVENTS_FILE).exists()


def read_entry(module, entry: Path, cached: bool = False) -> ModuleOutput:
    """The output of ``module`` (a ``project.LeanModule``) stored in cache entry ``entry``."""
    text = (entry / EVENTS_FILE).read_text(encoding="utf-8")
    events = [json.loads(line) for line in text.splitlines() if line]
    return ModuleOutput(module.name, module.relpath, read_source(module.path), events, cached=cached)


def copy_atomically(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` through a temporary name that carries this process's id."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def remove_stale_temporaries(entry_dirs) -> None:
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

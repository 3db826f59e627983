"""The per-module extraction cache and the work directories of extraction.

An entry (``$NTP_DATASETS_HOME/cache/extractor-vN/<key>/``) holds a module's events
(``events.jsonl``) and, where the extractor writes them, its ``.olean``. The key covers the
module's name and content, the keys of the project modules it imports, the toolchain and the
extractor (:func:`module_cache_keys`). Files are written under a temporary name carrying the
writer's process id and renamed into place (so a killed build's leftovers can be told from a
running build's files), and last of all ``checksums.json``, the SHA-256 of every other file of
the entry. An entry is used only when its files match their checksums (:func:`is_complete`,
:func:`read_entry`, :func:`copy_verified`); one that does not is discarded with a warning and
its module elaborated again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

from ntp_datasets.errors import CacheEntryError
from ntp_datasets.extraction.outputs import ModuleOutput, read_source
from ntp_datasets.extraction.program import EXTRACTOR_VERSION, extractor_source
from ntp_datasets.project import LeanProject
from ntp_datasets.toolchain import Toolchain, ntp_home

logger = logging.getLogger(__name__)

EVENTS_FILE = "events.jsonl"
CHECKSUM_FILE = "checksums.json"
"""Written last into an entry: ``{relative path: sha256}`` of its events and `.olean`."""


def cache_root() -> Path:
    """Versioned root of the per-module extraction cache: an extractor upgrade starts afresh."""
    return ntp_home() / "cache" / f"extractor-v{EXTRACTOR_VERSION}"


def work_dir_for(project: LeanProject) -> Path:
    """Scratch directory of a project's extraction: job file, extractor, Lean's stderr."""
    key = hashlib.sha256(str(project.root).encode()).hexdigest()[:16]
    return ntp_home() / "work" / f"v{EXTRACTOR_VERSION}" / key


def module_cache_keys(project: LeanProject, toolchain: Toolchain) -> dict[str, str]:
    """Cache key of every module: its name, content and Lean options, the keys of the project
    modules it imports (so a change reaches every importer), the toolchain and the extractor
    version. Not the project's directory nor its package: the same module of the same
    dependency at the same revision is elaborated once for every project that imports it."""
    extractor_hash = hashlib.sha256(extractor_source(toolchain).encode()).hexdigest()
    keys: dict[str, str] = {}
    for m in project.import_order():
        h = hashlib.sha256()
        options = repr([(o.name, o.value) for o in m.settings.elaboration_options()])
        for part in (EXTRACTOR_VERSION, extractor_hash, toolchain.version, m.name, m.content_hash(), options):
            h.update(part.encode() + b"\0")
        for dep in sorted(d for d in m.imports if d in keys):
            h.update(keys[dep].encode() + b"\0")
        keys[m.name] = h.hexdigest()
    return keys


def olean_path(root: Path, module_name: str) -> Path:
    """Where the `.olean` of ``module_name`` lies under the `.olean` root ``root``."""
    return root / "build" / Path(*module_name.split(".")).with_suffix(".olean")


def olean_parts(olean: Path) -> list[Path]:
    """The files of a module's compiled data, its `.olean` first. The others exist for a
    `module` file only: `.olean.server` and `.olean.private` (read together with the
    `.olean`, whose objects they point into, by an importer that sees private declarations:
    an ordinary file, or `import all`) and `.ir` (the code of its definitions, which Lean's own
    `writeModule` writes; the extractor puts that code in the `.olean` parts instead)."""
    return [olean, olean.with_name(olean.name + ".server"), olean.with_name(olean.name + ".private"),
            olean.with_suffix(".ir")]


def is_complete(entry: Path) -> bool:
    """Whether a cache entry holds a finished module whose files match their checksums. An
    entry that exists but does not verify is discarded (with a warning): its module is to be
    elaborated again."""
    if not entry.exists():
        return False
    problem = entry_problem(entry)
    if problem:
        discard_entry(entry, problem)
        return False
    return True


def entry_problem(entry: Path) -> str | None:
    """Why cache entry ``entry`` cannot be used (no checksums, a file missing or changed), or None."""
    try:
        expected = json.loads((entry / CHECKSUM_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"it has no {CHECKSUM_FILE} (its build was interrupted, or an older ntp-datasets wrote it)"
    except (OSError, ValueError) as error:
        return f"its {CHECKSUM_FILE} cannot be read: {error}"
    if not isinstance(expected, dict) or EVENTS_FILE not in expected:
        return f"its {CHECKSUM_FILE} does not list {EVENTS_FILE}"
    for rel, digest in expected.items():
        try:
            actual = _sha256((entry / rel).read_bytes())
        except OSError as error:
            return f"{rel} cannot be read: {error.strerror or error}"
        if actual != digest:
            return f"{rel} does not match its checksum (truncated or changed)"
    return None


def discard_entry(entry: Path, reason: str) -> None:
    """Delete a cache entry that cannot be used, with a warning saying why."""
    logger.warning("discarding the cache entry %s: %s; the module is elaborated again", entry, reason)
    shutil.rmtree(entry, ignore_errors=True)


def store_entry(entry: Path, events_file: Path, olean: tuple[Path, str] | None = None) -> None:
    """Move a finished module into cache entry ``entry``: ``olean`` (its `.olean` and module
    name) is copied with the other parts beside it (:func:`olean_parts`), ``events_file``
    moved, and ``checksums.json`` written last."""
    entry.mkdir(parents=True, exist_ok=True)
    (entry / CHECKSUM_FILE).unlink(missing_ok=True)  # the entry is incomplete until the end
    sums = {}
    if olean is not None:
        src, name = olean
        for src_part, dest in zip(olean_parts(src), olean_parts(olean_path(entry, name))):
            if src_part.exists():
                copy_atomically(src_part, dest)
                sums[dest.relative_to(entry).as_posix()] = _sha256(dest.read_bytes())
    os.replace(events_file, entry / EVENTS_FILE)
    sums[EVENTS_FILE] = _sha256((entry / EVENTS_FILE).read_bytes())
    tmp = entry / f"{CHECKSUM_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(sums, sort_keys=True), encoding="utf-8")
    os.replace(tmp, entry / CHECKSUM_FILE)


def read_entry(module, entry: Path, cached: bool = False) -> ModuleOutput:
    """The output of ``module`` (a ``project.LeanModule``) stored in cache entry ``entry``.
    Raises :class:`CacheEntryError` (after discarding the entry) when its events do not match
    their checksum, which :func:`is_complete` checked moments before: something changed them
    since."""
    data = (entry / EVENTS_FILE).read_bytes()
    if _sha256(data) != _expected(entry, EVENTS_FILE):
        discard_entry(entry, f"{EVENTS_FILE} does not match its checksum")
        raise CacheEntryError(f"the cache entry of {module.name} changed while it was read ({entry}); "
                              "it was discarded: build again")
    return ModuleOutput(module.name, module.relpath, read_source(module.path), parse_events(data), cached=cached)


class MalformedEvents(ValueError):
    """An events file with a line that is not a JSON object in UTF-8."""


def parse_events(data: bytes) -> list[dict]:
    """The events of an events file (one JSON object per line). Raises
    :class:`MalformedEvents` naming the first bad line."""
    events = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line:
            continue
        try:
            event = json.loads(line.decode("utf-8"))
        except ValueError as e:  # UnicodeDecodeError and JSONDecodeError both are
            raise MalformedEvents(f"line {number}: {e}: {line[:200]!r}") from None
        if not isinstance(event, dict):
            raise MalformedEvents(f"line {number}: not a JSON object: {line[:200]!r}")
        events.append(event)
    return events


def copy_verified(entry: Path, module_name: str, dest: Path) -> bool:
    """Copy the `.olean` of ``module_name``, and the other parts the entry holds
    (:func:`olean_parts`), from cache entry ``entry`` to ``dest`` if they match their
    checksums; False (and the entry discarded) when one does not. Parts ``dest`` has and the
    entry lacks are deleted: Lean would read them with the `.olean` they do not belong to."""
    for src, target in zip(olean_parts(olean_path(entry, module_name)), olean_parts(dest)):
        if not src.exists():
            target.unlink(missing_ok=True)
            continue
        data = src.read_bytes()
        if _sha256(data) != _expected(entry, src.relative_to(entry).as_posix()):
            discard_entry(entry, f"{src.name} does not match its checksum")
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return True


def _expected(entry: Path, rel: str) -> str | None:
    try:
        return json.loads((entry / CHECKSUM_FILE).read_text(encoding="utf-8")).get(rel)
    except (OSError, ValueError, AttributeError):
        return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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


def remove_dead_leftovers(paths, pid_of) -> list[Path]:
    """Delete the files or folders among ``paths`` that a process which is no longer running
    left behind: ``pid_of(path)`` is the owner's process id written in its name (None: not
    one of ours, kept). Returns what was removed."""
    removed = []
    for path in paths:
        pid = pid_of(path)
        if pid is None or _process_alive(pid):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

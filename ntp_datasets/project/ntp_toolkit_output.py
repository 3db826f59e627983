"""ntp-toolkit output directories: the layout ntp-toolkit's pipeline writes, where one is, and
reading its files.

ntp-toolkit's ``scripts/run_pipeline.py`` writes, under one base directory per project
(``scripts/extract_repos.py`` uses ``Examples/<name>``), a folder per task holding one file per
module (``TacticPrediction/Mathlib.Logic.Basic.jsonl``: one JSON object a line;
``StateComments/Mathlib.Logic.Basic.lean``: a Lean file), and ``Modules.jsonl``, the modules it
ran on; ``scripts/convert_minictx.py`` adds ``minictx.jsonl``. :data:`TASKS` holds the facts
(folder, file extension, the fields its code always writes and their JSON types), read from
ntp-toolkit's code at commit 64c9047 (2025-10-25).

A spec names such a directory when it is an fsspec location that is not a git URL
(``memory://``, ``hf://datasets/owner/name/path``, ``s3://``, ``zip://...::``, chained URLs), a
local ``.zip`` file, or a local directory recognised by its task folders
(:func:`find_outputs`). A directory whose subdirectories are base directories (ntp-toolkit's
``Examples/``) names one project per subdirectory. Nothing here parses a line into a record
(``ntp_datasets.records.from_ntp_toolkit`` does).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fsspec

from ntp_datasets.errors import ProjectError, ProjectSpecError
from ntp_datasets.project.git import strip_credentials

NULLABLE_STRING = (str, type(None))


@dataclass(frozen=True)
class Task:
    """One of ntp-toolkit's tasks: the folder it writes (``folder/<Module><extension>``), the
    ``lake exe`` tool that writes it, and the fields (name -> JSON type(s)) its code writes on
    every line (none for ``.lean`` files)."""

    folder: str
    extension: str
    tool: str
    fields: dict


_FULL_PROOF_FIELDS = {"file": str, "module": str, "declName": str, "decl": str, "proof": str, "srcUpToDecl": str}

TASKS = {
    task.folder: task
    for task in (
        Task("TacticPrediction", ".jsonl", "training_data",
             {"declId": str, "decl": str, "srcUpToTactic": str, "declUpToTactic": str, "state": str,
              "nextTactic": str}),
        Task("FullProof", ".jsonl", "full_proof_training_data", _FULL_PROOF_FIELDS),
        # full_proof_training_data again, run on the StateComments copy of the module.
        Task("FullProofWithStates", ".jsonl", "full_proof_training_data", _FULL_PROOF_FIELDS),
        Task("StateComments", ".lean", "state_comments", {}),
        Task("Premises", ".jsonl", "premises", {"name": str, "dependents": list}),
        Task("TrainingDataWithPremises", ".jsonl", "training_data_with_premises",
             {"declName": str, "srcUpToTactic": str, "declUpToTactic": str, "state": str,
              "nextTactic": NULLABLE_STRING, "nextTacticHammerRecommendation": list,
              "declHammerRecommendation": list}),
        Task("Imports", ".jsonl", "imports", {"name": str, "isDirect": bool}),
        Task("WithImports", ".lean", "add_imports", {}),
        # `scope` is always a string in ntp-toolkit's own output; an ntp-datasets export, which
        # does not extract it, writes null.
        Task("Declarations", ".jsonl", "declarations",
             {"name": str, "kind": str, "type": str, "typeArgs": list, "typeBody": str, "doc": NULLABLE_STRING,
              "signature": str, "line": int, "column": int, "isProp": bool, "isHumanTheorem": bool,
              "scope": NULLABLE_STRING, "src": str, "module": str}),
    )
}
"""ntp-toolkit's task folders (``run_pipeline.py``'s ``TASKS``) by folder name."""

MODULES_FILE = "Modules.jsonl"
"""The modules the pipeline ran on, one ``{"name": module}`` a line, sorted by name (``all_modules``)."""
MODULES_FIELDS = {"name": str}

MINICTX_FILE = "minictx.jsonl"
"""``convert_minictx.py``'s output: one theorem a line, made from ``FullProof`` and ``Premises``."""
MINICTX_FIELDS = {"srcContext": str, "theoremStatement": str, "theoremName": str, "file": str, "module": str,
                  "proofMetadata": dict}

STATS_FILE = "stats.json"
"""``data_stats.py``'s counts, which ``run_pipeline.py`` writes after extracting."""

LAYOUT_FILES = (MODULES_FILE, MINICTX_FILE, STATS_FILE)
"""Files of the layout at the top of a base directory."""

_LEAN_PROJECT_MARKERS = ("lakefile.lean", "lakefile.toml", "lean-toolchain")
_GIT_SCHEMES = ("https", "http", "ssh", "git", "file")
_PROTOCOL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


@dataclass(frozen=True)
class NtpToolkitOutput:
    """An ntp-toolkit base directory: its fsspec ``url`` (chained URLs allowed), the task
    folders and layout files it holds. A value: opening the filesystem is left to
    :func:`filesystem`."""

    url: str
    folders: tuple[str, ...]
    files: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        """The location as messages show it (without credentials)."""
        return strip_credentials(self.url)

    def has(self, entry: str) -> bool:
        """Whether the directory holds task folder or layout file ``entry``."""
        return entry in self.folders or entry in self.files


def filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of ``url`` and the path in it; :class:`ProjectSpecError` when fsspec
    cannot open it (an unknown protocol, a missing driver such as ``s3fs``)."""
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError, OSError) as error:
        raise ProjectSpecError(f"cannot open {strip_credentials(url)}: {strip_credentials(str(error))}") from error


def join(root: str, *names: str) -> str:
    """A path inside a filesystem (``/`` separated; a zip's root is ``""``)."""
    return posixpath.join(root, *names) if root else posixpath.join(*names)


def _entries(fs, root: str, display: str) -> tuple[set[str], set[str]]:
    """(directory names, file names) directly under ``root``; :class:`ProjectSpecError` when the
    location cannot be listed (unreachable, no such directory, no permission)."""
    try:
        listing = fs.ls(root, detail=True)
    except FileNotFoundError:
        raise ProjectSpecError(f"ntp-toolkit output not found: {display} does not exist") from None
    except Exception as error:  # a remote's own errors (HTTP, credentials, network): one message
        raise ProjectSpecError(f"cannot read {display}: {type(error).__name__}: {strip_credentials(str(error))}") \
            from error
    directories, files = set(), set()
    for entry in listing:
        name = posixpath.basename(entry["name"].rstrip("/"))
        (directories if entry.get("type") == "directory" else files).add(name)
    return directories, files


def _recognise(url: str, fs, root: str) -> NtpToolkitOutput | None:
    """The output at ``root`` if it is an ntp-toolkit base directory: it holds a task folder or
    ``Modules.jsonl``/``minictx.jsonl`` and is not a Lean project (no lakefile, ``lean-toolchain``
    or ``.lean`` file at its top)."""
    directories, files = _entries(fs, root, strip_credentials(url))
    if set(_LEAN_PROJECT_MARKERS) & files or any(name.endswith(".lean") for name in files):
        return None
    folders = tuple(folder for folder in TASKS if folder in directories)
    layout_files = tuple(name for name in (MODULES_FILE, MINICTX_FILE) if name in files)
    if not folders and not layout_files:
        return None
    return NtpToolkitOutput(url, folders, layout_files)


def _child_url(url: str, name: str) -> str:
    """The URL of entry ``name`` of the directory at ``url`` (in a chained URL, of its first part)."""
    head, sep, tail = url.partition("::")
    return f"{head.rstrip('/')}/{name}{sep}{tail}" if not head.endswith("://") else f"{head}{name}{sep}{tail}"


def _outputs_at(url: str) -> list[tuple[str, NtpToolkitOutput]] | None:
    """``(name, output)`` of the base directory at ``url``, or of each base directory directly
    under it (ntp-toolkit's ``Examples/``); None when it is neither."""
    fs, root = filesystem(url)
    found = _recognise(url, fs, root)
    if found is not None:
        return [(_last_name(url, root), found)]
    directories, files = _entries(fs, root, strip_credentials(url))
    if set(_LEAN_PROJECT_MARKERS) & files or any(name.endswith(".lean") for name in files):
        return None
    children = []
    for name in sorted(directories):
        child = _child_url(url, name)
        output = _recognise(child, *filesystem(child))
        if output is not None:
            children.append((name, output))
    return children or None


def _last_name(url: str, root: str) -> str:
    """A project name for the base directory ``root`` of ``url``: its last path component (a
    zip's root: the zip file's name without ``.zip``)."""
    name = posixpath.basename(root.rstrip("/"))
    if name:
        return name
    archive = url.rpartition("::")[2] if "::" in url else url
    return posixpath.basename(archive.rstrip("/")).removesuffix(".zip") or "ntp-toolkit-output"


def fsspec_protocol(spec: str) -> str | None:
    """The fsspec protocol a spec starts with (``hf`` of ``hf://...``; the first one of a chained
    ``a::b`` URL), or None for a plain path or an scp-like git address."""
    first = spec.split("::", 1)[0] if "::" in spec else spec
    match = _PROTOCOL.match(first)
    return match.group(1).lower() if match else None


def find_outputs(spec: str, base_dir: Path) -> list[tuple[str, NtpToolkitOutput]] | None:
    """The ntp-toolkit output(s) ``spec`` names, each with its default project name, or None when
    ``spec`` is not such a location (a git URL, or a local path that is no base directory and
    holds none, left for the other kinds of spec).

    An fsspec URL that is not a git one must name ntp-toolkit output; otherwise, or when it
    cannot be read, :class:`ProjectSpecError` says why."""
    protocol = fsspec_protocol(spec)
    if spec.startswith("git+") or protocol in _GIT_SCHEMES:
        return None
    if protocol is not None or "::" in spec:
        found = _outputs_at(spec)
        if found is None:
            fs, root = filesystem(spec)
            directories, files = _entries(fs, root, strip_credentials(spec))
            held = ", ".join(sorted(directories | files)) or "nothing"
            raise ProjectSpecError(
                f"{strip_credentials(spec)} is not ntp-toolkit output: it holds none of the task folders "
                f"{', '.join(TASKS)} nor {MODULES_FILE} or {MINICTX_FILE} (it holds: {held})")
        return found
    path = Path(spec).expanduser()
    path = (path if path.is_absolute() else base_dir / path).resolve()
    if path.is_file() and path.suffix == ".zip":
        url = f"zip://::{path}"
        found = _outputs_at(url)
        if found is None:
            raise ProjectSpecError(f"{path} is not a zip of ntp-toolkit output: it holds none of the task folders "
                                   f"{', '.join(TASKS)} (at its top or one directory down)")
        if len(found) == 1 and found[0][1].url == url:
            return [(path.stem, found[0][1])]
        return found
    if path.is_dir():
        return _outputs_at(str(path))
    return None


def module_files(output: NtpToolkitOutput, folder: str) -> dict[str, str]:
    """``{module: path}`` of the files of a task folder (``<Module><extension>``), sorted by module."""
    fs, root = filesystem(output.url)
    extension = TASKS[folder].extension
    try:
        listing = fs.ls(join(root, folder), detail=True)
    except Exception as error:  # a remote's own errors: one message naming the folder
        raise ProjectError(f"cannot list {output.display}/{folder}: {type(error).__name__}: "
                           f"{strip_credentials(str(error))}") from error
    files = {}
    for entry in listing:
        name = posixpath.basename(entry["name"].rstrip("/"))
        if entry.get("type") != "directory" and name.endswith(extension):
            files[name[:-len(extension)]] = entry["name"]
    return dict(sorted(files.items()))


def relative_path(output: NtpToolkitOutput, path: str) -> str:
    """``path`` (in the output's filesystem) relative to the base directory, as rows name it."""
    _, root = filesystem(output.url)
    return posixpath.relpath(path, root) if root else path


def read_lines(output: NtpToolkitOutput, path: str) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes)`` of each line of a file of the output, read as they are asked for
    (1-based numbers; the line ending stripped); :class:`ProjectError` naming the file when it
    cannot be read."""
    fs, _ = filesystem(output.url)
    try:
        with fs.open(path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                yield number, line.rstrip(b"\r\n")
    except Exception as error:  # a remote's own errors: one message naming the file
        raise ProjectError(f"cannot read {output.display}: {relative_path(output, path)}: {type(error).__name__}: "
                           f"{strip_credentials(str(error))}") from error


def read_bytes(output: NtpToolkitOutput, path: str) -> bytes:
    """The bytes of a file of the output; :class:`ProjectError` naming it when it cannot be read."""
    fs, _ = filesystem(output.url)
    try:
        return fs.cat_file(path)
    except Exception as error:  # a remote's own errors: one message naming the file
        raise ProjectError(f"cannot read {output.display}: {relative_path(output, path)}: {type(error).__name__}: "
                           f"{strip_credentials(str(error))}") from error


def layout_file(output: NtpToolkitOutput, name: str) -> str:
    """The path of layout file ``name`` (``Modules.jsonl``, ``minictx.jsonl``) of the output."""
    _, root = filesystem(output.url)
    return join(root, name)


_VERSION_KEYS = ("sha", "blob_id", "ETag", "etag", "mtime", "LastModified", "last_modified", "created")


def fingerprint(output: NtpToolkitOutput) -> str:
    """A hash of the output's files as its filesystem lists them: each file's path, size and
    version mark (a content hash where the filesystem has one, such as the Hub's, else its time
    of change), so that a changed output gets a new datasets cache id without reading it."""
    fs, root = filesystem(output.url)
    digest = hashlib.sha256(f"{output.url}\0".encode())
    try:
        found = fs.find(root, detail=True)
    except Exception as error:  # a remote's own errors: one message naming the output
        raise ProjectError(f"cannot list {output.display}: {type(error).__name__}: "
                           f"{strip_credentials(str(error))}") from error
    for path, info in sorted(found.items()):
        mark = next((str(info[key]) for key in _VERSION_KEYS if info.get(key) is not None), "")
        digest.update(f"{relative_path(output, path)}\0{info.get('size')}\0{mark}\0".encode())
    return digest.hexdigest()


def module_names(output: NtpToolkitOutput) -> list[str]:
    """Every module the output has a file for in one of its task folders, sorted."""
    modules = set()
    for folder in output.folders:
        modules.update(module_files(output, folder))
    return sorted(modules)

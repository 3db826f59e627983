"""When a project's files and declarations were created, read from its git history.

Every date is a :class:`GitDate`: a commit and its author date as ``YYYY-MM-DD`` (git's
``%ad`` with ``--date=short``, in the author's time zone), both None when there is none.

ntp-toolkit's dates (``scripts/convert_minictx.py``), computed its way:

* a file was created by the oldest commit of ``git log -- FILE``: renames are not followed,
  so a file that was moved counts as created by the move;
* a theorem was created by the oldest commit of ``git log -S NAME``: the first commit that
  changed the number of occurrences of the text NAME in some file of the repository (in a
  comment, inside a longer name, anywhere), tried again without the name's first component
  (``A.B.c``, then ``B.c``, then ``c``) while none is found.

Ours, under our own names:

* a file created following renames: the oldest commit of ``git log --follow -- FILE``;
* a declaration created: the oldest commit of that history whose version of the file
  declares the declaration under its full name (``lean_text.declared_names``: comments and
  strings ignored, namespaces followed).

``git log -S`` is one walk over the history per name; here one walk of ``git log -p``
counts the occurrences of every name at once, per file pair as git does (a file's count
changes when the counts in its added and removed lines differ). A project directory below
its repository's top is walked below that directory only. What a build computed is kept in
``$NTP_DATASETS_HOME/history/``, one file per (commit, project directory), so each walk runs
once per repository commit.

History comes only from a work tree's own git data: a plain directory, a repository without
commits, or a shallow clone ntp-datasets did not make gives no dates, and
:attr:`ProjectHistory.unavailable` says why. A shallow clone ntp-datasets made (a project
given as a git URL) is deepened first (:func:`fetch_full_history`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ntp_datasets.errors import ProjectSpecError
from ntp_datasets.project.git import BlobReader, git_output, git_stream, run_git
from ntp_datasets.project.lean_text import declared_names
from ntp_datasets.toolchain import ntp_home

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
"""Version of the cached history files' layout (a new one ignores older files)."""


@dataclass(frozen=True)
class GitDate:
    """A commit and its author date (``YYYY-MM-DD``); both None when there is none."""

    commit: str | None = None
    date: str | None = None

    def as_dict(self) -> dict:
        """``{"commit": ..., "date": ...}``, as ntp-toolkit's miniCTX rows write it."""
        return {"commit": self.commit, "date": self.date}


NO_DATE = GitDate()


@dataclass(frozen=True)
class HistoryRequest:
    """What a build asks about one project: ``files`` maps each file (relative to the project
    root, ``/``-separated) to the full names of the declarations it holds now."""

    files: Mapping[str, tuple[str, ...]]

    def pickaxe_names(self) -> set[str]:
        """Every text ``git log -S`` would be asked for: each name and each of its suffixes
        after a dot (ntp-toolkit's retries)."""
        texts = set()
        for names in self.files.values():
            for name in names:
                parts = name.split(".")
                texts.update(".".join(parts[i:]) for i in range(len(parts)))
        return {t for t in texts if t}


@dataclass(frozen=True)
class ProjectHistory:
    """Creation dates of a project's files and declarations (see the module docstring), or,
    in ``unavailable``, why it has none."""

    commit: str | None = None
    """The commit the work tree is at (its ``HEAD``)."""
    unavailable: str | None = None
    files: Mapping[str, GitDate] = field(default_factory=dict)
    files_following_renames: Mapping[str, GitDate] = field(default_factory=dict)
    pickaxe: Mapping[str, GitDate] = field(default_factory=dict)
    declarations: Mapping[str, Mapping[str, GitDate]] = field(default_factory=dict)

    def file_created(self, file: str) -> GitDate:
        """ntp-toolkit's ``fileCreated`` of ``file``."""
        return self.files.get(file, NO_DATE)

    def theorem_created(self, name: str) -> GitDate:
        """ntp-toolkit's ``theoremCreated`` of the declaration ``name``: ``git log -S`` of the
        name, then of the name without its first component, and so on."""
        while name:
            date = self.pickaxe.get(name, NO_DATE)
            if date.commit or "." not in name:
                return date
            name = name.split(".", 1)[1]
        return NO_DATE

    def file_created_following_renames(self, file: str) -> GitDate:
        """Our creation date of ``file``, renames followed."""
        return self.files_following_renames.get(file, NO_DATE)

    def declaration_created(self, file: str, name: str) -> GitDate:
        """Our creation date of the declaration ``name`` of ``file``."""
        return self.declarations.get(file, {}).get(name, NO_DATE)


def unavailable(reason: str) -> ProjectHistory:
    """A history without dates, saying why."""
    return ProjectHistory(unavailable=reason)


def history_dir() -> Path:
    """Where computed histories are kept (``$NTP_DATASETS_HOME/history``)."""
    return ntp_home() / "history"


def project_history(root: Path, request: HistoryRequest, *, deepen: bool = False,
                    cache_dir: Path | None = None) -> ProjectHistory:
    """The dates ``request`` asks for, from the git history of the work tree holding ``root``.
    ``deepen``: a shallow clone is made complete first (only for clones ntp-datasets made).
    ``cache_dir``: where computed histories are kept (default :func:`history_dir`)."""
    root = Path(root)
    top = git_output(root, "rev-parse", "--show-toplevel")
    if not top:
        return unavailable("not in a git work tree")
    commit = git_output(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if not commit:
        return unavailable("the repository has no commit")
    if git_output(root, "rev-parse", "--is-shallow-repository") == "true":
        if not deepen:
            return unavailable("a shallow clone: its history is cut off (fetch it with `git fetch --unshallow`)")
        fetch_full_history(root)
    prefix = Path(root).resolve().relative_to(Path(top).resolve()).as_posix()
    below_top = prefix not in ("", ".")
    cache = _HistoryCache(cache_dir or history_dir(), commit, prefix if below_top else "")
    missing_files = [f for f in request.files if f not in cache.files]
    if missing_files:
        for file in missing_files:
            cache.files[file] = _file_created(root, file)
    missing_names = sorted(request.pickaxe_names() - set(cache.pickaxe))
    if missing_names:
        found = pickaxe_dates(root, missing_names, below_top)
        cache.pickaxe.update({name: found.get(name, NO_DATE) for name in missing_names})
    followed = [f for f, names in request.files.items()
                if f not in cache.followed or not set(names) <= set(cache.declarations.get(f, {}))]
    if followed:
        with BlobReader(root) as blobs:
            for file in followed:
                created, declarations = _followed_history(root, file, request.files[file], blobs)
                cache.followed[file] = created
                cache.declarations.setdefault(file, {}).update(declarations)
    if missing_files or missing_names or followed:
        cache.save()
    return ProjectHistory(
        commit=commit,
        files={f: cache.files[f] for f in request.files},
        files_following_renames={f: cache.followed[f] for f in request.files},
        pickaxe={name: cache.pickaxe[name] for name in request.pickaxe_names()},
        declarations={f: {n: cache.declarations[f].get(n, NO_DATE) for n in names}
                      for f, names in request.files.items()},
    )


def fetch_full_history(root: Path) -> None:
    """Make the shallow clone at ``root`` complete (``git fetch --unshallow`` from its ``origin``)."""
    logger.info("Fetching the whole history of %s (a shallow clone) for its dates", root)
    run_git(["fetch", "-q", "--unshallow", "--", "origin"], cwd=root)


def _date_line(line: str) -> GitDate:
    commit, _, date = line.strip().partition(" ")
    return GitDate(commit or None, date or None)


def _file_created(root: Path, file: str) -> GitDate:
    """ntp-toolkit's file date: the oldest commit of ``git log -- FILE`` (no renames followed)."""
    try:
        lines = run_git(["log", "--format=%H %ad", "--date=short", "--", file], cwd=root).splitlines()
    except ProjectSpecError:
        return NO_DATE
    return _date_line(lines[-1]) if lines else NO_DATE


def _followed_history(root: Path, file: str, names: Iterable[str], blobs: BlobReader) -> tuple[GitDate, dict[str, GitDate]]:
    """The oldest commit of ``file``'s history with renames followed, and for each of ``names``
    the oldest commit whose version of the file declares it."""
    try:
        output = run_git(["log", "--follow", "-M", "--format=%x01%H %ad", "--date=short", "--name-status", "-z",
                          "--", file], cwd=root)
    except ProjectSpecError:
        return NO_DATE, {}
    versions = []  # (date, path at that commit), newest first
    for entry in output.split("\x01")[1:]:
        header, _, status = entry.partition("\0")
        fields = [f for f in status.strip("\n").split("\0") if f.strip("\n")]
        path = fields[-1].strip("\n") if len(fields) >= 2 else file
        versions.append((_date_line(header), path))
    if not versions:
        return NO_DATE, {}
    wanted, created = set(names), {}
    for date, path in reversed(versions):
        if not wanted:
            break
        content = blobs.read(f"{date.commit}:{path}")
        if content is None:
            continue
        for name in wanted & declared_names(content.decode("utf-8", errors="replace")):
            created[name] = date
        wanted -= set(created)
    return versions[-1][0], created


class TextCounter:
    """Counts the occurrences of many texts in a byte string at once, each the way
    ``git log -S`` counts one: non-overlapping, left to right, as bytes."""

    def __init__(self, texts: Iterable[str]):
        self.needles = {t.encode("utf-8"): t for t in texts if t and "\n" not in t}
        self.lengths = sorted({len(n) for n in self.needles})
        alphabet = set().union(*self.needles) if self.needles else set()
        # An occurrence lies inside one run of bytes the texts are made of.
        self.runs = re.compile(b"[" + b"".join(re.escape(bytes([b])) for b in sorted(alphabet)) + b"]+") \
            if alphabet else None
        self._inside: dict[bytes, tuple[bytes, ...]] = {}

    def counts(self, data: bytes) -> Counter:
        """How often each text occurs in ``data`` (texts that do not occur are left out)."""
        result: Counter = Counter()
        if self.runs is None:
            return result
        for run, times in Counter(self.runs.findall(data)).items():
            for needle in self._needles_in(run):
                result[self.needles[needle]] += run.count(needle) * times
        return result

    def _needles_in(self, run: bytes) -> tuple[bytes, ...]:
        found = self._inside.get(run)
        if found is None:
            if len(run) <= 64:
                pieces = {run[i:i + size] for size in self.lengths if size <= len(run) for i in range(len(run) - size + 1)}
                found = tuple(pieces & self.needles.keys())
            else:
                found = tuple(n for n in self.needles if n in run)
            if len(self._inside) > 1_000_000:
                self._inside.clear()
            self._inside[run] = found
        return found


_HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def pickaxe_dates(root: Path, names: Iterable[str], below_top: bool = False) -> dict[str, GitDate]:
    """For each of ``names``, the first commit ``git log --reverse -S NAME`` lists (those it
    lists none for are left out), from one walk of ``git log --reverse -p``: a commit is listed
    when, in one of its file pairs (renames detected as ``git log`` does), the text occurs a
    different number of times in the added and in the removed lines. ``below_top``: only the
    history of the directory ``root`` (else the whole repository's)."""
    counter = TextCounter(names)
    wanted = len(counter.needles)
    found: dict[str, GitDate] = {}
    args = ["-c", "log.showSignature=false", "log", "--reverse", "-p", "-U0", "-M", "--no-color", "--no-ext-diff",
            "--no-textconv", "--format=%x00%H %ad", "--date=short"]
    if below_top:
        args += ["--", "."]
    date, added, removed, minus, plus = NO_DATE, [], [], 0, 0

    def file_pair_done():
        if added or removed:
            now, before = counter.counts(b"\n".join(added)), counter.counts(b"\n".join(removed))
            for text in now.keys() | before.keys():
                if now[text] != before[text] and text not in found:
                    found[text] = date
        added.clear()
        removed.clear()

    for line in git_stream(args, root):
        if minus or plus:  # inside a hunk: exactly this many removed, then added lines
            if line.startswith(b"-") and minus:
                removed.append(line[1:])
                minus -= 1
            elif line.startswith(b"+") and plus:
                added.append(line[1:])
                plus -= 1
            continue
        if line.startswith(b"\0"):
            file_pair_done()
            if len(found) == wanted:
                break  # every name has its first commit; the rest of the history cannot change that
            date = _date_line(line[1:].decode("utf-8", errors="replace"))
        elif line.startswith(b"diff --git "):
            file_pair_done()
        elif hunk := _HUNK.match(line):
            minus = 1 if hunk.group(1) is None else int(hunk.group(1))
            plus = 1 if hunk.group(2) is None else int(hunk.group(2))
    file_pair_done()
    return found


class _HistoryCache:
    """The computed dates of one (commit, project directory), read from and written to a JSON file."""

    def __init__(self, directory: Path, commit: str, prefix: str):
        key = hashlib.sha256(f"{CACHE_FORMAT}\0{commit}\0{prefix}".encode()).hexdigest()[:32]
        self.path = Path(directory) / f"{key}.json"
        data = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("commit") != commit:
            data = {}

        def dates(entries) -> dict:
            return {key: GitDate(*value) for key, value in (entries or {}).items()}

        self.commit, self.prefix = commit, prefix
        self.files = dates(data.get("files"))
        self.followed = dates(data.get("followed"))
        self.pickaxe = dates(data.get("pickaxe"))
        self.declarations = {file: dates(names) for file, names in (data.get("declarations") or {}).items()}

    def save(self) -> None:
        """Write the file (atomically: a reader sees the old or the new one)."""

        def plain(entries: Mapping[str, GitDate]) -> dict:
            return {key: [d.commit, d.date] for key, d in entries.items()}

        data = {"format": CACHE_FORMAT, "commit": self.commit, "prefix": self.prefix, "files": plain(self.files),
                "followed": plain(self.followed), "pickaxe": plain(self.pickaxe),
                "declarations": {file: plain(names) for file, names in self.declarations.items()}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, suffix=".tmp",
                                             encoding="utf-8") as tmp:
                json.dump(data, tmp)
            os.replace(tmp.name, self.path)
        except OSError as error:  # a cache that cannot be written costs time, not correctness
            logger.warning("could not keep the history dates in %s: %s", self.path, error)


def history_commit(root: Path) -> str | None:
    """The commit whose history dates the project at ``root`` (its work tree's ``HEAD``), or
    None when it has none; part of a build's cache id where rows carry dates."""
    return git_output(Path(root), "rev-parse", "--verify", "--quiet", "HEAD^{commit}")

"""Project specs: where the Lean projects of a dataset come from.

A spec is one of

* ``None``: the sample project bundled with the package;
* a local directory: the project as it is on disk;
* a git repository at a revision: ``https://host/owner/repo.git@<commit>``,
  ``git+https://host/owner/repo@<rev>``, ``file:///path/to/repo@<rev>``, ``ssh://...``,
  ``git@host:owner/repo.git@<rev>``, or a local repository ``path/to/repo@<rev>``
  (no ``@<rev>``: the remote's ``HEAD``). It is cloned into
  ``$NTP_DATASETS_HOME/projects/<hash>`` (see :func:`clone_at`). The revision
  ``toolchain`` (``URL@toolchain``) is the newest commit of the default branch whose
  ``lean-toolchain`` the Lean in use can build (see :func:`checkout_fitting_toolchain`);
* a path to an ntp-toolkit config file ``*.json``: a list of entries with ``repo``
  (a URL, a GitHub ``owner/name`` or a local path, relative to the file), ``commit``,
  ``lean``, ``name``, ``import_file`` and ``imports``; only ``repo`` is required;
* ntp-toolkit output: a base directory its pipeline wrote (``TacticPrediction/``, ``FullProof/``, ...),
  or a directory of them, at any location fsspec opens (a local path, ``memory://``,
  ``hf://datasets/owner/name/path``, ``s3://``, a zip): its rows are read, no Lean runs
  (``ntp_toolkit_output.find_outputs``);
* a dict shaped like one such entry, or a list of any of the above.

:func:`resolve_projects` turns a spec into a list of :class:`ResolvedProject`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ntp_datasets.errors import ProjectSpecError
from ntp_datasets.progress import say
from ntp_datasets.project.git import run_git, strip_credentials  # noqa: F401 (strip_credentials: used by callers)
from ntp_datasets.project.ntp_toolkit_output import NtpToolkitOutput, find_outputs
from ntp_datasets.project.versions import EMBEDDED_LEAN, LeanInUse, parse_version
from ntp_datasets.resources import sample_project_dir
from ntp_datasets.toolchain import Toolchain, ntp_home

logger = logging.getLogger(__name__)

CONFIG_KEYS = ("repo", "commit", "lean", "name", "import_file", "imports")
"""Keys of an ntp-toolkit config entry (``repo`` is the only required one)."""

_URL_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@github.com:owner/repo.git
_GITHUB_SHORTHAND = re.compile(r"^[\w.-]+/[\w.-]+$")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")

TOOLCHAIN_REVISION = "toolchain"
"""The revision that asks for the newest commit whose ``lean-toolchain`` the Lean in use can
build (``URL@toolchain``). A branch of that name is ``refs/heads/toolchain``."""

@dataclass(frozen=True)
class ResolvedProject:
    """A Lean project ready to extract: a directory on disk and where it came from.

    ``repo``/``commit``: the git repository and full commit it was checked out at
    (None for a local directory). ``lean``: the Lean toolchain it asks for (its
    ``lean-toolchain`` file, else the config's ``lean``). ``import_file`` and
    ``imports``: as given in an ntp-toolkit config entry (recorded, not used to pick modules).
    ``output``: set when the project is ntp-toolkit output to read, not a Lean project to
    extract; ``root`` is then its local directory, or None when it is not on the local disk.
    """

    name: str
    root: Path | None
    repo: str | None = None
    commit: str | None = None
    lean: str | None = None
    import_file: str | None = None
    imports: tuple[str, ...] = field(default_factory=tuple)
    output: NtpToolkitOutput | None = None


def resolve_projects(spec, *, base_dir: Path | None = None, clone=None, progress: bool = False,
                     lean: LeanInUse | None = None, fit_toolchain=None) -> list[ResolvedProject]:
    """Resolve a project spec (see the module docstring) into its projects, cloning git
    repositories as needed. Names must be unique: they fill the datasets' ``project`` column.
    ``clone``: checks out ``(url, rev)`` and returns ``(directory, full commit)`` (default:
    :func:`clone_at`). ``progress``: a line on stderr before each checkout. A revision
    ``toolchain`` is checked out by ``fit_toolchain(url, lean, progress)`` (default:
    :func:`checkout_fitting_toolchain`) for ``lean``, the Lean in use (default: the embedded
    WebAssembly Lean, :data:`~ntp_datasets.project.versions.EMBEDDED_LEAN`)."""
    checkout = clone or clone_at
    fit = fit_toolchain or checkout_fitting_toolchain

    def announced_clone(url, rev):
        if rev == TOOLCHAIN_REVISION:
            used = lean or EMBEDDED_LEAN
            say(f"checking out {url} at the newest commit whose lean-toolchain {used.label} can build (git) ...",
                progress)
            return fit(url, used, progress)
        say(f"checking out {url} at {rev or 'its HEAD'} (git) ...", progress)
        return checkout(url, rev)

    projects = list(_resolve(spec, Path(base_dir or Path.cwd()), announced_clone))
    if not projects:
        raise ProjectSpecError("the project spec names no project")
    names = [p.name for p in projects]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ProjectSpecError(
            f"several projects are named {', '.join(map(repr, duplicates))}; give each a distinct "
            "'name' (a dict or config entry with a 'name' key)"
        )
    return projects


def _resolve(spec, base_dir: Path, clone):
    if spec is None:
        yield _local_project(sample_project_dir(), name=sample_project_dir().name)
    elif isinstance(spec, (list, tuple)):
        for item in spec:
            yield from _resolve(item, base_dir, clone)
    elif isinstance(spec, dict):
        yield _resolve_entry(spec, base_dir, "project entry", clone)
    elif isinstance(spec, (str, os.PathLike)):
        yield from _resolve_string(os.fspath(spec), base_dir, clone)
    else:
        raise ProjectSpecError(f"cannot read a project spec of type {type(spec).__name__}: {spec!r}")


def _resolve_string(spec: str, base_dir: Path, clone):
    outputs = find_outputs(spec, base_dir)
    if outputs is not None:
        yield from (_output_project(name, output) for name, output in outputs)
        return
    git = parse_git_spec(spec, base_dir)
    if git is not None:
        url, rev = git
        yield _git_project(url, rev, None, clone)
        return
    path = _local_path(spec, base_dir)
    if path.is_file() and path.suffix == ".json":
        yield from read_config_file(path, clone)
    elif path.is_dir():
        yield _local_project(path)
    elif path.exists():
        raise ProjectSpecError(f"{path} is neither a Lean project directory nor an ntp-toolkit config (*.json)")
    else:
        raise ProjectSpecError(f"Lean project not found: {path} does not exist")


def parse_git_spec(spec: str, base_dir: Path | None = None) -> tuple[str, str | None] | None:
    """``(url, rev)`` if ``spec`` names a git repository (``rev`` None: its HEAD), else None.

    A URL (``https://``, ``ssh://``, ``git://``, ``file://``, ``git+...``, ``git@host:path``)
    is always a repository; a local path only with ``@<rev>`` after an existing directory."""
    text = spec[len("git+"):] if spec.startswith("git+") else spec
    is_url = text.startswith(_URL_SCHEMES) or _SCP_LIKE.match(text) is not None
    location, rev = _split_rev(text)
    if is_url:
        return location, rev
    if rev is not None and _local_path(location, base_dir or Path.cwd()).is_dir():
        return str(_local_path(location, base_dir or Path.cwd())), rev
    return None


def _split_rev(text: str) -> tuple[str, str | None]:
    """Split ``@<rev>`` off a repository: the first ``@`` in the path part. An ``@`` in a URL's
    host part (``https://user@host``, ``git@host:``) is a user name, not a revision; a
    revision may hold ``/`` (``feature/x``)."""
    if "://" in text:
        path_start = text.find("/", text.index("://") + 3)
        path_start = len(text) if path_start == -1 else path_start
    elif _SCP_LIKE.match(text):
        path_start = text.find(":")
    else:
        path_start = 0
    at = text.find("@", path_start)
    if at == -1:
        return text, None
    return text[:at], text[at + 1:] or None


def _local_path(text: str, base_dir: Path) -> Path:
    path = Path(text).expanduser()
    return (path if path.is_absolute() else base_dir / path).resolve()


def read_config_file(path: Path, clone=None) -> list[ResolvedProject]:
    """The projects of an ntp-toolkit config file (a JSON list of entries, or one entry)."""
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ProjectSpecError(f"{path}: not valid JSON ({error})") from error
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        raise ProjectSpecError(f"{path}: expected a non-empty JSON list of project entries")
    return [
        _resolve_entry(entry, Path(path).parent, f"{path}: entry {index}", clone or clone_at)
        for index, entry in enumerate(entries)
    ]


def _resolve_entry(entry, base_dir: Path, where: str, clone) -> ResolvedProject:
    """One ntp-toolkit config entry: ``repo`` (URL, GitHub ``owner/name`` or local path)
    with an optional ``commit``; a local directory without ``commit`` is used as it is."""
    if not isinstance(entry, dict):
        raise ProjectSpecError(f"{where}: expected an object with keys {', '.join(CONFIG_KEYS)}, got {entry!r}")
    if "repo" not in entry:
        present = ", ".join(sorted(entry)) or "none"
        raise ProjectSpecError(f"{where}: missing key 'repo' (the repository URL or path); keys given: {present}")
    unknown = sorted(set(entry) - set(CONFIG_KEYS))
    if unknown:
        logger.warning("%s: ignoring unknown keys %s", where, ", ".join(unknown))
    for key in ("repo", "commit", "lean", "name", "import_file"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise ProjectSpecError(f"{where}: {key!r} must be a string, got {entry[key]!r}")
    imports = entry.get("imports") or []
    if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
        raise ProjectSpecError(f"{where}: 'imports' must be a list of module names, got {imports!r}")
    repo, commit = entry["repo"], entry.get("commit")
    outputs = find_outputs(repo, base_dir)
    if outputs is not None:
        return _output_entry(outputs, entry, where)
    local = _local_path(repo, base_dir)
    if local.is_dir() and commit is None:
        project = _local_project(local, name=entry.get("name"))
    else:
        git = parse_git_spec(repo, base_dir)
        if git is None and local.is_dir():
            git = (str(local), None)
        elif git is None and _GITHUB_SHORTHAND.match(repo):
            git = (f"https://github.com/{repo}", None)
        elif git is None:
            raise ProjectSpecError(f"{where}: repo {repo!r} is neither a git URL, a GitHub owner/name nor a directory")
        url, rev = git
        project = _git_project(url, commit or rev, entry.get("name"), clone)
    return ResolvedProject(
        name=project.name, root=project.root, repo=project.repo, commit=project.commit,
        lean=project.lean or entry.get("lean"), import_file=entry.get("import_file"), imports=tuple(imports),
    )


def _output_project(name: str, output: NtpToolkitOutput) -> ResolvedProject:
    """The project of an ntp-toolkit base directory (``root``: its local directory, if it is one)."""
    local = Path(output.url)
    return ResolvedProject(name=name, root=local if local.is_absolute() and local.is_dir() else None, output=output)


def _output_entry(outputs: list[tuple[str, NtpToolkitOutput]], entry: dict, where: str) -> ResolvedProject:
    """The project of a config entry whose ``repo`` is ntp-toolkit output (one base directory)."""
    if entry.get("commit") is not None:
        raise ProjectSpecError(f"{where}: {entry['repo']!r} is ntp-toolkit output, which has no commit to check out "
                               "(a Hub revision goes in the URL: hf://datasets/owner/name@revision/path)")
    if len(outputs) != 1:
        names = ", ".join(name for name, _ in outputs)
        raise ProjectSpecError(f"{where}: {entry['repo']!r} holds several ntp-toolkit outputs ({names}); name one "
                               "base directory per entry")
    name, output = outputs[0]
    return _output_project(entry.get("name") or name, output)


def _local_project(path: Path, name: str | None = None) -> ResolvedProject:
    if not path.is_dir():
        raise ProjectSpecError(f"Lean project not found: {path} is not a directory")
    return ResolvedProject(name=name or path.name, root=path, lean=_toolchain_file(path))


def _git_project(url: str, rev: str | None, name: str | None, clone) -> ResolvedProject:
    root, commit = clone(url, rev)
    default_name = re.sub(r"\.git$", "", url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    return ResolvedProject(name=name or default_name, root=root, repo=url, commit=commit, lean=_toolchain_file(root))


def _toolchain_file(root: Path) -> str | None:
    path = root / "lean-toolchain"
    return path.read_text(encoding="utf-8").strip() or None if path.is_file() else None


# ---------------------------------------------------------------------------
# Git checkouts
# ---------------------------------------------------------------------------


def projects_dir() -> Path:
    """Where git checkouts of projects are kept (``$NTP_DATASETS_HOME/projects``)."""
    return ntp_home() / "projects"


def clone_at(url: str, rev: str | None = None) -> tuple[Path, str]:
    """Check out ``url`` at ``rev`` (a commit, branch or tag; None: HEAD) under
    :func:`projects_dir` and return (checkout directory, full commit id).

    A full commit id or a ref is fetched alone (``--depth 1``); when the server refuses
    that (or ``rev`` is an abbreviated commit) the whole history is fetched instead. The
    checkout is made in a temporary directory and renamed into place, so a directory there
    is always complete, and one at the same commit is reused without asking the server.
    A URL or revision that git could read as an option, or a URL carrying a password, is
    refused (:func:`check_git_source`)."""
    check_git_source(url, rev)
    commit = rev if rev and _FULL_SHA.match(rev) else _remote_commit(url, rev)
    dest = projects_dir() / _checkout_key(url, commit or rev)
    if dest.is_dir():
        return dest, run_git(["rev-parse", "HEAD"], cwd=dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    logger.info("Cloning %s at %s into %s", url, commit or rev, dest)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".clone-"))
    try:
        run_git(["init", "-q"], cwd=tmp)
        run_git(["remote", "add", "--", "origin", url], cwd=tmp)
        wanted = commit or rev
        try:
            run_git(["fetch", "-q", "--depth", "1", "--", "origin", wanted], cwd=tmp)
            run_git(["checkout", "-q", "--detach", "FETCH_HEAD"], cwd=tmp)
        except ProjectSpecError as shallow_error:
            logger.info("Fetching %s alone failed; fetching the whole repository (%s)", wanted, shallow_error)
            run_git(["fetch", "-q", "--tags", "--", "origin", "+refs/heads/*:refs/remotes/origin/*"], cwd=tmp)
            # `checkout -- X` would read X as a path; `wanted` was checked not to be an option.
            run_git(["checkout", "-q", "--detach", wanted], cwd=tmp)
        head = run_git(["rev-parse", "HEAD"], cwd=tmp)
        try:
            os.rename(tmp, dest)
        except OSError:
            if not dest.is_dir():  # not a concurrent clone that finished first
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        return dest, head
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass(frozen=True)
class ToolchainFit:
    """Why a ``@toolchain`` checkout is at ``commit`` (committed on ``date``): it is the
    default ``branch``'s newest commit whose ``lean-toolchain`` (``toolchain``) the Lean in
    use can build (``reason``). ``newer``: how many commits of the branch come after it
    (first parents); the next of them moves ``lean-toolchain`` to ``next_toolchain``, which
    does not fit (``next_reason``). Both empty when it is the branch's newest commit."""

    commit: str
    date: str
    branch: str
    toolchain: str
    reason: str
    newer: int = 0
    next_toolchain: str = ""
    next_reason: str = ""

    def sentence(self, url: str) -> str:
        """One line saying which commit was chosen and why."""
        line = (f"{url}@toolchain: {self.commit[:12]} ({self.date}) of {self.branch}: its lean-toolchain "
                f"{self.toolchain} fits ({self.reason})")
        if self.newer:
            line += (f"; the next commit moves it to {self.next_toolchain} ({self.next_reason}), "
                     f"{self.newer} newer commit{'s' if self.newer > 1 else ''} in all")
        else:
            line += "; it is the branch's newest commit"
        return line


def checkout_fitting_toolchain(url: str, lean: LeanInUse = EMBEDDED_LEAN, progress: bool = False) -> tuple[Path, str]:
    """Check out the newest commit of ``url``'s default branch whose ``lean-toolchain``
    ``lean`` can build (:meth:`LeanInUse.can_build`) under :func:`projects_dir`; return
    (checkout directory, full commit). The branch's whole history is fetched; commits are
    walked along its first parents, newest first, looking only at the commits just before
    each change of ``lean-toolchain``. Which commit was chosen and why is logged and shown
    (``progress``). Raises :class:`ProjectSpecError` when no commit fits."""
    check_git_source(url, None)
    projects_dir().mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=projects_dir(), prefix=".history-"))
    try:
        run_git(["init", "-q"], cwd=tmp)
        run_git(["remote", "add", "--", "origin", url], cwd=tmp)
        branch, ref = _fetch_default_branch(tmp)
        fit = choose_fitting_commit(tmp, ref, branch, lean)
        message = fit.sentence(url)
        logger.info("%s", message)
        say(message, progress)
        dest = projects_dir() / _checkout_key(url, fit.commit)
        if dest.is_dir():
            return dest, fit.commit
        run_git(["checkout", "-q", "--detach", fit.commit], cwd=tmp)
        try:
            os.rename(tmp, dest)
        except OSError:
            if not dest.is_dir():
                raise
        return dest, fit.commit
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fetch_default_branch(repo: Path) -> tuple[str, str]:
    """Fetch the remote's default branch with its history; (branch name, local ref). Only
    commits and trees come at first (``--filter=blob:none``, where the server allows it):
    git fetches the few files read later (``lean-toolchain``s, the chosen checkout) when
    they are read."""
    listing = run_git(["ls-remote", "--symref", "--", "origin", "HEAD"], cwd=repo)
    symref = re.search(r"^ref: refs/heads/(\S+)\tHEAD$", listing, re.M)
    if symref is None:  # a server that does not say which branch HEAD is
        run_git(["fetch", "-q", "--filter=blob:none", "--", "origin", "+HEAD:refs/remotes/origin/HEAD"], cwd=repo)
        return "HEAD", "refs/remotes/origin/HEAD"
    branch = symref.group(1)
    ref = f"refs/remotes/origin/{branch}"
    run_git(["fetch", "-q", "--filter=blob:none", "--", "origin", f"+refs/heads/{branch}:{ref}"], cwd=repo)
    return branch, ref


def choose_fitting_commit(repo: Path, ref: str, branch: str, lean: LeanInUse) -> ToolchainFit:
    """The newest commit of ``ref`` (first parents) whose ``lean-toolchain`` ``lean`` can
    build: ``ref`` itself, else the commit before each change of the file, newest first."""
    head = run_git(["rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=repo)
    changes = run_git(["log", "--first-parent", "--format=%H %P", ref, "--", "lean-toolchain"], cwd=repo).splitlines()
    candidates = [head] + [line.split()[1] for line in changes if len(line.split()) > 1]
    tried: list[tuple[str, str]] = []  # (toolchain, why it does not fit), newest first
    for commit in candidates:
        toolchain = _toolchain_at(repo, commit)
        fits, reason = lean.can_build(parse_version(toolchain))
        if fits:
            count = int(run_git(["rev-list", "--first-parent", "--count", f"{commit}..{head}"], cwd=repo))
            day = run_git(["log", "-1", "--format=%cs", commit], cwd=repo)
            # The commit after this one introduced the toolchain of the candidate tried last.
            return ToolchainFit(commit, day, branch, toolchain, reason, count, *(tried[-1] if tried else ("", "")))
        tried.append((toolchain or "no lean-toolchain", reason))
    raise ProjectSpecError(
        f"no commit of {branch} asks for a Lean that {lean.label} can build; lean-toolchain was, newest first: "
        + "; ".join(f"{toolchain} ({reason})" for toolchain, reason in tried)
        + ". Give a revision (URL@<commit>) or use a Lean that can build it")


def _toolchain_at(repo: Path, commit: str) -> str:
    """The ``lean-toolchain`` line at ``commit``; empty when the commit has none."""
    try:
        return run_git(["show", f"{commit}:lean-toolchain"], cwd=repo).strip()
    except ProjectSpecError:
        return ""


def _checkout_key(url: str, commit: str) -> str:
    """The directory name of a checkout of ``url`` at ``commit`` under :func:`projects_dir`."""
    return hashlib.sha256(f"{url}\0{commit}".encode()).hexdigest()[:16]


def check_git_source(url: str, rev: str | None) -> None:
    """Refuse what must never reach git: a URL or revision starting with ``-`` (git would take
    it for an option, e.g. ``--upload-pack=<command>``), and a URL with a password or token
    in it (it would be stored in the checkout's ``.git/config`` and shown in messages)."""
    for what, value in (("repository URL", url), ("revision", rev)):
        if value is not None and value.startswith("-"):
            raise ProjectSpecError(f"{what} {value!r} starts with '-': git would read it as an option; refused")
    parts = urlsplit(url)
    userinfo = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else None
    # Over SSH a user name (`ssh://git@host`) is no secret; over HTTP(S) it is often a token.
    if userinfo is not None and (":" in userinfo or parts.scheme != "ssh"):
        raise ProjectSpecError(
            f"repository URL {strip_credentials(url)} carries a password or token; remove it and let git find "
            "the credential (a credential helper, `git config --global credential.helper store`, or an SSH URL)")


def _remote_commit(url: str, rev: str | None) -> str | None:
    """The commit ``rev`` (a branch or tag; None: HEAD) names on the remote, or None when no
    ref has that name (an abbreviated commit id, resolved after fetching)."""
    refs = [line.split("\t", 1) for line in run_git(["ls-remote", "--", url, rev or "HEAD"]).splitlines()]
    # An annotated tag is listed twice; its peeled line (`^{}`) names the commit.
    peeled = [sha for sha, ref in refs if ref.endswith("^{}")]
    if peeled or refs:
        return (peeled or [refs[0][0]])[0]
    if rev is None:
        raise ProjectSpecError(f"git ls-remote {url}: the repository has no HEAD")
    return None


# ---------------------------------------------------------------------------
# Toolchain versions
# ---------------------------------------------------------------------------


def check_toolchain(project: ResolvedProject, toolchain: Toolchain) -> bool:
    """Log a warning when ``project`` asks for another Lean version than ``toolchain`` is;
    return whether they match (or cannot be compared). The build goes on either way."""
    mismatch = toolchain.mismatch(project.lean)
    if mismatch is None:
        return True
    lake_note = (
        " (natively, a Lake project runs under `lake env`, which elan points at its own toolchain)"
        if toolchain.kind == "native" else ""
    )
    logger.warning(
        "project %r asks for Lean %s (%s) but the toolchain in use is Lean %s (%s); building anyway%s. "
        "Modules may fail to elaborate or elaborate differently.",
        project.name, mismatch.wanted, mismatch.request, mismatch.used, mismatch.kind, lake_note,
    )
    return False

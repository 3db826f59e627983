"""Provenance of a dataset folder: where its projects came from, which Lean and extractor built
it, and when; never a local path and never a credential.

A project is recorded by its name, the SHA-256 of its content (``content_sha256``: its modules'
paths and bytes and the files that pick its toolchain and dependencies, as the build
fingerprints them) and its licence when a licence file names a known one; and besides:

* a project checked out from a git URL: the commit, and the URL if it is a network one
  (``https``, ``http``, ``ssh``, ``git``, or ``user@host:path``), without user name or password;
* a directory that is the top of a git work tree: its commit, whether it has uncommitted
  changes, and its ``origin`` remote if that is a network URL, without credentials;
* a directory inside another repository, or not in one: nothing else (the enclosing
  repository's commit and remote say nothing about the project and may name a local path).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from urllib.parse import urlsplit

from ntp_datasets.extraction import EXTRACTOR_VERSION
from ntp_datasets.project import LeanProject, ResolvedProject
from ntp_datasets.project.git import git_output, strip_credentials
from ntp_datasets.project.specs import parse_git_spec
from ntp_datasets.toolchain import ToolchainError, find_toolchain
from ntp_datasets.version import __version__

NETWORK_SCHEMES = ("https", "http", "ssh", "git")
"""URL schemes of remotes worth publishing (``file://`` and paths are local)."""

LICENSE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "COPYING", "COPYING.md")

_LICENSES = (
    ("apache-2.0", ("Apache License", "Version 2.0")),
    ("mpl-2.0", ("Mozilla Public License", "Version 2.0")),
    ("lgpl-3.0", ("GNU LESSER GENERAL PUBLIC LICENSE", "Version 3")),
    ("gpl-3.0", ("GNU GENERAL PUBLIC LICENSE", "Version 3")),
    ("gpl-2.0", ("GNU GENERAL PUBLIC LICENSE", "Version 2")),
    ("mit", ("Permission is hereby granted, free of charge",)),
    ("bsd-3-clause", ("Redistribution and use in source and binary forms", "Neither the name")),
    ("bsd-2-clause", ("Redistribution and use in source and binary forms",)),
    ("cc-by-4.0", ("Creative Commons Attribution 4.0",)),
    ("unlicense", ("This is free and unencumbered software released into the public domain",)),
)
"""Hub licence ids, and phrases whose presence (all of them) in a licence file names one (first match wins)."""


def network_url(url: str | None) -> str | None:
    """``url`` without credentials if it is a network URL, else None (a local path, ``file://``)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme in NETWORK_SCHEMES and parts.netloc:
        return strip_credentials(url)
    if not parts.scheme and "@" in url.split(":", 1)[0] and ":" in url and not Path(url).exists():
        return url.split("@", 1)[1]  # scp-like `user@host:path`: the user is dropped too
    return None


def project_license(root: Path) -> str | None:
    """The Hub licence id of the first licence file of the project (see :data:`_LICENSES`), or None."""
    for name in LICENSE_FILES:
        path = Path(root) / name
        if path.is_file():
            text = " ".join(path.read_text(encoding="utf-8", errors="replace")[:4000].split())
            for license_id, phrases in _LICENSES:
                if all(phrase.lower() in text.lower() for phrase in phrases):
                    return license_id
            return None
    return None


def _work_tree_provenance(directory: Path) -> dict:
    """Commit, uncommitted changes and network ``origin`` of ``directory`` if it is the top of a
    git work tree (empty if it is not, or lies inside another one)."""
    top = git_output(directory, "rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != Path(directory).resolve():
        return {}
    commit = git_output(directory, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if not commit:
        return {}
    info = {"git_commit": commit, "git_dirty": bool(git_output(directory, "status", "--porcelain"))}
    remote = network_url(git_output(directory, "config", "--get", "remote.origin.url"))
    if remote:
        info["git_remote"] = remote
    return info


def project_provenance(project: ResolvedProject) -> dict:
    """Where one resolved project came from (see the module docstring)."""
    info = {"name": project.name, "content_sha256": LeanProject(project.root).fingerprint()}
    if project.repo:
        if network_url(project.repo):
            info["repo"] = network_url(project.repo)
        info["git_commit"] = project.commit
    else:
        info.update(_work_tree_provenance(project.root))
    if project.lean:
        info["lean_toolchain"] = project.lean
    license_id = project_license(project.root)
    if license_id:
        info["license"] = license_id
    return info


def _spec_text(spec) -> str:
    """The project spec as recorded in the card: a git URL if it is a network one (without
    credentials), else a path's or repository's last component; a list element by element."""
    if spec is None:
        return "bundled sample project"
    if isinstance(spec, (list, tuple)):
        return ", ".join(_spec_text(item) for item in spec)
    if isinstance(spec, dict):
        return _spec_text(spec.get("name") or spec.get("repo"))
    text = str(spec)
    git = parse_git_spec(text) if isinstance(spec, str) else None
    if git is not None:
        url, rev = git
        shown = network_url(url) or _last_component(url)
        return shown + (f"@{rev}" if rev else "")
    return network_url(text) or _last_component(text)


def _last_component(location: str) -> str:
    return Path(location.rstrip("/").removeprefix("file://")).name or location


def describe_project(info: dict) -> str:
    """One line of the card for a project's provenance (see :func:`project_provenance`)."""
    parts = [info["repo"]] if info.get("repo") else []
    if info.get("git_commit"):
        parts.append(f"commit `{info['git_commit']}`" + (" (with uncommitted changes)" if info.get("git_dirty") else ""))
    if info.get("git_remote"):
        parts.append(f"remote {info['git_remote']}")
    if info.get("content_sha256"):
        parts.append(f"content SHA-256 `{info['content_sha256'][:16]}…`")
    if info.get("lean_toolchain"):
        parts.append(f"`lean-toolchain` `{info['lean_toolchain']}`")
    if info.get("license"):
        parts.append(f"licence `{info['license']}`")
    return ", ".join(parts) or "local directory"


def build_provenance(spec, configs: list[str], projects: list[ResolvedProject]) -> dict:
    """Everything that says how a folder was made: project, Lean, extractor, package, date."""
    try:
        toolchain = find_toolchain(install=False)
        lean = {"version": toolchain.version, "kind": toolchain.kind}
    except ToolchainError:
        lean = {"version": None, "kind": None}
    return {
        "spec": _spec_text(spec),
        "projects": [project_provenance(p) for p in projects],
        "lean": lean,
        "extractor_version": EXTRACTOR_VERSION,
        "ntp_datasets_version": __version__,
        "built_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "configs_requested": configs,
    }

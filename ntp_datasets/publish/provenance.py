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
import re
from pathlib import Path
from urllib.parse import urlsplit

from ntp_datasets.extraction import EXTRACTOR_VERSION
from ntp_datasets.project import LeanProject, ResolvedProject
from ntp_datasets.project.git import git_output, strip_credentials
from ntp_datasets.project.package import UNKNOWN_LICENSE, detect_license
from ntp_datasets.project.specs import parse_git_spec
from ntp_datasets.toolchain import ToolchainError, find_toolchain
from ntp_datasets.version import __version__

NETWORK_SCHEMES = ("https", "http", "ssh", "git")
"""URL schemes of remotes worth publishing (``file://`` and paths are local)."""


def network_url(url: str | None) -> str:
    """``url`` without user name or password if it is a network URL (``https``, ``http``,
    ``ssh``, ``git``, or scp-like ``user@host:path``), else "": a ``file://`` URL or a path is a
    local path, never published."""
    if not url:
        return ""
    text = url.removeprefix("git+")
    parts = urlsplit(text)
    if parts.scheme in NETWORK_SCHEMES and parts.netloc:
        return strip_credentials(text)
    if not parts.scheme and re.match(r"^[\w.-]+@[\w.-]+:", text) and not Path(text).exists():
        return text.split("@", 1)[1]  # scp-like `user@host:path`: the user is dropped too
    return ""


def project_license(root: Path) -> str | None:
    """The Hub licence id (the lower-case SPDX id) of the project's licence file
    (``package.detect_license``), or None when there is none or it is not recognised."""
    spdx, _ = detect_license(root)
    return None if spdx == UNKNOWN_LICENSE else spdx.lower()


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
    """Where one resolved project came from (see the module docstring); for ntp-toolkit output,
    where its rows were read (a local directory by its name)."""
    info = {"name": project.name}
    if project.output is not None:
        local = project.root is not None
        info["ntp_toolkit_output"] = project.root.name if local else strip_credentials(project.output.url)
        return info
    info["content_sha256"] = LeanProject(project.root).fingerprint()
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


def package_provenance(project: ResolvedProject, lean_project: LeanProject) -> list[dict]:
    """The Lake packages a project's build used, root first: name, repository URL (a network
    URL without credentials; empty for a local repository, a local directory or a path
    dependency: no local path is recorded), revision and licence (the SPDX id of its licence
    file, else ``unknown``)."""
    packages = []
    if lean_project.package is not None:
        packages.append({"name": lean_project.package.name, "root": True, "url": network_url(project.repo),
                         "rev": project.commit or "", "license": lean_project.package.license})
    for dependency in lean_project.dependencies:
        packages.append({"name": dependency.name, "root": False, "url": network_url(dependency.url),
                         "rev": dependency.rev, "license": dependency.license})
    return packages


def describe_package(package: dict) -> str:
    """One line of the card for a package (see :func:`package_provenance`)."""
    parts = [package["url"] or "local"] + ([f"commit `{package['rev']}`"] if package["rev"] else [])
    return ", ".join(parts) + f", licence {package['license']}"


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


def _packages(project: ResolvedProject, lean_project) -> dict:
    if lean_project is None or lean_project.package is None:
        return {}
    return {"packages": package_provenance(project, lean_project)}


def describe_project(info: dict) -> str:
    """One line of the card for a project's provenance (see :func:`project_provenance`)."""
    if info.get("ntp_toolkit_output"):
        return f"rows read from ntp-toolkit output `{info['ntp_toolkit_output']}` (no Lean ran)"
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


def build_provenance(spec, configs: list[str], projects: list[ResolvedProject],
                     lean_projects: dict | None = None) -> dict:
    """Everything that says how a folder was made: project (and, from ``lean_projects``, its
    name -> ``LeanProject``, the Lake packages it used), Lean, extractor, ntp-datasets, date (no
    Lean when every project is ntp-toolkit output: none ran)."""
    lean = {"version": None, "kind": None}
    if any(p.output is None for p in projects):
        try:
            toolchain = find_toolchain(install=False)
            lean = {"version": toolchain.version, "kind": toolchain.kind}
        except ToolchainError:
            pass
    return {
        "spec": _spec_text(spec),
        "projects": [{**project_provenance(p), **_packages(p, (lean_projects or {}).get(p.name))} for p in projects],
        "lean": lean,
        "extractor_version": EXTRACTOR_VERSION,
        "ntp_datasets_version": __version__,
        "built_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "configs_requested": configs,
    }

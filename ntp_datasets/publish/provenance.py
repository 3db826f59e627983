"""Provenance of a dataset folder: where its projects came from (never a local path, never a
credential), which Lean and extractor built it, and when."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from ntp_datasets.extraction import EXTRACTOR_VERSION
from ntp_datasets.project import LeanProject, ResolvedProject
from ntp_datasets.project.git import git_output, strip_credentials
from ntp_datasets.toolchain import ToolchainError, find_toolchain
from ntp_datasets.version import __version__


def git_provenance(directory: Path) -> dict:
    """Commit, uncommitted changes and origin of the git checkout holding ``directory`` (empty if none)."""
    commit = git_output(directory, "rev-parse", "HEAD")
    if not commit:
        return {}
    info = {"git_commit": commit, "git_dirty": bool(git_output(directory, "status", "--porcelain", "--", "."))}
    remote = git_output(directory, "config", "--get", "remote.origin.url")
    if remote:
        info["git_remote"] = strip_credentials(remote)
    return info


def project_provenance(project) -> dict:
    """Where one resolved project (``specs.ResolvedProject``) came from. A local directory is
    recorded by its name, not its path (a path says nothing to the card's readers), plus the
    commit of the git checkout holding it; a cloned one by its repository and commit."""
    info = {"name": project.name}
    if project.output is not None:
        # ntp-toolkit output: where its rows were read (a local directory by its name).
        local = project.root is not None
        info["ntp_toolkit_output"] = project.root.name if local else strip_credentials(project.output.url)
        return info
    if project.repo:
        info.update(repo=strip_credentials(project.repo), git_commit=project.commit)
    else:
        info.update(git_provenance(project.root))
    if project.lean:
        info["lean_toolchain"] = project.lean
    return info


_NETWORK_SCHEMES = ("https://", "http://", "ssh://", "git://")


def network_url(url: str | None) -> str:
    """``url`` without credentials when it is a network address (``https://``, ``ssh://``,
    ``git@host:path``), else "": a ``file://`` URL or a path is a local path, never published."""
    if not url:
        return ""
    text = url.removeprefix("git+")
    if text.startswith(_NETWORK_SCHEMES) or re.match(r"^[\w.-]+@[\w.-]+:", text):
        return strip_credentials(text)
    return ""


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
    """The project spec as recorded in the card: local paths by their last component, URLs
    without credentials, a list element by element."""
    if spec is None:
        return "bundled sample project"
    if isinstance(spec, (list, tuple)):
        return ", ".join(_spec_text(item) for item in spec)
    if isinstance(spec, dict):
        return _spec_text(spec.get("name") or spec.get("repo"))
    if isinstance(spec, (str, Path)) and Path(spec).exists():
        return Path(spec).name
    return strip_credentials(str(spec))


def _packages(project: ResolvedProject, lean_project) -> dict:
    if lean_project is None or lean_project.package is None:
        return {}
    packages = package_provenance(project, lean_project)
    return {"packages": packages, "license": packages[0]["license"]}


def describe_project(info: dict) -> str:
    """One line of the card for a project's provenance (see :func:`project_provenance`)."""
    if info.get("ntp_toolkit_output"):
        return f"rows read from ntp-toolkit output `{info['ntp_toolkit_output']}` (no Lean ran)"
    parts = [info["repo"]] if info.get("repo") else []
    if info.get("git_commit"):
        parts.append(f"commit `{info['git_commit']}`" + (" (with uncommitted changes)" if info.get("git_dirty") else ""))
    if info.get("git_remote"):
        parts.append(f"remote {info['git_remote']}")
    if info.get("lean_toolchain"):
        parts.append(f"`lean-toolchain` `{info['lean_toolchain']}`")
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

"""A Lake package's dependencies as source trees: what the root package's modules may import.

Every package ``lake-manifest.json`` lists (transitive ones too), or, without a manifest, every
``require`` with its revision (and theirs, transitively), becomes a :class:`Dependency`: its
directory and its own :class:`~ntp_datasets.project.package.LakePackage`. The directory is

* ``.lake/packages/<name>`` when it is there (as ``lake update`` leaves it; a git checkout at
  another revision than the manifest's is used with a warning naming both);
* a path dependency's directory;
* else, where fetching is allowed (the WebAssembly Lean, which has no Lake), a checkout of the
  package's repository at the manifest's revision through the project's git code
  (:func:`~ntp_datasets.project.specs.clone_at`: cached under ``$NTP_DATASETS_HOME/projects`` by
  URL and commit, never an option-like argument, no prompts, no credentials kept).

A dependency that cannot be had is one :class:`DependencyError` naming the package, its URL,
its revision and the fix. Natively Lake fetches and builds dependencies itself; its
``.lake/packages`` must hold them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ntp_datasets.errors import DependencyError, ProjectSpecError
from ntp_datasets.project.git import git_output
from ntp_datasets.project.package import LakePackage, ManifestPackage, read_package
from ntp_datasets.project.specs import clone_at

logger = logging.getLogger(__name__)

LEGACY_PACKAGES_DIR = "lake-packages"
"""Where Lake kept dependencies before Lean 4.3 (``.lake/packages`` since)."""


@dataclass(frozen=True)
class Dependency:
    """One package the root package depends on, with the source tree its modules come from.

    ``url``/``rev``: its repository and the commit it is at (``rev`` the manifest's, or the
    checkout's); both empty for a path dependency. ``input_rev``: the revision the lakefile asked
    for. ``source``: where the tree came from (``.lake/packages``, ``path`` or ``checkout``)."""

    name: str
    root: Path
    package: LakePackage
    url: str = ""
    rev: str = ""
    input_rev: str = ""
    scope: str = ""
    source: str = ""

    @property
    def license(self) -> str:
        """The SPDX id of its licence (``unknown`` when none is recognised)."""
        return self.package.license


Clone = Callable[[str, "str | None"], "tuple[Path, str]"]
"""Checks out ``(url, rev)``; returns the directory and the full commit (``clone_at``)."""


def resolve_dependencies(package: LakePackage, *, fetch: bool = True, clone: Clone | None = None) -> list[Dependency]:
    """The dependencies of ``package`` (see the module docstring), in the manifest's order (or
    depth first through the ``require``s). ``fetch``: check out what is not on disk (else that
    is a :class:`DependencyError`); ``clone``: how (default :func:`clone_at`)."""
    clone = clone or clone_at
    if package.manifest is None:
        return _required(package, fetch, clone)
    return [_source(package, entry, fetch, clone) for entry in package.manifest.packages]


def _packages_dir(package: LakePackage) -> Path:
    manifest_dir = package.manifest.packages_dir if package.manifest is not None else ".lake/packages"
    return package.root / manifest_dir


def _source(package: LakePackage, entry: ManifestPackage, fetch: bool, clone: Clone) -> Dependency:
    """Where the dependency ``entry`` of ``package`` is (see the module docstring)."""
    fields = {"url": entry.url, "rev": entry.rev, "input_rev": entry.input_rev, "scope": entry.scope}
    if entry.type == "path":
        root = (package.root / entry.dir).resolve()
        if not root.is_dir():
            raise DependencyError(f"{package.name} requires {entry.name} from the path {entry.dir}, which is not a "
                                  f"directory ({root})")
        return _dependency(entry.name, root, "path", url="", rev="", input_rev="", scope=entry.scope)
    for packages_dir in (_packages_dir(package), package.root / LEGACY_PACKAGES_DIR):
        here = packages_dir / entry.name
        if here.is_dir():
            head = git_output(here, "rev-parse", "HEAD")
            if head and entry.rev and head != entry.rev:
                logger.warning("%s: %s is at commit %s, but lake-manifest.json pins %s; using it as it is (run "
                               "`lake update %s`, or `git -C %s checkout %s`, to build the pinned one)", package.name,
                               here, head, entry.rev, entry.name, here, entry.rev)
                fields["rev"] = head
            return _dependency(entry.name, _sub_dir(here, entry), ".lake/packages", **fields)
    if not fetch:
        raise DependencyError(
            f"{package.name} requires {entry.name} ({entry.url} at {entry.rev or entry.input_rev or 'its HEAD'}), "
            f"which is not in {_packages_dir(package)} (Lake has not fetched it): run `lake build` (or `lake update`) "
            f"in {package.root}, then build again")
    try:
        checkout, commit = clone(entry.url, entry.rev or entry.input_rev or None)
    except ProjectSpecError as error:
        raise DependencyError(
            f"{package.name} requires {entry.name} ({entry.url} at {entry.rev or entry.input_rev or 'its HEAD'}), "
            f"which could not be checked out: {error}\nFix: with network, build again (or run `lake update` in "
            f"{package.root} once); without it, put a checkout of {entry.name} at that revision in "
            f"{_packages_dir(package) / entry.name}") from None
    return _dependency(entry.name, _sub_dir(checkout, entry), "checkout", **{**fields, "rev": commit})


def _sub_dir(directory: Path, entry: ManifestPackage) -> Path:
    return directory / entry.sub_dir if entry.sub_dir else directory


def _dependency(name: str, root: Path, source: str, **fields) -> Dependency:
    package = read_package(root)
    if package is None:
        raise DependencyError(f"the dependency {name} at {root} has no lakefile (lakefile.toml or lakefile.lean)")
    return Dependency(name=name, root=root, package=package, source=source, **fields)


def _required(package: LakePackage, fetch: bool, clone: Clone) -> list[Dependency]:
    """Without a manifest: the ``require``s of ``package`` and, depth first, of its
    dependencies (a name met again is skipped, as Lake resolves each package once)."""
    found: list[Dependency] = []
    seen: set[str] = set()

    def visit(owner: LakePackage) -> None:
        for require in owner.requires:
            if require.name in seen:
                continue
            seen.add(require.name)
            if require.path:
                entry = ManifestPackage(require.name, "path", dir=str((owner.root / require.path).resolve()),
                                        scope=require.scope)
            elif require.git:
                entry = ManifestPackage(require.name, "git", url=require.git, input_rev=require.rev,
                                        sub_dir=require.subdir, scope=require.scope)
            else:
                raise DependencyError(
                    f"{owner.name} requires {require.describe()} from Reservoir without a git URL; ntp-datasets "
                    f"cannot look packages up there: run `lake update` once (it writes lake-manifest.json), or "
                    f"write the package's git URL in the require")
            dependency = _source(package, entry, fetch, clone)
            found.append(dependency)
            visit(dependency.package)

    visit(package)
    return found


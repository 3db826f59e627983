"""A project's dependencies as its lakefile declares them, and whether a build can have them.

Lake packages name their dependencies with ``require``: in ``lakefile.lean``
(``require mathlib from git "URL" @ "REV"``, ``require "scope" / "name" @ git "REV"``,
``require foo from "../foo"``) or in ``lakefile.toml`` (``[[require]]`` tables with ``name``,
``git`` or ``path``, ``rev``, ``scope``). Lake fetches them into ``.lake/packages/<name>``
(``lake-packages/<name>`` before Lean 4.3). The WebAssembly Lean has no Lake and no packages
beyond its own library (``Init``, ``Std``, ``Lean``, ``Lake``), so a project with
dependencies needs a native Lean whose Lake has fetched and built them.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ntp_datasets.errors import DependencyError
from ntp_datasets.toolchain import Toolchain

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TOOLCHAIN_LIBRARY = ("Init", "Std", "Lean", "Lake")
"""What every Lean toolchain provides without any package."""

_PACKAGE_DIRS = (".lake/packages", "lake-packages")

_BLOCK_COMMENT = re.compile(r"/-.*?-/", re.S)
_LINE_COMMENT = re.compile(r"--[^\n]*")
_STRING = r'"(?:[^"\\]|\\.)*"'
_NAME = r'«[^»]*»|"(?:[^"\\]|\\.)*"|[^\s@"«]+'
_REQUIRE = re.compile(rf'^require\s+(?:(?P<scope>{_STRING})\s*/\s*)?(?P<name>{_NAME})(?P<rest>.*)', re.S)
_GIT = re.compile(rf'\bfrom\s+git\s+(?P<url>{_STRING})(?:\s*@\s*(?P<rev>{_STRING}))?(?:\s*/\s*(?P<subdir>{_STRING}))?')
_PATH = re.compile(rf'\bfrom\s+(?P<path>{_STRING}(?:\s*/\s*{_STRING})*)')
_VERSION = re.compile(rf'^\s*@\s*(?:git\s+)?(?P<rev>{_STRING})')


@dataclass(frozen=True)
class Require:
    """One dependency a lakefile declares."""

    name: str
    scope: str = ""
    """The Reservoir owner (``require "scope" / "name"``), if given."""
    git: str = ""
    """The repository URL, for a git dependency."""
    path: str = ""
    """The directory (relative to the project), for a local dependency."""
    rev: str = ""
    """The revision (commit, branch or tag), if given."""

    def describe(self) -> str:
        """``name`` with where it comes from, as one phrase."""
        where = f"git {self.git}" if self.git else f"path {self.path}" if self.path else \
            f"Reservoir {self.scope}/{self.name}" if self.scope else ""
        if self.rev:
            where += f" @ {self.rev}"
        return f"{self.name} ({where.strip()})" if where.strip() else self.name


def _unquote(text: str) -> str:
    text = text.strip()
    if text.startswith("«") and text.endswith("»"):
        return text[1:-1]
    if text.startswith('"') and text.endswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _lean_statements(text: str) -> list[str]:
    """The ``require`` commands of a ``lakefile.lean`` (comments removed), each with its
    continuation lines (the indented lines after it)."""
    text = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", text))
    statements, current = [], None
    for line in text.splitlines():
        if line[:1].strip():  # a line starting a command
            if current is not None:
                statements.append(current)
            current = line if line.startswith("require") and line[7:8].isspace() else None
        elif current is not None:
            current += "\n" + line
    if current is not None:
        statements.append(current)
    return statements


def parse_lakefile_lean(text: str) -> list[Require]:
    """The ``require``s of a ``lakefile.lean``."""
    requires = []
    for statement in _lean_statements(text):
        match = _REQUIRE.match(statement)
        if not match:
            continue
        rest = match.group("rest")
        name, scope = _unquote(match.group("name")), _unquote(match.group("scope") or "")
        if git := _GIT.search(rest):
            requires.append(Require(name, scope, git=_unquote(git.group("url")), rev=_unquote(git.group("rev") or "")))
        elif path := _PATH.search(rest):
            parts = re.findall(_STRING, path.group("path"))
            requires.append(Require(name, scope, path="/".join(_unquote(p) for p in parts)))
        else:
            version = _VERSION.match(rest)
            requires.append(Require(name, scope, rev=_unquote(version.group("rev")) if version else ""))
    return requires


def parse_lakefile_toml(text: str) -> list[Require]:
    """The ``[[require]]`` tables of a ``lakefile.toml``."""
    requires = []
    for table in tomllib.loads(text).get("require", []):
        git = table.get("git", "")
        if isinstance(git, dict):  # git = {url = "...", subDir = "..."}
            git = git.get("url", "")
        requires.append(Require(str(table.get("name", "")), str(table.get("scope", "")), git=str(git),
                                path=str(table.get("path", "")), rev=str(table.get("rev") or table.get("version") or "")))
    return requires


def read_requires(root: str | Path) -> list[Require]:
    """The dependencies the lakefile of the project at ``root`` declares (``lakefile.lean``
    is read when both exist, as Lake does); none without a lakefile."""
    root = Path(root)
    lean, toml = root / "lakefile.lean", root / "lakefile.toml"
    if lean.is_file():
        return parse_lakefile_lean(lean.read_text(encoding="utf-8", errors="replace"))
    if toml.is_file():
        try:
            return parse_lakefile_toml(toml.read_text(encoding="utf-8", errors="replace"))
        except tomllib.TOMLDecodeError as exc:
            raise DependencyError(f"{toml} is not valid TOML: {exc}") from None
    return []


def package_dir(root: Path, require: Require) -> Path | None:
    """Where the dependency is in the project, or None when it is not there (Lake has not
    fetched it): ``.lake/packages/<name>`` (``lake-packages/<name>`` on old Lake), or its
    path for a local dependency."""
    if require.path:
        candidate = (root / require.path).resolve()
        return candidate if candidate.is_dir() else None
    for packages in _PACKAGE_DIRS:
        candidate = root / packages / require.name
        if candidate.is_dir():
            return candidate
    return None


_NATIVE_FIX = ("install Lean with elan (https://github.com/leanprover/elan), run `lake exe cache get` (for "
               "Mathlib's prebuilt files) and `lake build` in the project, which fetch the dependencies into "
               "its .lake/packages and build them, then run ntp-datasets on that directory with `lean` on PATH")


def check_dependencies(root: str | Path, toolchain: Toolchain, project_name: str = "") -> None:
    """Raise :class:`DependencyError` (one message naming the packages and the fix) when the
    project at ``root`` requires a package the build cannot have: with a toolchain that is
    not a native Lean with Lake, any package (only ``Init``, ``Std``, ``Lean`` and ``Lake``
    exist); natively, one that is not in the project (Lake has not fetched it)."""
    root = Path(root)
    requires = read_requires(root)
    if not requires:
        return
    label = f"project {project_name!r}" if project_name else f"the project at {root}"
    names = ", ".join(r.describe() for r in requires)
    if toolchain.kind != "native":
        what = "the WebAssembly Lean" if toolchain.is_wasm else f"the {toolchain.kind} toolchain"
        raise DependencyError(
            f"{label} requires {names} (lakefile), which {what} cannot provide: it has no Lake and no packages beyond "
            f"{', '.join(TOOLCHAIN_LIBRARY)}. To build it, {_NATIVE_FIX}.")
    missing = [r for r in requires if package_dir(root, r) is None]
    if missing:
        raise DependencyError(
            f"{label} requires {', '.join(r.describe() for r in missing)} (lakefile), which is not in {root}/.lake/packages "
            f"(Lake has not fetched it). Run `lake build` in {root} (and `lake exe cache get` first for Mathlib), "
            "then run ntp-datasets on that directory again.")

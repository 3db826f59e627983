"""A Lean project on disk: its modules, their imports, and an import order.

A directory with a lakefile is a Lake package (:mod:`ntp_datasets.project.package`): its
modules are named as Lake names them and are those its targets build, with their imports
inside the package; a directory without one is every ``.lean`` file, named by its path.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ntp_datasets.errors import ProjectError
from ntp_datasets.project.dependencies import Clone, Dependency, resolve_dependencies
from ntp_datasets.project.lakefile import LeanExeConfig, LeanLibConfig
from ntp_datasets.project.package import LakePackage, LeanSettings, read_package

# Directories that hold dependencies or build outputs, never the project's own modules.
_SKIPPED_DIRS = {".lake", "lake-packages", "build", ".git"}
# Files besides the modules whose content changes what extraction produces.
_FINGERPRINTED_FILES = ("lean-toolchain", "lakefile.lean", "lakefile.toml", "lake-manifest.json")
# A name component is an identifier or anything but `»` between guillemets (`«With Space»`).
_NAME_COMPONENT = r"(?:«[^»\n]*»|[^\s.«»]+)"
_IMPORT_LINE = re.compile(
    rf"^\s*(?:public\s+|private\s+)?(?:meta\s+)?import\s+(?:all\s+)?({_NAME_COMPONENT}(?:\.{_NAME_COMPONENT})*)")
_COMPONENT = re.compile(_NAME_COMPONENT)
_BLOCK_COMMENT = re.compile(r"/-.*?-/", re.S)
_LINE_COMMENT = re.compile(r"--[^\n]*")
_HEADER_END = re.compile(r"^\s*(?!import\b|public\b|private\b|meta\b|module\b|prelude\b)\S", re.M)


@dataclass(frozen=True)
class LeanModule:
    """One `.lean` file of a project."""

    name: str
    path: Path
    relpath: str
    imports: tuple[str, ...]
    is_module_file: bool = False
    encoding_error: str | None = None
    """Why the file is not valid UTF-8 (None when it is)."""
    refused: str | None = None
    """Why the file is not read at all (a symlink leaving the project); None when it is read."""
    package: str = ""
    """The Lake package the module belongs to (its name); empty without a lakefile."""
    target: str = ""
    """The ``lean_lib`` or ``lean_exe`` that builds the module (for a file no target builds:
    the library that would own it under its name, if any); empty without a lakefile."""
    in_target: bool = True
    """False for a file no target of the package builds (nor imports): extracted only when
    asked (``include_untargeted``)."""
    settings: LeanSettings = field(default_factory=LeanSettings)
    """The Lean options and arguments Lake would elaborate the module with (its package's,
    then its target's); empty without a lakefile."""

    def content_hash(self) -> str:
        """SHA-256 of the file's bytes (of the refusal, for a file that is not read)."""
        data = self.refused.encode() if self.refused else self.path.read_bytes()
        return hashlib.sha256(data).hexdigest()


def module_name(relpath: Path) -> str:
    """`Sample/Basic.lean` -> `Sample.Basic`."""
    return ".".join(relpath.with_suffix("").parts)


def is_module_file(source: str) -> bool:
    """Whether a Lean file opts into the module system (its header starts with `module`)."""
    text = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", source))
    return re.match(r"\s*module\b", text) is not None


def parse_imports(source: str) -> tuple[str, ...]:
    """Module names imported by a Lean file's header (comments ignored), written as
    :func:`module_name` writes them: `import A.«B C»` -> `A.B C`."""
    text = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", source))
    end = _HEADER_END.search(text)
    header = text[: end.start()] if end else text
    return tuple(_unquote(m.group(1)) for line in header.splitlines() if (m := _IMPORT_LINE.match(line)))


def _unquote(name: str) -> str:
    """`A.«B C»` -> `A.B C`: the guillemets only quote a component."""
    return ".".join(c.removeprefix("«").removesuffix("»") for c in _COMPONENT.findall(name))


def utf8_error(relpath: str, data: bytes) -> str | None:
    """Where ``data`` (the bytes of file ``relpath``) stops being UTF-8, as a sentence; None
    when it is valid UTF-8 (Lean reads only UTF-8)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return (f"{relpath} is not UTF-8: byte 0x{data[error.start]:02x} at byte offset {error.start} "
                f"(line {line}) is {error.reason}; Lean reads only UTF-8 (re-encode the file)")
    return None


class LeanProject:
    """The modules of a Lean project rooted at ``root``.

    Without a lakefile (and no ``package``): every ``.lean`` file outside ``.lake``,
    ``lake-packages``, ``build`` and ``.git``, named by its path (``Sample/Basic.lean`` is
    ``Sample.Basic``).

    A Lake package (``package``, else :func:`~ntp_datasets.project.package.read_package`
    of ``root``): the modules its targets build (every ``lean_lib``'s glob matches, every
    ``lean_exe``'s root) and, transitively, the modules they import that a library of the
    package owns (Lake's rule: :meth:`LakePackage.owning_lib`), each named as Lake names it
    (relative to its target's source directory) and carrying its ``package``, ``target`` and
    Lean ``settings``. Other ``.lean`` files are listed in :attr:`untargeted` (named relative
    to the innermost source directory holding them) and elaborated only with
    ``include_untargeted=True`` (``in_target`` False). A module a target names or an import
    reaches whose file does not exist is listed in :attr:`missing`; its importers fail as
    ``missing_import`` before Lean starts (:meth:`problems`).
    """

    def __init__(self, root: str | Path, package: LakePackage | None = None, *, include_untargeted: bool = False,
                 dependencies: Sequence[Dependency] = ()):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ProjectError(f"Lean project directory not found: {self.root}")
        self.package = package if package is not None else read_package(self.root)
        self.include_untargeted = include_untargeted
        self.dependencies = tuple(dependencies)
        """The packages the root package depends on, with their source trees: the modules of
        theirs that the root package's modules import (transitively) are modules here too, with
        their own ``package`` (see ``dependencies.py``)."""
        self.collisions: dict[str, list[str]] = {}
        self.missing: dict[str, str] = {}
        """Module name -> why it has no file (which target names it, or which module imports it)."""
        self.untargeted: dict[str, LeanModule] = {}
        """Files no target builds, by name (empty with ``include_untargeted``: they are modules then)."""
        self.modules = self._discover() if self.package is None else self._discover_package(self.package)
        if not self.modules:
            if self.package is None:
                raise ProjectError(f"No .lean files in {self.root} (nor is it ntp-toolkit output: it holds none of the "
                                   "task folders TacticPrediction, FullProof, ...)")
            raise ProjectError(
                f"{self.package.describe()} at {self.root}: its targets build no module whose file exists"
                + (f" ({len(self.untargeted)} .lean files are not part of a target; include_untargeted=True "
                   "extracts them)" if self.untargeted else ""))

    @classmethod
    def from_package(cls, package: LakePackage, *, include_untargeted: bool = False,
                     dependencies: Sequence[Dependency] = ()) -> LeanProject:
        """The modules of ``package`` (see the class docstring), and those of ``dependencies``
        that they import."""
        return cls(package.root, package, include_untargeted=include_untargeted, dependencies=dependencies)

    def _read_module(self, path: Path, name: str, root: Path | None = None, **fields) -> LeanModule:
        """The module ``name`` whose file is ``path``, its ``relpath`` relative to ``root`` (its
        package's directory; default: the project's); a file that resolves outside that
        directory (through a symlink) is not read (``refused``)."""
        root = root or self.root
        rel = path.relative_to(root).as_posix()
        target = path.resolve()
        if not target.is_relative_to(root):
            return LeanModule(name, path, rel, (), refused=(
                f"{rel} leads outside the project (to {target}); it is not read"), **fields)
        data = path.read_bytes()
        # A byte-order mark is not text: the header starts after it (Lean never sees it).
        text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
        return LeanModule(name, path, rel, parse_imports(text), is_module_file(text), utf8_error(rel, data), **fields)

    def _project_files(self):
        """Every ``.lean`` file of the project outside dependency and build directories, as
        (path, path relative to the root), sorted."""
        for path in sorted(self.root.rglob("*.lean")):
            rel = path.relative_to(self.root)
            if not (_SKIPPED_DIRS.intersection(rel.parts[:-1]) or rel.name.startswith("lakefile")):
                yield path, rel

    def _discover(self) -> dict[str, LeanModule]:
        """The project's modules by name. Files naming the same module (`A/B.lean` and
        `A.B.lean`) are kept as the first one, the others noted in ``self.collisions``."""
        modules: dict[str, LeanModule] = {}
        for path, rel in self._project_files():
            name = module_name(rel)
            if name in modules:
                self.collisions.setdefault(name, [modules[name].relpath]).append(rel.as_posix())
                continue
            modules[name] = self._read_module(path, name)
        return modules

    def _discover_package(self, package: LakePackage) -> dict[str, LeanModule]:
        """The package's modules by Lake name: its targets' modules and their in-package
        import closure (then, with ``include_untargeted``, every other file)."""
        modules: dict[str, LeanModule] = {}
        queue: list[LeanModule] = []

        def add(name: str, path: Path, target: LeanLibConfig | LeanExeConfig | None, why: str,
                in_target: bool = True) -> None:
            if name in modules:
                if modules[name].path != path:
                    self.collisions.setdefault(name, [modules[name].relpath]).append(self._relative(path))
                return
            if not path.is_file():
                self.missing.setdefault(name, f"{self._relative(path)} does not exist ({why})")
                return
            module = self._read_module(path, name, package=package.name, target=target.name if target else "",
                                       in_target=in_target, settings=package.settings_for(target))
            modules[name] = module
            queue.append(module)

        def add_dependency_module(name: str, importer: LeanModule) -> None:
            for dependency in self.dependencies:
                lib = dependency.package.owning_lib(name)
                if lib is None:
                    continue
                path = dependency.package.module_path(name, lib)
                if not path.is_file():
                    self.missing.setdefault(name, f"{path} does not exist ({importer.relpath} imports it and lean_lib "
                                                  f"{lib.name} of {dependency.name} owns it)")
                    return
                module = self._read_module(path, name, root=dependency.root, package=dependency.name, target=lib.name,
                                           settings=dependency.package.settings_for(lib))
                modules[name] = module
                queue.append(module)
                return

        def close_imports() -> None:
            while queue:
                module = queue.pop(0)
                owner = package if module.package == package.name else self._dependency_package(module.package)
                for name in module.imports:
                    lib = owner.owning_lib(name)
                    if lib is not None and owner is package:
                        add(name, package.module_path(name, lib), lib,
                            f"{module.relpath} imports it and lean_lib {lib.name} owns it", module.in_target)
                    elif name not in modules and name not in self.missing:
                        add_dependency_module(name, module)

        for built in package.target_modules():
            target = package.lib(built.target) if built.kind == "lean_lib" else package.exe(built.target)
            add(built.name, built.path, target, f"{built.kind} {built.target} builds it")
        close_imports()
        others = self._untargeted(package, {m.path for m in modules.values()})
        for name, path, lib in others:
            if self.include_untargeted:
                add(name, path, lib, "not part of a target", in_target=False)
            elif name not in self.untargeted:
                self.untargeted[name] = self._read_module(
                    path, name, package=package.name, target=lib.name if lib else "", in_target=False,
                    settings=package.settings_for(lib))
        close_imports()
        return modules

    def _dependency_package(self, name: str) -> LakePackage:
        return next(d.package for d in self.dependencies if d.name == name)

    def _untargeted(self, package: LakePackage, taken: set[Path]) -> list[tuple[str, Path, LeanLibConfig | None]]:
        """(name, file, owning library or None) of each project file no module above is: named
        relative to the innermost source directory (a target's, the package's, the root) that
        holds it; the library is the one that would build it under that name."""
        directories = sorted({self.root, package.src_path, *(package.target_dir(t) for t in
                                                               (*package.lean_libs, *package.lean_exes))},
                             key=lambda d: len(d.parts), reverse=True)
        found = []
        for path, _ in self._project_files():
            if path in taken:
                continue
            base = next(d for d in directories if path.is_relative_to(d))
            name = module_name(path.relative_to(base))
            lib = package.owning_lib(name)
            found.append((name, path, lib if lib is not None and package.module_path(name, lib) == path else None))
        return found

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)

    @property
    def toolchain_request(self) -> str | None:
        """The project's `lean-toolchain` line, if any."""
        f = self.root / "lean-toolchain"
        return f.read_text().strip() if f.exists() else None

    @property
    def has_lakefile(self) -> bool:
        """Whether the project is a Lake package."""
        return any((self.root / n).exists() for n in ("lakefile.lean", "lakefile.toml"))

    def import_order(self) -> list[LeanModule]:
        """The project's modules with every module after the project modules it imports.
        Ties are broken by name, so the order does not depend on the file system. Modules of
        an import cycle (see :meth:`import_cycles`) are ordered as if the edge closing the
        cycle were not there."""
        return self._walk()[0]

    def project_imports(self) -> dict[str, tuple[str, ...]]:
        """Every module's project modules that it imports, directly or through other project
        modules, in import order."""
        order = [m.name for m in self.import_order()]
        position = {name: i for i, name in enumerate(order)}
        closure: dict[str, set[str]] = {}
        for name in order:  # a module's project imports come before it
            found = set()
            for dep in self.modules[name].imports:
                if dep in self.modules and dep != name:
                    found.add(dep)
                    found |= closure.get(dep, set())
            closure[name] = found
        return {name: tuple(sorted(found, key=position.__getitem__)) for name, found in closure.items()}

    def import_cycles(self) -> dict[str, str]:
        """Every module that is part of an import cycle, with the cycle (`A -> B -> A`)."""
        return self._walk()[1]

    def _walk(self) -> tuple[list[LeanModule], dict[str, str]]:
        order: list[LeanModule] = []
        cycles: dict[str, str] = {}
        state: dict[str, str] = {}

        def visit(name: str, chain: list[str]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "active":
                members = chain[chain.index(name):]
                for member in members:
                    cycles.setdefault(member, " -> ".join(members + [name]))
                return
            state[name] = "active"
            for dep in sorted(self.modules[name].imports):
                if dep in self.modules:
                    visit(dep, chain + [name])
            state[name] = "done"
            order.append(self.modules[name])

        for name in sorted(self.modules):
            visit(name, [])
        return order, cycles

    def unsupported_imports(self) -> dict[str, str]:
        """Modules that cannot be elaborated as written, with the reason: Lean does not let a
        `module` file import an ordinary (non-`module`) file."""
        problems = {}
        for m in self.modules.values():
            ordinary = [d for d in m.imports if d in self.modules and not self.modules[d].is_module_file]
            if m.is_module_file and ordinary:
                problems[m.name] = (f"{m.relpath} starts with `module` but imports ordinary (non-`module`) "
                                    f"files {', '.join(ordinary)}; Lean does not allow this")
        return problems

    def problems(self) -> dict[str, tuple[str, str]]:
        """Modules that cannot be elaborated, found without Lean: module name -> (kind, reason),
        kind `encoding` (not UTF-8), `import_cycle`, `unsupported` (see
        :meth:`unsupported_imports`), `name_collision` (two files name the module),
        `outside_project` (a symlink leaving the project) or `missing_import` (it imports a
        module of its package whose file is missing, see :attr:`missing`). Their importers
        are not included."""
        found: dict[str, tuple[str, str]] = {}
        for m in self.modules.values():
            absent = [d for d in m.imports if d in self.missing and d not in self.modules]
            if absent:
                found[m.name] = ("missing_import", f"{m.relpath} imports {', '.join(absent)}, a module of its package "
                                 "whose file is missing: " + "; ".join(self.missing[d] for d in absent))
        for name, reason in self.unsupported_imports().items():
            found[name] = ("unsupported", reason)
        for name, cycle in self.import_cycles().items():
            found[name] = ("import_cycle", f"{self.modules[name].relpath} is part of an import cycle: {cycle}")
        for m in self.modules.values():
            if m.encoding_error:
                found[m.name] = ("encoding", m.encoding_error)
        for name, files in self.collisions.items():
            found[name] = ("name_collision", f"{' and '.join(files)} are both module {name}; Lean would "
                           "read only one of them (rename one)")
        for m in self.modules.values():
            if m.refused:
                found[m.name] = ("outside_project", m.refused)
        return found

    def fingerprint(self) -> str:
        """Hash of every module's package, path, content and Lean settings (the modules of
        dependencies that the project imports included) and of the files that pick the toolchain
        and dependencies (`lean-toolchain`, lakefile, manifest)."""
        h = hashlib.sha256()
        for m in sorted(self.modules.values(), key=lambda m: (m.package, m.relpath)):
            h.update(f"{m.package}\0{m.relpath}\0{m.content_hash()}\0{m.settings.cli_args()}\0".encode())
        for name in _FINGERPRINTED_FILES:
            f = self.root / name
            h.update(f"{name}\0".encode() + (f.read_bytes() if f.is_file() else b"-") + b"\0")
        return h.hexdigest()


def load_project(root: str | Path, *, fetch: bool, include_untargeted: bool = False, clone: Clone | None = None
                 ) -> LeanProject:
    """The project at ``root`` as one value: its package (when it has a lakefile), its modules
    named and selected as Lake does, and the modules of its dependencies that they import, from
    the dependencies' source trees (:func:`~ntp_datasets.project.dependencies.resolve_dependencies`;
    ``fetch``: check out what is not on disk). A ``DependencyError`` when a dependency cannot be
    had."""
    package = read_package(root)
    dependencies = resolve_dependencies(package, fetch=fetch, clone=clone) if package is not None else []
    return LeanProject(root, package, include_untargeted=include_untargeted, dependencies=dependencies)

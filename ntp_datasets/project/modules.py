"""A Lean project on disk: its modules, their imports, and an import order."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ntp_datasets.errors import ProjectError

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
    """The modules of a Lean project rooted at ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ProjectError(f"Lean project directory not found: {self.root}")
        self.modules = self._discover()
        if not self.modules:
            raise ProjectError(f"No .lean files in {self.root} (nor is it ntp-toolkit output: it holds none of the "
                               "task folders TacticPrediction, FullProof, ...)")

    def _discover(self) -> dict[str, LeanModule]:
        """The project's modules by name. Files naming the same module (`A/B.lean` and
        `A.B.lean`) are kept as the first one, the others noted in ``self.collisions``; a file
        that resolves outside the project (through a symlink) is not read (``refused``)."""
        modules: dict[str, LeanModule] = {}
        self.collisions: dict[str, list[str]] = {}
        for path in sorted(self.root.rglob("*.lean")):
            rel = path.relative_to(self.root)
            if _SKIPPED_DIRS.intersection(rel.parts[:-1]) or rel.name.startswith("lakefile"):
                continue
            name = module_name(rel)
            if name in modules:
                self.collisions.setdefault(name, [modules[name].relpath]).append(rel.as_posix())
                continue
            target = path.resolve()
            if not target.is_relative_to(self.root):
                modules[name] = LeanModule(name, path, rel.as_posix(), (), refused=(
                    f"{rel.as_posix()} leads outside the project (to {target}); it is not read"))
                continue
            data = path.read_bytes()
            # A byte-order mark is not text: the header starts after it (Lean never sees it).
            text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
            modules[name] = LeanModule(name, path, rel.as_posix(), parse_imports(text), is_module_file(text),
                                       utf8_error(rel.as_posix(), data))
        return modules

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
        :meth:`unsupported_imports`), `name_collision` (two files name the module) or
        `outside_project` (a symlink leaving the project). Their importers are not included."""
        found: dict[str, tuple[str, str]] = {}
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
        """Hash of every module's path and content and of the files that pick the toolchain
        and dependencies (`lean-toolchain`, lakefile, manifest)."""
        h = hashlib.sha256()
        for m in sorted(self.modules.values(), key=lambda m: m.relpath):
            h.update(f"{m.relpath}\0{m.content_hash()}\0".encode())
        for name in _FINGERPRINTED_FILES:
            f = self.root / name
            h.update(f"{name}\0".encode() + (f.read_bytes() if f.is_file() else b"-") + b"\0")
        return h.hexdigest()

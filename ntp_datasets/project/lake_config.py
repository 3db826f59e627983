"""The values a Lake package's lakefile declares (Lake's ``LeanOption``, ``Glob``,
``LeanLibConfig``, ``LeanExeConfig``, dependencies), whichever form the lakefile has; read by
:mod:`ntp_datasets.project.lakefile` (``lakefile.toml``) and
:mod:`ntp_datasets.project.lakefile_lean` (``lakefile.lean``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ntp_datasets.errors import LakeConfigError


@dataclass(frozen=True)
class LeanOption:
    """One Lean option a lakefile sets (``leanOptions``), as Lake hands it to Lean.

    ``name`` is written as in the lakefile; a ``weak.`` prefix asks Lean to set the option
    only if some imported module declares it (Lean's ``reparseOptions``: an unknown weak
    option is dropped, an unknown plain one is an error). ``value`` is a ``bool``, a
    natural number or a string (Lake's ``LeanOptionValue``)."""

    name: str
    value: bool | int | str

    @property
    def weak(self) -> bool:
        """Whether the option is set only when it is declared (its name starts with ``weak.``)."""
        return self.name.split(".", 1)[0] == "weak" and "." in self.name

    @property
    def option(self) -> str:
        """The option's name without a ``weak.`` prefix (what ``set_option`` would name)."""
        return self.name.split(".", 1)[1] if self.weak else self.name

    def value_text(self) -> str:
        """The value as Lean reads it after ``-D name=``: ``true``/``false``, digits, or the string."""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return str(self.value)

    def cli_arg(self) -> str:
        """``-Dname=value``, the argument ``lean`` takes for it (Lake's ``LeanOption.asCliArg``)."""
        return f"-D{self.name}={self.value_text()}"


def merge_options(*groups) -> tuple[LeanOption, ...]:
    """Lean options of several levels merged as Lake merges them (``LeanOptions`` is a map
    from name to value): later groups win; a name keeps the place of its first appearance."""
    merged: dict[str, LeanOption] = {}
    for group in groups:
        for option in group:
            merged[option.name] = option  # a dict keeps a re-assigned key where it first came
    return tuple(merged.values())


@dataclass(frozen=True)
class Glob:
    """A set of module names (Lake's ``Glob``): ``one`` (``Foo``: that module),
    ``submodules`` (``Foo.+``: every module below ``Foo``, not ``Foo`` itself) or
    ``and_submodules`` (``Foo.*``: ``Foo`` and every module below it)."""

    module: str
    kind: str = "one"

    KINDS = ("one", "submodules", "and_submodules")

    @classmethod
    def parse(cls, text: str) -> Glob:
        """``Foo`` -> one, ``Foo.+`` -> submodules, ``Foo.*`` -> and_submodules (the TOML form)."""
        if text.endswith(".+"):
            return cls(text[:-2], "submodules")
        if text.endswith(".*"):
            return cls(text[:-2], "and_submodules")
        return cls(text, "one")

    def matches(self, module: str) -> bool:
        """Whether ``module`` is in the set (Lake's ``Glob.matches``)."""
        if self.kind == "one":
            return module == self.module
        below = module.startswith(self.module + ".")
        return below or (self.kind == "and_submodules" and module == self.module)

    def __str__(self) -> str:
        return self.module + {"one": "", "submodules": ".+", "and_submodules": ".*"}[self.kind]


def _is_prefix(prefix: str, module: str) -> bool:
    """Lean's ``Name.isPrefixOf``: ``A.B`` is a prefix of ``A.B`` and ``A.B.C``."""
    return module == prefix or module.startswith(prefix + ".")


@dataclass(frozen=True)
class LeanLibConfig:
    """One ``lean_lib`` of a package. ``src_dir`` is relative to the package's ``srcDir``;
    ``roots`` default to the library's name and ``globs`` to one ``one`` glob per root."""

    name: str
    src_dir: str = "."
    roots: tuple[str, ...] = ()
    globs: tuple[Glob, ...] = ()
    lean_options: tuple[LeanOption, ...] = ()
    more_lean_args: tuple[str, ...] = ()
    weak_lean_args: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.roots:
            object.__setattr__(self, "roots", (self.name,))
        if not self.globs:
            object.__setattr__(self, "globs", tuple(Glob(root) for root in self.roots))

    def is_local_module(self, module: str) -> bool:
        """Whether the library considers ``module`` its own (Lake's ``isLocalModule``)."""
        return any(_is_prefix(r, module) for r in self.roots) or any(g.matches(module) for g in self.globs)

    def is_buildable_module(self, module: str) -> bool:
        """Whether an ``import module`` builds this library's module (Lake's
        ``isBuildableModule``): a glob matches it, or it lies below a root a glob matches."""
        return any(g.matches(module) for g in self.globs) or any(
            _is_prefix(r, module) and any(g.matches(r) for g in self.globs) for r in self.roots)


@dataclass(frozen=True)
class LeanExeConfig:
    """One ``lean_exe`` of a package: its ``root`` module (default: its name) lies in
    ``src_dir`` (relative to the package's ``srcDir``)."""

    name: str
    src_dir: str = "."
    root: str = ""
    lean_options: tuple[LeanOption, ...] = ()
    more_lean_args: tuple[str, ...] = ()
    weak_lean_args: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.root:
            object.__setattr__(self, "root", self.name)


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
    """The revision (commit, branch or tag) or, for a Reservoir dependency, the version, if given."""
    subdir: str = ""
    """The package's directory inside the repository (``/ "sub"``, ``subDir``), if given."""

    def describe(self) -> str:
        """``name`` with where it comes from, as one phrase."""
        where = f"git {self.git}" if self.git else f"path {self.path}" if self.path else \
            f"Reservoir {self.scope}/{self.name}" if self.scope else ""
        if self.rev:
            where += f" @ {self.rev}"
        return f"{self.name} ({where.strip()})" if where.strip() else self.name


@dataclass(frozen=True)
class LakefileConfig:
    """What a package's lakefile declares (see the module docstring for what is read)."""

    name: str
    file: str
    """``lakefile.toml`` or ``lakefile.lean``."""
    src_dir: str = "."
    lean_options: tuple[LeanOption, ...] = ()
    more_lean_args: tuple[str, ...] = ()
    weak_lean_args: tuple[str, ...] = ()
    lean_libs: tuple[LeanLibConfig, ...] = ()
    lean_exes: tuple[LeanExeConfig, ...] = ()
    default_targets: tuple[str, ...] = ()
    requires: tuple[Require, ...] = ()
    skipped: tuple[str, ...] = field(default=(), compare=False)
    """What was read past without effect, one phrase each (``script test (line 30)``)."""


def clean_path(text: str, what: str, file) -> str:
    """A lakefile path (``srcDir``) in normal form (``./src/`` -> ``src``); one that is
    absolute or leaves the package is refused."""
    path = PurePosixPath(text.replace("\\", "/"))
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                raise LakeConfigError(f"{file}: {what} {text!r} leads outside the package; not supported", file)
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    if path.is_absolute():
        raise LakeConfigError(f"{file}: {what} {text!r} is absolute; a package's directories are relative to it", file)
    return "/".join(parts) or "."


def name_of_string(text: str) -> str:
    """A name Lake reads from a string (``stringToLegalOrSimpleName``/``String.toName``),
    written with ``.`` between its components."""
    return text.strip()


def check_unique_targets(file: str, libs, exes) -> None:
    """Refuse a lakefile that defines a target name twice (Lake does too)."""
    seen: set[str] = set()
    for target in (*libs, *exes):
        if target.name in seen:
            raise LakeConfigError(f"{file}: target {target.name!r} is defined twice", file)
        seen.add(target.name)

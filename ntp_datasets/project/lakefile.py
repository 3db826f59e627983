"""A Lake package's configuration as its lakefile declares it, read without running Lean.

Both forms of lakefile are read into one :class:`LakefileConfig`: ``lakefile.toml`` (with
``tomllib``, decoded as Lake decodes it) and the declarative part of ``lakefile.lean``
(``package``, ``lean_lib``, ``lean_exe``, ``require``, ``@[default_target]``, plain
``def``/``abbrev`` constants their fields name). Lake reads ``lakefile.lean`` when a package
has both, and so does :func:`read_lakefile`.

What is read (it decides which modules exist, what they are called and how they elaborate):
the package's name, ``srcDir``, ``leanOptions``, ``moreLeanArgs``, ``weakLeanArgs`` and
default targets; each ``lean_lib``'s ``name``, ``srcDir``, ``roots``, ``globs`` and the
same three Lean settings; each ``lean_exe``'s ``name``, ``srcDir``, ``root`` and Lean
settings; each ``require``. Every other field is read past without its value (it builds
native code, names drivers, describes the package). A ``lakefile.lean`` that computes a
field it needs (``if``, ``do``, ``run_io``, a macro, ``get_config?`` outside ``meta if``,
a function call) or runs code while Lake loads it (``#eval``, ``initialize``) raises
:class:`~ntp_datasets.errors.UnsupportedLakefileError` naming the construct and its line;
so does a target that ``needs`` a custom ``target``. ``script``, ``target``,
``extern_lib``, ``input_file``, ``input_dir``, ``post_update`` and definitions that no read
field uses are skipped: they add no Lean module and change no module's options. ``meta if
get_config? NAME ...`` is evaluated as Lake evaluates it without ``-K`` options (which
ntp-datasets never passes): ``get_config?`` is ``none``.

Lake's rules followed here (Lake 4.28 era, ``src/lake/Lake`` of leanprover/lean4):
``Config/Glob.lean`` (``Foo`` is the module, ``Foo.+`` its submodules, ``Foo.*`` both),
``Config/LeanLibConfig.lean`` (``roots`` defaults to the name, ``globs`` to one glob per root;
``isLocalModule``/``isBuildableModule``), ``Config/LeanExeConfig.lean`` (``root`` defaults to
the name), ``Load/Toml.lean`` (``globs`` may be one string; ``leanOptions`` is an array of
``[name, value]`` pairs or ``{name, value}`` tables, or a table whose nested tables are
joined into dotted names; values are strings, booleans or naturals; a ``[[require]]``'s
``git`` is a URL or a ``{url, subDir}`` table), ``Config/LeanLib.lean`` (a library's options are
the package's then its own; its Lean arguments the package's then its own).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ntp_datasets.errors import LakeConfigError, UnsupportedLakefileError
from ntp_datasets.project.lake_config import (  # noqa: F401 (re-exported: the lakefile's values)
    Glob,
    LakefileConfig,
    LeanExeConfig,
    LeanLibConfig,
    LeanOption,
    Require,
    check_unique_targets,
    clean_path,
    merge_options,
    name_of_string,
)
from ntp_datasets.project.lakefile_lean import parse_lakefile_lean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TOOLCHAIN_LIBRARY = ("Init", "Std", "Lean", "Lake")
"""What every Lean toolchain provides without any package."""

LAKEFILE_NAMES = ("lakefile.lean", "lakefile.toml")
"""The configuration files of a Lake package, in the order Lake prefers them."""

_PACKAGE_DIRS = (".lake/packages", "lake-packages")


def lakefile_path(root: str | Path) -> Path | None:
    """The lakefile Lake reads for the package at ``root`` (``lakefile.lean`` first), or None."""
    for name in LAKEFILE_NAMES:
        if (Path(root) / name).is_file():
            return Path(root) / name
    return None


def read_lakefile(root: str | Path) -> LakefileConfig | None:
    """The configuration of the package at ``root``; None when it has no lakefile."""
    path = lakefile_path(root)
    if path is None:
        return None
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise LakeConfigError(f"{path} is not UTF-8 ({error.reason} at byte {error.start})", path) from None
    if path.name == "lakefile.toml":
        return parse_lakefile_toml(text, str(path))
    return parse_lakefile_lean(text, str(path))


def read_requires(root: str | Path) -> list[Require]:
    """The dependencies the lakefile of the project at ``root`` declares; none without one."""
    config = read_lakefile(root)
    return list(config.requires) if config else []


# ---------------------------------------------------------------------------
# lakefile.toml
# ---------------------------------------------------------------------------


def parse_lakefile_toml(text: str, file: str = "lakefile.toml") -> LakefileConfig:
    """Read a ``lakefile.toml`` as Lake decodes it (``Lake/Load/Toml.lean``); a field of the
    wrong type raises :class:`LakeConfigError` naming it."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LakeConfigError(f"{file} is not valid TOML: {exc}", file) from None
    toml = _TomlReader(file)
    name = toml.string(table, "name", "the package", required=True)
    libs = tuple(toml.lean_lib(t, i) for i, t in enumerate(toml.tables(table, "lean_lib")))
    exes = tuple(toml.lean_exe(t, i) for i, t in enumerate(toml.tables(table, "lean_exe")))
    check_unique_targets(file, libs, exes)
    inputs = {str(t.get("name", "")) for key in ("input_file", "input_dir") for t in toml.tables(table, key)}
    for target in (*toml.raw_libs, *toml.raw_exes):
        _check_needs_toml(file, target, {lib.name for lib in libs} | {exe.name for exe in exes} | inputs)
    return LakefileConfig(
        name=name_of_string(name), file="lakefile.toml",
        src_dir=clean_path(toml.string(table, "srcDir", "the package", "."), "srcDir", file),
        lean_options=toml.options(table.get("leanOptions"), "the package's leanOptions"),
        more_lean_args=toml.strings(table, "moreLeanArgs", "the package"),
        weak_lean_args=toml.strings(table, "weakLeanArgs", "the package"),
        lean_libs=libs, lean_exes=exes,
        default_targets=tuple(name_of_string(t) for t in toml.strings(table, "defaultTargets", "the package")),
        requires=tuple(toml.require(t, i) for i, t in enumerate(toml.tables(table, "require"))))


class _TomlReader:
    """Typed access to a decoded lakefile.toml, with Lake's error messages' spirit: which
    key of which table has which wrong type."""

    def __init__(self, file: str):
        self.file = file
        self.raw_libs: list[dict] = []
        self.raw_exes: list[dict] = []

    def fail(self, message: str):
        raise LakeConfigError(f"{self.file}: {message}", self.file)

    def tables(self, table: dict, key: str) -> list[dict]:
        value = table.get(key, [])
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(f"{key} must be an array of tables ([[{key}]])")
        return value

    def string(self, table: dict, key: str, where: str, default: str = "", required: bool = False) -> str:
        if key not in table:
            if required:
                self.fail(f"{where} has no {key!r}")
            return default
        value = table[key]
        if not isinstance(value, str):
            self.fail(f"{where}'s {key} must be a string, got {value!r}")
        return value

    def strings(self, table: dict, key: str, where: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{where}'s {key} must be an array of strings, got {value!r}")
        return tuple(value)

    def names(self, table: dict, key: str, where: str) -> tuple[str, ...]:
        return tuple(name_of_string(v) for v in self.strings(table, key, where))

    def globs(self, table: dict, where: str) -> tuple[Glob, ...]:
        value = table["globs"]
        items = value if isinstance(value, list) else [value]  # Lake: an array or one glob
        if not all(isinstance(v, str) for v in items):
            self.fail(f"{where}'s globs must be a string or an array of strings, got {value!r}")
        return tuple(Glob.parse(v) for v in items)

    def options(self, value, where: str) -> tuple[LeanOption, ...]:
        if value is None:
            return ()
        found: list[LeanOption] = []
        if isinstance(value, list):
            for item in value:
                if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
                    found.append(LeanOption(name_of_string(item[0]), self.option_value(item[1], where)))
                elif isinstance(item, dict) and isinstance(item.get("name"), str) and "value" in item:
                    found.append(LeanOption(name_of_string(item["name"]), self.option_value(item["value"], where)))
                else:
                    self.fail(f"{where}: {item!r} is neither [name, value] nor {{name = ..., value = ...}}")
        elif isinstance(value, dict):
            self._flatten(value, "", where, found)
        else:
            self.fail(f"{where} must be an array or a table, got {value!r}")
        return merge_options(found)

    def _flatten(self, table: dict, prefix: str, where: str, found: list) -> None:
        # Lake's decodeLeanOptionsAux: a nested table extends the name (`{linter.x = true}`).
        for key, value in table.items():
            if isinstance(value, dict):
                self._flatten(value, prefix + key + ".", where, found)
            else:
                found.append(LeanOption(prefix + key, self.option_value(value, where)))

    def option_value(self, value, where: str):
        if isinstance(value, bool) or isinstance(value, str) or (isinstance(value, int) and value >= 0):
            return value
        self.fail(f"{where}: {value!r} is not a string, boolean or nonnegative integer")

    def settings(self, table: dict, where: str) -> dict:
        return dict(lean_options=self.options(table.get("leanOptions"), f"{where}'s leanOptions"),
                    more_lean_args=self.strings(table, "moreLeanArgs", where),
                    weak_lean_args=self.strings(table, "weakLeanArgs", where))

    def lean_lib(self, table: dict, index: int) -> LeanLibConfig:
        where = f"lean_lib {index + 1}"
        name = name_of_string(self.string(table, "name", where, required=True))
        where = f"lean_lib {name!r}"
        self.raw_libs.append(table)
        roots = self.names(table, "roots", where) if "roots" in table else ()
        return LeanLibConfig(name, clean_path(self.string(table, "srcDir", where, "."), f"{where}'s srcDir", self.file),
                             roots, self.globs(table, where) if "globs" in table else (), **self.settings(table, where))

    def lean_exe(self, table: dict, index: int) -> LeanExeConfig:
        name = name_of_string(self.string(table, "name", f"lean_exe {index + 1}", required=True))
        where = f"lean_exe {name!r}"
        self.raw_exes.append(table)
        return LeanExeConfig(name, clean_path(self.string(table, "srcDir", where, "."), f"{where}'s srcDir", self.file),
                             name_of_string(self.string(table, "root", where, "")), **self.settings(table, where))

    def require(self, table: dict, index: int) -> Require:
        where = f"require {index + 1}"
        name = name_of_string(self.string(table, "name", where, required=True))
        where = f"require {name!r}"
        rev = self.string(table, "rev", where) or self.string(table, "version", where)
        git, subdir, path = table.get("git", ""), self.string(table, "subDir", where), self.string(table, "path", where)
        if isinstance(git, dict):  # git = {url = "...", subDir = "..."}
            git, subdir = self.string(git, "url", f"{where}'s git", required=True), self.string(git, "subDir", where)
        elif not isinstance(git, str):
            self.fail(f"{where}'s git must be a URL or a table {{url, subDir}}, got {git!r}")
        source = table.get("source")
        if isinstance(source, dict) and not (git or path):  # source = {type = "git", url = ..., rev = ...}
            kind = self.string(source, "type", f"{where}'s source", required=True)
            if kind == "git":
                git, rev = self.string(source, "url", f"{where}'s source", required=True), \
                    self.string(source, "rev", f"{where}'s source") or rev
                subdir = self.string(source, "subDir", f"{where}'s source")
            elif kind == "path":
                path = self.string(source, "dir", f"{where}'s source", required=True)
            else:
                self.fail(f"{where}'s source type must be 'git' or 'path', got {kind!r}")
        return Require(name, self.string(table, "scope", where), git=git, path=path, rev=rev, subdir=subdir)


def _check_needs_toml(file: str, table: dict, own_targets: set[str]) -> None:
    """A target that ``needs`` anything but this package's libraries, executables and input
    files may need generated files: refused, as in lakefile.lean."""
    for key in ("needs", "extraDepTargets"):
        for need in table.get(key, []) or []:
            if not (isinstance(need, str) and need.lstrip("@+").split(":")[0] in own_targets):
                raise UnsupportedLakefileError(
                    f"{file}: target {table.get('name')!r} {key} {need!r}, which this reader cannot build "
                    "(a target of another package or a custom target may generate files its modules read)",
                    file, 0, key)


# ---------------------------------------------------------------------------
# Whether a build can have a project's dependencies
# ---------------------------------------------------------------------------


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



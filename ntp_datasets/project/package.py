"""A Lake package as Lake sees it: one frozen value, resolved once per build and carried down.

:func:`read_package` reads a package directory into a :class:`LakePackage`: its lakefile
(:mod:`ntp_datasets.project.lakefile`), ``lean-toolchain``, ``lake-manifest.json``
(:class:`LakeManifest`, every package of the workspace, transitive ones too) and licence
(:func:`detect_license`). The model answers Lake's questions about modules without reading
any ``.lean`` file's content:

* which library owns a module name (:meth:`LakePackage.owning_lib`: Lake's
  ``Package.findModule?``, the last library whose globs or roots make it buildable);
* where a module's file is (:meth:`LakePackage.module_path`: the library's source directory,
  ``<package srcDir>/<lib srcDir>``, then the name's components, then ``.lean``);
* which modules a target builds (:meth:`LakePackage.target_modules`: every library's glob
  matches, every executable's root);
* with which Lean settings (:meth:`LakePackage.settings_for`: the package's ``leanOptions``
  then the target's, later names winning; the package's ``moreLeanArgs``/``weakLeanArgs``
  then the target's).

:class:`~ntp_datasets.project.modules.LeanProject` uses it to name and select a project's
modules (targets and their in-package import closure); dependencies are packages too
(``read_package(<dir of a manifest entry>)``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ntp_datasets.errors import LakeConfigError
from ntp_datasets.project.lakefile import (
    LakefileConfig,
    LeanExeConfig,
    LeanLibConfig,
    LeanOption,
    Require,
    merge_options,
    read_lakefile,
)

MANIFEST_FILE = "lake-manifest.json"
TOOLCHAIN_FILE = "lean-toolchain"
DEFAULT_PACKAGES_DIR = ".lake/packages"


# ---------------------------------------------------------------------------
# lake-manifest.json
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestPackage:
    """One package entry of ``lake-manifest.json`` (Lake's ``PackageEntry``).

    ``type`` is ``git`` (``url``, ``rev`` the commit Lake checked out, ``input_rev`` the
    revision the lakefile asked for, ``sub_dir`` the package's directory in the repository)
    or ``path`` (``dir``, relative to the directory of the package whose manifest lists it).
    ``inherited``: the entry came from a dependency's manifest (a transitive dependency)."""

    name: str
    type: str
    url: str = ""
    dir: str = ""
    rev: str = ""
    input_rev: str = ""
    sub_dir: str = ""
    scope: str = ""
    manifest_file: str = MANIFEST_FILE
    config_file: str = "lakefile.lean"
    inherited: bool = False


@dataclass(frozen=True)
class LakeManifest:
    """A ``lake-manifest.json``: the workspace's packages as ``lake update`` last resolved them."""

    version: str
    name: str = ""
    lake_dir: str = ".lake"
    packages_dir: str = DEFAULT_PACKAGES_DIR
    packages: tuple[ManifestPackage, ...] = ()

    def find(self, name: str) -> ManifestPackage | None:
        """The entry named ``name``, or None."""
        return next((p for p in self.packages if p.name == name), None)


def read_manifest(path: str | Path) -> LakeManifest | None:
    """The manifest at ``path``; None when there is none. One Lake cannot read (not JSON,
    a version this reader does not know, an entry without its required fields) raises
    :class:`LakeConfigError`. Versions 5-7 (numbers) and 1.x.y (strings) are read, as Lake
    4.28 reads them (``Lake/Load/Manifest.lean``)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise LakeConfigError(f"{path} is not valid JSON: {error}", path) from None
    if not isinstance(data, dict):
        raise LakeConfigError(f"{path}: a manifest is a JSON object", path)
    version = data.get("version", data.get("schemaVersion"))
    if isinstance(version, int) and not isinstance(version, bool):
        if version < 5:
            raise LakeConfigError(f"{path}: manifest version {version} is older than Lake reads (5)", path)
        version = f"0.{version}.0"
    elif not (isinstance(version, str) and re.match(r"^[01]\.\d+\.\d+", version)):
        raise LakeConfigError(f"{path}: manifest version {version!r} is not one this reader knows (0.5-1.x)", path)
    entries = data.get("packages", [])
    if not isinstance(entries, list):
        raise LakeConfigError(f"{path}: 'packages' must be a list", path)
    return LakeManifest(version=version, name=str(data.get("name") or ""), lake_dir=str(data.get("lakeDir") or ".lake"),
                        packages_dir=str(data.get("packagesDir") or DEFAULT_PACKAGES_DIR),
                        packages=tuple(_manifest_entry(path, entry) for entry in entries))


def _manifest_entry(path: Path, entry) -> ManifestPackage:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise LakeConfigError(f"{path}: a package entry without a name: {entry!r}", path)
    name, kind = entry["name"], entry.get("type")
    if kind is None and ("git" in entry or "path" in entry):  # manifest versions 5 and 6: {"git": {...}}
        kind = "git" if "git" in entry else "path"
        entry = {**entry, **entry[kind]}
    text = {k: ("" if entry.get(k) is None else str(entry.get(k))) for k in
            ("url", "dir", "rev", "inputRev", "subDir", "scope", "manifestFile", "configFile")}
    if kind == "git" and not (text["url"] and text["rev"]):
        raise LakeConfigError(f"{path}: git package {name!r} needs 'url' and 'rev'", path)
    if kind == "path" and not text["dir"]:
        raise LakeConfigError(f"{path}: path package {name!r} needs 'dir'", path)
    if kind not in ("git", "path"):
        raise LakeConfigError(f"{path}: package {name!r} has unknown type {kind!r}", path)
    return ManifestPackage(name=name, type=kind, url=text["url"], dir=text["dir"], rev=text["rev"],
                           input_rev=text["inputRev"], sub_dir=text["subDir"], scope=text["scope"],
                           manifest_file=text["manifestFile"] or MANIFEST_FILE,
                           config_file=text["configFile"] or "lakefile.lean", inherited=bool(entry.get("inherited")))


# ---------------------------------------------------------------------------
# Licences
# ---------------------------------------------------------------------------

LICENSE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "LICENCE.txt",
                 "COPYING", "COPYING.md", "COPYING.txt")
"""The files a licence is read from, in this order (names compared case-insensitively)."""

UNKNOWN_LICENSE = "unknown"

# Distinctive sentences of each licence's text (lower case, whitespace collapsed), most
# specific first: the LGPL and AGPL texts mention the GPL, BSD-3 contains BSD-2's clauses.
_LICENSE_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AGPL-3.0", ("gnu affero general public license", "version 3")),
    ("LGPL-3.0", ("gnu lesser general public license", "version 3, 29 june 2007")),
    ("LGPL-2.1", ("gnu lesser general public license", "version 2.1, february 1999")),
    ("GPL-3.0", ("gnu general public license", "version 3, 29 june 2007")),
    ("GPL-2.0", ("gnu general public license", "version 2, june 1991")),
    ("MPL-2.0", ("mozilla public license", "version 2.0")),
    ("Apache-2.0", ("apache license", "version 2.0", "licensed under the apache license")),
    ("Apache-2.0", ("apache license", "version 2.0, january 2004")),
    ("MIT", ("permission is hereby granted, free of charge, to any person obtaining a copy",
             "the above copyright notice and this permission notice shall be included")),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "neither the name of")),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",
                      "redistributions of source code must retain the above copyright notice")),
    ("ISC", ("permission to use, copy, modify, and",
             "distribute this software for any purpose with or without fee is hereby granted")),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",)),
    ("CC0-1.0", ("cc0 1.0 universal",)),
    ("CC0-1.0", ("creative commons", "cc0")),
)


def license_of_text(text: str) -> str:
    """The SPDX identifier of the licence ``text`` is (``Apache-2.0``, ``MIT``,
    ``BSD-2-Clause``, ``BSD-3-Clause``, ``GPL-2.0``, ``GPL-3.0``, ``LGPL-2.1``, ``LGPL-3.0``,
    ``AGPL-3.0``, ``MPL-2.0``, ``ISC``, ``Unlicense``, ``CC0-1.0``), recognised by sentences
    only that licence's text has; ``unknown`` otherwise. The GPL family's ids do not say
    "only" or "or later": a licence file alone does not tell."""
    normal = re.sub(r"[\s#*>]+", " ", text.lower())
    for spdx, markers in _LICENSE_MARKERS:
        if all(marker in normal for marker in markers):
            return spdx
    return UNKNOWN_LICENSE


def detect_license(root: str | Path) -> tuple[str, str | None]:
    """(SPDX id, file name) of the first licence file of :data:`LICENSE_FILES` at ``root``
    whose text is recognised; (``unknown``, the first licence file or None) when none is."""
    root = Path(root)
    present = {p.name.lower(): p for p in root.iterdir() if p.is_file()} if root.is_dir() else {}
    first = None
    for name in LICENSE_FILES:
        path = present.get(name.lower())
        if path is None:
            continue
        first = first or path.name
        spdx = license_of_text(path.read_bytes().decode("utf-8", errors="replace"))
        if spdx != UNKNOWN_LICENSE:
            return spdx, path.name
    return UNKNOWN_LICENSE, first


# ---------------------------------------------------------------------------
# The package model
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LeanSettings:
    """How Lake would run Lean on one module: the merged ``leanOptions`` (package's, then
    the target's; a later value of a name replaces an earlier one) and the Lean arguments
    (package's ``moreLeanArgs`` then the target's; ``weakLeanArgs`` likewise, which Lake
    puts before them and leaves out of its build trace). Lake 4.28 hands the options to Lean
    in the module's setup (``lean --setup``); :meth:`cli_args` is the same as ``-D`` flags."""

    lean_options: tuple[LeanOption, ...] = ()
    more_lean_args: tuple[str, ...] = ()
    weak_lean_args: tuple[str, ...] = ()

    def cli_args(self) -> list[str]:
        """The arguments a ``lean`` command line would take: ``-Dname=value`` per option,
        then the weak arguments, then the others."""
        return [o.cli_arg() for o in self.lean_options] + list(self.weak_lean_args) + list(self.more_lean_args)

    def option_values(self) -> dict[str, bool | int | str]:
        """Option name (``weak.`` prefix kept) -> value."""
        return {o.name: o.value for o in self.lean_options}

    def elaboration_options(self) -> tuple[LeanOption, ...]:
        """The options Lean elaborates the module with: ``leanOptions``, then the ``-Dname=value``
        arguments among ``weakLeanArgs`` and ``moreLeanArgs`` in the order Lean reads them (a later
        value of a name wins; ``true``/``false`` are booleans, digits numbers, the rest strings).
        Other arguments (``--tstack``, ``-j``, ...) set no option and change no row."""
        merged: dict[str, LeanOption] = {o.name: o for o in self.lean_options}
        for arg in (*self.weak_lean_args, *self.more_lean_args):
            if arg.startswith("-D") and "=" in arg:
                name, text = arg[2:].split("=", 1)
                value = {"true": True, "false": False}.get(text, int(text) if text.isdigit() else text)
                merged.pop(name, None)
                merged[name] = LeanOption(name, value)
        return tuple(merged.values())


@dataclass(frozen=True)
class TargetModule:
    """A module a target of the package builds: ``name`` (Lake's), its file ``path``
    (which may not exist: Lake would fail on it), and the ``target`` (library or executable
    name) and ``kind`` (``lean_lib``/``lean_exe``) that build it."""

    name: str
    path: Path
    target: str
    kind: str


@dataclass(frozen=True)
class LakePackage:
    """A Lake package on disk, as Lake would load it (without running Lean).

    ``name``: the package's name; ``root``: its directory (absolute); ``config_file``:
    ``lakefile.toml`` or ``lakefile.lean``; ``src_dir``: the package's ``srcDir``
    (relative, normalised: ``.`` for the root); ``toolchain``: the ``lean-toolchain``
    line (None without the file); ``lean_libs``/``lean_exes`` in declaration order;
    ``default_targets``; the package-level ``lean_options``, ``more_lean_args`` and
    ``weak_lean_args``; ``requires`` (the lakefile's dependencies); ``manifest`` (None
    without a ``lake-manifest.json``); ``license`` (SPDX id or ``unknown``) read from
    ``license_file``; ``skipped``: lakefile constructs read past (scripts, custom targets).
    """

    name: str
    root: Path
    config_file: str
    src_dir: str = "."
    toolchain: str | None = None
    lean_libs: tuple[LeanLibConfig, ...] = ()
    lean_exes: tuple[LeanExeConfig, ...] = ()
    default_targets: tuple[str, ...] = ()
    lean_options: tuple[LeanOption, ...] = ()
    more_lean_args: tuple[str, ...] = ()
    weak_lean_args: tuple[str, ...] = ()
    requires: tuple[Require, ...] = ()
    manifest: LakeManifest | None = None
    license: str = UNKNOWN_LICENSE
    license_file: str | None = None
    skipped: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, root: str | Path, config: LakefileConfig) -> LakePackage:
        """The package at ``root`` declared by ``config``, with its toolchain, manifest and
        licence read from ``root``."""
        root = Path(root).resolve()
        toolchain_file = root / TOOLCHAIN_FILE
        toolchain = toolchain_file.read_text(encoding="utf-8", errors="replace").strip() or None \
            if toolchain_file.is_file() else None
        license_id, license_file = detect_license(root)
        return cls(name=config.name, root=root, config_file=config.file, src_dir=config.src_dir, toolchain=toolchain,
                   lean_libs=config.lean_libs, lean_exes=config.lean_exes, default_targets=config.default_targets,
                   lean_options=config.lean_options, more_lean_args=config.more_lean_args,
                   weak_lean_args=config.weak_lean_args, requires=config.requires,
                   manifest=read_manifest(root / MANIFEST_FILE), license=license_id, license_file=license_file,
                   skipped=config.skipped)

    # -- directories and files -------------------------------------------------

    @property
    def src_path(self) -> Path:
        """The package's source directory (``root/srcDir``)."""
        return self.root if self.src_dir == "." else self.root / self.src_dir

    def target_dir(self, target: LeanLibConfig | LeanExeConfig) -> Path:
        """A target's source directory: the package's ``srcDir``, then the target's."""
        return self.src_path if target.src_dir == "." else self.src_path / target.src_dir

    def module_path(self, module: str, target: LeanLibConfig | LeanExeConfig) -> Path:
        """Where Lake looks for ``module``'s file in ``target`` (``Lean.modToFilePath``)."""
        *parents, last = module.split(".")
        return self.target_dir(target).joinpath(*parents, last + ".lean")

    def config_files(self) -> tuple[str, ...]:
        """The files whose content decides the package's modules and settings, relative to
        ``root`` (for fingerprints)."""
        return (self.config_file, TOOLCHAIN_FILE, MANIFEST_FILE)

    # -- targets and modules ------------------------------------------------------

    def lib(self, name: str) -> LeanLibConfig | None:
        """The library named ``name``, or None."""
        return next((lib for lib in self.lean_libs if lib.name == name), None)

    def exe(self, name: str) -> LeanExeConfig | None:
        """The executable named ``name``, or None."""
        return next((exe for exe in self.lean_exes if exe.name == name), None)

    def owning_lib(self, module: str) -> LeanLibConfig | None:
        """The library an ``import module`` builds, or None when no library of the package
        makes it buildable (Lake's ``Package.findModule?``: the libraries are searched from
        the last declared to the first). Executables' roots are not importable."""
        return next((lib for lib in reversed(self.lean_libs) if lib.is_buildable_module(module)), None)

    def settings_for(self, target: LeanLibConfig | LeanExeConfig | None) -> LeanSettings:
        """The Lean settings of a module built by ``target`` (None: the package's alone)."""
        if target is None:
            return LeanSettings(self.lean_options, self.more_lean_args, self.weak_lean_args)
        return LeanSettings(merge_options(self.lean_options, target.lean_options),
                            self.more_lean_args + target.more_lean_args, self.weak_lean_args + target.weak_lean_args)

    def target_modules(self) -> list[TargetModule]:
        """The modules the package's targets build, without their imports: each library's
        glob matches (``Foo``: ``Foo`` itself, whether its file exists or not; ``Foo.+``:
        every ``.lean`` file below the directory ``Foo``; ``Foo.*``: both), then each
        executable's root. A module two targets build is listed for each (from two files:
        a name collision)."""
        found: list[TargetModule] = []
        for lib in self.lean_libs:
            directory = self.target_dir(lib)
            for glob in lib.globs:
                named = [(glob.module, self.module_path(glob.module, lib))] if glob.kind != "submodules" else []
                if glob.kind != "one":
                    named += _modules_below(directory, glob.module)
                found += [TargetModule(name, path, lib.name, "lean_lib") for name, path in named]
        found += [TargetModule(exe.root, self.module_path(exe.root, exe), exe.name, "lean_exe") for exe in self.lean_exes]
        return found

    def describe(self) -> str:
        """One line: the package's name, lakefile and targets."""
        libs = ", ".join(lib.name for lib in self.lean_libs) or "none"
        exes = ", ".join(exe.name for exe in self.lean_exes) or "none"
        return f"package {self.name} ({self.config_file}; lean_lib {libs}; lean_exe {exes})"

    def fingerprint(self) -> str:
        """Hash of the package's configuration files (lakefile, toolchain, manifest)."""
        h = hashlib.sha256()
        for name in self.config_files():
            f = self.root / name
            h.update(f"{name}\0".encode() + (f.read_bytes() if f.is_file() else b"-") + b"\0")
        return h.hexdigest()


def _modules_below(directory: Path, module: str) -> list[tuple[str, Path]]:
    """(name, file) of every module whose file lies below ``directory/<module as path>/``
    (Lean's ``forEachModuleInDir``: each ``.lean`` file, every subdirectory), by name."""
    base = directory.joinpath(*module.split("."))
    if not base.is_dir():
        return []
    found = []
    for dirpath, _, filenames in os.walk(base, followlinks=False):
        rel = Path(dirpath).relative_to(base).parts
        for filename in filenames:
            if filename.endswith(".lean"):
                found.append((".".join((module, *rel, filename[:-len(".lean")])), Path(dirpath) / filename))
    return sorted(found)


def read_package(root: str | Path) -> LakePackage | None:
    """The Lake package at ``root``; None when ``root`` has no lakefile (a plain directory
    of Lean files). Raises :class:`~ntp_datasets.errors.LakeConfigError` (or its
    ``UnsupportedLakefileError``) when the lakefile or manifest cannot be read."""
    config = read_lakefile(root)
    return None if config is None else LakePackage.from_config(root, config)

"""Dependencies a lakefile declares: reading them, finding their source trees (`.lake/packages`,
a path, a checkout at the manifest's revision), and a build that stops before Lean starts when
one cannot be had (no Lean runs here)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FakeExtractor
from sample_module import sample_module_output

from ntp_datasets import cli
from ntp_datasets.errors import DependencyError
from ntp_datasets.project import Require, load_project, read_package, read_requires, resolve_dependencies
from ntp_datasets.project.lakefile import parse_lakefile_lean
from ntp_datasets.toolchain import Toolchain

LAKEFILE_LEAN = '''import Lake
open Lake DSL

-- require commented "out"
/- require blockcommented from git "x" -/
require mathlib from git
  "https://github.com/leanprover-community/mathlib4" @ "v4.9.0"
require "leanprover-community" / "batteries" @ git "main"
require «doc-gen4» from git "https://github.com/leanprover/doc-gen4"@"abc123" / "sub"
require local_dep from ".." / "local_dep"
require plain

package foo where
  leanOptions := #[]

@[default_target]
lean_lib Foo
'''

LAKEFILE_TOML = '''name = "foo"

[[require]]
name = "mathlib"
scope = "leanprover-community"
rev = "v4.9.0"

[[require]]
name = "aesop"
git = "https://github.com/leanprover-community/aesop"
rev = "master"

[[require]]
name = "local_dep"
path = "../local_dep"

[[lean_lib]]
name = "Foo"
'''

NATIVE = Toolchain(kind="native", version="Lean (version 4.28.0-pre, fake native)", command=["false"], location="-")
WASM = Toolchain(kind="wasm", version="Lean (version 4.28.0-pre)", command=["false"], location="-")


def test_lakefile_lean_requires_in_every_form():
    assert list(parse_lakefile_lean(LAKEFILE_LEAN).requires) == [
        Require("mathlib", git="https://github.com/leanprover-community/mathlib4", rev="v4.9.0"),
        Require("batteries", scope="leanprover-community", rev="main"),
        Require("doc-gen4", git="https://github.com/leanprover/doc-gen4", rev="abc123", subdir="sub"),
        Require("local_dep", path="../local_dep"),
        Require("plain"),
    ]


def test_lakefile_toml_requires_and_lean_first(tmp_path):
    (tmp_path / "lakefile.toml").write_text(LAKEFILE_TOML)
    assert read_requires(tmp_path) == [
        Require("mathlib", scope="leanprover-community", rev="v4.9.0"),
        Require("aesop", git="https://github.com/leanprover-community/aesop", rev="master"),
        Require("local_dep", path="../local_dep"),
    ]
    (tmp_path / "lakefile.lean").write_text("package p\nrequire only from git \"u\"\n")
    assert read_requires(tmp_path) == [Require("only", git="u")]  # Lake reads lakefile.lean first


def test_batteries_like_lakefile_without_requires_needs_nothing(tmp_path):
    (tmp_path / "lakefile.toml").write_text('name = "batteries"\n\n[[lean_lib]]\nname = "Batteries"\n')
    assert read_requires(tmp_path) == []
    assert resolve_dependencies(read_package(tmp_path)) == []


def _package(root: Path, name: str, lib: str, requires: str = "", files: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "lakefile.toml").write_text(f'name = "{name}"\n{requires}\n[[lean_lib]]\nname = "{lib}"\n')
    for rel, text in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


MANIFEST = """{"version": "1.1.0", "packagesDir": ".lake/packages", "name": "app", "lakeDir": ".lake", "packages": [
 {"url": "https://example.invalid/geo.git", "type": "git", "subDir": null, "scope": "", "rev": "%s", "name": "geo",
  "manifestFile": "lake-manifest.json", "inputRev": "main", "inherited": false, "configFile": "lakefile.toml"},
 {"type": "path", "scope": "", "name": "util", "manifestFile": "lake-manifest.json", "inherited": false,
  "dir": "../util", "configFile": "lakefile.toml"}]}"""


def _app(tmp_path: Path, rev: str = "a" * 40) -> Path:
    requires = ('[[require]]\nname = "geo"\ngit = "https://example.invalid/geo.git"\nrev = "main"\n\n'
                '[[require]]\nname = "util"\npath = "../util"\n')
    app = _package(tmp_path / "app", "app", "App", requires, {"App.lean": "import Geo\nimport Util\n"})
    (app / "lake-manifest.json").write_text(MANIFEST % rev)
    _package(tmp_path / "util", "util", "Util", files={"Util.lean": "def util := 1\n", "Util/Unused.lean": ""})
    return app


def test_dependencies_come_from_the_manifest_a_path_and_a_checkout_at_the_pinned_revision(tmp_path):
    app = _app(tmp_path)
    asked = []

    def clone(url, rev):
        asked.append((url, rev))
        return _package(tmp_path / "checkouts" / "geo", "geo", "Geo", files={"Geo.lean": "import Util\n"}), rev

    project = load_project(app, fetch=True, clone=clone)
    assert asked == [("https://example.invalid/geo.git", "a" * 40)]
    assert [(d.name, d.source, d.rev) for d in project.dependencies] == [("geo", "checkout", "a" * 40),
                                                                       ("util", "path", "")]
    # The dependency modules the project's modules import, and nothing more of theirs.
    assert {name: (m.package, m.relpath) for name, m in project.modules.items()} == {
        "App": ("app", "App.lean"), "Geo": ("geo", "Geo.lean"), "Util": ("util", "Util.lean")}
    assert [m.name for m in project.import_order()] == ["Util", "Geo", "App"]


def test_a_dependency_in_lake_packages_is_used_and_a_revision_other_than_the_manifests_is_a_warning(tmp_path, caplog):
    app = _app(tmp_path)
    geo = _package(app / ".lake" / "packages" / "geo", "geo", "Geo", files={"Geo.lean": "def geo := 1\n"})
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=geo, check=True, capture_output=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=geo, capture_output=True, text=True).stdout.strip()
    dependencies = resolve_dependencies(read_package(app), fetch=False)
    assert [(d.name, d.source, d.rev) for d in dependencies] == [("geo", ".lake/packages", head), ("util", "path", "")]
    assert (f"app: {geo} is at commit {head}, but lake-manifest.json pins {'a' * 40}; using it as it is"
            in caplog.text)


def test_a_dependency_that_cannot_be_had_is_one_error_naming_package_url_revision_and_fix(tmp_path):
    app = _app(tmp_path, rev="b" * 40)
    with pytest.raises(DependencyError) as natively:
        resolve_dependencies(read_package(app), fetch=False)
    assert str(natively.value) == (
        f"app requires geo (https://example.invalid/geo.git at {'b' * 40}), which is not in {app}/.lake/packages "
        f"(Lake has not fetched it): run `lake build` (or `lake update`) in {app}, then build again")
    with pytest.raises(DependencyError) as fetching:
        resolve_dependencies(read_package(app), fetch=True)  # the real clone: no such host
    message = str(fetching.value)
    assert message.startswith(f"app requires geo (https://example.invalid/geo.git at {'b' * 40}), which could not be "
                              "checked out: `git ")
    assert message.endswith(f"Fix: with network, build again (or run `lake update` in {app} once); without it, put a "
                            f"checkout of geo at that revision in {app}/.lake/packages/geo")


def _lake_project(root: Path) -> Path:
    shutil.copytree(Path(__file__).parent.parent / "lean" / "sample_project", root)
    (root / "lakefile.toml").write_text('name = "sample"\n\n[[require]]\nname = "mathlib"\n'
                                        'git = "https://github.com/leanprover-community/mathlib4"\n\n'
                                        '[[lean_lib]]\nname = "Sample"\nglobs = ["Sample.+"]\n')
    return root


def test_natively_a_dependency_lake_has_not_fetched_stops_the_cli_before_lean_with_status_1(tmp_path, capsys):
    project = _lake_project(tmp_path / "needs_mathlib")
    extractor = FakeExtractor()
    extractor.toolchain = NATIVE
    status = cli.main(["preview", str(project), "--cache-dir", str(tmp_path / "ds")], extractor=extractor)
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: sample requires mathlib (https://github.com/leanprover-community/mathlib4 at its "
                          "HEAD), which is not in ")
    assert err.count("error:") == 1
    assert extractor["calls"] == []  # Lean never started


def test_natively_with_the_packages_present_the_build_goes_on(tmp_path, capsys):
    project = _lake_project(tmp_path / "needs_mathlib")
    _package(project / ".lake" / "packages" / "mathlib", "mathlib", "Mathlib")
    extractor = FakeExtractor()
    extractor["outputs"] = [dataclasses.replace(sample_module_output(), package="sample")]  # the root package's
    extractor.toolchain = NATIVE
    status = cli.main(["preview", str(project), "--config", "tactic_prediction", "--cache-dir", str(tmp_path / "ds")],
                      extractor=extractor)
    assert status == 0
    assert extractor["calls"] == [str(project.resolve())]

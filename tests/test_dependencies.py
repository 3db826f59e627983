"""Dependencies a lakefile declares: reading them, and a build that stops before Lean starts
when the toolchain cannot provide them or Lake has not fetched them (no Lean runs here)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FakeExtractor

from ntp_datasets import cli
from ntp_datasets.errors import DependencyError
from ntp_datasets.project import Require, check_dependencies, read_requires
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
    check_dependencies(tmp_path, WASM)  # no error


def test_the_webassembly_lean_cannot_provide_packages(tmp_path):
    (tmp_path / "lakefile.lean").write_text(LAKEFILE_LEAN)
    with pytest.raises(DependencyError) as raised:
        check_dependencies(tmp_path, WASM, "foo")
    message = str(raised.value)
    assert message.startswith("project 'foo' requires mathlib (git https://github.com/leanprover-community/mathlib4 "
                              "@ v4.9.0), batteries (Reservoir leanprover-community/batteries @ main), ")
    assert "which the WebAssembly Lean cannot provide: it has no Lake and no packages beyond Init, Std, Lean, Lake" \
        in message
    assert "run `lake exe cache get`" in message and "`lake build` in the project" in message


def test_natively_missing_packages_are_named_and_present_ones_pass(tmp_path):
    project = tmp_path / "foo"
    project.mkdir()
    (project / "lakefile.toml").write_text(LAKEFILE_TOML)
    (tmp_path / "local_dep").mkdir()
    (project / ".lake" / "packages" / "mathlib").mkdir(parents=True)
    with pytest.raises(DependencyError, match=r"^project 'foo' requires aesop \(git https://github.com/"
                       r"leanprover-community/aesop @ master\) \(lakefile\), which is not in .*/foo/.lake/packages"):
        check_dependencies(project, NATIVE, "foo")
    (project / ".lake" / "packages" / "aesop").mkdir()
    check_dependencies(project, NATIVE, "foo")  # every package is there


def _lake_project(root: Path) -> Path:
    shutil.copytree(Path(__file__).parent.parent / "lean" / "sample_project", root)
    (root / "lakefile.toml").write_text('name = "sample"\n\n[[require]]\nname = "mathlib"\n'
                                        'git = "https://github.com/leanprover-community/mathlib4"\n\n'
                                        '[[lean_lib]]\nname = "Sample"\nglobs = ["Sample.+"]\n')
    return root


def test_the_cli_stops_before_lean_with_one_error_and_status_1(tmp_path, capsys):
    project = _lake_project(tmp_path / "needs_mathlib")
    extractor = FakeExtractor()
    extractor.toolchain = WASM
    status = cli.main(["preview", str(project), "--cache-dir", str(tmp_path / "ds")], extractor=extractor)
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: project 'needs_mathlib' requires mathlib (git https://github.com/"
                          "leanprover-community/mathlib4) (lakefile), which the WebAssembly Lean cannot provide")
    assert err.count("error:") == 1
    assert extractor["calls"] == []  # Lean never started


def test_natively_with_the_packages_present_the_build_goes_on(tmp_path, capsys):
    project = _lake_project(tmp_path / "needs_mathlib")
    (project / ".lake" / "packages" / "mathlib").mkdir(parents=True)
    extractor = FakeExtractor()
    extractor.toolchain = NATIVE
    status = cli.main(["preview", str(project), "--config", "tactic_prediction", "--cache-dir", str(tmp_path / "ds")],
                      extractor=extractor)
    assert status == 0
    assert extractor["calls"] == [str(project.resolve())]

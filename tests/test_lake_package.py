"""A Lake package as Lake sees it: its lakefile (TOML and the declarative Lean form read into
equal models), its modules named and selected as Lake names and builds them, their Lean
settings, its manifest, and the lakefile.lean constructs the reader refuses (no Lean runs)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ntp_datasets.errors import LakeConfigError, ProjectError, UnsupportedLakefileError
from ntp_datasets.project import (
    Glob,
    LakeManifest,
    LeanLibConfig,
    LeanOption,
    LeanProject,
    LeanSettings,
    ManifestPackage,
    Require,
    read_package,
)
from ntp_datasets.project.lakefile import parse_lakefile_lean, parse_lakefile_toml

LAKEFILE_TOML = '''name = "shop"
srcDir = "src"
defaultTargets = ["Shop"]
testDriver = "ShopTest"

[leanOptions]
autoImplicit = false
linter.missingDocs = true
weak.linter.unusedTactic = false

[[require]]
name = "batteries"
git = "https://example.com/batteries.git"
rev = "main"

[[require]]
name = "helpers"
path = "../helpers"

[[lean_lib]]
name = "Shop"

[[lean_lib]]
name = "ShopTest"
globs = ["ShopTest.+"]
leanOptions = {autoImplicit = true, maxHeartbeats = 400}
moreLeanArgs = ["--tstack=1000"]

[[lean_exe]]
name = "report"
srcDir = "scripts"
supportInterpreter = true
'''

LAKEFILE_LEAN = '''import Lake
open Lake DSL

require batteries from git "https://example.com/batteries.git" @ "main"
require helpers from "../helpers"

/-- Shared by the package. -/
abbrev shopOptions : Array LeanOption := #[
  ⟨`autoImplicit, false⟩,
  ⟨`linter.missingDocs, true⟩,
  ⟨`weak.linter.unusedTactic, false⟩,
]

package shop where
  srcDir := "src"
  leanOptions := shopOptions
  testDriver := "ShopTest"

@[default_target]
lean_lib Shop

lean_lib ShopTest where
  globs := #[.submodules `ShopTest]
  leanOptions := #[⟨`autoImplicit, true⟩, ⟨`maxHeartbeats, (400 : Nat)⟩]
  moreLeanArgs := #["--tstack=1000"]

lean_exe report where
  srcDir := "scripts"
  supportInterpreter := true

script greet do
  IO.println "hello"
  return 0

meta if get_config? doc |>.isSome then
require «doc-gen4» from git "https://example.com/doc-gen4.git" @ "main"
'''

FILES = {
    "src/Shop.lean": "import Shop.Cart\n",
    "src/Shop/Cart.lean": "import Shop.Price\ndef cart := 1\n",
    "src/Shop/Price.lean": "def price := 2\n",
    "src/Shop/Unused.lean": "def unused := 3\n",  # owned by Shop, built by no target, imported by none
    "src/ShopTest/Cart.lean": "import Shop.Cart\n",
    "src/ShopTest/Deep/Price.lean": "import Shop\nimport Batteries.Data.List\n",
    "src/scripts/report.lean": "import Shop.Price\ndef main : IO Unit := pure ()\n",
    "src/Orphan.lean": "def orphan := 4\n",
    "Scratch.lean": "import Shop\n",
    ".lake/packages/batteries/Batteries.lean": "-- a dependency, never a module of the package\n",
}

MANIFEST = {
    "version": "1.1.0", "packagesDir": ".lake/packages", "name": "shop", "lakeDir": ".lake",
    "packages": [
        {"url": "https://example.com/batteries.git", "type": "git", "subDir": None, "scope": "",
         "rev": "1111111111111111111111111111111111111111", "name": "batteries", "manifestFile": "lake-manifest.json",
         "inputRev": "main", "inherited": False, "configFile": "lakefile.toml"},
        {"type": "path", "scope": "", "name": "helpers", "manifestFile": "lake-manifest.json", "inherited": False,
         "dir": "../helpers", "configFile": "lakefile.lean"},
        {"url": "https://example.com/plausible.git", "type": "git", "subDir": "lib", "scope": "leanprover-community",
         "rev": "2222222222222222222222222222222222222222", "name": "plausible",
         "manifestFile": "lake-manifest.json", "inputRev": "v1.0", "inherited": True, "configFile": "lakefile.toml"},
    ],
}


def write_package(root: Path, lakefile: str, name: str, files: dict[str, str] = FILES) -> Path:
    for rel, text in {**files, name: lakefile}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(params=["lakefile.toml", "lakefile.lean"])
def shop(tmp_path, request) -> Path:
    text = LAKEFILE_TOML if request.param == "lakefile.toml" else LAKEFILE_LEAN
    root = write_package(tmp_path / "shop", text, request.param)
    (root / "lean-toolchain").write_text("leanprover/lean4:v4.27.0\n")
    (root / "lake-manifest.json").write_text(json.dumps(MANIFEST))
    return root


def test_modules_are_named_and_selected_as_lake_builds_them(shop):
    project = LeanProject(shop)

    assert {name: (m.relpath, m.target, m.in_target) for name, m in project.modules.items()} == {
        "Shop": ("src/Shop.lean", "Shop", True),
        "ShopTest.Cart": ("src/ShopTest/Cart.lean", "ShopTest", True),
        "ShopTest.Deep.Price": ("src/ShopTest/Deep/Price.lean", "ShopTest", True),
        "report": ("src/scripts/report.lean", "report", True),
        # Imported by the modules above and owned by lean_lib Shop (below its root `Shop`).
        "Shop.Cart": ("src/Shop/Cart.lean", "Shop", True),
        "Shop.Price": ("src/Shop/Price.lean", "Shop", True),
    }
    assert {name: (m.relpath, m.target) for name, m in project.untargeted.items()} == {
        "Orphan": ("src/Orphan.lean", ""),
        "Scratch": ("Scratch.lean", ""),
        "Shop.Unused": ("src/Shop/Unused.lean", "Shop"),
    }
    assert [m.name for m in project.import_order()] == [
        "Shop.Price", "Shop.Cart", "Shop", "ShopTest.Cart", "ShopTest.Deep.Price", "report"]
    assert {m.package for m in project.modules.values()} == {"shop"}
    assert project.problems() == {} and project.missing == {}


def test_lakefile_toml_and_lakefile_lean_give_equal_models(tmp_path):
    toml = read_package(write_package(tmp_path / "toml", LAKEFILE_TOML, "lakefile.toml"))
    lean = read_package(write_package(tmp_path / "lean", LAKEFILE_LEAN, "lakefile.lean"))

    assert (toml.config_file, lean.config_file) == ("lakefile.toml", "lakefile.lean")
    fields = ["name", "src_dir", "lean_libs", "lean_exes", "lean_options", "more_lean_args", "weak_lean_args",
              "requires", "default_targets"]
    assert {f: getattr(toml, f) for f in fields} == {f: getattr(lean, f) for f in fields}
    assert toml.lean_libs == (
        LeanLibConfig("Shop"),
        LeanLibConfig("ShopTest", globs=(Glob("ShopTest", "submodules"),),
                      lean_options=(LeanOption("autoImplicit", True), LeanOption("maxHeartbeats", 400)),
                      more_lean_args=("--tstack=1000",)),
    )
    assert toml.lean_libs[1].roots == ("ShopTest",)
    assert [(e.name, e.src_dir, e.root) for e in toml.lean_exes] == [("report", "scripts", "report")]
    assert toml.requires == (Require("batteries", git="https://example.com/batteries.git", rev="main"),
                             Require("helpers", path="../helpers"))
    assert lean.skipped == ("script greet (line 31)", "meta if (line 35): else branch taken")
    modules = {f: {n: m.relpath for n, m in LeanProject(tmp_path / f).modules.items()} for f in ("toml", "lean")}
    assert modules["toml"] == modules["lean"]


def test_lean_options_of_package_and_library_merge_as_lake_passes_them(shop):
    project = LeanProject(shop)

    package_level = LeanSettings((LeanOption("autoImplicit", False), LeanOption("linter.missingDocs", True),
                                  LeanOption("weak.linter.unusedTactic", False)))
    assert project.modules["Shop"].settings == package_level
    assert project.modules["report"].settings == package_level
    # The library's autoImplicit replaces the package's, in the package's place.
    assert project.modules["ShopTest.Cart"].settings.cli_args() == [
        "-DautoImplicit=true", "-Dlinter.missingDocs=true", "-Dweak.linter.unusedTactic=false",
        "-DmaxHeartbeats=400", "--tstack=1000"]
    weak = project.modules["ShopTest.Cart"].settings.lean_options[2]
    assert (weak.weak, weak.option) == (True, "linter.unusedTactic")


def test_the_manifest_lists_every_package_transitive_ones_too(shop):
    package = read_package(shop)

    assert package.toolchain == "leanprover/lean4:v4.27.0"
    assert package.manifest == LakeManifest(version="1.1.0", name="shop", lake_dir=".lake",
                                            packages_dir=".lake/packages", packages=(
        ManifestPackage("batteries", "git", url="https://example.com/batteries.git",
                        rev="1111111111111111111111111111111111111111", input_rev="main", config_file="lakefile.toml"),
        ManifestPackage("helpers", "path", dir="../helpers"),
        ManifestPackage("plausible", "git", url="https://example.com/plausible.git",
                        rev="2222222222222222222222222222222222222222", input_rev="v1.0", sub_dir="lib",
                        scope="leanprover-community", config_file="lakefile.toml", inherited=True),
    ))
    assert package.manifest.find("plausible").inherited is True


def test_untargeted_files_are_extracted_only_when_asked(shop):
    project = LeanProject(shop, include_untargeted=True)

    assert {n: m.in_target for n, m in project.modules.items() if not m.in_target} == {
        "Orphan": False, "Scratch": False, "Shop.Unused": False}
    assert project.modules["Shop.Unused"].target == "Shop"
    assert project.untargeted == {}
    assert LeanProject(shop).fingerprint() != project.fingerprint()


def test_the_fingerprint_follows_what_changes_rows(shop):
    before = LeanProject(shop).fingerprint()
    (shop / "src" / "Orphan.lean").write_text("def orphan := 5\n")  # not extracted
    assert LeanProject(shop).fingerprint() == before
    (shop / "src" / "Shop" / "Price.lean").write_text("def price := 3\n")
    changed = LeanProject(shop).fingerprint()
    assert changed != before
    (shop / "lake-manifest.json").write_text(json.dumps({**MANIFEST, "packages": MANIFEST["packages"][:1]}))
    assert LeanProject(shop).fingerprint() != changed


def test_an_import_lake_owns_but_whose_file_is_missing_fails_before_lean(tmp_path):
    root = write_package(tmp_path / "p", 'name = "p"\n[[lean_lib]]\nname = "P"\n',
                         "lakefile.toml", {"P.lean": "import P.Gone\nimport Std\n"})

    project = LeanProject(root)

    assert project.missing == {"P.Gone": "P/Gone.lean does not exist (P.lean imports it and lean_lib P owns it)"}
    assert project.problems() == {"P": ("missing_import", "P.lean imports P.Gone, a module of its package whose "
                                        "file is missing: P/Gone.lean does not exist (P.lean imports it and "
                                        "lean_lib P owns it)")}


def test_lake_ownership_the_last_library_wins_and_roots_own_submodules(tmp_path):
    lakefile = ('name = "p"\n[[lean_lib]]\nname = "A"\nroots = ["Common"]\nsrcDir = "a"\n'
                '[[lean_lib]]\nname = "B"\nroots = ["Common"]\nsrcDir = "b"\n'
                '[[lean_lib]]\nname = "C"\nglobs = ["Gen.*"]\n')
    files = {"a/Common.lean": "import Common.Sub\n", "a/Common/Sub.lean": "", "b/Common.lean": "import Common.Sub\n",
             "b/Common/Sub.lean": "", "Gen.lean": "", "Gen/X.lean": ""}
    root = write_package(tmp_path / "p", lakefile, "lakefile.toml", files)
    package = read_package(root)

    assert package.owning_lib("Common.Sub").name == "B"  # Lake searches the libraries from the last
    assert package.owning_lib("Gen.X").name == "C" and package.owning_lib("Elsewhere") is None
    project = LeanProject(root)
    assert {n: m.relpath for n, m in project.modules.items()} == {
        "Common": "a/Common.lean", "Common.Sub": "b/Common/Sub.lean", "Gen": "Gen.lean", "Gen.X": "Gen/X.lean"}
    assert project.collisions == {"Common": ["a/Common.lean", "b/Common.lean"]}


def test_globs_follow_lake_one_submodules_and_both():
    assert [Glob.parse(t) for t in ("Foo", "Foo.+", "Foo.*")] == [
        Glob("Foo"), Glob("Foo", "submodules"), Glob("Foo", "and_submodules")]
    matches = {str(g): [m for m in ("Foo", "Foo.A", "Foo.A.B", "FooBar") if g.matches(m)]
               for g in (Glob("Foo"), Glob("Foo", "submodules"), Glob("Foo", "and_submodules"))}
    assert matches == {"Foo": ["Foo"], "Foo.+": ["Foo.A", "Foo.A.B"], "Foo.*": ["Foo", "Foo.A", "Foo.A.B"]}
    lib = LeanLibConfig("Lib", roots=("Foo",), globs=(Glob("Foo"),))
    assert (lib.is_buildable_module("Foo.Deep"), lib.is_buildable_module("Bar")) == (True, False)
    only_below = LeanLibConfig("T", globs=(Glob("T", "submodules"),))
    assert (only_below.is_buildable_module("T"), only_below.is_buildable_module("T.X")) == (False, True)


def test_a_package_with_no_targets_names_the_fix(tmp_path):
    root = write_package(tmp_path / "p", 'name = "bare"\n', "lakefile.toml", {"A.lean": ""})
    with pytest.raises(ProjectError, match=r"package bare \(lakefile.toml; lean_lib none; lean_exe none\)"
                       r" at .*: its targets build no module whose file exists \(1 .lean files are not part of a "
                       r"target; include_untargeted=True extracts them\)"):
        LeanProject(root)
    assert list(LeanProject(root, include_untargeted=True).modules) == ["A"]


UNSUPPORTED = [
    ("package p where\n  leanOptions := if get_config? ci |>.isSome then #[] else #[]\n", 2, "if"),
    ("package p\nlean_lib P where\n  moreLeanArgs := #[\"-DwarningAsError=true\"] ++ optArg werror\n", 3, "optArg"),
    ("package p\n#eval IO.println \"hi\"\n", 2, "#eval"),
    ("package p\nmy_library P\n", 2, "my_library"),
    ("package p\nlean_lib P where\n  srcDir := (← run_io (pure \"src\"))\n", 3, "←"),
    ("package p\nmeta if System.Platform.isWindows then\nlean_lib Win\n", 2, "System.Platform.isWindows"),
    ("package p\ntarget gen pkg : Unit := pure .nil\nlean_lib P where\n  extraDepTargets := #[`gen]\n", 4, "extraDepTargets"),
]


@pytest.mark.parametrize("text,line,construct", UNSUPPORTED, ids=[u[2] for u in UNSUPPORTED])
def test_a_lakefile_lean_this_reader_cannot_follow_is_an_error_naming_the_construct(tmp_path, text, line, construct):
    (tmp_path / "lakefile.lean").write_text("import Lake\nopen Lake DSL\n\n" + text)
    with pytest.raises(UnsupportedLakefileError) as raised:
        read_package(tmp_path)
    assert (raised.value.line, raised.value.construct) == (line + 3, construct)
    assert str(raised.value).startswith(f"{tmp_path / 'lakefile.lean'}:{line + 3}: ")
    assert "reads only the declarative part of lakefile.lean" in str(raised.value)


def test_the_error_message_of_a_computed_field_is_one_readable_line(tmp_path):
    (tmp_path / "lakefile.lean").write_text("package p where\n  leanOptions := defaultOptions\n")
    with pytest.raises(UnsupportedLakefileError) as raised:
        read_package(tmp_path)
    assert str(raised.value) == (
        f"{tmp_path / 'lakefile.lean'}:2: `defaultOptions` is neither a literal nor a constant defined in the "
        "lakefile; ntp-datasets reads only the declarative part of lakefile.lean (without running Lean) and does "
        "not guess what this computes. Write the value out (or convert the package to lakefile.toml)")


def test_lakefile_toml_of_the_wrong_shape_names_the_field(tmp_path):
    with pytest.raises(LakeConfigError, match=r"lean_lib 'P''s roots must be an array of strings, got 'P'"):
        parse_lakefile_toml('name = "p"\n[[lean_lib]]\nname = "P"\nroots = "P"\n')
    with pytest.raises(LakeConfigError, match=r"leanOptions: \[1, 2\] is not a string, boolean or nonnegative"):
        parse_lakefile_toml('name = "p"\nleanOptions = {x = [1, 2]}\n')
    with pytest.raises(LakeConfigError, match=r"srcDir '\.\./elsewhere' leads outside the package"):
        parse_lakefile_toml('name = "p"\nsrcDir = "../elsewhere"\n')


def test_lean_dsl_forms_of_globs_options_and_requires():
    config = parse_lakefile_lean('''package «my-pkg» where
  moreLeanArgs := #["-Dx=1"]
  weakLeanArgs := #["-Dy=2"]
lean_lib A where
  roots := #[`A, `«B C»]
  globs := #[`A.*, Glob.submodules `«B C», .one `A.Extra]
  leanOptions := #[⟨`pp.all, .ofBool true⟩, {name := `n, value := .ofNat 3}, ⟨`s, "text"⟩]
require "leanprover-community" / "batteries" @ git "v4.27.0"
require mathlib from git "https://example.com/m.git" @ "v1" / "sub" with NameMap.empty
''')
    assert config.name == "my-pkg"
    assert (config.more_lean_args, config.weak_lean_args) == (("-Dx=1",), ("-Dy=2",))
    lib = config.lean_libs[0]
    assert lib.roots == ("A", "B C")
    assert lib.globs == (Glob("A", "and_submodules"), Glob("B C", "submodules"), Glob("A.Extra"))
    assert lib.lean_options == (LeanOption("pp.all", True), LeanOption("n", 3), LeanOption("s", "text"))
    assert config.requires == (Require("batteries", "leanprover-community", rev="v4.27.0"),
                               Require("mathlib", git="https://example.com/m.git", rev="v1", subdir="sub"))


def test_a_real_layout_batteries_scripts_and_a_dotted_exe_root(tmp_path):
    lakefile = ('name = "batteries"\ndefaultTargets = ["Batteries", "runLinter"]\n[leanOptions]\n'
                'linter.missingDocs = true\n\n[[lean_lib]]\nname = "Batteries"\n\n[[lean_lib]]\nname = "BatteriesTest"\n'
                'globs = ["BatteriesTest.+"]\nleanOptions = {linter.missingDocs = false}\n\n'
                '[[lean_exe]]\nname = "runLinter"\nsrcDir = "scripts"\n\n[[lean_exe]]\nname = "shake"\n'
                'root = "Shake.Main"\n')
    files = {"Batteries.lean": "import Batteries.Data\n", "Batteries/Data.lean": "", "BatteriesTest/t.lean": "",
             "scripts/runLinter.lean": "import Batteries\n", "scripts/check_imports.lean": "",
             "Shake/Main.lean": ""}
    project = LeanProject(write_package(tmp_path / "b", lakefile, "lakefile.toml", files))

    assert {n: m.relpath for n, m in project.modules.items()} == {
        "Batteries": "Batteries.lean", "BatteriesTest.t": "BatteriesTest/t.lean", "runLinter": "scripts/runLinter.lean",
        "Shake.Main": "Shake/Main.lean", "Batteries.Data": "Batteries/Data.lean"}
    assert {n: m.relpath for n, m in project.untargeted.items()} == {"check_imports": "scripts/check_imports.lean"}
    assert project.modules["BatteriesTest.t"].settings.option_values() == {"linter.missingDocs": False}
    assert project.package.default_targets == ("Batteries", "runLinter")


def test_a_directory_without_a_lakefile_keeps_every_file_named_by_its_path(tmp_path):
    root = write_package(tmp_path / "plain", "", "README.md", {"src/A.lean": "", "B.lean": "import src.A\n"})
    project = LeanProject(root)
    assert project.package is None
    assert {n: (m.relpath, m.package, m.in_target) for n, m in project.modules.items()} == {
        "B": ("B.lean", "", True), "src.A": ("src/A.lean", "", True)}


def test_the_package_model_is_one_frozen_value(shop):
    package = read_package(shop)
    with pytest.raises(dataclasses.FrozenInstanceError):
        package.name = "other"
    assert LeanProject.from_package(package).package is package


def test_fields_the_reader_does_not_need_may_compute_anything():
    config = parse_lakefile_lean('''package p where
  moreLinkArgs := Id.run do
    let mut args := #[]
    args := args.push "-lfoo"
    return args
  srcDir := "src"

lean_lib P where
  precompileModules := if System.Platform.isWindows then false else true
''')
    assert (config.src_dir, [lib.name for lib in config.lean_libs]) == ("src", ["P"])


def test_meta_if_on_get_config_takes_the_branch_lake_takes_without_k_options():
    config = parse_lakefile_lean('''package p
meta if get_config? env = some "dev" then
require devOnly from git "https://example.com/dev.git"
else
require always from git "https://example.com/always.git"

meta if (get_config? doc).isNone then lean_lib NoDocs
''')
    assert [r.name for r in config.requires] == ["always"]
    assert [lib.name for lib in config.lean_libs] == ["NoDocs"]
    assert config.skipped == ("meta if (line 2): else branch taken", "meta if (line 7): then branch taken")

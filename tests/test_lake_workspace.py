"""A Lake package with dependencies, on the embedded Lean: a root package (`srcDir`, two
libraries with their own `leanOptions`, an executable, a file no target builds) requiring a
package by path and one by git (a `file://` repository made here, pinned by the manifest) with a
transitive git dependency. One real extraction serves the file's tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import ntp_datasets
from ntp_datasets import cli
from ntp_datasets.extraction import Extractor
from ntp_datasets.extraction.process import ModuleStarted
from ntp_datasets.project import load_project
from ntp_datasets.publish.provenance import network_url

MIT = ("Permission is hereby granted, free of charge, to any person obtaining a copy of this software\n"
       "The above copyright notice and this permission notice shall be included in all copies\n")
APACHE = "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/\n"


def _git(*args, cwd):
    env = dict(os.environ, GIT_AUTHOR_DATE="2025-11-01T12:00:00+00:00", GIT_COMMITTER_DATE="2025-11-01T12:00:00+00:00")
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _repo(root: Path, files: dict[str, str]) -> str:
    """A git repository at ``root`` with ``files`` in one commit (fixed dates); its commit."""
    _write(root, files)
    _git("init", "-q", "-b", "main", cwd=root)
    _git("add", "-A", cwd=root)
    _git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one", cwd=root)
    return _git("rev-parse", "HEAD", cwd=root)


def _manifest(name: str, git: dict[str, tuple[str, str, bool]], paths: dict[str, str]) -> str:
    entries = [f'{{"url": "{url}", "type": "git", "subDir": null, "scope": "", "rev": "{rev}", "name": "{n}", '
               f'"manifestFile": "lake-manifest.json", "inputRev": "main", "inherited": {str(inherited).lower()}, '
               f'"configFile": "lakefile.toml"}}' for n, (url, rev, inherited) in git.items()]
    entries += [f'{{"type": "path", "scope": "", "name": "{n}", "manifestFile": "lake-manifest.json", '
                f'"inherited": false, "dir": "{d}", "configFile": "lakefile.toml"}}' for n, d in paths.items()]
    return (f'{{"version": "1.1.0", "packagesDir": ".lake/packages", "name": "{name}", "lakeDir": ".lake", '
            f'"packages": [{", ".join(entries)}]}}')


def make_workspace(root: Path) -> dict:
    base = root / "base"
    base_rev = _repo(base, {"lakefile.toml": 'name = "base"\n\n[[lean_lib]]\nname = "Base"\n',
                            "Base.lean": "def Base.one : Nat := 1\n", "LICENSE": MIT})
    geo = root / "geo"
    geo_rev = _repo(geo, {
        "lakefile.toml": f'name = "geo"\n\n[[require]]\nname = "base"\ngit = "{base.as_uri()}"\nrev = "main"\n\n'
                         '[[lean_lib]]\nname = "Geo"\n',
        "Geo/Point.lean": "import Base\n\ntheorem Geo.one_eq : Base.one = 1 := rfl\n",
        "Geo/Unused.lean": "def Geo.unused : Nat := 0\n", "LICENSE": APACHE})
    _write(root / "util", {"lakefile.toml": 'name = "util"\n\n[[lean_lib]]\nname = "Util"\n',
                           "Util.lean": "def Util.twice (n : Nat) : Nat := 2 * n\n"})
    requires = (f'[[require]]\nname = "util"\npath = "../util"\n\n'
                f'[[require]]\nname = "geo"\ngit = "{geo.as_uri()}"\nrev = "main"\n')
    shop = _write(root / "shop", {
        "lakefile.toml": f'name = "shop"\nsrcDir = "src"\n\n[leanOptions]\nautoImplicit = false\n\n{requires}\n'
                         '[[lean_lib]]\nname = "Shop"\n\n[[lean_lib]]\nname = "ShopTest"\nglobs = ["ShopTest.+"]\n'
                         'leanOptions = {autoImplicit = true}\n\n[[lean_exe]]\nname = "report"\nsrcDir = "scripts"\n',
        "lake-manifest.json": _manifest("shop", {"geo": (geo.as_uri(), geo_rev, False),
                                                 "base": (base.as_uri(), base_rev, True)}, {"util": "../util"}),
        "src/Shop.lean": "import Shop.Cart\n",
        "src/Shop/Cart.lean": ("import Util\nimport Geo.Point\n\ntheorem Shop.cart : Util.twice 1 = 2 := by\n  decide\n\n"
                               "def Shop.same (x : α) : α := x\n"),
        "src/ShopTest/Cart.lean": "import Shop\n\ndef ShopTest.same (x : α) : α := x\n",
        "src/scripts/report.lean": "import Shop.Cart\n\ntheorem report : Base.one = 1 := Geo.one_eq\n",
        "Scratch.lean": "def scratch : Nat := 3\n",
        "LICENSE": MIT,
    })
    return {"shop": shop, "geo": geo, "base": base, "geo_rev": geo_rev, "base_rev": base_rev}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, empty_home):
    """The workspace, extracted once (an empty cache), with the home its builds share."""
    made = make_workspace(tmp_path_factory.mktemp("workspace"))
    home = empty_home("lake_workspace")
    started = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NTP_DATASETS_HOME", str(home))
        extractor = Extractor(progress=False, on_event=lambda e: started.append(e.module)
                              if isinstance(e, ModuleStarted) else None)
        cache = tmp_path_factory.mktemp("ds")
        roots = ntp_datasets.build("full_proof", str(made["shop"]), cache_dir=str(cache), extractor=extractor)
        every = ntp_datasets.build("full_proof", str(made["shop"]), cache_dir=str(cache), extractor=extractor,
                                   packages="all")
        errors = ntp_datasets.load_dataset("errors", str(made["shop"]), cache_dir=str(cache), extractor=extractor,
                                           packages="all")["train"]
        yield {**made, "home": home, "cache": cache, "extractor": extractor, "started": started, "roots": roots,
               "every": every, "errors": errors}


def test_modules_are_named_and_selected_as_lake_does_with_the_dependency_modules_they_import(tmp_path, monkeypatch):
    made = make_workspace(tmp_path)
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))  # the checkouts
    project = load_project(made["shop"], fetch=True)
    assert {n: (m.package, m.relpath) for n, m in project.modules.items()} == {
        "Shop.Cart": ("shop", "src/Shop/Cart.lean"), "Shop": ("shop", "src/Shop.lean"),
        "ShopTest.Cart": ("shop", "src/ShopTest/Cart.lean"), "report": ("shop", "src/scripts/report.lean"),
        "Util": ("util", "Util.lean"), "Geo.Point": ("geo", "Geo/Point.lean"), "Base": ("base", "Base.lean")}
    assert sorted(project.untargeted) == ["Scratch"]  # listed, not elaborated; Geo.Unused is not even listed
    assert [(d.name, d.source, d.rev, d.license) for d in project.dependencies] == [
        ("geo", "checkout", made["geo_rev"], "Apache-2.0"), ("base", "checkout", made["base_rev"], "MIT"),
        ("util", "path", "", "unknown")]


def test_rows_come_from_the_root_package_by_default_and_from_every_package_when_asked(workspace):
    roots, every = workspace["roots"].dataset["train"], workspace["every"].dataset["train"]
    assert sorted(zip(roots["declId"], roots["package"])) == [
        ("Shop.Cart:Shop.cart", "shop"), ("Shop.Cart:Shop.same", "shop"), ("ShopTest.Cart:ShopTest.same", "shop"),
        ("report:report", "shop")]
    assert sorted(zip(every["declId"], every["package"])) == sorted([
        *zip(roots["declId"], roots["package"]), ("Util:Util.twice", "util"), ("Geo.Point:Geo.one_eq", "geo"),
        ("Base:Base.one", "base")])
    summary = workspace["roots"].summary.format()
    assert summary.startswith("full_proof of shop: 4 modules: 4 extracted now, 0 read from the extraction cache, "
                              "0 failed; 2 errors (elaboration: 2); other packages' modules: 1 of base, 1 of geo, "
                              "1 of util "
                              "(0 failed); 4 rows")
    # One elaboration of each module: the second build read the cache.
    assert sorted(workspace["started"]) == ["Base", "Geo.Point", "Shop", "Shop.Cart", "ShopTest.Cart", "Util",
                                            "report"]


def test_the_command_line_asks_for_the_rows_of_named_packages(workspace, monkeypatch, capsys):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(workspace["home"]))
    args = ["preview", str(workspace["shop"]), "--config", "full_proof", "--cache-dir", str(workspace["cache"]),
            "--packages", "geo,util", "--rows", "0"]
    assert cli.main(args, extractor=workspace["extractor"]) == 0
    assert ("full_proof of shop: 2 modules: 0 extracted now, 2 read from the extraction cache, 0 failed; 0 errors; "
            "other packages' modules: 1 of base, 4 of shop (0 failed); 2 rows") in capsys.readouterr().out


def test_a_package_and_its_libraries_lean_options_reach_lean(workspace):
    """`autoImplicit = false` for the package, `true` for ShopTest: the same definition fails in
    Shop.Cart and elaborates in ShopTest.Cart."""
    rows = [(r["module"], r["line"], r["column"], r["kind"], r["declaration"], r["package"]) for r in workspace["errors"]]
    assert rows == [("Shop.Cart", 7, 19, "elaboration", "Shop.Cart:Shop.same", "shop"),
                    ("Shop.Cart", 7, 24, "elaboration", "Shop.Cart:Shop.same", "shop")]
    assert all("because the `autoImplicit` option is set to `false`" in m for m in workspace["errors"]["message"])


def test_network_urls_are_published_without_credentials_and_local_ones_not_at_all():
    assert network_url("https://user:token@github.com/leanprover-community/batteries") == \
        "https://github.com/leanprover-community/batteries"
    assert network_url("git@github.com:leanprover-community/aesop.git") == "github.com:leanprover-community/aesop.git"
    assert network_url("file:///home/me/batteries") == "" and network_url("../util") == "" and network_url(None) == ""


def test_the_dataset_card_lists_every_package_with_url_revision_and_licence(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(workspace["home"]))
    out = tmp_path / "folder"
    manifest = ntp_datasets.build_dataset_folder(str(workspace["shop"]), out, ["full_proof"],
                                                 cache_dir=str(workspace["cache"]), extractor=workspace["extractor"])
    (project,) = manifest.provenance["projects"]
    assert project["license"] == "mit"  # the Hub's id
    assert project["packages"] == [
        {"name": "shop", "root": True, "url": "", "rev": "", "license": "MIT"},
        # Local (file://) repositories: their revision, not their path.
        {"name": "geo", "root": False, "url": "", "rev": workspace["geo_rev"], "license": "Apache-2.0"},
        {"name": "base", "root": False, "url": "", "rev": workspace["base_rev"], "license": "MIT"},
        {"name": "util", "root": False, "url": "", "rev": "", "license": "unknown"}]
    card = (out / "README.md").read_text()
    assert "\nlicense: mit\n" in card
    assert f"| its dependency `geo` | local, commit `{workspace['geo_rev']}`, licence Apache-2.0 |" in card
    assert str(workspace["shop"].parent) not in card  # no local path


@pytest.mark.slow
def test_a_second_project_on_the_same_dependency_revision_elaborates_none_of_it(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(workspace["home"]))
    geo = workspace["geo"]
    other = _write(tmp_path / "kiosk", {
        "lakefile.toml": f'name = "kiosk"\n\n[[require]]\nname = "geo"\ngit = "{geo.as_uri()}"\nrev = "main"\n\n'
                         '[[lean_lib]]\nname = "Kiosk"\n',
        "lake-manifest.json": _manifest("kiosk", {"geo": (geo.as_uri(), workspace["geo_rev"], False),
                                                  "base": (workspace["base"].as_uri(), workspace["base_rev"], True)},
                                        {}),
        "Kiosk.lean": "import Geo.Point\n\ntheorem Kiosk.one : Base.one = 1 := Geo.one_eq\n",
    })
    started = []
    extractor = Extractor(progress=False, on_event=lambda e: started.append(e.module)
                          if isinstance(e, ModuleStarted) else None)
    rows = ntp_datasets.load_dataset("full_proof", str(other), cache_dir=str(tmp_path / "ds"), extractor=extractor)
    assert rows["train"]["declId"] == ["Kiosk:Kiosk.one"]
    assert started == ["Kiosk"]

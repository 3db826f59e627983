"""Files of a project that are easy to misread: two files naming one module, `«…»` names,
symlinks leading out of the project. Found before Lean runs (its run is a stand-in here)."""

from __future__ import annotations

import os

from fake_pool import recording_pool

from ntp_datasets import records
from ntp_datasets.extraction import Extractor
from ntp_datasets.project import LeanProject
from ntp_datasets.project.modules import parse_imports
from ntp_datasets.toolchain import Toolchain

FAKE_TOOLCHAIN = Toolchain(kind="native", version="Lean (version 4.28.0-pre, fake)", command=["false"], location="-")
SECRET = "def Secret.key : String := \"hunter2\"\n"


def test_guillemet_names_parse_as_lean_parses_them():
    source = "import «With Space»\nimport A.«B C».D\n-- import Not.This\nimport «x.y»\n\ndef a := 1\n"
    assert parse_imports(source) == ("With Space", "A.B C.D", "x.y")


def _project(tmp_path):
    root = tmp_path / "files"
    files = {
        "Foo/Bar.lean": "def Foo.one : Nat := 1\n",
        "Foo.Bar.lean": "def Foo.two : Nat := 2\n",
        "With Space.lean": "def spaced : Nat := 3\n",
        "Uses.lean": "import «With Space»\nimport Foo.Bar\n\ndef uses : Nat := spaced\n",
        "Plain.lean": "import «With Space»\n\ndef plain : Nat := spaced\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (tmp_path / "Secret.lean").write_text(SECRET)
    os.symlink(tmp_path / "Secret.lean", root / "Leak.lean")
    os.symlink(root / "Plain.lean", root / "Alias.lean")  # stays inside: an ordinary module
    return root


def test_collisions_symlinks_and_quoted_imports(tmp_path, monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))
    root = _project(tmp_path)
    elaborated = []
    extractor = Extractor(toolchain=FAKE_TOOLCHAIN, progress=False, start_pool=recording_pool(elaborated))
    outputs = {o.module: o for o in extractor.extract_project(root)}
    assert LeanProject(root).modules["Uses"].imports == ("With Space", "Foo.Bar")
    assert elaborated == ["With Space", "Alias", "Plain"]
    errors = [(r.module, r.file, r.kind, r.message) for o in outputs.values() for r in records.error_records(o)]
    assert sorted(errors) == [
        ("Foo.Bar", "Foo/Bar.lean", "name_collision", "not extracted: Foo/Bar.lean and Foo.Bar.lean are both module "
         "Foo.Bar; Lean would read only one of them (rename one)"),
        ("Leak", "Leak.lean", "outside_project", f"not extracted: Leak.lean leads outside the project "
         f"(to {(tmp_path / 'Secret.lean').resolve()}); it is not read"),
        ("Uses", "Uses.lean", "dependency", "not extracted: it imports Foo.Bar, which could not be built"),
    ]
    assert all("hunter2" not in o.source for o in outputs.values())
    assert outputs["Leak"].source == ""

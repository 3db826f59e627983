"""The `imports` config: direct imports and the project's own modules by default, the whole
environment with `import_closure=True` (no Lean runs here)."""

from __future__ import annotations

import pytest
from sample_module import FakeModuleOutput

from ntp_datasets import records
from ntp_datasets.api import make_builder
from ntp_datasets.errors import ConfigError
from ntp_datasets.project import LeanProject

ENVIRONMENT = ["Init.Prelude", "Init.Core", "Init", "P.A", "P.B", "Std.Data"]


def _output(project_imports=("P.A", "P.B")):
    events = [{"kind": "imports", "direct": ["P.B", "Std.Data"], "all": ENVIRONMENT}]
    return FakeModuleOutput("P.C", "P/C.lean", "import P.B\nimport Std.Data\n", events, project="p",
                            project_imports=project_imports)


def test_by_default_rows_are_direct_imports_and_project_modules_imported_through_them():
    rows = [records.as_row(r) for r in records.records_of_kind("imports", _output())]
    assert [(r["imported"], r["isDirect"]) for r in rows] == [("P.A", False), ("P.B", True), ("Std.Data", True)]
    assert rows[0] == {"module": "P.C", "file": "P/C.lean", "imported": "P.A", "isDirect": False, "project": "p"}


def test_import_closure_gives_every_module_of_the_environment():
    rows = list(records.records_of_kind("imports", _output(), import_closure=True))
    assert [r.imported for r in rows] == ENVIRONMENT
    assert [r.imported for r in rows if r.isDirect] == ["P.B", "Std.Data"]


def test_project_imports_are_transitive_and_in_import_order(tmp_path):
    for name, text in {"P/A.lean": "def a := 1\n", "P/B.lean": "import P.A\n", "P/C.lean": "import P.B\nimport Std\n",
                       "Q.lean": "def q := 2\n"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert LeanProject(tmp_path).project_imports() == {"P.A": (), "P.B": ("P.A",), "P.C": ("P.A", "P.B"), "Q": ()}


def test_the_builder_passes_import_closure_and_it_changes_the_cache_id(project, fake_extractor, tmp_path):
    fake_extractor["outputs"] = [_output()]
    counts = {}
    for closure in (False, True):
        builder = make_builder("imports", project, cache_dir=tmp_path / "ds", extractor=fake_extractor,
                               import_closure=closure, progress=False)
        builder.download_and_prepare()
        counts[closure] = builder.as_dataset()["train"].num_rows
    assert counts == {False: 3, True: 6}
    with pytest.raises(ConfigError, match="import_closure must be True or False, got 'yes'"):
        make_builder("imports", project, cache_dir=tmp_path / "ds", extractor=fake_extractor, import_closure="yes")

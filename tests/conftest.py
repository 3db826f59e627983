"""Fixtures: a hand-made module output, a fake ``extract_project``, and one real extraction
of the bundled sample project shared by the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_module import SOURCE, FakeModuleOutput, sample_module_output

from ntp_datasets.extraction import Extractor
from ntp_datasets.resources import sample_project_dir
from ntp_datasets.toolchain import Toolchain, find_toolchain


@pytest.fixture
def module_output() -> FakeModuleOutput:
    return sample_module_output()


@pytest.fixture
def project(tmp_path):
    """A Lean project directory holding the hand-made sample module (no Lean runs on it)."""
    project_dir = tmp_path / "my_project"
    (project_dir / "Sample").mkdir(parents=True)
    (project_dir / "Sample" / "Basic.lean").write_text(SOURCE, encoding="utf-8")
    (project_dir / "lean-toolchain").write_text("leanprover/lean4:v4.19.0\n")
    return project_dir


class FakeExtractor(dict):
    """Stands in for ``ntp_datasets.Extractor``: yields whatever the test sets in
    ``self["outputs"]`` (a list of ModuleOutputs, or a function of the project dir returning
    an iterable of them) and records the project dirs it was asked for in ``self["calls"]``.
    Pass it as ``extractor=`` (builds, ``load_dataset``, the CLI's ``main``)."""

    toolchain = Toolchain(kind="fake", version="Lean (version 4.28.0-pre, fake)", command=["false"], location="-")

    def __init__(self):
        super().__init__(outputs=[sample_module_output()], calls=[])

    def extract_project(self, project_dir):
        self["calls"].append(str(project_dir))
        outputs = self["outputs"]
        yield from outputs(project_dir) if callable(outputs) else outputs


@pytest.fixture
def fake_extractor():
    """A :class:`FakeExtractor` (no Lean runs)."""
    return FakeExtractor()


@pytest.fixture(scope="session")
def toolchain():
    """The Lean toolchain (in CI: the WebAssembly build, installed on first use)."""
    return find_toolchain()


@pytest.fixture(scope="session")
def sample_outputs(toolchain):
    """The real extractor's output for the bundled sample project, by module name."""
    outputs = Extractor(toolchain, progress=False).extract_project(sample_project_dir())
    return {o.module: o for o in outputs}


@pytest.fixture(scope="session")
def extract_files(tmp_path_factory, toolchain):
    """Write a small Lean project ({relative path: text}) and extract it for real."""

    def extract(name: str, files: dict[str, str]) -> dict:
        root = tmp_path_factory.mktemp(name)
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(text.encode("utf-8"))  # line endings and all, as given
        outputs = Extractor(toolchain, progress=False).extract_project(root)
        return {o.module: o for o in outputs}

    return extract


@pytest.fixture(scope="session")
def empty_home(tmp_path_factory, toolchain):
    """Make a fresh NTP_DATASETS_HOME (an empty extraction cache) that shares the installed
    toolchain; returns its path. Set it with ``monkeypatch.setenv("NTP_DATASETS_HOME", ...)``."""

    def make(name: str = "home"):
        home = tmp_path_factory.mktemp(name)
        if toolchain.is_wasm:
            (home / Path(toolchain.location).name).symlink_to(toolchain.location)
        return home

    return make

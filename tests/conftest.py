"""Fixtures: a hand-made module output, a fake ``extract_project``, and one real extraction
of the bundled sample project shared by the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_module import SOURCE, FakeModuleOutput, sample_module_output

import ntp_datasets.extract
from ntp_datasets.builders.ntp_toolkit import sample_project_dir
from ntp_datasets.toolchain import find_toolchain


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


@pytest.fixture
def fake_extractor(monkeypatch):
    """Make ``ntp_datasets.extract.extract_project`` yield whatever the test sets in ``outputs``.

    Returns a dict: ``outputs`` (list of ModuleOutputs to yield, or a function of the
    project dir returning an iterable of them) and ``calls`` (the project dirs extraction
    was asked for).
    """
    state = {"outputs": [sample_module_output()], "calls": []}

    def extract_project(project_dir, *, toolchain=None, progress=True, **options):
        state["calls"].append(str(project_dir))
        outputs = state["outputs"]
        yield from outputs(project_dir) if callable(outputs) else outputs

    monkeypatch.setattr(ntp_datasets.extract, "extract_project", extract_project)
    return state


@pytest.fixture(scope="session")
def toolchain():
    """The Lean toolchain (in CI: the WebAssembly build, installed on first use)."""
    return find_toolchain()


@pytest.fixture(scope="session")
def sample_outputs(toolchain):
    """The real extractor's output for the bundled sample project, by module name."""
    outputs = ntp_datasets.extract.extract_project(sample_project_dir(), toolchain=toolchain, progress=False)
    return {o.module: o for o in outputs}


@pytest.fixture(scope="session")
def extract_files(tmp_path_factory, toolchain):
    """Write a small Lean project ({relative path: text}) and extract it for real."""

    def extract(name: str, files: dict[str, str]) -> dict:
        root = tmp_path_factory.mktemp(name)
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(text.encode("utf-8"))  # line endings and all, as given
        outputs = ntp_datasets.extract.extract_project(root, toolchain=toolchain, progress=False)
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

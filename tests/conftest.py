"""Fixtures: the sample module's extractor output, and a fake ``extract_project``."""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest
from sample_module import FakeModuleOutput, sample_module_output


@pytest.fixture
def module_output() -> FakeModuleOutput:
    return sample_module_output()


@pytest.fixture
def fake_extractor(monkeypatch):
    """Make ``ntp_datasets.extract.extract_project`` yield whatever the test sets in ``outputs``.

    Returns a dict: ``outputs`` (list of ModuleOutputs to yield) and ``calls``
    (the project dirs extraction was asked for). Works whether or not the
    real ``ntp_datasets/extract.py`` exists yet.
    """
    state = {"outputs": [sample_module_output()], "calls": []}

    def extract_project(project_dir, *, toolchain=None, progress=True):
        state["calls"].append(str(project_dir))
        yield from state["outputs"]

    if importlib.util.find_spec("ntp_datasets.extract") is not None:
        import ntp_datasets.extract

        monkeypatch.setattr(ntp_datasets.extract, "extract_project", extract_project)
    else:
        stand_in = types.ModuleType("ntp_datasets.extract")
        stand_in.extract_project = extract_project
        monkeypatch.setitem(sys.modules, "ntp_datasets.extract", stand_in)
    return state

"""Fixtures: a hand-made module output, a fake ``extract_project``, and one real extraction
of the bundled sample project shared by the whole session."""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from pathlib import Path

import fixture_projects
import pytest
from sample_module import SOURCE, FakeModuleOutput, sample_module_output

from ntp_datasets.extraction import Extractor
from ntp_datasets.project import module_name
from ntp_datasets.resources import sample_project_dir
from ntp_datasets.toolchain import Toolchain, find_toolchain


# pytest-xdist runs two test processes, each running one Lean process at a time; the default
# number of workers (one per core) would double that. Tests of workers ask for them by name.
os.environ.setdefault("NTP_DATASETS_WORKERS", "1")


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
        self.shown_errors = set()  # as Extractor.shown_errors: what builds sharing it showed

    def extract_project(self, project):
        project_dir = getattr(project, "root", project)  # a LeanProject, or its directory
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
    outputs = Extractor(toolchain=toolchain, progress=False).extract_project(sample_project_dir())
    return {o.module: o for o in outputs}


def _extract_project_files(root: Path, files: dict[str, str], toolchain) -> dict:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(text.encode("utf-8"))  # line endings and all, as given
    return {o.module: o for o in Extractor(toolchain=toolchain, progress=False).extract_project(root)}


@pytest.fixture(scope="session")
def extract_files(tmp_path_factory, toolchain):
    """Extract a small Lean project ({relative path: text}) for real; its outputs by module.
    A project registered in ``fixture_projects`` (the same name and files) comes from one
    extraction of every registered project together, once per test process; others are
    extracted on their own."""
    together: dict[str, object] = {}
    roots: list[Path] = []

    def extract(name: str, files: dict[str, str]) -> dict:
        if fixture_projects.REGISTERED.get(name) != files:
            return _extract_project_files(tmp_path_factory.mktemp(name), files, toolchain)
        if not together:
            every = {rel: text for fs in fixture_projects.REGISTERED.values() for rel, text in fs.items()}
            roots.append(tmp_path_factory.mktemp("fixtures"))
            together.update(_extract_project_files(roots[0], every, toolchain))
        modules = {module_name(Path(rel)) for rel in files}
        return {module: output for module, output in together.items() if module in modules}

    extract.together_root = lambda: roots[0]  # where the registered projects were extracted
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


class FileLines:
    """With ``-n N`` (pytest-xdist), where pytest would print only dots: one line per test
    file when its last test is done (its outcomes and the time since the run started), and
    no dots for passed tests. Without xdist, pytest's own output already has a line per file."""

    def __init__(self, config):
        self.config = config
        self.totals: Counter = Counter()
        self.done: Counter = Counter()
        self.outcomes: dict[str, Counter] = defaultdict(Counter)
        self.failed: set[str] = set()
        self.skipped: set[str] = set()
        self.start = time.monotonic()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        if not self.totals:  # every worker collects the same tests
            self.totals = Counter(nodeid.split("::")[0] for nodeid in ids)

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.failed.add(report.nodeid)
        elif report.skipped:
            self.skipped.add(report.nodeid)
        if report.when != "teardown":
            return
        path = report.nodeid.split("::")[0]
        outcome = "failed" if report.nodeid in self.failed else "skipped" if report.nodeid in self.skipped else "passed"
        self.outcomes[path][outcome] += 1
        self.done[path] += 1
        if self.done[path] == self.totals.get(path):
            counts = ", ".join(f"{n} {kind}" for kind, n in sorted(self.outcomes[path].items()))
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            reporter.ensure_newline()
            reporter.write_line(f"{path}: {counts} ({time.monotonic() - self.start:.0f} s into the run)")

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report, config):
        if report.passed and report.when == "call":
            return "passed", "", "PASSED"
        return None


def pytest_configure(config):
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(FileLines(config), "ntp-file-lines")


_LEAN_FIXTURES = {"toolchain", "sample_outputs", "extract_files", "empty_home"}


def pytest_collection_modifyitems(config, items):
    """Run the files with slow tests first, then those that run Lean, then the rest (each
    group in collection order): with ``-n 2 --dist loadfile`` the long files then start
    first and the short ones fill the gaps, instead of a long file starting last."""
    def rank(item) -> int:
        if item.get_closest_marker("slow"):
            return 0
        return 1 if _LEAN_FIXTURES & set(getattr(item, "fixturenames", ())) else 2

    file_rank: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::")[0]
        file_rank[path] = min(file_rank.get(path, 2), rank(item))
    position = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (file_rank[item.nodeid.split("::")[0]], position[id(item)]))

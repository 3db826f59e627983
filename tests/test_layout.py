"""The package's layout: rooms whose imports point only down, no hidden function-level imports
of the package's own modules, and nothing read at import time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ntp_datasets"

# From the bottom up; a module may import only modules of its own room or of rooms below it.
ROOMS = [
    ("ntp_datasets.version", "ntp_datasets.errors", "ntp_datasets.resources", "ntp_datasets.progress",
     "ntp_datasets.autoload"),
    ("ntp_datasets.toolchain",),
    ("ntp_datasets.project",),
    ("ntp_datasets.extraction",),
    ("ntp_datasets.records",),
    ("ntp_datasets.rows",),
    ("ntp_datasets.summary",),
    ("ntp_datasets.builders",),
    ("ntp_datasets.routing",),
    ("ntp_datasets.api",),
    ("ntp_datasets.publish",),
    ("ntp_datasets.cli",),
]


def _source_files():
    files = {p: "ntp_datasets." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts) for p in PACKAGE.rglob("*.py")}
    files.update({p: f"ntp_datasets.builders.{p.stem}" for p in (ROOT / "builders").glob("*.py")})
    return {path: name.removesuffix(".__init__") for path, name in files.items()}


def _room(module: str) -> int:
    for level, prefixes in enumerate(ROOMS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return level
    raise AssertionError(f"{module} is in no room")


def _own_imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ntp_datasets"):
            yield node, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ntp_datasets"):
                    yield node, alias.name


LATE_IMPORTS = {
    "ntp_datasets.autoload": "it also runs as the top-level module that a .pth imports at every interpreter start: "
                             "it imports ntp-datasets only when `ntp_toolkit` is first asked for",
}
"""Modules allowed one function-level import of the package, and why."""


@pytest.mark.parametrize("path", sorted(_source_files()), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_imports_point_down_and_sit_at_module_level(path):
    module = _source_files()[path]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    for node, imported in _own_imports(tree):
        if module in LATE_IMPORTS:
            continue
        assert id(node) in top_level, f"{module}: function-level import of {imported}"
        if module == "ntp_datasets":
            continue  # the façade re-exports every room
        assert _room(imported) <= _room(module), f"{module} imports {imported}, a room above it"


def test_importing_every_module_reads_no_lean_or_template_file():
    script = """
import pkgutil, sys, importlib
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" and isinstance(args[0], str) else None)
import ntp_datasets
for info in pkgutil.walk_packages(ntp_datasets.__path__, "ntp_datasets."):
    importlib.import_module(info.name)
importlib.import_module("ntp_datasets.builders.ntp_toolkit")
print("\\n".join(p for p in opened if p.endswith((".lean", ".j2", ".olean"))))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""

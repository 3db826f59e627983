"""Every code block of the README and of every page of ``docs/`` runs as written (in order, one
temporary directory per page, with this checkout's package and the venv's commands), except the
blocks of :data:`EXEMPT` and those whose first line says ``# not run here: <why>``; the test
prints the reasons. Shell (``shell``, ``bash``) blocks run in bash, Python blocks in the venv's
Python, JSON blocks must parse, and a ``text`` block is what the block before it printed. Runs
Lean (the bundled sample and small projects)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
"""The documentation whose code blocks must run."""

EXEMPT = {
    "python3 -m venv .venv && .venv/bin/pip install . &&":
        "installs ntp-datasets and its dependencies from PyPI into a fresh venv (network, minutes); .ci/run runs it",
    "python3 -m venv .venv && .venv/bin/pip install \".[test]\"":
        "the test command itself (run by .ci/run)",
    "docker run":
        "needs Docker and an image with ntp-datasets installed",
    "ntp-datasets push":
        "uploads to the Hugging Face Hub (network and a token)",
    "ntp_datasets.push_to_hub(":
        "uploads to the Hugging Face Hub (network and a token)",
    "# needs elan (a native Lean) and the network":
        "installs a native Lean and builds Mathlib (network, hours without the cache, tens of GB)",
    "# on every node of the Ray cluster":
        "needs a Ray cluster of several machines and shared storage",
}
"""First line (its start) of a block that is not run -> why."""


def readme_blocks(text: str) -> list[tuple[str, str]]:
    """The README's code blocks in order, as (language, code): fenced blocks with their
    language (also when indented in a list), and indented blocks (4 spaces after a blank
    line, outside lists) as ``shell``."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if fence:
            indent, language, body = len(fence.group(1)), fence.group(2) or "text", []
            i += 1
            while not lines[i].strip().startswith("```"):
                body.append(lines[i][indent:])
                i += 1
            blocks.append((language, "\n".join(body) + "\n"))
        elif lines[i].startswith("    ") and i > 0 and not lines[i - 1].strip() and not _in_list(lines, i):
            body = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            blocks.append(("shell", "\n".join(body).strip() + "\n"))
            continue
        i += 1
    return blocks


def _in_list(lines: list[str], i: int) -> bool:
    """Whether line ``i`` continues a list item (the paragraph before it is one)."""
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    while j >= 0 and lines[j].strip():
        if re.match(r"^\s*([*-]|\d+\.)\s", lines[j]):
            return True
        j -= 1
    return False


NOT_RUN = "# not run here:"
"""How a block says itself that it is not run, and why (its first line)."""

RUNNABLE = {"shell", "bash", "python", "json"}


def exemption(code: str) -> str | None:
    """Why the block is not run, or None."""
    first = code.strip().splitlines()[0]
    if first.startswith(NOT_RUN):
        return first[len(NOT_RUN):].strip()
    return next((reason for start, reason in EXEMPT.items() if first.startswith(start)), None)


def _blocks(page: Path) -> list[tuple[str, str]]:
    return readme_blocks(page.read_text(encoding="utf-8"))


def test_every_exemption_names_a_block_and_every_block_has_a_known_language():
    blocks = [block for page in PAGES for block in _blocks(page)]
    firsts = [code.strip().splitlines()[0] for _, code in blocks]
    assert all(any(f.startswith(start) for f in firsts) for start in EXEMPT)
    # Shown, never run: `lean` source, a `log` excerpt (stderr, a log file).
    assert {language for language, _ in blocks} <= RUNNABLE | {"text", "lean", "log"}
    # A `text` block shows what the block before it printed: it follows one that runs.
    for page in PAGES:
        page_blocks = _blocks(page)
        for (before, code), (language, _) in zip(page_blocks, page_blocks[1:]):
            if language == "text":
                assert before in RUNNABLE - {"json"} and exemption(code) is None, page.name


def test_the_readme_guides_in_at_most_300_lines_and_links_every_page_of_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in readme, page.name


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_code_blocks_run_for_real(page, tmp_path, capsys):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_DATASETS_CACHE=str(tmp_path / "hf-datasets"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    work = tmp_path / "page"
    work.mkdir()
    ran, skipped, printed = [], [], None
    for language, code in _blocks(page):
        if language in ("lean", "log"):  # shown on the page, not run
            continue
        if language == "text":
            assert printed == code, f"{page.name}: the block before this one printed:\n{printed}\nthe page shows:\n{code}"
            continue
        reason = exemption(code)
        first = code.strip().splitlines()[0]
        if reason:
            skipped.append(f"not run: {first[:60]}: {reason}")
            continue
        if language == "json":
            json.loads(code)
        else:
            command = ["bash", "-euo", "pipefail", "-c", code] if language in ("shell", "bash") \
                else [sys.executable, "-c", code]
            done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"{page.name} block failed:\n{code}\nstdout:\n{done.stdout[-3000:]}\n" \
                                         f"stderr:\n{done.stderr[-3000:]}"
            printed = done.stdout
        ran.append(first)
    with capsys.disabled():
        print(f"\n{page.name}: {len(ran)} blocks run" + "".join(f"\n  {line}" for line in skipped))

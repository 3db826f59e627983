"""docs/lake-packages.md runs as written: its bash and python blocks in order in one empty
directory, each ``text`` block equal to what the block before it printed (no Lean runs)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "lake-packages.md"


def doc_blocks(text: str) -> list[tuple[str, str]]:
    """The fenced code blocks of a Markdown text, as (language, code), in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```$", text, re.S | re.M)]


def test_every_block_of_the_lake_packages_page_runs_and_prints_what_it_shows(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), NTP_DATASETS_HOME=str(tmp_path / "home"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    work = tmp_path / "doc"
    work.mkdir()
    blocks = doc_blocks(DOC.read_text(encoding="utf-8"))
    assert [language for language, _ in blocks].count("text") == 4
    printed = None
    for language, code in blocks:
        if language == "text":
            assert printed == code, f"the block before this one printed:\n{printed}\nthe page shows:\n{code}"
            continue
        assert language in ("bash", "python")
        command = ["bash", "-euo", "pipefail", "-c", code] if language == "bash" else [sys.executable, "-c", code]
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"block failed:\n{code}\nstderr:\n{done.stderr[-3000:]}"
        printed = done.stdout

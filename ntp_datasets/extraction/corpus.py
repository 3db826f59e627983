"""The premise corpus of a toolchain's library: every constant of the library modules a project
imports, written by one extractor run (its job's ``corpus``) and cached per toolchain, extractor
and set of modules."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path

from ntp_datasets.errors import ExtractorError
from ntp_datasets.extraction.cache import cache_root, copy_atomically
from ntp_datasets.extraction.process import ExtractorProcess, new_token
from ntp_datasets.extraction.program import extractor_source, write_program
from ntp_datasets.toolchain import Toolchain, ntp_home

logger = logging.getLogger(__name__)


def corpus_cache_file(toolchain: Toolchain, imports: list[str]) -> Path:
    """Where the corpus of ``imports`` is cached: keyed by the toolchain, the extractor's source
    and the module names."""
    digest = hashlib.sha256()
    for part in (extractor_source(toolchain), toolchain.version, *sorted(set(imports))):
        digest.update(part.encode() + b"\0")
    return cache_root() / "corpus" / f"{digest.hexdigest()[:32]}.jsonl"


def library_corpus(toolchain: Toolchain, imports: list[str]) -> list[dict]:
    """Every constant of the environment importing the library modules ``imports``, as the
    extractor's corpus lines (``name``, ``kind``, ``type``, ``module``, and ``line``, ``column``,
    ``endLine``, ``endColumn`` when Lean recorded where it is declared), sorted by module and name.
    Read from the cache, or written by one Lean run (35-50 s to start, more to print every type)."""
    if not imports:
        return []
    cached = corpus_cache_file(toolchain, imports)
    if not cached.exists():
        work_root = ntp_home() / "work"
        work_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=work_root, prefix="corpus-") as work:
            work = Path(work)
            out = work / "corpus.jsonl"
            token = new_token()
            job = work / "job.json"
            job.write_text(json.dumps({"modules": [], "searchPath": [], "token": token,
                                       "corpus": {"imports": sorted(set(imports)), "out": str(out)}}))
            program = write_program(work, toolchain, logger.warning)
            process = ExtractorProcess(toolchain, work, program, job, work / "lean.stderr", token=token)
            for _ in process.events():
                pass
            if not out.exists():
                tail = (work / "lean.stderr").read_text(errors="replace")[-2000:]
                raise ExtractorError(f"the extractor wrote no premise corpus for {', '.join(sorted(imports))}:\n{tail}")
            cached.parent.mkdir(parents=True, exist_ok=True)
            copy_atomically(out, cached)
    with open(cached, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]

"""Write the events files of the bundled sample project and of every registered Lean fixture, as
the extractor of this checkout writes them: `python tests/golden/make_events.py OUT.json.gz`
(made `events_b3aadd9.json.gz` at b3aadd9, before #31's changes; see tests/test_same_events.py).
Each module's events file is kept as text, byte for byte."""
import gzip
import importlib
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/
import fixture_projects  # noqa: E402

from test_same_events import FIXTURE_FILES, events_files  # noqa: E402

from ntp_datasets import toolchain as toolchains  # noqa: E402
from ntp_datasets.extraction import ExtractionOptions, Extractor  # noqa: E402
from ntp_datasets.resources import sample_project_dir  # noqa: E402


def events_texts(root: Path, toolchain) -> dict[str, str]:
    """Extract the project at ``root``; the events file of each module, by module name."""
    outputs = list(Extractor(ExtractionOptions.of(), toolchain=toolchain, progress=False).extract_project(root))
    return events_files(root, [o.module for o in outputs if not o.error], toolchain)


def main(out: Path) -> None:
    for name in FIXTURE_FILES:  # registers their fixtures
        importlib.import_module(name)
    toolchain = toolchains.find_toolchain()
    every = {rel: text for fs in fixture_projects.REGISTERED.values() for rel, text in fs.items()}
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in every.items():
            (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / rel).write_bytes(text.encode("utf-8"))
        golden = {"sample": events_texts(sample_project_dir(), toolchain),
                  "fixtures": events_texts(Path(tmp), toolchain)}
    out.write_bytes(gzip.compress(json.dumps(golden, sort_keys=True).encode(), mtime=0))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""Dump every record kind's rows for the sample project and the Lean fixtures of five test files,
with the code of the checkout this runs from: `python tests/golden/make_golden.py CHECKOUT OUT.json`
(made `rows_1fefce9.json.gz` from a worktree at 1fefce9, gzipped; see tests/test_same_rows.py)."""
import hashlib, importlib, json, sys, tempfile
from pathlib import Path

root = Path(sys.argv[1]).resolve()
sys.path[:0] = [str(root), str(root / "tests")]
import importlib.abc, importlib.util
_MAPPED = {"ntp_datasets.builders": root / "builders", "ntp_datasets.lean": root / "lean"}


class _Checkout(importlib.abc.MetaPathFinder):
    """ntp_datasets.builders and .lean from this checkout (the editable install maps them elsewhere)."""

    def find_spec(self, name, path, target=None):
        for package, directory in _MAPPED.items():
            if name == package:
                init = directory / "__init__.py"
                return importlib.util.spec_from_file_location(name, init if init.exists() else None,
                                                              submodule_search_locations=[str(directory)])
            if name.startswith(package + "."):
                file = directory / (name[len(package) + 1:].replace(".", "/") + ".py")
                if file.exists():
                    return importlib.util.spec_from_file_location(name, file)
        return None


sys.meta_path.insert(0, _Checkout())
import ntp_datasets
assert Path(ntp_datasets.__file__).resolve().is_relative_to(root), ntp_datasets.__file__
from ntp_datasets import toolchain as toolchains
from ntp_datasets.extraction import Extractor
from ntp_datasets.records import RECORD_KINDS, as_row, records_of_kind
from ntp_datasets.resources import sample_project_dir
import fixture_projects

for name in ("test_extraction", "test_ordinary_projects", "test_premise_rows", "test_project_syntax", "test_real_code_rows"):
    importlib.import_module(name)

toolchain = toolchains.find_toolchain()


def make_extractor():
    try:  # since the one scheduler: Extractor(options, *, toolchain=...)
        from ntp_datasets.extraction import ExtractionOptions
    except ImportError:
        return Extractor(toolchain, progress=False)
    return Extractor(ExtractionOptions.of(), toolchain=toolchain, progress=False)
KINDS = [k for k in RECORD_KINDS if k != "premise_corpus"]

def rows_of(outputs, sources):
    result = {}
    for o in outputs:
        result[o.module] = {"source_sha256": hashlib.sha256(sources[o.module].encode()).hexdigest(),
                            "error_kind": o.error_kind,
                            "rows": {k: [as_row(r) for r in records_of_kind(k, o)] for k in KINDS}}
    return result

out = {}
sample = sample_project_dir()
outputs = list(make_extractor().extract_project(sample))
out["sample"] = rows_of(outputs, {o.module: (sample / o.file).read_text() for o in outputs})
with tempfile.TemporaryDirectory() as tmp:
    every = {rel: text for fs in fixture_projects.REGISTERED.values() for rel, text in fs.items()}
    for rel, text in every.items():
        (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
        (Path(tmp) / rel).write_text(text)
    outputs = list(make_extractor().extract_project(tmp))
    out["fixtures"] = rows_of(outputs, {o.module: every[o.file] for o in outputs})
Path(sys.argv[2]).write_text(json.dumps(out, ensure_ascii=False, sort_keys=True))
print({k: len(v) for k, v in out.items()})

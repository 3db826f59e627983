"""Extract a real Lean package from an empty cache and report what came out: modules extracted
and failed (by kind, with the reason of each failure), commands skipped, error rows by kind,
rows of every record kind, wall time, the slowest modules and commands, the peak memory of a
Lean process, and what extraction costs over elaboration only (`cost`, as
`extract_vs_elaborate.py` reports it: module phases and the parts of the `events` phase, summed
over the modules elaborated). What verification of a change runs on Batteries or Aesop (see docs/scale.md);
not a test: it takes 15-30 minutes on two cores.

    python bench/real_package.py PATH/TO/PACKAGE --workers 2 --out result.json [--packages all] [--include-untargeted]
    python bench/real_package.py PATH/TO/PACKAGE --workers 2 --dependencies-from HOME   # the dependency cache warm

PATH is a package directory (a checkout of leanprover-community/batteries, say, with its
dependencies in `.lake/packages` or fetched by the build). The run uses a fresh
`$NTP_DATASETS_HOME` under `--home` (default: a temporary directory) that shares the installed
WebAssembly toolchain, so nothing is read from an earlier extraction. With `--dependencies-from
HOME` (the home of an earlier run, printed as `"home"`) it runs in that home instead, after
removing the cache entries of the root package's modules: its dependencies are read from the
cache and the root package is elaborated again, the time a second project on the same
dependency revisions takes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ntp_datasets import records  # noqa: E402
from ntp_datasets.extraction import ExtractionOptions, Extractor  # noqa: E402
from ntp_datasets.extraction.cache import cache_root, module_cache_keys  # noqa: E402
from ntp_datasets.extraction.process import ModuleDone, Ready  # noqa: E402
from ntp_datasets.project import load_project  # noqa: E402
from ntp_datasets.toolchain import find_toolchain, ntp_home  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract_vs_elaborate import cost_over_elaboration, in_seconds  # noqa: E402


def fresh_home(parent: Path | None) -> Path:
    """A new, empty ``$NTP_DATASETS_HOME`` that shares the installed WebAssembly toolchain."""
    toolchain = find_toolchain(install=False)
    home = Path(tempfile.mkdtemp(prefix="ntp-home-", dir=parent))
    if toolchain.is_wasm:
        (home / Path(toolchain.location).name).symlink_to(toolchain.location)
    return home


def forget_root_package(package_dir: Path, include_untargeted: bool) -> int:
    """Remove the cache entries of the root package's modules from the current home; the number removed."""
    toolchain = find_toolchain(install=False)
    project = load_project(package_dir, fetch=toolchain.is_wasm, include_untargeted=include_untargeted)
    keys = module_cache_keys(project, toolchain)
    root = project.package.name if project.package else ""
    removed = 0
    for module in project.modules.values():
        entry = cache_root() / keys[module.name]
        if module.package == root and entry.exists():
            shutil.rmtree(entry)
            removed += 1
    return removed


def measure(package_dir: Path, workers: int | None, packages: str, include_untargeted: bool = False) -> dict:
    """Extract ``package_dir`` and derive every record kind; the figures (see the module docstring),
    and a SHA-256 of each kind's rows (to compare two runs' rows without keeping them)."""
    toolchain = find_toolchain(install=False)
    project = load_project(package_dir, fetch=toolchain.is_wasm, include_untargeted=include_untargeted)
    done: dict[str, ModuleDone] = {}
    startups: list[float] = []

    def on_event(event):
        if isinstance(event, ModuleDone):
            done[event.module] = event
        elif isinstance(event, Ready):
            startups.append(round(event.seconds, 1))

    extractor = Extractor(ExtractionOptions.of(workers=workers), toolchain=toolchain, progress=True, on_event=on_event)
    root = project.package.name if project.package else ""
    start = time.perf_counter()
    rows, failed, skipped, errors, outputs = Counter(), {}, [], Counter(), 0
    digests = {kind: hashlib.sha256() for kind in records.RECORD_KINDS}
    by_package = Counter()
    for output in extractor.extract_project(project):
        outputs += 1
        by_package[output.package] += 1
        if packages != "all" and output.package != root:
            continue
        if output.error:
            failed[output.module] = {"kind": output.error_kind, "reason": output.error[:600]}
        for kind in records.RECORD_KINDS:
            for record in records.records_of_kind(kind, output):
                rows[kind] += 1
                digests[kind].update(json.dumps(records.as_row(record), sort_keys=True, default=str).encode() + b"\n")
        for error in records.error_records(output):
            errors[error.kind] += 1
            if error.skipped:
                skipped.append({"module": output.module, "line": error.line, "kind": error.kind,
                                "declaration": error.declaration, "message": error.message[:400]})
    wall = time.perf_counter() - start
    phases, profile = Counter(), Counter()
    for event in done.values():
        phases.update(event.phases)
        profile.update(event.profile)
    cost = cost_over_elaboration(in_seconds(phases, profile))
    slowest = sorted(done.values(), key=lambda e: -e.ms)[:10]
    commands = sorted((e for e in done.values() if e.slowest_command), key=lambda e: -e.slowest_command[1])[:10]
    return {
        "package": root, "modules": len(project.modules), "modules_by_package": dict(by_package),
        "untargeted": sorted(project.untargeted), "outputs": outputs,
        "extracted": outputs - len(failed) if packages == "all" else by_package[root] - len(failed),
        "failed": failed, "skipped_commands": skipped, "errors_by_kind": dict(errors), "rows": dict(rows),
        "rows_sha256": {kind: digest.hexdigest() for kind, digest in digests.items()},
        "wall_s": round(wall, 1), "startups_s": startups, "cost": cost,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "slowest_modules_s": {e.module: round(e.ms / 1000, 1) for e in slowest},
        "slowest_commands_s": {f"{e.module}:{e.slowest_command[0]}": e.slowest_command[1] for e in commands},
        "dependencies": [{"name": d.name, "rev": d.rev, "source": d.source} for d in project.dependencies],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--packages", choices=["root", "all"], default="root")
    parser.add_argument("--include-untargeted", action="store_true",
                        help="also the package's files no target builds (Batteries: scripts/check_imports.lean)")
    parser.add_argument("--home", type=Path, default=None, help="where to make the fresh $NTP_DATASETS_HOME")
    parser.add_argument("--dependencies-from", type=Path, default=None, metavar="HOME",
                        help="run in this earlier run's home, its root package's modules removed from the cache")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.dependencies_from:
        os.environ["NTP_DATASETS_HOME"] = str(args.dependencies_from.resolve())
        removed = forget_root_package(args.package.resolve(), args.include_untargeted)
        print(f"removed the cache entries of {removed} modules of the root package", file=sys.stderr)
    else:
        os.environ["NTP_DATASETS_HOME"] = str(fresh_home(args.home))
    result = measure(args.package.resolve(), args.workers, args.packages, args.include_untargeted)
    result["home"] = str(ntp_home())
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: building every record kind from scratch against plain elaboration.

Run ``python bench/extract_vs_elaborate.py`` (``--quick`` for a smoke test, ``--json PATH``
to keep the figures). On the bundled sample project and on a generated corpus of
``--modules`` Lean files it measures, with the Lean ntp-datasets would use:

* **extraction**: the extraction cache of the corpus is cleared, then ``extract_project``
  runs and every kind of ``records.RECORD_KINDS`` is derived for every module. This runs
  in a child Python process, so that its ``RUSAGE_CHILDREN`` peak is that of its single
  Lean process and nothing else.
* **plain elaboration**: one ``lean`` process per module, in import order, each writing its
  ``.olean`` for the modules that import it (as ``lake build`` runs them), with 1 and with 2
  concurrent processes (a module starts once its imports are built). Each process's peak
  memory comes from ``os.wait4``.

Figures: wall time, peak resident memory of one Lean process, the share of the time that
is Lean start-up (``lean --version`` wall time x processes / total), the ratio
extraction/plain (1 process at a time) and plain elaboration's speed-up from 1 to 2
workers. Extraction is a single process, so it has one figure.

On the WebAssembly build, Lean's own header processing treats every file as a ``module``:
it refuses to import the ordinary ``.olean``\\ s the extractor writes ("cannot import
non-`module` X from `module`"), and the ``.olean``\\ s it writes itself keep every
declaration private. So plain elaboration builds its own ``.olean``\\ s, and each process
gets a ``--setup`` file (the JSON Lake passes) that lists the module's header imports as
``import all``; the sources are unchanged. A native ``lean`` runs ``lean -o`` plainly.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ntp_datasets import records, toolchain as toolchains  # noqa: E402
from ntp_datasets.extraction import ExtractionOptions, Extractor  # noqa: E402
from ntp_datasets.extraction.cache import cache_root, module_cache_keys, work_dir_for  # noqa: E402
from ntp_datasets.extraction.options import MODULE_TIMEOUT_ENV  # noqa: E402
from ntp_datasets.extraction.process import ModuleDone, ModuleStarted, Ready  # noqa: E402
from ntp_datasets.project import LeanProject  # noqa: E402
from ntp_datasets.resources import sample_project_dir  # noqa: E402

_CHILD_FLAG = "--child-extract"
_RATIO_GOAL = 1.25


# ---------------------------------------------------------------------------------------
# The generated corpus
# ---------------------------------------------------------------------------------------

def _imports_of(k: int) -> list[int]:
    """Indices of the generated modules module ``k`` imports: its predecessor and the
    module halfway down the chain (a DAG, not just a chain)."""
    return sorted({i for i in (k - 1, k // 2) if 0 <= i < k})


def _base_module() -> str:
    """Source of module 0: definitions and lemmas on Lean core only."""
    return """namespace Gen

/-- The base of the chain. -/
def f0 (n : Nat) : Nat := n + 1

/-- A weighted sum of a list. -/
def g0 : List Nat → Nat
  | [] => 0
  | x :: xs => x + g0 xs

theorem f0_mono (a b : Nat) (h : a ≤ b) : f0 a ≤ f0 b := by
  simp only [f0]
  omega

theorem f0_ge (n : Nat) : n ≤ f0 n := by
  unfold f0
  omega

theorem f0_pos (n : Nat) : 0 < f0 n := by
  simp [f0]

theorem g0_append (xs ys : List Nat) : g0 (xs ++ ys) = g0 xs + g0 ys := by
  induction xs with
  | nil => simp [g0]
  | cons x xs ih =>
    simp only [List.cons_append, g0]
    rw [ih]
    omega

theorem g0_nil : g0 [] = 0 := by
  rfl

theorem f0_and (n : Nat) : n ≤ f0 n ∧ 0 < f0 n := by
  constructor
  · exact f0_ge n
  · exact f0_pos n

theorem f0_cases (n : Nat) : n = 0 ∨ 0 < n := by
  cases n with
  | zero => left; rfl
  | succ m => right; omega

end Gen
"""


def _chain_module(k: int) -> str:
    """Source of module ``k`` > 0: ten tactic proofs, six of them using the lemmas of its
    imports. Its definitions do not call imported ones: on the WebAssembly build, plain
    ``lean`` cannot compile a definition that calls a definition of another module."""
    p, j = k - 1, _imports_of(k)[0]
    header = "".join(f"import Gen.M{i:02d}\n" for i in _imports_of(k))
    return header + f"""
namespace Gen

/-- Step {k} of the chain. -/
def f{k} (n : Nat) : Nat := n + {k}

/-- A weighted sum of a list. -/
def g{k} : List Nat → Nat
  | [] => 0
  | x :: xs => {k + 1} * x + g{k} xs

theorem f{k}_mono (a b : Nat) (h : a ≤ b) : f{k} a ≤ f{k} b := by
  simp only [f{k}]
  omega

theorem f{k}_ge (n : Nat) : n ≤ f{k} n := by
  unfold f{k}
  omega

theorem f{k}_comp_ge (n : Nat) : n ≤ f{k} (f{p} n) := by
  have hp := f{p}_ge n
  have hk := f{k}_ge (f{p} n)
  omega

theorem f{k}_comp_mono (a b : Nat) (h : a ≤ b) : f{k} (f{p} a) ≤ f{k} (f{p} b) := by
  apply f{k}_mono
  exact f{p}_mono a b h

theorem mix{k}_ge (n : Nat) : n + n ≤ f{p} n + f{j} n := by
  have hp := f{p}_ge n
  have hj := f{j}_ge n
  omega

theorem g{k}_append (xs ys : List Nat) : g{k} (xs ++ ys) = g{k} xs + g{k} ys := by
  induction xs with
  | nil => simp [g{k}]
  | cons x xs ih =>
    simp only [List.cons_append, g{k}]
    rw [ih]
    omega

theorem g{k}_pair (x y : Nat) : g{p} ([x] ++ [y]) = g{p} [x] + g{p} [y] := by
  rw [g{p}_append]

theorem g{k}_map_zero (xs : List Nat) : g{k} (xs.map (fun _ => 0)) = 0 := by
  induction xs with
  | nil => rfl
  | cons x xs ih => simp [g{k}, ih]

theorem f{k}_and (n : Nat) : n ≤ f{k} (f{p} n) ∧ f{k} 0 ≤ f{k} n := by
  constructor
  · exact f{k}_comp_ge n
  · exact f{k}_mono 0 n (Nat.zero_le n)

theorem f{k}_cases (n : Nat) : f{k} n = {k} ∨ {k} < f{k} n := by
  cases n with
  | zero => left; rfl
  | succ m => right; simp only [f{k}]; omega

end Gen
"""


def generate_corpus(root: Path, modules: int) -> LeanProject:
    """Write ``modules`` Lean files ``Gen/M00.lean``... under ``root``: a DAG of ordinary
    (non-``module``) files, each importing earlier ones and using their lemmas."""
    for k in range(modules):
        path = root / "Gen" / f"M{k:02d}.lean"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_base_module() if k == 0 else _chain_module(k), encoding="utf-8")
    return LeanProject(root)


def _wide_module(k: int, proofs: int) -> str:
    """Source of wide module ``k``: it imports the base module only, and proves ``proofs``
    lemmas about its own definition with the base's lemmas."""
    lemmas = "".join(f"""
theorem h{k}_{i} (n : Nat) : n + {i} ≤ h{k} (f0 (n + {i})) := by
  have a := f0_ge (n + {i})
  unfold h{k}
  omega

theorem h{k}_{i}_list (xs : List Nat) : g0 (xs ++ [{i}]) = g0 xs + {i} := by
  rw [g0_append]
  simp [g0]
""" for i in range(proofs))
    return f"import Wide.Base\n\nnamespace Gen\n\n/-- Wide module {k}. -/\ndef h{k} (n : Nat) : Nat := n + {k}\n" \
        + lemmas + "\nend Gen\n"


def generate_wide_corpus(root: Path, modules: int, proofs: int = 6) -> LeanProject:
    """Write a wide corpus under ``root``: ``Wide/Base.lean`` (the generated corpus's base
    module) and ``modules`` files ``Wide/W00.lean``... each importing only it, with
    ``2 * proofs`` tactic proofs each: many modules importing few, as most of a large
    library's modules can run side by side."""
    (root / "Wide").mkdir(parents=True, exist_ok=True)
    (root / "Wide" / "Base.lean").write_text(_base_module(), encoding="utf-8")
    for k in range(modules):
        (root / "Wide" / f"W{k:02d}.lean").write_text(_wide_module(k, proofs), encoding="utf-8")
    return LeanProject(root)


def generate_long_module(root: Path, lines: int) -> LeanProject:
    """Write a project of one module of ``lines`` lines under ``root``: ``Long/Big.lean``, a
    theorem every two lines, each proved by one tactic (the memory a single long module needs)."""
    (root / "Long").mkdir(parents=True, exist_ok=True)
    theorems = "".join(f"theorem l{i} (n : Nat) : n + {i} = {i} + n := by\n  omega\n" for i in range(lines // 2))
    (root / "Long" / "Big.lean").write_text(theorems, encoding="utf-8")
    return LeanProject(root)


# ---------------------------------------------------------------------------------------
# Running Lean processes and measuring them
# ---------------------------------------------------------------------------------------

@dataclass
class ProcessRun:
    """One finished Lean process: wall seconds, peak RSS in KiB, its output."""

    seconds: float
    max_rss_kib: int
    output: str
    start: float = 0.0


def run_measured(command: list[str], env: dict[str, str], cwd: Path) -> ProcessRun:
    """Run ``command`` and return its wall time and its own peak RSS (``os.wait4``)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: Popen must not wait
        out.seek(0)
        return ProcessRun(seconds, usage.ru_maxrss, out.read(), start)


def error_lines(output: str) -> list[str]:
    """Lean's ``error:`` lines (the WebAssembly build's exit codes are unreliable)."""
    return [line for line in output.splitlines() if "error:" in line or "error(" in line]


def find_or_install_toolchain() -> toolchains.Toolchain:
    """The Lean ntp-datasets uses; installs the WebAssembly build when there is none. The
    install's version probe runs in a temporary directory: Lean must be able to see its
    working directory, and the WebAssembly build sees /tmp."""
    try:
        return toolchains.find_toolchain(install=False)
    except toolchains.ToolchainError:
        here = Path.cwd()
        os.chdir(tempfile.gettempdir())
        try:
            return toolchains.install_wasm_toolchain()
        finally:
            os.chdir(here)


def startup_seconds(tc: toolchains.Toolchain, cwd: Path) -> float:
    """Wall time of ``lean --version``: what starting one Lean process costs."""
    return run_measured(tc.lean_command(["--version"]), tc.run_env([cwd]), cwd).seconds


# ---------------------------------------------------------------------------------------
# Plain elaboration
# ---------------------------------------------------------------------------------------

def olean_path(build: Path, module_name: str) -> Path:
    """Where the ``.olean`` of ``module_name`` goes under ``build``."""
    return build / Path(*module_name.split(".")).with_suffix(".olean")


def plain_command(tc: toolchains.Toolchain, project: LeanProject, module, build: Path) -> list[str]:
    """The ``lean`` command that elaborates ``module`` and writes its ``.olean``. On the
    WebAssembly build a ``--setup`` file imports the project modules with ``import all``
    (see the module docstring)."""
    args = [str(module.path), "-o", str(olean_path(build, module.name))]
    if tc.is_wasm:
        setup = build / "setup" / f"{module.name}.json"
        setup.parent.mkdir(parents=True, exist_ok=True)
        # The setup's imports replace the header's, the implicit `Init` included.
        names = (["Init"] if "Init" not in module.imports else []) + list(module.imports)
        imports = [{"module": name, "importAll": name in project.modules, "isExported": True, "isMeta": False}
                   for name in names]
        setup.write_text(json.dumps({"name": module.name, "isModule": False, "imports": imports,
                                     "importArts": {}, "dynlibs": [], "plugins": [], "options": {}}))
        args += ["--setup", str(setup)]
    return tc.lean_command(args)


def plain_elaboration(tc: toolchains.Toolchain, project: LeanProject, workers: int) -> dict:
    """Elaborate every module with its own ``lean`` process, ``workers`` at a time, a module
    starting once its project imports are built. Returns the figures and the errors."""
    build = Path(tempfile.mkdtemp(prefix="plain-build-"))
    env = tc.run_env([project.root, build])
    env["LEAN_PATH"] = str(build)
    order = project.import_order()
    runs: dict[str, ProcessRun] = {}
    started: set[str] = set()
    done: set[str] = set()
    lock = threading.Condition()

    def next_ready():
        """The first module in import order not started whose project imports are built."""
        for m in order:
            if m.name not in started and all(d in done for d in m.imports if d in project.modules):
                return m
        return None

    def worker():
        """Take ready modules until every module has been started."""
        while True:
            with lock:
                module = None
                while len(started) < len(order) and (module := next_ready()) is None:
                    lock.wait()
                if module is None:
                    return
                started.add(module.name)
            try:
                olean_path(build, module.name).parent.mkdir(parents=True, exist_ok=True)
                runs[module.name] = run_measured(plain_command(tc, project, module, build), env, project.root)
            finally:
                with lock:
                    done.add(module.name)
                    lock.notify_all()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    shutil.rmtree(build, ignore_errors=True)
    errors = {name: error_lines(r.output) for name, r in runs.items() if error_lines(r.output)}
    return {
        "workers": workers,
        "processes": len(runs),
        "wall_s": wall,
        "process_s": sum(r.seconds for r in runs.values()),
        "peak_rss_mib": max(r.max_rss_kib for r in runs.values()) / 1024,
        "module_s": {name: round(r.seconds, 2) for name, r in runs.items()},
        "errors": errors,
    }


# ---------------------------------------------------------------------------------------
# Extraction from scratch
# ---------------------------------------------------------------------------------------

def clear_extraction_cache(project: LeanProject, tc: toolchains.Toolchain) -> None:
    """Remove the project's entries of the extraction cache and its work directory (other
    projects' entries stay)."""
    for key in module_cache_keys(project, tc).values():
        shutil.rmtree(cache_root() / key, ignore_errors=True)
    shutil.rmtree(work_dir_for(project), ignore_errors=True)


def extract_and_derive(project_dir: Path, workers: int | None = 1) -> dict:
    """Run the extractor with ``workers`` workers (None: the default) and derive every record
    kind of every module (in this process)."""
    tc = toolchains.find_toolchain(install=False)
    counts = {kind: 0 for kind in records.RECORD_KINDS}
    failed = {}
    phases, profile, first_module_s, started, on_event = _phase_watcher()
    start = time.perf_counter()
    extractor = Extractor(ExtractionOptions.of(workers=workers), toolchain=tc, progress=False, on_event=on_event)
    for output in extractor.extract_project(project_dir):
        if output.error:
            failed[output.module] = output.error[-500:]
        for kind in records.RECORD_KINDS:
            counts[kind] += sum(1 for _ in records.records_of_kind(kind, output))
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall_s": wall, "peak_rss_mib": peak / 1024, "records": counts, "failed": failed,
            "workers": len(started),
            "startup_s": [round(s, 1) for s in started],
            **in_seconds(phases, profile),
            "until_first_module_s": round(first_module_s[0] - start, 2) if first_module_s else None}


def in_seconds(phases: dict, profile: dict) -> dict:
    """Module phases summed over modules (milliseconds, as `done` lines give them) and the parts
    of the `events` phase (microseconds; `count.*` entries are counts, kept as they are), in
    seconds: ``phases_s`` and ``events_profile``."""
    return {"phases_s": {k: round(v / 1000, 2) for k, v in sorted(phases.items())},
            "events_profile": {k: (v if k.startswith("count.") else round(v / 1e6, 2))
                               for k, v in sorted(profile.items())}}


def _phase_watcher():
    """Sum, over modules, the milliseconds of each phase the extractor reports in its `done`
    lines (import, elaborate, events, olean, ...) and the parts of its `events` phase (its
    `profile`: microseconds, and counts), and note when the first `start` line came
    (what precedes it is the process's start-up: Lean, `import Lean`, the extractor's compile),
    and the start-up of each Lean process (its `ready` line). Returns the sums of phases and of
    the profile, the list that gets the first start time, the start-ups, and the event callback."""
    phases: dict[str, float] = {}
    profile: dict[str, float] = {}
    first_module: list[float] = []
    started: list[float] = []

    def on_event(event):
        if isinstance(event, Ready):
            started.append(event.seconds)
        if isinstance(event, ModuleStarted) and not first_module:
            first_module.append(time.perf_counter())
        if isinstance(event, ModuleDone):
            for phase, ms in event.phases.items():
                phases[phase] = phases.get(phase, 0) + ms
            for part, value in event.profile.items():
                profile[part] = profile.get(part, 0) + value

    return phases, profile, first_module, started, on_event


def measured_extraction(project: LeanProject, tc: toolchains.Toolchain, workers: int | None = 1,
                        module_timeout: float | None = None) -> dict:
    """Clear the cache, then extract and derive with ``workers`` workers (None: the default,
    as many as pay for their start-up) in a child Python process (so that its children are only
    its Lean processes: its ``RUSAGE_CHILDREN`` peak is the largest single worker's); the
    child's figures plus its outer wall time. ``module_timeout``: the child's per-module limit
    in CPU seconds (0: none), else the default."""
    clear_extraction_cache(project, tc)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), *filter(None, [os.environ.get("PYTHONPATH")])]))
    if module_timeout is not None:
        env[MODULE_TIMEOUT_ENV] = str(module_timeout)
    start = time.perf_counter()
    env.pop("NTP_DATASETS_WORKERS", None)  # the default means the default
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), _CHILD_FLAG, str(project.root),
                           str(workers or "default")], env=env, capture_output=True, text=True)
    outer = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"extraction child failed:\n{proc.stderr[-3000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["child_process_wall_s"] = outer
    figures["processes"] = figures["workers"]
    return figures


# ---------------------------------------------------------------------------------------
# One corpus, the report
# ---------------------------------------------------------------------------------------

def bench_corpus(label: str, project: LeanProject, tc: toolchains.Toolchain, startup: float,
                 two_workers: bool, log) -> dict:
    """All figures of one corpus."""
    log(f"[{label}] extraction from scratch ({len(project.modules)} modules) ...")
    extraction = measured_extraction(project, tc)
    extraction["startup_share"] = startup / extraction["wall_s"]
    log(f"[{label}] plain elaboration, 1 worker ...")
    plain1 = plain_elaboration(tc, project, workers=1)
    plain1["startup_share"] = startup * plain1["processes"] / plain1["process_s"]
    result = {
        "modules": len(project.modules),
        "tactic_steps": extraction["records"]["tactic_prediction"],
        "declarations_with_proof": extraction["records"]["full_proof"],
        "extraction": extraction,
        "plain_1_worker": plain1,
        "ratio": extraction["wall_s"] / plain1["wall_s"],
        "extraction_complete": not extraction["failed"],
        # Start-up costs removed from both sides: extraction pays it once, plain once per module.
        # None when start-up is (within noise) all of plain elaboration: the quotient says nothing.
        "ratio_excl_startup": _ratio_without_startup(extraction["wall_s"], plain1, startup),
    }
    if two_workers:
        log(f"[{label}] plain elaboration, 2 workers ...")
        plain2 = plain_elaboration(tc, project, workers=2)
        plain2["startup_share"] = startup * plain2["processes"] / plain2["process_s"]
        result["plain_2_workers"] = plain2
        result["plain_speedup_1_to_2"] = plain1["wall_s"] / plain2["wall_s"]
    return result


ELABORATION_PHASES = ("import", "repair", "elaborate", "olean")
"""The extractor's phases that plain elaboration (``lean -o``) does too; the others (``events``,
``write``, ``free``) are what extraction adds."""


def cost_over_elaboration(extraction: dict) -> dict:
    """What one extraction's module phases (summed over modules) cost against the part of them that
    is elaboration only (:data:`ELABORATION_PHASES`), with the breakdown of its ``events`` phase."""
    phases = extraction["phases_s"]
    elaboration = sum(phases.get(p, 0.0) for p in ELABORATION_PHASES)
    total = sum(phases.values())
    return {"extraction_phases_s": round(total, 2), "elaboration_only_s": round(elaboration, 2),
            "extraction_over_elaboration": total / elaboration if elaboration else None,
            "phases_s": phases, "events_profile": extraction.get("events_profile", {})}


def bench_default_workers(label: str, project: LeanProject, tc: toolchains.Toolchain, log) -> dict:
    """A small project with 1 worker and with the default worker count, side by side: the default
    must not be slower (two start-ups would compete for the cores)."""
    log(f"[{label}] extraction from scratch, 1 worker ({len(project.modules)} modules) ...")
    one = measured_extraction(project, tc, workers=1)
    log(f"[{label}] extraction from scratch, the default worker count ...")
    default = measured_extraction(project, tc, workers=None)
    return {"modules": len(project.modules), "extraction_1_worker": one, "extraction_default_workers": default,
            "cost": cost_over_elaboration(one), "default_workers_started": default["workers"],
            "default_over_one": default["wall_s"] / one["wall_s"], "rows_equal": one["records"] == default["records"]}


def bench_wide(label: str, project: LeanProject, tc: toolchains.Toolchain, log) -> dict:
    """Extraction of the wide corpus with 1 worker, 2 workers and the default worker count, side
    by side in one run; the extraction's cost against the elaboration-only part of the same
    process's time."""
    log(f"[{label}] extraction from scratch, 1 worker ({len(project.modules)} modules) ...")
    one = measured_extraction(project, tc, workers=1)
    log(f"[{label}] extraction from scratch, 2 workers ...")
    two = measured_extraction(project, tc, workers=2)
    log(f"[{label}] extraction from scratch, the default worker count ...")
    default = measured_extraction(project, tc, workers=None)
    cost = cost_over_elaboration(one)
    return {
        "modules": len(project.modules),
        "tactic_steps": one["records"]["tactic_prediction"],
        "extraction_1_worker": one,
        "extraction_2_workers": two,
        "extraction_default_workers": default,
        "parallel_speedup": one["wall_s"] / two["wall_s"],
        "default_workers_started": default["workers"],
        "default_over_two": default["wall_s"] / two["wall_s"],
        "rows_equal": one["records"] == two["records"] == default["records"],
        "cost": cost,
        "extraction_phases_s": cost["extraction_phases_s"],
        "elaboration_only_s": cost["elaboration_only_s"],
        "extraction_over_elaboration": cost["extraction_over_elaboration"],
        "per_module_s": cost["extraction_phases_s"] / len(project.modules),
        "startup_s": one["until_first_module_s"],
        "worker_peak_rss_mib": max(one["peak_rss_mib"], two["peak_rss_mib"]),
        "extraction_complete": not one["failed"] and not two["failed"],
    }


def bench_long(label: str, project: LeanProject, tc: toolchains.Toolchain, log) -> dict:
    """Extraction of one long module: its wall time, rows and the Lean process's peak RSS."""
    log(f"[{label}] extraction from scratch, 1 worker, no module time limit ...")
    # No time limit: 10,000 `omega` proofs take longer than the default 600 s, and the point
    # is how much memory one long module needs.
    one = measured_extraction(project, tc, workers=1, module_timeout=0)
    return {"lines": sum(1 for _ in (project.root / "Long" / "Big.lean").open(encoding="utf-8")),
            "wall_s": one["wall_s"], "peak_rss_mib": one["peak_rss_mib"],
            "tactic_steps": one["records"]["tactic_prediction"], "declarations": one["records"]["full_proof"],
            "extraction_complete": not one["failed"]}


def library_dag(modules: int, seed: int = 0) -> list[list[int]]:
    """A generated import graph shaped like a large library (a model, not Mathlib's graph):
    module ``k`` imports 1-4 earlier modules, three quarters of them among the 60 just before
    it (a topic's files import each other) and the rest anywhere earlier (foundations)."""
    rng = random.Random(seed)
    dag: list[list[int]] = [[]]
    for k in range(1, modules):
        picks = set()
        for _ in range(rng.randint(1, min(4, k))):
            picks.add(rng.randrange(max(0, k - 60), k) if rng.random() < 0.75 else rng.randrange(k))
        dag.append(sorted(picks))
    return dag


def simulate(dag: list[list[int]], cost: list[float], workers: int, startup: float) -> float:
    """Makespan of ``workers`` long-lived workers (each paying ``startup`` once) taking ready
    modules longest chain of importers first, as the Extractor schedules them."""
    importers: list[list[int]] = [[] for _ in dag]
    for k, deps in enumerate(dag):
        for d in deps:
            importers[d].append(k)
    height = [0.0] * len(dag)
    for k in reversed(range(len(dag))):
        height[k] = cost[k] + max((height[i] for i in importers[k]), default=0.0)
    waiting = [len(set(deps)) for deps in dag]
    ready = [(-height[k], k) for k in range(len(dag)) if not waiting[k]]
    heapq.heapify(ready)
    free = [startup] * workers  # when each worker is next free
    running: list[tuple[float, int]] = []
    now = 0.0
    while ready or running:
        while ready and free:
            _, k = heapq.heappop(ready)
            at = max(now, heapq.heappop(free))
            heapq.heappush(running, (at + cost[k], k))
        now, k = heapq.heappop(running)
        heapq.heappush(free, now)
        for i in importers[k]:
            waiting[i] -= 1
            if not waiting[i]:
                heapq.heappush(ready, (-height[i], i))
    return now


def library_projection(per_module_s: float, startup_s: float, modules: int = 7500,
                       worker_counts=(1, 2, 8, 32, 128)) -> dict:
    """Projected extraction hours of a library of ``modules`` modules (Mathlib has ~7,500) on
    ``worker_counts`` workers: :func:`library_dag`'s graph, each module's cost drawn from a
    log-normal distribution (sigma 1) with mean ``per_module_s``, :func:`simulate`'s
    schedule. A model: Mathlib's modules are heavier than the generated ones, so the hours
    scale with the real per-module time; the speed-ups are what the graph's shape allows."""
    rng = random.Random(1)
    dag = library_dag(modules)
    mu = math.log(per_module_s) - 0.5
    cost = [rng.lognormvariate(mu, 1.0) for _ in dag]
    hours = {k: simulate(dag, cost, k, startup_s) / 3600 for k in worker_counts}
    critical = max(_heights(dag, cost))
    return {"modules": modules, "per_module_s": per_module_s, "startup_s": startup_s,
            "hours": {str(k): round(h, 2) for k, h in hours.items()},
            "speedup": {str(k): round(hours[worker_counts[0]] / h, 2) for k, h in hours.items()},
            "critical_path_hours": round(critical / 3600, 2)}


def _heights(dag: list[list[int]], cost: list[float]) -> list[float]:
    """Each module's cost plus its longest chain of imports below it."""
    below = [0.0] * len(dag)
    for k, deps in enumerate(dag):
        below[k] = cost[k] + max((below[d] for d in deps), default=0.0)
    return below


def _ratio_without_startup(extraction_s: float, plain: dict, startup: float) -> float | None:
    """Extraction over plain elaboration with ``startup`` seconds taken from every process."""
    plain_work = plain["wall_s"] - startup * plain["processes"]
    if plain_work < 0.05 * plain["wall_s"]:
        return None
    return (extraction_s - startup) / plain_work


def _format_ratio(ratio: float | None) -> str:
    return "n/a (start-up is all of plain elaboration)" if ratio is None else f"{ratio:.2f}"


def table(results: dict, startup: float) -> str:
    """The printed summary: one row per (corpus, mode)."""
    head = f"{'corpus':<16}{'mode':<22}{'procs':>6}{'wall s':>9}{'peak MiB':>10}{'start-up':>10}{'errors':>8}"
    lines = [head, "-" * len(head)]
    for label, r in results["corpora"].items():
        ex = r["extraction"]
        rows = [("extract+all kinds", ex, ex["records"]["errors"])]  # a failed module is an error row too
        for key, name in (("plain_1_worker", "plain, 1 worker"), ("plain_2_workers", "plain, 2 workers")):
            if key in r:
                rows.append((name, r[key], len(r[key]["errors"])))
        for name, fig, errs in rows:
            lines.append(f"{label:<16}{name:<22}{fig['processes']:>6}{fig['wall_s']:>9.1f}"
                         f"{fig['peak_rss_mib']:>10.0f}{fig['startup_share']:>9.0%}{errs:>8}")
    lines.append("")
    for label, r in results["corpora"].items():
        speedup = (f", plain speed-up 1->2 workers x{r['plain_speedup_1_to_2']:.2f}"
                   if "plain_speedup_1_to_2" in r else ", 2-worker run skipped")
        lines.append(f"{label}: {r['modules']} modules, {r['tactic_steps']} tactic steps, "
                     f"{r['declarations_with_proof']} proofs; ratio extraction/plain = {r['ratio']:.2f} "
                     f"(goal <= {_RATIO_GOAL}; without start-up {_format_ratio(r['ratio_excl_startup'])}){speedup}")
        phases = r["extraction"].get("phases_s")
        if phases:
            lines.append(f"  extraction: {r['extraction']['until_first_module_s']} s until the first module, then "
                         f"(summed over modules, s) " + ", ".join(f"{k} {v}" for k, v in sorted(phases.items())))
        if r["extraction"]["failed"]:
            lines.append(f"  WARNING {label}: extraction failed for {len(r['extraction']['failed'])} modules "
                         f"({', '.join(sorted(r['extraction']['failed']))}); its ratio is not valid")
    lines.append(f"lean --version: {startup:.1f} s; extraction runs one worker here (the wide corpus below "
                 f"has 1 and 2); peak MiB = the largest single Lean process.")
    return "\n".join(lines)


def cost_report(label: str, cost: dict) -> str:
    """The printed cost of extraction over elaboration only, phase by phase and the events phase's
    parts (the five largest, seconds summed over modules)."""
    ratio = cost["extraction_over_elaboration"]
    parts = sorted(((k, v) for k, v in cost["events_profile"].items() if not k.startswith("count.")),
                   key=lambda kv: -kv[1])[:5]
    counts = {k[len("count."):]: v for k, v in cost["events_profile"].items() if k.startswith("count.")}
    return (f"{label}, 1 worker: extraction/elaboration = " + (f"{ratio:.2f}" if ratio else "n/a")
            + f" ({cost['extraction_phases_s']} s of module phases, {cost['elaboration_only_s']} s elaboration only); "
            + "phases: " + ", ".join(f"{k} {v}" for k, v in sorted(cost["phases_s"].items()))
            + ("; events' largest parts: " + ", ".join(f"{k} {v}" for k, v in parts) if parts else "")
            + ("; counts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if counts else ""))


def wide_report(results: dict) -> str:
    """The printed figures of the wide corpus and the library projection."""
    w, proj = results["wide"], results["projection"]
    one, two = w["extraction_1_worker"], w["extraction_2_workers"]
    lines = [
        f"wide corpus: {w['modules']} modules importing one base module, {w['tactic_steps']} tactic steps",
        f"  extraction, 1 worker: {one['wall_s']:.1f} s; 2 workers: {two['wall_s']:.1f} s; "
        f"parallel_speedup x{w['parallel_speedup']:.2f}; the default ({w['default_workers_started']} started): "
        f"{w['extraction_default_workers']['wall_s']:.1f} s (x{w['default_over_two']:.2f} of 2 workers); "
        f"same records: {w['rows_equal']}",
        f"  worker peak RSS: {w['worker_peak_rss_mib']:.0f} MiB (the largest single Lean process)",
        f"  in the 1-worker process: {w['extraction_phases_s']} s of module phases, of which elaboration only "
        f"(import, repair, elaborate, olean) {w['elaboration_only_s']} s: extraction/elaboration = "
        + (f"{w['extraction_over_elaboration']:.2f}" if w["extraction_over_elaboration"] else "n/a")
        + f"; {w['startup_s']} s start-up before the first module",
        f"projection (a model, not a measurement): {proj['modules']} modules in a generated library-shaped "
        f"graph, {proj['per_module_s']:.2f} s a module on average (this run's), {proj['startup_s']:.0f} s "
        f"start-up per worker: " + ", ".join(f"{k} worker{'s' if k != '1' else ''} {h} h"
                                             for k, h in proj["hours"].items())
        + f"; critical path {proj['critical_path_hours']} h",
    ]
    if not w["extraction_complete"]:
        lines.append("  WARNING: modules of the wide corpus failed: "
                     + ", ".join(sorted({**one["failed"], **two["failed"]})))
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=30, help="modules of the generated corpus (default 30)")
    parser.add_argument("--wide", type=int, default=32, help="modules of the wide corpus (default 32)")
    parser.add_argument("--long", type=int, default=0, metavar="LINES",
                        help="also extract one generated module of LINES lines (e.g. 20000) and report "
                             "its Lean process's peak RSS (default: not run)")
    parser.add_argument("--only-wide", action="store_true",
                        help="no plain elaboration: the small project (1 worker, the default) and the wide "
                             "corpus (1 and 2 workers, the default) and the projection")
    parser.add_argument("--quick", action="store_true",
                        help="about 3 minutes: a wide corpus of 6 small modules only (1 and 2 workers)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [_CHILD_FLAG]:
        workers = argv[2] if len(argv) > 2 else "1"
        print(json.dumps(extract_and_derive(Path(argv[1]), None if workers == "default" else int(workers))))
        return 0
    args = parse_args(argv)
    modules = 4 if args.quick else args.modules
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    tc = find_or_install_toolchain()
    sample = LeanProject(sample_project_dir())
    startup = startup_seconds(tc, sample.root)
    results = {"toolchain": tc.version, "kind": tc.kind, "lean_version_s": startup, "corpora": {}}
    wide_modules = 6 if args.quick else args.wide
    with tempfile.TemporaryDirectory(prefix="ntp-bench-corpus-") as tmp:
        generated = generate_corpus(Path(tmp) / "chain", modules)
        wide = generate_wide_corpus(Path(tmp) / "wide", wide_modules, proofs=4 if args.quick else 10)
        try:
            corpora = [] if args.only_wide or args.quick else \
                [("sample", sample), (f"generated-{modules}", generated)]
            for label, project in corpora:
                results["corpora"][label] = bench_corpus(label, project, tc, startup, not args.quick, log)
            if not args.quick:  # --only-wide too: its ratio is the second corpus's
                small = generate_wide_corpus(Path(tmp) / "small", 6)  # 7 modules, as a small project
                results["small"] = bench_default_workers("small-7", small, tc, log)
                clear_extraction_cache(small, tc)
            results["wide"] = bench_wide(f"wide-{wide_modules}", wide, tc, log)
            if args.long and not args.quick:
                long = generate_long_module(Path(tmp) / "long", args.long)
                results["long"] = bench_long(f"long-{args.long}", long, tc, log)
                clear_extraction_cache(long, tc)
        finally:
            clear_extraction_cache(generated, tc)
            clear_extraction_cache(wide, tc)
    results["ratio"] = results["corpora"][corpora[-1][0]]["ratio"] if corpora else None
    results["parallel_speedup"] = results["wide"]["parallel_speedup"]
    results["worker_peak_rss_mib"] = results["wide"]["worker_peak_rss_mib"]
    results["projection"] = library_projection(results["wide"]["per_module_s"], results["wide"]["startup_s"] or startup)
    print(table(results, startup))
    if "small" in results:
        r = results["small"]
        print(f"small project ({r['modules']} modules): 1 worker {r['extraction_1_worker']['wall_s']:.1f} s, the "
              f"default ({r['default_workers_started']} started) {r['extraction_default_workers']['wall_s']:.1f} s: "
              f"default/one = {r['default_over_one']:.2f}; same records: {r['rows_equal']}")
        print(cost_report("small project", r["cost"]))
    print(wide_report(results))
    print(cost_report("wide corpus", results["wide"]["cost"]))
    if "long" in results:
        r = results["long"]
        print(f"long module: {r['lines']} lines, {r['declarations']} proofs, {r['tactic_steps']} tactic steps: "
              f"{r['wall_s']:.1f} s, peak RSS {r['peak_rss_mib']:.0f} MiB"
              + ("" if r["extraction_complete"] else " (WARNING: extraction failed)"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        log(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

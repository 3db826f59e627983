"""One, two local and two Ray workers give the same rows on a generated wide project (a base
module and six modules importing it), with the real Lean. Each extraction starts from an
empty cache; the Ray one runs on a real local Ray cluster (a head node and a second node)."""

from __future__ import annotations

import pytest

from ntp_datasets import records
from ntp_datasets.extraction import ExtractionOptions, Extractor
from ntp_datasets.extraction.cache import work_dir_for
from ntp_datasets.project import LeanProject

pytestmark = pytest.mark.slow  # five Lean processes and a Ray cluster

WIDTH = 6
BASE = """def double (n : Nat) : Nat := n + n

theorem double_eq (n : Nat) : double n = 2 * n := by
  unfold double
  omega
"""
WIDE = """import Base

theorem w{i}_double (n : Nat) : double (n + {i}) = 2 * n + {twice} := by
  rw [double_eq]
  omega

theorem w{i}_le (n : Nat) : n ≤ double n + {i} := by
  simp [double]
"""


@pytest.fixture(scope="module")
def wide_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("wide")
    (root / "Base.lean").write_text(BASE)
    for i in range(1, WIDTH + 1):
        (root / f"W{i}.lean").write_text(WIDE.format(i=i, twice=2 * i))
    return root


def _rows(outputs) -> dict[str, list[dict]]:
    return {kind: [records.as_row(r) for o in outputs for r in records.records_of_kind(kind, o)]
            for kind in records.RECORD_KINDS}


@pytest.fixture(scope="module")
def extracted(wide_project, toolchain, empty_home):
    """Rows of every record kind, failed modules and Lean processes started, per way of running."""
    ray = pytest.importorskip("ray")
    cluster_utils = pytest.importorskip("ray.cluster_utils")
    results = {}
    patch = pytest.MonkeyPatch()
    cluster = None
    try:
        for name, options in [("1 worker", {"workers": 1}), ("2 workers", {"workers": 2}),
                              ("2 Ray workers", {"workers": 2, "executor": "ray"})]:
            patch.setenv("NTP_DATASETS_HOME", str(empty_home(name.replace(" ", "_"))))
            if options.get("executor") == "ray":
                cluster = cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
                cluster.add_node(num_cpus=1)
                options["ray_address"] = cluster.address
            extractor = Extractor(ExtractionOptions.of(**options), toolchain=toolchain, progress=False)
            outputs = list(extractor.extract_project(wide_project))
            logs = sorted(p.name for p in work_dir_for(LeanProject(wide_project)).glob("lean-*.stderr"))
            results[name] = (_rows(outputs), [o.module for o in outputs if o.error], logs)
            assert not ray.is_initialized()  # the pool leaves no connection behind
    finally:
        patch.undo()
        if cluster is not None:
            cluster.shutdown()
    return results


def test_one_worker_extracts_the_wide_project(extracted):
    rows, failed, logs = extracted["1 worker"]
    assert failed == []
    assert len(logs) == 1  # one process
    assert len(rows["modules"]) == WIDTH + 1
    # Base: `unfold`, `omega`; each wide module: `rw`, `omega`, `simp`.
    assert len(rows["tactic_prediction"]) == 2 + 3 * WIDTH
    assert sorted(r["declId"] for r in rows["full_proof"])[:3] == ["Base:double", "Base:double_eq", "W1:w1_double"]


@pytest.mark.parametrize("way", ["2 workers", "2 Ray workers"])
def test_two_workers_give_the_rows_of_one(extracted, way):
    rows, failed, logs = extracted[way]
    assert failed == []
    assert len(logs) == 2  # two Lean processes for seven modules: start-up paid once per worker
    for kind, expected in extracted["1 worker"][0].items():
        assert rows[kind] == expected, kind

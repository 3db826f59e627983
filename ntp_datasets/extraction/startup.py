"""How long a Lean process takes to start, as measured on this machine.

Each extractor process says ``ready`` once it has started (Lean, ``import Lean``, the compiled
extractor on the WebAssembly build); the seconds since it was spawned are remembered per
toolchain version in ``$NTP_DATASETS_HOME/startup.json``. The progress bar shows the last
measurement while a process starts, and the scheduler weighs a further worker against it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ntp_datasets.toolchain import Toolchain, ntp_home

PRIOR_STARTUP = {"wasm": 45.0, "native": 5.0}
"""Seconds assumed before anything was measured: the WebAssembly build's measured 35-50 s on a
2-core machine (docs/scale.md); a native Lean's few seconds for ``import Lean``."""


def _record_file() -> Path:
    return ntp_home() / "startup.json"


def measured_startup(toolchain: Toolchain) -> float | None:
    """The seconds the last Lean process of ``toolchain`` took to start here, or None."""
    try:
        value = json.loads(_record_file().read_text(encoding="utf-8")).get(toolchain.version)
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def expected_startup(toolchain: Toolchain) -> float:
    """The seconds a Lean process of ``toolchain`` is expected to take to start: the last
    measurement, else :data:`PRIOR_STARTUP`."""
    return measured_startup(toolchain) or PRIOR_STARTUP.get(toolchain.kind, PRIOR_STARTUP["native"])


def record_startup(toolchain: Toolchain, seconds: float) -> None:
    """Remember that a Lean process of ``toolchain`` took ``seconds`` to start (written through a
    temporary file and a rename; a write that fails is no error: it is only a measurement)."""
    path = _record_file()
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
        records = records if isinstance(records, dict) else {}
    except (OSError, ValueError):
        records = {}
    records[toolchain.version] = round(seconds, 1)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(records, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def starting_text(toolchain: Toolchain, again: bool = False) -> str:
    """What the bar says while a Lean process starts: which Lean, and how long it took last time."""
    what = "a fresh Lean" if again else "Lean"
    last = measured_startup(toolchain)
    took = f"took {last:.0f} s last time" if last else f"about {expected_startup(toolchain):.0f} s"
    return f"starting {what} ({'WebAssembly, ' if toolchain.is_wasm else ''}{took})"

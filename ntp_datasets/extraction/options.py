"""How to extract: one value, validated once, before any work.

:class:`ExtractionOptions` holds every option that says *how* a project is extracted (Lean
processes, where they run, time limits, which toolchain), never *what*: the rows are the same
whatever the workers and the executor (the time limits decide only which commands and modules
fail). The builder, the dataset-folder publisher and the CLI each build theirs with
:meth:`ExtractionOptions.of`, from the same names, and hand it to the ``Extractor``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ntp_datasets.errors import ConfigError

EXECUTORS = ("local", "ray")
TOOLCHAIN_KINDS = ("wasm", "native")

WORKERS_ENV = "NTP_DATASETS_WORKERS"
MODULE_TIMEOUT_ENV = "NTP_DATASETS_MODULE_TIMEOUT"
COMMAND_TIMEOUT_ENV = "NTP_DATASETS_COMMAND_TIMEOUT"
TOOLCHAIN_ENV = "NTP_DATASETS_TOOLCHAIN"

DEFAULT_MODULE_TIMEOUT = 3600.0
"""CPU seconds one module may take (imports and elaboration) before its Lean process is stopped;
a module stopped so is tried once more, alone, with twice the limit (see docs/failures.md)."""
DEFAULT_COMMAND_TIMEOUT = 600.0
"""CPU seconds one command may take before its Lean process is stopped; the module is then
elaborated again without that command, which becomes an error row (see docs/failures.md)."""

OPTION_NAMES = ("workers", "executor", "ray_address", "module_timeout", "command_timeout", "toolchain")
"""The names under which the options are given (builder config fields, keyword arguments, CLI flags)."""


@dataclass(frozen=True)
class ExtractionOptions:
    """How a project is extracted (see the module docstring). Build it with :meth:`of`.

    ``workers``: Lean processes side by side, or None: automatic (a second process is started
    only while the modules left outweigh its start-up, up to ``max_workers``).
    ``max_workers``: the most processes this machine's cores and memory allow.
    ``executor``: ``local`` or ``ray``; ``ray_address``: the Ray cluster (None: a local Ray).
    ``module_timeout`` / ``command_timeout``: CPU seconds a module / a command may take (None:
    no limit). ``toolchain``: ``wasm``, ``native``, or None (a native ``lean`` on PATH first)."""

    workers: int | None = None
    max_workers: int = 1
    executor: str = "local"
    ray_address: str | None = None
    module_timeout: float | None = DEFAULT_MODULE_TIMEOUT
    command_timeout: float | None = DEFAULT_COMMAND_TIMEOUT
    toolchain: str | None = None

    @classmethod
    def of(cls, *, workers: int | None = None, executor: str | None = None, ray_address: str | None = None,
           module_timeout: float | None = None, command_timeout: float | None = None,
           toolchain: str | None = None, max_workers: int | None = None) -> ExtractionOptions:
        """The options given (None: ``$NTP_DATASETS_WORKERS``, ``$NTP_DATASETS_MODULE_TIMEOUT``,
        ``$NTP_DATASETS_COMMAND_TIMEOUT``, ``$NTP_DATASETS_TOOLCHAIN``, else the defaults),
        checked: a :class:`ConfigError` for a value no extraction can use, or for
        ``executor="ray"`` when Ray is not installed. ``max_workers`` (None: the cores and memory
        of this machine, see :func:`default_workers`) bounds the automatic worker count."""
        executor = "local" if executor is None else executor
        if executor not in EXECUTORS:
            raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
        if executor == "ray" and not _ray_installed():
            raise ConfigError('executor="ray" needs Ray: pip install "ntp-datasets[ray]"')
        if ray_address is not None and executor != "ray":
            raise ConfigError(f'ray_address={ray_address!r} needs executor="ray"')
        toolchain = toolchain if toolchain is not None else (os.environ.get(TOOLCHAIN_ENV, "").strip().lower() or None)
        if toolchain is not None and toolchain not in TOOLCHAIN_KINDS:
            raise ConfigError(f"toolchain must be one of {', '.join(TOOLCHAIN_KINDS)} (or unset), got {toolchain!r}")
        return cls(
            workers=_workers(workers),
            max_workers=default_workers() if max_workers is None else max(1, max_workers),
            executor=executor,
            ray_address=ray_address,
            module_timeout=_seconds("module_timeout", module_timeout, MODULE_TIMEOUT_ENV, DEFAULT_MODULE_TIMEOUT),
            command_timeout=_seconds("command_timeout", command_timeout, COMMAND_TIMEOUT_ENV, DEFAULT_COMMAND_TIMEOUT),
            toolchain=toolchain,
        )

    @classmethod
    def from_mapping(cls, values: Mapping) -> ExtractionOptions:
        """:meth:`of` with the options among ``values`` (config fields or keyword arguments;
        other keys are not options and are ignored)."""
        return cls.of(**given_options(values))

    def worker_limit(self) -> int:
        """The most Lean processes this extraction may run side by side."""
        return self.workers if self.workers is not None else self.max_workers


def _ray_installed() -> bool:
    try:
        return importlib.util.find_spec("ray") is not None
    except ValueError:  # a module `ray` with no spec (imported as None): not usable
        return False


def given_options(values: Mapping) -> dict:
    """The extraction options among ``values`` that are set (not None): what a caller asked for."""
    return {name: values[name] for name in OPTION_NAMES if values.get(name) is not None}


def _workers(workers: int | None) -> int | None:
    if workers is None:
        configured = os.environ.get(WORKERS_ENV, "").strip()
        if not configured:
            return None
        try:
            workers = int(configured)
        except ValueError:
            raise ConfigError(f"{WORKERS_ENV} must be a whole number of workers, got {configured!r}") from None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a whole number >= 1, got {workers!r}")
    return workers


def _seconds(name: str, value: float | None, env: str, default: float) -> float | None:
    """A time limit in seconds from ``value``, else ``$env``, else ``default``; 0 means none."""
    if value is None:
        configured = os.environ.get(env, "").strip()
        try:
            value = float(configured) if configured else default
        except ValueError:
            raise ConfigError(f"{env} must be a number of seconds, got {configured!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{name} must be a number of seconds >= 0 (0: no limit), got {value!r}")
    return float(value) or None


WORKER_MEMORY = 9 * 1024 ** 3 // 2
"""Memory one WebAssembly Lean worker may reach: measured peak resident 3.3-4.7 GiB
(docs/scale.md); the build's own memory is capped at 2 GB, the rest is Node and its code."""


def default_workers(cpus: int | None = None, available: int | None = None) -> int:
    """As many workers as the cores and the memory allow: one per core usable by this
    process, at most one per :data:`WORKER_MEMORY` of available memory, at least one."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if available is None:
        available = available_memory()
    by_memory = available // WORKER_MEMORY if available else cpus
    return max(1, min(cpus, by_memory))


def available_memory() -> int | None:
    """Bytes of memory available for new processes (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None

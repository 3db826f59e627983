"""Records that come ready-made instead of being derived from extractor events: one module's
records of one kind, read from ntp-toolkit output (``records.from_ntp_toolkit``).

A :class:`ReadyModule` travels where a ``ModuleOutput`` does (the builder's module files, the
build summary); ``records_of_kind`` and ``error_records`` serve its records as they are."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadyModule:
    """One module's records of the config ``kind`` and the ``errors`` records of what could not be
    read (``ErrorRecord``s: a line that is not JSON, a field missing), in file order.
    ``source``: where they were read (for messages)."""

    project: str
    module: str
    file: str
    kind: str
    records: tuple
    errors: tuple
    source: str

    def records_of(self, kind: str) -> tuple:
        """The records of ``kind``: its own kind's, or the errors; another kind was not read."""
        if kind == "errors":
            return self.errors
        if kind != self.kind:
            raise ValueError(f"{self.module}: {kind} records were not read (this module holds {self.kind} records)")
        return self.records

"""Records of what a module declares and imports: ``declarations``, ``imports``, ``modules``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from ntp_datasets.extraction import ModuleOutput
from ntp_datasets.records.base import SourceBytes, decl_id, events_of, record


@record
class DeclarationRecord:
    """A declaration of the module with its type, signature and documentation."""

    declId: str
    name: str
    kind: str
    type: str
    typeArgs: list[str]
    typeBody: str
    doc: str
    signature: str
    module: str
    file: str
    line: int
    column: int
    isProp: bool
    scope: str
    src: str
    isHumanTheorem: bool
    project: str


def declaration_records(module_output: ModuleOutput) -> Iterator[DeclarationRecord]:
    """Yield a ``DeclarationRecord`` per named declaration the extractor found in the module.
    ``isHumanTheorem``: written in the source as a `theorem` of a proposition, without sorry."""
    source = SourceBytes(module_output.source)
    for d in events_of(module_output, "declaration"):
        if not d.get("name") or "type" not in d:
            continue
        yield DeclarationRecord(
            declId=decl_id(module_output.module, d), name=d["name"], kind=d["declKind"], type=d["type"],
            typeArgs=d["typeArgs"], typeBody=d["typeBody"], doc=d.get("doc") or "", signature=d["signature"],
            module=module_output.module, file=module_output.file, line=d["line"], column=d["column"],
            isProp=d["isProp"], scope=d["scope"], src=source.slice(d["start"], d["end"]),
            isHumanTheorem=d["declKind"] == "theorem" and d["isProp"] and not d["hasSorry"],
            project=module_output.project,
        )


@record
class ImportRecord:
    """A module imported by a module, directly (named in its header) or transitively."""

    module: str
    file: str
    imported: str
    isDirect: bool
    project: str


def import_records(module_output: ModuleOutput) -> Iterator[ImportRecord]:
    """Yield an ``ImportRecord`` for every module in the module's environment."""
    for event in events_of(module_output, "imports"):
        direct = set(event["direct"])
        for name in event["all"]:
            yield ImportRecord(module_output.module, module_output.file, name, name in direct, module_output.project)


@record
class ModuleRecord:
    """A module of the project (rows come in import order), with the hash of its content."""

    module: str
    file: str
    sha256: str
    imports: list[str]
    project: str


def module_records(module_output: ModuleOutput) -> Iterator[ModuleRecord]:
    """Yield the module's ``ModuleRecord``."""
    direct = [i for e in events_of(module_output, "imports") for i in e["direct"]]
    digest = hashlib.sha256(module_output.source.encode("utf-8")).hexdigest()
    yield ModuleRecord(module_output.module, module_output.file, digest, direct, module_output.project)

"""Records of what a module declares and imports: ``declarations``, ``imports``, ``modules``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from ntp_datasets.extraction import ModuleOutput
from ntp_datasets.records.base import SourceBytes, decl_id, events_of, record, statement
from ntp_datasets.records.statements import statement_hash


@record
class DeclarationRecord:
    """A declaration of the module with its type, signature and documentation. ``kind``,
    ``type``, ``typeArgs``, ``typeBody``, ``doc``, ``signature`` are as ntp-toolkit's
    ``declarations`` gives them (see README); ``keyword`` is the keyword it was written with;
    ``statementHash`` the hash of its statement (``records.statements``)."""

    declId: str
    name: str
    kind: str
    keyword: str | None
    type: str
    typeArgs: list[str]
    typeBody: str
    doc: str | None
    signature: str
    module: str
    file: str
    line: int
    column: int
    isProp: bool
    namespace: str | None
    src: str
    isHumanTheorem: bool
    project: str
    statementHash: str | None


def signature(kind: str, name: str, type_args: list[str], type_body: str, doc: str | None) -> str:
    """ntp-toolkit's ``signature``: the doc comment (its trailing space dropped) on a line of its
    own, then ``kind name binders… : type``."""
    head = f"/-- {doc.removesuffix(' ')} -/\n" if doc is not None else ""
    return head + " ".join([kind, name, *type_args, ": " + type_body])


def declaration_records(module_output: ModuleOutput) -> Iterator[DeclarationRecord]:
    """Yield a ``DeclarationRecord`` per named declaration the extractor found in the module.
    ``isHumanTheorem``: as ntp-toolkit, a theorem (a `theorem` constant) written in the source."""
    source = SourceBytes(module_output.source)
    for d in events_of(module_output, "declaration"):
        if not d.get("name") or "type" not in d:
            continue
        kind = d.get("constKind") or d["declKind"]
        yield DeclarationRecord(
            declId=decl_id(module_output.module, d), name=d["name"], kind=kind, keyword=d["declKind"],
            type=d["type"], typeArgs=d["typeArgs"], typeBody=d["typeBody"], doc=d.get("doc"),
            signature=signature(kind, d["name"], d["typeArgs"], d["typeBody"], d.get("doc")),
            module=module_output.module, file=module_output.file, line=d["line"], column=d["column"],
            isProp=d["isProp"], namespace=d["scope"], src=source.slice(d["start"], d["end"]),
            isHumanTheorem=kind == "theorem",
            project=module_output.project,
            statementHash=statement_hash(statement(source, d)),
        )


@record
class ImportRecord:
    """A module imported by a module: named in its header (``isDirect``), or a project module
    it imports through others, or (with ``import_closure``) any module of its environment."""

    module: str
    file: str
    imported: str
    isDirect: bool
    project: str


def import_records(module_output: ModuleOutput, import_closure: bool = False) -> Iterator[ImportRecord]:
    """Yield an ``ImportRecord`` for each module the module imports: those its header names
    (not the implicit ``Init``) and the project modules it imports through them, in the
    order of its environment. ``import_closure``: every module of its environment instead
    (``Init`` and everything it imports included)."""
    for event in events_of(module_output, "imports"):
        direct = set(event["direct"])
        kept = direct | set(module_output.project_imports)
        for name in event["all"]:
            if import_closure or name in kept:
                yield ImportRecord(module_output.module, module_output.file, name, name in direct,
                                   module_output.project)


@record
class ModuleRecord:
    """A module of the project (rows come in import order), with the hash of its content."""

    module: str
    file: str
    sha256: str | None
    imports: list[str] | None
    project: str


def module_records(module_output: ModuleOutput) -> Iterator[ModuleRecord]:
    """Yield the module's ``ModuleRecord``."""
    direct = [i for e in events_of(module_output, "imports") for i in e["direct"]]
    digest = hashlib.sha256(module_output.source.encode("utf-8")).hexdigest()
    yield ModuleRecord(module_output.module, module_output.file, digest, direct, module_output.project)

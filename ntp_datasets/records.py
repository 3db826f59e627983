"""Typed dataset records derived from the Lean extractor's output.

Data flows one way: the extractor emits JSON events per module
(``ntp_datasets.extract.ModuleOutput``), the pure functions here turn one
module's events into records, and the builder writes those records (or
prompts rendered from them) as dataset rows.

Every record class carries its ``datasets.Features`` declared explicitly in
``FEATURES``; the field names follow ntp-toolkit where it has one.

Sorry policy: record configs (``tactic_prediction``, ``full_proof``) keep rows
whose tactic or declaration contains ``sorry`` and mark them ``hasSorry=True``
so users can filter them; prompt configs (``instruct_*``) drop them
(see ``ntp_datasets.prompting``).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Iterator

import datasets

if TYPE_CHECKING:
    from ntp_datasets.extract import ModuleOutput

logger = logging.getLogger(__name__)

NO_GOALS = "no goals"
"""The ``state`` text of a proof with no goals left (as Lean prints it)."""

DECL_KINDS_WITHOUT_PROOF = frozenset(
    {"structure", "class", "inductive", "class inductive", "axiom"}
)
"""Declaration kinds whose body is not a proof or value (``full_proof`` skips them)."""

_STRING = datasets.Value("string")
_INT = datasets.Value("int32")
_BOOL = datasets.Value("bool")


class SourceBytes:
    """A module's source encoded once as UTF-8, sliced by the extractor's byte offsets."""

    def __init__(self, source: str):
        self.data = source.encode("utf-8")

    def slice(self, start: int | None = None, end: int | None = None) -> str:
        """Return the source text between byte offsets ``start`` and ``end``."""
        try:
            return self.data[start:end].decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"byte range [{start}:{end}] cuts a UTF-8 character; "
                "extractor offsets must be byte offsets"
            ) from error


@dataclass(frozen=True)
class TacticRecord:
    """One tactic step: the proof state before it and the tactic a user wrote."""

    state: str
    nextTactic: str
    srcUpToTactic: str
    declUpToTactic: str
    decl: str
    declId: str
    stateAfter: str
    module: str
    file: str
    line: int
    column: int
    hasSorry: bool

    FEATURES: ClassVar[datasets.Features] = datasets.Features(
        {
            "state": _STRING,
            "nextTactic": _STRING,
            "srcUpToTactic": _STRING,
            "declUpToTactic": _STRING,
            "decl": _STRING,
            "declId": _STRING,
            "stateAfter": _STRING,
            "module": _STRING,
            "file": _STRING,
            "line": _INT,
            "column": _INT,
            "hasSorry": _BOOL,
        }
    )


@dataclass(frozen=True)
class FullProofRecord:
    """One declaration with a proof or value: its statement and the whole proof."""

    srcUpToDecl: str
    decl: str
    declId: str
    proof: str
    module: str
    file: str
    line: int
    hasSorry: bool

    FEATURES: ClassVar[datasets.Features] = datasets.Features(
        {
            "srcUpToDecl": _STRING,
            "decl": _STRING,
            "declId": _STRING,
            "proof": _STRING,
            "module": _STRING,
            "file": _STRING,
            "line": _INT,
            "hasSorry": _BOOL,
        }
    )


@dataclass(frozen=True)
class ErrorRecord:
    """An error reported by Lean while elaborating a module (line 0: the module failed as a whole)."""

    module: str
    file: str
    line: int
    column: int
    message: str

    FEATURES: ClassVar[datasets.Features] = datasets.Features(
        {
            "module": _STRING,
            "file": _STRING,
            "line": _INT,
            "column": _INT,
            "message": _STRING,
        }
    )


def as_row(record) -> dict:
    """Return a record as a plain dict keyed by its dataset column names."""
    return dataclasses.asdict(record)


def decl_id(module: str, declaration: dict) -> str:
    """Return a declaration's stable id: ``module:name``, or ``module:_example_LINE_COLUMN`` if anonymous."""
    name = declaration.get("name")
    if name:
        return f"{module}:{name}"
    return f"{module}:_example_{declaration['line']}_{declaration['column']}"


def goals_text(goals: list[str]) -> str:
    """Join pretty-printed goals the way ntp-toolkit does; ``no goals`` when there are none."""
    return "\n\n".join(goals) if goals else NO_GOALS


def _events(module_output: ModuleOutput, kind: str) -> Iterator[dict]:
    return (event for event in module_output.events if event.get("kind") == kind)


def _statement(source: SourceBytes, declaration: dict) -> str:
    """The declaration up to where its proof or value begins, without trailing whitespace."""
    return source.slice(declaration["start"], declaration["sigEnd"]).rstrip()


def tactic_records(module_output: ModuleOutput) -> Iterator[TacticRecord]:
    """Yield a ``TacticRecord`` for every tactic event of a module, in source order."""
    source = SourceBytes(module_output.source)
    declarations = {d["start"]: d for d in _events(module_output, "declaration")}
    for tactic in _events(module_output, "tactic"):
        declaration = declarations.get(tactic["declStart"])
        if declaration is None:
            logger.warning(
                "%s:%s: tactic outside any extracted declaration, skipped",
                module_output.file,
                tactic["line"],
            )
            continue
        yield TacticRecord(
            state=goals_text(tactic["goalsBefore"]),
            nextTactic=source.slice(tactic["start"], tactic["end"]),
            srcUpToTactic=source.slice(None, tactic["start"]),
            declUpToTactic=source.slice(tactic["declStart"], tactic["start"]),
            decl=_statement(source, declaration),
            declId=decl_id(module_output.module, declaration),
            stateAfter=goals_text(tactic["goalsAfter"]),
            module=module_output.module,
            file=module_output.file,
            line=tactic["line"],
            column=tactic["column"],
            hasSorry=bool(tactic["hasSorry"]),
        )


def has_proof(source: SourceBytes, declaration: dict) -> bool:
    """Whether a declaration carries a proof or value (theorem, def, example, instance, ...)."""
    if declaration["declKind"] in DECL_KINDS_WITHOUT_PROOF:
        return False
    return bool(source.slice(declaration["sigEnd"], declaration["end"]).strip())


def full_proof_records(module_output: ModuleOutput) -> Iterator[FullProofRecord]:
    """Yield a ``FullProofRecord`` for every declaration of a module that has a proof or value."""
    source = SourceBytes(module_output.source)
    for declaration in _events(module_output, "declaration"):
        if not has_proof(source, declaration):
            continue
        yield FullProofRecord(
            srcUpToDecl=source.slice(None, declaration["start"]),
            decl=_statement(source, declaration),
            declId=decl_id(module_output.module, declaration),
            proof=source.slice(declaration["sigEnd"], declaration["end"]),
            module=module_output.module,
            file=module_output.file,
            line=declaration["line"],
            hasSorry=bool(declaration["hasSorry"]),
        )


def error_records(module_output: ModuleOutput) -> Iterator[ErrorRecord]:
    """Yield the module-level failure (if any) and every error message of a module."""
    if module_output.error:
        yield ErrorRecord(module_output.module, module_output.file, 0, 0, module_output.error)
    for message in _events(module_output, "message"):
        if message.get("severity") == "error":
            yield ErrorRecord(
                module=module_output.module,
                file=module_output.file,
                line=message["line"],
                column=message["column"],
                message=message["text"],
            )


RECORD_KINDS = {
    "tactic_prediction": (TacticRecord, tactic_records),
    "full_proof": (FullProofRecord, full_proof_records),
}
"""Record config name -> (record class, function deriving its records from a ModuleOutput)."""


def records_of_kind(record_kind: str, module_output: ModuleOutput) -> Iterator:
    """Yield the records of ``record_kind`` (a key of ``RECORD_KINDS``) for one module."""
    _, derive = RECORD_KINDS[record_kind]
    return derive(module_output)


def features_of_kind(record_kind: str) -> datasets.Features:
    """Return the explicit ``datasets.Features`` of a record kind."""
    record_class, _ = RECORD_KINDS[record_kind]
    return record_class.FEATURES

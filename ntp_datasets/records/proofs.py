"""Whole-proof records: ``full_proof``, ``full_proof_with_states`` and ``state_comments``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from ntp_datasets.extraction import ModuleOutput
from ntp_datasets.records.base import SourceBytes, decl_id, events_of, goals_text, has_proof, record, statement


@record
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
    project: str


def full_proof_records(module_output: ModuleOutput) -> Iterator[FullProofRecord]:
    """Yield a ``FullProofRecord`` for every declaration of a module that has a proof or value."""
    source = SourceBytes(module_output.source)
    for declaration in _declarations_with_proof(module_output, source):
        yield FullProofRecord(
            srcUpToDecl=source.slice(None, declaration["start"]),
            decl=statement(source, declaration),
            declId=decl_id(module_output.module, declaration),
            proof=source.slice(declaration["sigEnd"], declaration["end"]),
            module=module_output.module,
            file=module_output.file,
            line=declaration["line"],
            hasSorry=bool(declaration["hasSorry"]),
            project=module_output.project,
        )


def full_proof_with_states_records(module_output: ModuleOutput) -> Iterator[FullProofRecord]:
    """Like ``full_proof_records``, with the proof carrying the states as comments."""
    source = SourceBytes(module_output.source)
    tactics = list(events_of(module_output, "tactic"))
    declarations = _declarations_with_proof(module_output, source)
    for full_proof, declaration in zip(full_proof_records(module_output), declarations):
        proof = _insert_state_comments(source, tactics, declaration["sigEnd"], declaration["end"])
        yield dataclasses.replace(full_proof, proof=proof)


def _declarations_with_proof(module_output: ModuleOutput, source: SourceBytes) -> Iterator[dict]:
    return (d for d in events_of(module_output, "declaration") if has_proof(source, d))


@record
class StateCommentsRecord:
    """A module's source with the proof state after each tactic step as a comment."""

    module: str
    file: str
    text: str
    project: str


def state_comments_records(module_output: ModuleOutput) -> Iterator[StateCommentsRecord]:
    """Yield one ``StateCommentsRecord`` for the module (none if it failed as a whole)."""
    if module_output.error:
        return
    source = SourceBytes(module_output.source)
    tactics = list(events_of(module_output, "tactic"))
    text = _insert_state_comments(source, tactics, 0, len(source.data))
    yield StateCommentsRecord(module_output.module, module_output.file, text, module_output.project)


def _state_comment(state: str, column: int) -> str:
    """A block comment holding a proof state, indented to the tactic's column. `-/` inside a
    state would end the comment early, so it is broken up."""
    indent = " " * column
    body = state.replace("-/", "- /").replace("\n", "\n" + indent + "   ")
    return f"\n{indent}/- {body} -/"


def _insert_state_comments(source: SourceBytes, tactics: list[dict], start: int, end: int) -> str:
    """Source bytes ``start:end`` with the state after each tactic ending inside the range
    inserted as a comment right after the tactic. Tactics ending at the same place (a
    step and the last step nested in it) get their comments innermost first."""
    inserts = sorted(
        (t for t in tactics if start < t["end"] <= end),
        key=lambda t: (t["end"], -t["start"]),
    )
    pieces, cursor = [], start
    for tactic in inserts:
        pieces.append(source.slice(cursor, tactic["end"]))
        pieces.append(_state_comment(goals_text(tactic["goalsAfter"]), tactic["column"]))
        cursor = tactic["end"]
    pieces.append(source.slice(cursor, end))
    return "".join(pieces)

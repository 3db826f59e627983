"""Whole-proof records: ``full_proof``, ``full_proof_with_states`` and ``state_comments``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from ntp_datasets.extraction import ModuleOutput
from ntp_datasets.records.base import (
    NO_GOALS,
    SourceBytes,
    decl_id,
    events_of,
    has_proof,
    record,
    state_text,
    statement,
)
from ntp_datasets.records.statements import statement_hash
from ntp_datasets.records.tactics import failed_steps


@record
class FullProofRecord:
    """One declaration with a proof or value: its statement and the whole proof.
    ``hasError``: Lean reported an error inside the declaration. ``statementHash``: see
    ``records.statements``."""

    srcUpToDecl: str
    decl: str
    declId: str
    proof: str
    module: str
    file: str
    line: int | None
    hasSorry: bool | None
    hasError: bool | None
    project: str
    statementHash: str


def full_proof_records(module_output: ModuleOutput) -> Iterator[FullProofRecord]:
    """Yield a ``FullProofRecord`` for every declaration of a module that has a proof or value."""
    source = SourceBytes(module_output.source)
    for declaration in _declarations_with_proof(module_output, source):
        decl = statement(source, declaration)
        yield FullProofRecord(
            srcUpToDecl=source.slice(None, declaration["start"]),
            decl=decl,
            declId=decl_id(module_output.module, declaration),
            proof=source.slice(declaration["sigEnd"], declaration["end"]),
            module=module_output.module,
            file=module_output.file,
            line=declaration["line"],
            hasSorry=bool(declaration["hasSorry"]),
            hasError=bool(declaration["hasError"]),
            project=module_output.project,
            statementHash=statement_hash(decl),
        )


def full_proof_with_states_records(module_output: ModuleOutput) -> Iterator[FullProofRecord]:
    """Like ``full_proof_records``, with the proof carrying the states as comments."""
    source = SourceBytes(module_output.source)
    tactics = _steps_with_known_states(module_output)
    declarations = _declarations_with_proof(module_output, source)
    for full_proof, declaration in zip(full_proof_records(module_output), declarations):
        proof = _insert_state_comments(source, tactics, declaration["sigEnd"], declaration["end"])
        yield dataclasses.replace(full_proof, proof=proof)


def _declarations_with_proof(module_output: ModuleOutput, source: SourceBytes) -> Iterator[dict]:
    return (d for d in events_of(module_output, "declaration") if has_proof(source, d))


@record
class StateCommentsRecord:
    """A module's source with the proof state after each tactic step as a comment (none after
    a step that failed). ``hasError``: Lean reported an error in the module; ``hasSorry``: a
    declaration of the module contains ``sorry``."""

    module: str
    file: str
    text: str
    project: str
    hasError: bool | None
    hasSorry: bool | None


def state_comments_records(module_output: ModuleOutput) -> Iterator[StateCommentsRecord]:
    """Yield one ``StateCommentsRecord`` for the module (none if it failed as a whole)."""
    if module_output.error:
        return
    source = SourceBytes(module_output.source)
    text = _insert_state_comments(source, _steps_with_known_states(module_output), None, len(source.data))
    declarations = list(events_of(module_output, "declaration"))
    lean_errors = any(m.get("severity") == "error" and m.get("phase") != "extract"
                      for m in events_of(module_output, "message"))
    yield StateCommentsRecord(module_output.module, module_output.file, text, module_output.project,
                              hasError=lean_errors or any(d["hasError"] for d in declarations),
                              hasSorry=any(d["hasSorry"] for d in declarations))


def _steps_with_known_states(module_output: ModuleOutput) -> list[dict]:
    """The module's tactic steps but those that failed (``tactics.failed_steps``): what Lean's
    error recovery left after a failed step is no state a comment should show."""
    failed = failed_steps(module_output)
    return [t for t in events_of(module_output, "tactic") if (t["start"], t["end"]) not in failed]


def _state_comment(goals: list[str], column: int, newline: str) -> str:
    """A block comment holding a proof state (``NO_GOALS`` when none are left), on its own
    line, indented to the tactic's column. `-/` inside a state would end the comment early,
    so it is broken up."""
    indent = " " * column
    state = state_text(goals) or NO_GOALS
    body = state.replace("-/", "- /").replace("\n", newline + indent + "   ")
    return f"{newline}{indent}/- {body} -/"


def _ends_line(source: SourceBytes, offset: int) -> bool:
    """Whether only spaces, or a line comment, follow byte ``offset`` up to the end of its line."""
    rest = source.data[offset:].split(b"\n", 1)[0].strip(b" \t\r")
    return not rest or rest.startswith(b"--")


def _insert_state_comments(source: SourceBytes, tactics: list[dict], start: int | None, end: int) -> str:
    """Source bytes ``start:end`` (``start`` None: where the text begins) with the state after
    each tactic that ends a line inside the range inserted as a comment right after the tactic
    (tactics ending mid-line, such as ``t`` in ``t <;> s`` or ``t; s``, get none). Tactics
    ending at the same place (a step and the last step nested in it) get their comments
    innermost first; runs of one tactic on several goals (``s`` in ``t <;> s``) share one
    comment with the goals all runs left."""
    start = source.text_start if start is None else start
    runs: dict[tuple[int, int], list[dict]] = {}
    for t in tactics:
        if start < t["end"] <= end and _ends_line(source, t["end"]):
            runs.setdefault((t["start"], t["end"]), []).append(t)
    pieces, cursor = [], start
    for (_, tactic_end), group in sorted(runs.items(), key=lambda item: (item[0][1], -item[0][0])):
        goals = [goal for t in group for goal in t["goalsAfter"]]
        pieces.append(source.slice(cursor, tactic_end))
        pieces.append(_state_comment(goals, group[0]["column"], source.newline))
        cursor = tactic_end
    pieces.append(source.slice(cursor, end))
    return "".join(pieces)

"""Leakage between splits: statements (``statementHash``, see ``records.statements``) that
declarations of more than one split state, within a project or across projects, and
``dedup``, which keeps one occurrence of each such statement, in train.

Which declarations take part: every declaration with a proof or value of every project of a
build (``records.DeclarationFacts``), in its split (a build's split assignment). A statement
stated twice in one split is no leakage and is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ntp_datasets.rows.splits import TRAIN

EXAMPLES = 5
"""Leaked statements a report lists by name (the counts cover all)."""


@dataclass(frozen=True)
class LeakedStatement:
    """A statement in more than one split, and its declarations as ``(project, declId, split)``."""

    statementHash: str
    declarations: tuple[tuple[str, str, str], ...]

    @property
    def projects(self) -> set[str]:
        """The projects that state it."""
        return {project for project, _, _ in self.declarations}


@dataclass(frozen=True)
class LeakageReport:
    """What a build found: ``statements`` in more than one split; ``held_out`` declarations
    outside train whose statement a declaration of another split states; ``across_projects``,
    the statements of those stated in more than one project; ``removed``, the declarations
    ``dedup`` left out (0 without it); ``examples``, the first few leaked statements."""

    statements: int = 0
    held_out: int = 0
    across_projects: int = 0
    removed: int = 0
    examples: tuple[LeakedStatement, ...] = ()

    def format(self) -> str:
        """One phrase for a build summary."""
        if not self.statements:
            return "no statement in more than one split"
        text = (f"{self.statements} statements in more than one split ({self.held_out} held-out declarations, "
                f"{self.across_projects} statements across projects)")
        return text + (f", dedup removed {self.removed} declarations" if self.removed else "")

    def as_dict(self) -> dict:
        """The report as JSON data (for a dataset folder's manifest)."""
        return {"statements": self.statements, "held_out": self.held_out, "across_projects": self.across_projects,
                "removed": self.removed,
                "examples": [{"statementHash": e.statementHash, "declarations": [list(d) for d in e.declarations]}
                             for e in self.examples]}


def report_from_dict(data: dict) -> LeakageReport:
    """The :class:`LeakageReport` that :meth:`LeakageReport.as_dict` wrote."""
    examples = tuple(LeakedStatement(e["statementHash"], tuple(tuple(d) for d in e["declarations"]))
                     for e in data.get("examples", []))
    return LeakageReport(statements=data["statements"], held_out=data["held_out"],
                         across_projects=data["across_projects"], removed=data["removed"], examples=examples)


def leaked_statements(declarations: Iterable, splits: Mapping[tuple[str, str], str]) -> list[LeakedStatement]:
    """The statements that declarations of more than one split state, in the order of their
    first declaration. ``declarations``: ``records.DeclarationFacts`` in build order;
    ``splits``: each one's split by ``(project, declId)``."""
    by_statement: dict[str, list[tuple[str, str, str]]] = {}
    for fact in declarations:
        split = splits.get((fact.project, fact.declId))
        if split is not None:
            by_statement.setdefault(fact.statementHash, []).append((fact.project, fact.declId, split))
    return [LeakedStatement(digest, tuple(found)) for digest, found in by_statement.items()
            if len({split for _, _, split in found}) > 1]


def leakage_report(leaked: list[LeakedStatement], removed: int = 0) -> LeakageReport:
    """The counts of ``leaked`` (see :class:`LeakageReport`)."""
    return LeakageReport(
        statements=len(leaked),
        held_out=sum(split != TRAIN for statement in leaked for _, _, split in statement.declarations),
        across_projects=sum(len(statement.projects) > 1 for statement in leaked),
        removed=removed,
        examples=tuple(leaked[:EXAMPLES]),
    )


def deduplicate(splits: Mapping[tuple[str, str], str], leaked: list[LeakedStatement]
                ) -> tuple[dict[tuple[str, str], str], frozenset[tuple[str, str]]]:
    """``dedup``: of each leaked statement's declarations keep one, in train (its first one in
    train, else its first one, moved to train), and leave out the others. Returns the new
    splits and the declarations left out."""
    result, dropped = dict(splits), set()
    for statement in leaked:
        keys = [(project, decl_id) for project, decl_id, _ in statement.declarations]
        in_train = [key for key, (_, _, split) in zip(keys, statement.declarations) if split == TRAIN]
        kept = in_train[0] if in_train else keys[0]
        result[kept] = TRAIN
        dropped.update(key for key in keys if key != kept)
    for key in dropped:
        result.pop(key, None)
    return result, frozenset(dropped)

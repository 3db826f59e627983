"""Tactic-step records: ``tactic_prediction`` and ``tactic_prediction_with_premises``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from ntp_datasets.extraction import ModuleOutput
from ntp_datasets.records.base import (
    SourceBytes,
    as_row,
    decl_id,
    events_of,
    names_of,
    record,
    state_text,
    statement,
    union,
)

logger = logging.getLogger(__name__)


@record
class TacticRecord:
    """One tactic step: the proof state before it and the tactic a user wrote.

    ``state``/``stateAfter``: the goals before/after the step as ntp-toolkit renders them
    (joined by newlines, "" when there are none); ``goals``/``goalsAfter``: the same goals,
    one string each. ``hasError``: Lean reported an error inside the declaration.
    ``inStatement``: the step is in the declaration's statement (a ``by`` in its type or
    binders), so ``decl`` already holds it."""

    state: str
    nextTactic: str
    srcUpToTactic: str
    declUpToTactic: str
    decl: str
    declId: str
    stateAfter: str
    goals: list[str]
    goalsAfter: list[str]
    module: str
    file: str
    line: int
    column: int
    hasSorry: bool
    hasError: bool
    inStatement: bool
    project: str


def tactic_records(module_output: ModuleOutput) -> Iterator[TacticRecord]:
    """Yield a ``TacticRecord`` for every tactic event of a module, in source order."""
    source = SourceBytes(module_output.source)
    declarations = {d["start"]: d for d in events_of(module_output, "declaration")}
    for tactic in events_of(module_output, "tactic"):
        declaration = declarations.get(tactic["declStart"])
        if declaration is None:
            logger.warning(
                "%s:%s: tactic outside any extracted declaration, skipped",
                module_output.file,
                tactic["line"],
            )
            continue
        yield TacticRecord(
            state=state_text(tactic["goalsBefore"]),
            nextTactic=source.slice(tactic["start"], tactic["end"]),
            srcUpToTactic=source.slice(None, tactic["start"]),
            declUpToTactic=source.slice(tactic["declStart"], tactic["start"]),
            decl=statement(source, declaration),
            declId=decl_id(module_output.module, declaration),
            stateAfter=state_text(tactic["goalsAfter"]),
            goals=list(tactic["goalsBefore"]),
            goalsAfter=list(tactic["goalsAfter"]),
            module=module_output.module,
            file=module_output.file,
            line=tactic["line"],
            column=tactic["column"],
            hasSorry=bool(tactic["hasSorry"]),
            hasError=bool(declaration["hasError"]),
            inStatement=bool(tactic["inStatement"]),
            project=module_output.project,
        )


@record
class TacticWithPremisesRecord(TacticRecord):
    """A tactic step with ntp-toolkit's premise fields (see the README's table)."""

    nextTacticIsSimpOrRwVariant: bool
    nextTacticTermPremises: list[str]
    nextTacticExplicitConstants: list[str]
    nextTacticExplicitPremises: list[str]
    nextTacticExplicitLocalHypotheses: list[str]
    nextTacticAllPremises: list[str]
    nextTacticHammerRecommendation: list[str]
    declTermPremises: list[str]
    declExplicitConstants: list[str]
    declExplicitPremises: list[str]
    declAllPremises: list[str]
    declHammerRecommendation: list[str]
    termPremisesToEndOfGoal: list[str]
    explicitConstantsToEndOfGoal: list[str]
    explicitPremisesToEndOfGoal: list[str]
    allPremisesToEndOfGoal: list[str]
    hammerRecommendationToEndOfGoal: list[str]


TACTIC_WITH_PREMISES_FEATURES = TacticWithPremisesRecord.FEATURES


SIMP_OR_RW_PREFIXES = ("simp", "dsimp", "rw", "rewrite", "erw", "nth_rewrite", "nth_rw")
"""A tactic is a simp or rw variant when its syntax kind's last component, without a
``tactic`` prefix, starts with one of these (``simp``, ``simp_all``, ``simpa``, ``dsimp``,
``rw``/``rwSeq``, ``rewrite``, ``erw``, ``rw_mod_cast``, ...)."""


def is_simp_or_rw(syntax_kind: str) -> bool:
    """Whether a tactic syntax kind is one of the simp or rw variants."""
    last = syntax_kind.rsplit(".", 1)[-1].strip("«»")
    if last.startswith("tactic"):
        last = last[len("tactic"):]
    return last.lower().startswith(SIMP_OR_RW_PREFIXES)


@dataclass(frozen=True)
class _TacticPremises:
    term: list[str]
    explicit_constants: list[str]
    explicit_premises: list[str]
    hammer: list[str]


def _tactic_premises(tactic: dict) -> _TacticPremises:
    explicit = tactic.get("explicitConstants", [])
    explicit_premises = names_of(explicit, props=True)
    simp_or_rw = is_simp_or_rw(tactic["syntaxKind"])
    # A hammer wants the lemmas a step names and, for simp/rw, the definitions it unfolds.
    hammer = union(explicit_premises, names_of(explicit) if simp_or_rw else [])
    return _TacticPremises(names_of(tactic.get("termConstants", []), props=True), names_of(explicit), explicit_premises, hammer)


def _to_end_of_goal(tactics: list[dict], index: int) -> list[dict]:
    """The tactics from ``tactics[index]`` until its main goal and every goal descended from it
    is closed, following goal ids: a later tactic belongs when it starts on an open descendant;
    then the goals it closed leave the set and the goals it created join it."""
    first = tactics[index]
    if not first["goalIdsBefore"]:
        return [first]
    open_goals = {first["goalIdsBefore"][0]}
    chosen = []
    for tactic in tactics[index:]:
        before, after = set(tactic["goalIdsBefore"]), set(tactic["goalIdsAfter"])
        if not open_goals & before:
            continue
        chosen.append(tactic)
        open_goals = (open_goals - (before - after)) | (after - before)
        if not open_goals:
            break
    return chosen


def tactic_with_premises_records(module_output: ModuleOutput) -> Iterator[TacticWithPremisesRecord]:
    """Yield ``tactic_prediction`` records extended with ntp-toolkit's premise fields (see README)."""
    declarations = {d["start"]: d for d in events_of(module_output, "declaration")}
    tactics = list(events_of(module_output, "tactic"))
    by_decl: dict[int, list[dict]] = {}
    for tactic in tactics:
        by_decl.setdefault(tactic["declStart"], []).append(tactic)
    records = iter(tactic_records(module_output))
    for tactic in tactics:
        declaration = declarations.get(tactic["declStart"])
        if declaration is None:
            continue
        base = as_row(next(records))
        siblings = by_decl[tactic["declStart"]]
        mine = _tactic_premises(tactic)
        decl_parts = [_tactic_premises(t) for t in siblings]
        goal_parts = [_tactic_premises(t) for t in _to_end_of_goal(siblings, siblings.index(tactic))]
        decl_term = names_of(declaration.get("constants", []), props=True)
        decl_explicit_premises = union(*(p.explicit_premises for p in decl_parts))
        goal_term = union(*(p.term for p in goal_parts))
        goal_explicit_premises = union(*(p.explicit_premises for p in goal_parts))
        yield TacticWithPremisesRecord(
            **base,
            nextTacticIsSimpOrRwVariant=is_simp_or_rw(tactic["syntaxKind"]),
            nextTacticTermPremises=mine.term,
            nextTacticExplicitConstants=mine.explicit_constants,
            nextTacticExplicitPremises=mine.explicit_premises,
            nextTacticExplicitLocalHypotheses=list(tactic.get("explicitLocalHypotheses", [])),
            nextTacticAllPremises=union(mine.term, mine.explicit_premises),
            nextTacticHammerRecommendation=mine.hammer,
            declTermPremises=decl_term,
            declExplicitConstants=union(*(p.explicit_constants for p in decl_parts)),
            declExplicitPremises=decl_explicit_premises,
            declAllPremises=union(decl_term, decl_explicit_premises),
            declHammerRecommendation=union(*(p.hammer for p in decl_parts)),
            termPremisesToEndOfGoal=goal_term,
            explicitConstantsToEndOfGoal=union(*(p.explicit_constants for p in goal_parts)),
            explicitPremisesToEndOfGoal=goal_explicit_premises,
            allPremisesToEndOfGoal=union(goal_term, goal_explicit_premises),
            hammerRecommendationToEndOfGoal=union(*(p.hammer for p in goal_parts)),
        )

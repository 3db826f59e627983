"""Tactic-step records: ``tactic_prediction`` and ``tactic_prediction_with_premises``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypedDict

from ntp_datasets.extraction import ModuleOutput
from ntp_datasets.records import hammer
from ntp_datasets.records.base import (
    SourceBytes,
    decl_id,
    events_of,
    names_of,
    record,
    state_text,
    statement,
    union,
)
from ntp_datasets.records.hammer import HammerHint
from ntp_datasets.records.premises import NO_SITE, Site, premise_sites

logger = logging.getLogger(__name__)


@record
class TacticRecord:
    """One tactic step: the proof state before it and the tactic a user wrote.

    ``state``/``stateAfter``: the goals before/after the step as ntp-toolkit renders them
    (joined by newlines, "" when there are none); ``goals``/``goalsAfter``: the same goals,
    one string each. ``hasError``: Lean reported an error inside the declaration.
    ``inStatement``: the step is in the declaration's statement (a ``by`` in its type or
    binders), so ``decl`` already holds it. ``tacticError``: the error of a step that failed
    (:func:`failed_steps`); its ``stateAfter`` and ``goalsAfter`` are then None, since what
    Lean's error recovery left (the goals before it, or none) is not what the tactic did."""

    state: str
    nextTactic: str
    srcUpToTactic: str
    declUpToTactic: str
    decl: str
    declId: str
    stateAfter: str | None
    goals: list[str] | None
    goalsAfter: list[str] | None
    module: str
    file: str
    line: int
    column: int
    hasSorry: bool | None
    hasError: bool | None
    inStatement: bool | None
    project: str
    tacticError: str | None


def failed_steps(module_output: ModuleOutput) -> dict[tuple[int, int], str]:
    """The steps that failed, by their byte range (``start``, ``end``), each with its error.

    A step fails when Lean reported an error (a message of severity error from Lean, not one
    of the extractor's own) at a position inside it and inside no step nested in it: the
    innermost steps holding an error. Lean reports an error at (a part of) the tactic that
    failed and recovers: a tactic that throws leaves the goals it started from (its step
    records them as the goals after it) and ends its tactic block, whose goals are closed with
    ``sorry`` (a bullet's or an alternative's only its own); an error inside a term (``exact``
    of an ill-typed term) closes the goal with ``sorry`` (the step records no goals after it).
    Neither is what the tactic did. An error of a nested ``by`` lies in a step of that ``by``,
    not in the step holding the ``by``; an error in no step (unsolved goals, reported at ``by``
    or at a bullet outside every step) fails none. The runs of one tactic on several goals (``t <;> s``) share a range and fail
    together. Several errors of one step are joined by blank lines."""
    errors = [(m["line"], m["column"], m.get("text", "")) for m in events_of(module_output, "message")
              if m.get("severity") == "error" and m.get("phase") != "extract"]
    if not errors:
        return {}
    spans = {(t["start"], t["end"]): ((t["line"], t["column"]), (t["endLine"], t["endColumn"]))
             for t in events_of(module_output, "tactic")}
    failed: dict[tuple[int, int], list[str]] = {}
    for line, column, text in errors:
        holding = [r for r, (first, last) in spans.items() if first <= (line, column) < last]
        if holding:
            innermost = max(holding, key=lambda r: (r[0], -r[1]))
            failed.setdefault(innermost, []).append(text)
    return {span: "\n\n".join(texts) for span, texts in failed.items()}


def tactic_records(module_output: ModuleOutput) -> Iterator[TacticRecord]:
    """Yield a ``TacticRecord`` for every tactic event of a module, in source order."""
    source = SourceBytes(module_output.source)
    declarations = {d["start"]: d for d in events_of(module_output, "declaration")}
    failed = failed_steps(module_output)
    for tactic in events_of(module_output, "tactic"):
        declaration = declarations.get(tactic["declStart"])
        if declaration is None:
            logger.warning(
                "%s:%s: tactic outside any extracted declaration, skipped",
                module_output.file,
                tactic["line"],
            )
            continue
        error = failed.get((tactic["start"], tactic["end"]))
        yield TacticRecord(
            state=state_text(tactic["goalsBefore"]),
            nextTactic=source.slice(tactic["start"], tactic["end"]),
            srcUpToTactic=source.slice(None, tactic["start"]),
            declUpToTactic=source.slice(tactic["declStart"], tactic["start"]),
            decl=statement(source, declaration),
            declId=decl_id(module_output.module, declaration),
            stateAfter=None if error is not None else state_text(tactic["goalsAfter"]),
            goals=list(tactic["goalsBefore"]),
            goalsAfter=None if error is not None else list(tactic["goalsAfter"]),
            module=module_output.module,
            file=module_output.file,
            line=tactic["line"],
            column=tactic["column"],
            hasSorry=bool(tactic["hasSorry"]),
            hasError=bool(declaration["hasError"]),
            inStatement=bool(tactic["inStatement"]),
            project=module_output.project,
            tacticError=error,
        )


class PremiseUse(TypedDict):
    """A premise written in a tactic: its name, the character span of its identifier in
    ``nextTactic`` (``start`` inclusive, ``end`` exclusive), and where it is declared
    (``premises.Site``'s fields)."""

    name: str
    start: int
    end: int
    module: str
    file: str
    line: int
    column: int
    endLine: int
    endColumn: int


@record
class TacticWithPremisesRecord:
    """A tactic step, or a theorem's whole proof term (``nextTactic`` None), with ntp-toolkit's
    ``training_data_with_premises`` fields (``declName`` .. ``declHammerRecommendation``) and
    ours (see the README's table)."""

    declName: str
    srcUpToTactic: str
    declUpToTactic: str
    state: str
    nextTactic: str | None
    nextTacticHammerRecommendation: list[str]
    declHammerRecommendation: list[str]
    declId: str | None
    decl: str | None
    stateAfter: str | None
    goals: list[str] | None
    goalsAfter: list[str] | None
    module: str
    file: str
    line: int | None
    column: int | None
    hasSorry: bool | None
    hasError: bool | None
    inStatement: bool | None
    project: str
    tacticError: str | None
    nextTacticHammerHints: list[HammerHint]
    declHammerHints: list[HammerHint]
    nextTacticPremiseUses: list[PremiseUse] | None
    annotatedTactic: str | None
    nextTacticIsSimpOrRwVariant: bool | None
    nextTacticTermPremises: list[str] | None
    nextTacticExplicitConstants: list[str] | None
    nextTacticExplicitPremises: list[str] | None
    nextTacticExplicitLocalHypotheses: list[str] | None
    nextTacticAllPremises: list[str] | None
    declTermPremises: list[str] | None
    declExplicitConstants: list[str] | None
    declExplicitPremises: list[str] | None
    declAllPremises: list[str] | None
    termPremisesToEndOfGoal: list[str] | None
    explicitConstantsToEndOfGoal: list[str] | None
    explicitPremisesToEndOfGoal: list[str] | None
    allPremisesToEndOfGoal: list[str] | None
    hammerRecommendationToEndOfGoal: list[str] | None


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
    hammer: hammer.Recommendation


def _tactic_premises(tactic: dict) -> _TacticPremises:
    explicit = tactic.get("explicitConstants", [])
    return _TacticPremises(names_of(tactic.get("termConstants", []), props=True), names_of(explicit),
                           names_of(explicit, props=True), hammer.of_tactic(tactic))


def premise_uses(source: SourceBytes, tactic: dict, sites: dict[str, Site]) -> list[PremiseUse]:
    """The constants written in a tactic (``refs`` of its event: identifiers the elaborator
    resolved to global constants), each with the character span of its identifier in the
    tactic's text and where it is declared, in text order."""
    uses = []
    for ref in sorted(tactic.get("refs", []), key=lambda r: (r["start"], r["end"])):
        if not tactic["start"] <= ref["start"] <= ref["end"] <= tactic["end"]:
            continue  # written by a macro somewhere else
        start = len(source.slice(tactic["start"], ref["start"]))
        end = start + len(source.slice(ref["start"], ref["end"]))
        if uses and (uses[-1]["start"], uses[-1]["end"]) == (start, end):
            continue  # one identifier the elaborator visited twice
        uses.append(PremiseUse(name=ref["name"], start=start, end=end, **sites.get(ref["name"], NO_SITE)))
    return uses


def annotate(text: str, uses: list[PremiseUse]) -> str:
    """``text`` with each premise span marked ``<a>…</a>`` (LeanDojo's annotated tactic)."""
    pieces, cursor = [], 0
    for use in uses:
        if use["start"] < cursor:
            continue  # overlapping spans: the first one wins
        pieces += [text[cursor:use["start"]], "<a>", text[use["start"]:use["end"]], "</a>"]
        cursor = use["end"]
    return "".join(pieces) + text[cursor:]


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
    """Yield, per declaration in source order, ntp-toolkit's row for a theorem's whole proof term
    (``nextTactic`` None; only theorems have one) and then a row per tactic step (see README)."""
    source = SourceBytes(module_output.source)
    sites = premise_sites(module_output)
    declarations = {d["start"]: d for d in events_of(module_output, "declaration")}
    tactics = list(events_of(module_output, "tactic"))
    by_decl: dict[int, list[dict]] = {}
    for tactic in tactics:
        by_decl.setdefault(tactic["declStart"], []).append(tactic)
    records = iter(tactic_records(module_output))  # one per tactic inside a declaration, in order
    bases = {id(t): next(records) for t in tactics if t["declStart"] in declarations}
    for start, declaration in sorted(declarations.items()):
        siblings = by_decl.get(start, [])
        parts = [_tactic_premises(t) for t in siblings]
        term_rec = hammer.of_terms(declaration.get("valueHammer", []))
        decl_rec = hammer.merge(term_rec, *(p.hammer for p in parts))
        decl_term = names_of(declaration.get("constants", []), props=True)
        decl_explicit_constants = union(*(p.explicit_constants for p in parts))
        decl_explicit_premises = union(*(p.explicit_premises for p in parts))
        decl_fields = dict(
            declHammerRecommendation=hammer.as_strings(decl_rec), declHammerHints=hammer.as_hints(decl_rec),
            declTermPremises=decl_term, declExplicitConstants=decl_explicit_constants,
            declExplicitPremises=decl_explicit_premises, declAllPremises=union(decl_term, decl_explicit_premises),
        )
        name = declaration.get("name") or ""
        if "termState" in declaration:
            yield _term_row(module_output, source, declaration, name, decl_rec, decl_fields)
        for index, tactic in enumerate(siblings):
            base = bases[id(tactic)]
            mine = parts[index]
            goal_parts = [_tactic_premises(t) for t in _to_end_of_goal(siblings, index)]
            goal_term = union(*(p.term for p in goal_parts))
            goal_explicit_premises = union(*(p.explicit_premises for p in goal_parts))
            uses = premise_uses(source, tactic, sites)
            yield TacticWithPremisesRecord(
                declName=name, srcUpToTactic=base.srcUpToTactic, declUpToTactic=base.declUpToTactic,
                state=base.state, nextTactic=base.nextTactic,
                nextTacticHammerRecommendation=hammer.as_strings(mine.hammer),
                declId=base.declId, decl=base.decl, stateAfter=base.stateAfter, goals=base.goals,
                goalsAfter=base.goalsAfter, module=base.module, file=base.file, line=base.line, column=base.column,
                hasSorry=base.hasSorry, hasError=base.hasError, inStatement=base.inStatement, project=base.project,
                tacticError=base.tacticError, nextTacticHammerHints=hammer.as_hints(mine.hammer),
                nextTacticPremiseUses=uses, annotatedTactic=annotate(base.nextTactic, uses),
                nextTacticIsSimpOrRwVariant=is_simp_or_rw(tactic["syntaxKind"]),
                nextTacticTermPremises=mine.term,
                nextTacticExplicitConstants=mine.explicit_constants,
                nextTacticExplicitPremises=mine.explicit_premises,
                nextTacticExplicitLocalHypotheses=list(tactic.get("explicitLocalHypotheses", [])),
                nextTacticAllPremises=union(mine.term, mine.explicit_premises),
                termPremisesToEndOfGoal=goal_term,
                explicitConstantsToEndOfGoal=union(*(p.explicit_constants for p in goal_parts)),
                explicitPremisesToEndOfGoal=goal_explicit_premises,
                allPremisesToEndOfGoal=union(goal_term, goal_explicit_premises),
                hammerRecommendationToEndOfGoal=hammer.as_strings(hammer.merge(*(p.hammer for p in goal_parts))),
                **decl_fields,
            )


def _term_row(module_output: ModuleOutput, source: SourceBytes, declaration: dict, name: str,
              decl_rec: hammer.Recommendation, decl_fields: dict) -> TacticWithPremisesRecord:
    """ntp-toolkit's row for a theorem's whole proof term: the source up to the declaration's
    end, the goal with the signature's binders introduced, no tactic, and the declaration's
    recommendation as both recommendations."""
    state = declaration.get("termState") or ""
    text = source.slice(declaration["start"], declaration["end"])
    return TacticWithPremisesRecord(
        declName=name, srcUpToTactic=source.slice(None, declaration["end"]), declUpToTactic=text,
        state=state, nextTactic=None, nextTacticHammerRecommendation=hammer.as_strings(decl_rec),
        declId=decl_id(module_output.module, declaration), decl=statement(source, declaration), stateAfter="",
        goals=[state] if state else [], goalsAfter=[], module=module_output.module, file=module_output.file,
        line=declaration["line"], column=declaration["column"], hasSorry=bool(declaration["hasSorry"]),
        hasError=bool(declaration["hasError"]), inStatement=False, project=module_output.project, tacticError=None,
        nextTacticHammerHints=hammer.as_hints(decl_rec), nextTacticPremiseUses=[], annotatedTactic="",
        nextTacticIsSimpOrRwVariant=False, nextTacticTermPremises=decl_fields["declTermPremises"],
        nextTacticExplicitConstants=[], nextTacticExplicitPremises=[], nextTacticExplicitLocalHypotheses=[],
        nextTacticAllPremises=decl_fields["declTermPremises"], termPremisesToEndOfGoal=decl_fields["declTermPremises"],
        explicitConstantsToEndOfGoal=[], explicitPremisesToEndOfGoal=[],
        allPremisesToEndOfGoal=decl_fields["declTermPremises"],
        hammerRecommendationToEndOfGoal=hammer.as_strings(decl_rec), **decl_fields,
    )

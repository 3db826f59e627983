"""``minictx`` records: ntp-toolkit's miniCTX rows (``scripts/convert_minictx.py``), and what a
build gathers about a project's declarations for them, for the splits and for leakage.

A miniCTX row is a named declaration with a proof or value, with its file context, git dates
(``project.history``), position, dependency and proof metadata. The fields ntp-toolkit names
mean what its script computes (see :class:`MiniCtxRecord`); ours have names of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypedDict

from ntp_datasets.extraction import ModuleOutput
from ntp_datasets.project.history import NO_DATE, GitDate, HistoryRequest, ProjectHistory
from ntp_datasets.records.base import SourceBytes, decl_id, events_of, has_proof, record, statement
from ntp_datasets.records.statements import statement_hash


class CommitDate(TypedDict):
    """A commit and its author date (``YYYY-MM-DD``); both null when there is none."""

    commit: str | None
    date: str | None


class PositionMetadata(TypedDict):
    """ntp-toolkit's position of a declaration: ``lineInFile`` (1 + the newlines before it),
    ``tokenPositionInFile`` (the characters before it: despite the name, not tokens),
    ``theoremPositionInFile`` (its index among its module's rows, in source order)."""

    lineInFile: int
    tokenPositionInFile: int
    theoremPositionInFile: int


class DependencyMetadata(TypedDict):
    """ntp-toolkit's dependency counts over the constants the declaration uses (its premises
    rows' ``dependents``): ``inFilePremises``/``numInFilePremises``, whether any / how many are
    declared in its module; ``repositoryPremises``/``numRepositoryPremises``, in its project;
    ``numPremises``, how many it uses. All null when the declaration has no premises row."""

    inFilePremises: bool | None
    numInFilePremises: int | None
    repositoryPremises: bool | None
    numRepositoryPremises: int | None
    numPremises: int | None


class ProofMetadata(TypedDict):
    """ntp-toolkit's proof facts: ``hasProof`` (the text ``sorry`` is not in the proof),
    ``proof`` (from ``:=`` on), ``proofType`` (``tactic`` when the proof starts with ``:= by``,
    else ``term``), ``proofLengthLines`` (newlines in it), ``proofLengthTokens`` (its characters)."""

    hasProof: bool
    proof: str
    proofType: str
    proofLengthLines: int
    proofLengthTokens: int


@record
class MiniCtxRecord:
    """A named declaration with a proof or value, as ntp-toolkit's ``convert_minictx.py`` writes it.

    ntp-toolkit's fields: ``srcContext`` (the file up to the declaration), ``theoremStatement``
    (the declaration up to its value, whitespace before ``:=`` included), ``theoremName`` (full
    name), ``fileCreated`` and ``theoremCreated`` (``project.history``: ``git log -- FILE``,
    ``git log -S NAME``), ``file`` (``<project>/<path in the project>``, as ntp-toolkit's path
    under ``.lake/packages/``), ``module``, ``jsonFile`` (``<module>.jsonl``, the ntp-toolkit
    output file the row would come from), ``positionMetadata``, ``dependencyMetadata``,
    ``proofMetadata``.

    Ours: ``declId``; ``declarationCreated``, the first commit whose version of the file (renames
    followed) declares it under this name; ``fileCreatedFollowingRenames``; ``isTheorem`` (a
    ``theorem`` constant, which a ``lemma`` also is); ``hasSorry``, ``hasError`` (as in
    ``full_proof``); ``statementHash``; ``project``."""

    srcContext: str
    theoremStatement: str
    theoremName: str
    fileCreated: CommitDate
    theoremCreated: CommitDate
    file: str
    module: str
    jsonFile: str
    positionMetadata: PositionMetadata
    dependencyMetadata: DependencyMetadata
    proofMetadata: ProofMetadata
    declId: str
    declarationCreated: CommitDate
    fileCreatedFollowingRenames: CommitDate
    isTheorem: bool
    hasSorry: bool
    hasError: bool
    statementHash: str
    project: str


@dataclass(frozen=True)
class MiniCtxContext:
    """What a project's miniCTX rows need beyond their module: the names of the project's
    premises (the constants of its ``premises`` rows that are corpus candidates, ntp-toolkit's
    rows without its blacklist) and its history (dates null when there is none)."""

    project_premises: frozenset[str] = frozenset()
    history: ProjectHistory = field(default_factory=lambda: ProjectHistory(unavailable="not computed"))


def _commit_date(date: GitDate) -> CommitDate:
    return CommitDate(commit=date.commit, date=date.date)


def is_theorem(declaration: dict) -> bool:
    """Whether a declaration event declares a theorem (its constant's kind; a ``lemma`` is one)."""
    return (declaration.get("constKind") or declaration["declKind"]) in ("theorem", "lemma")


def module_premises(module_output: ModuleOutput) -> dict[str, list[dict]]:
    """The module's premises (``constant`` events that are corpus candidates) and each one's dependents."""
    return {c["name"]: c["dependents"] for c in events_of(module_output, "constant") if c.get("candidate")}


def _dependency_metadata(name: str, in_file: dict[str, list[dict]], project: frozenset[str]) -> DependencyMetadata:
    dependents = in_file.get(name)
    if dependents is None:
        return DependencyMetadata(inFilePremises=None, numInFilePremises=None, repositoryPremises=None,
                                  numRepositoryPremises=None, numPremises=None)
    in_file_count = sum(d["name"] in in_file for d in dependents)
    project_count = sum(d["name"] in project for d in dependents)
    return DependencyMetadata(inFilePremises=in_file_count > 0, numInFilePremises=in_file_count,
                              repositoryPremises=project_count > 0, numRepositoryPremises=project_count,
                              numPremises=len(dependents))


def _proof_metadata(proof: str) -> ProofMetadata:
    return ProofMetadata(hasProof="sorry" not in proof, proof=proof,
                         proofType="tactic" if proof.startswith(":= by") else "term",
                         proofLengthLines=proof.count("\n"), proofLengthTokens=len(proof))


def minictx_records(module_output: ModuleOutput, context: MiniCtxContext | None = None) -> Iterator[MiniCtxRecord]:
    """Yield a ``MiniCtxRecord`` per named declaration of the module with a proof or value, in
    source order (``context``: the project's premises and history; without it the dependency
    counts see only the module and every date is null)."""
    context = context or MiniCtxContext()
    source = SourceBytes(module_output.source)
    in_file = module_premises(module_output)
    project_premises = context.project_premises or frozenset(in_file)
    history = context.history
    position = 0
    for d in events_of(module_output, "declaration"):
        if not d.get("name") or not has_proof(source, d):
            continue
        name, file = d["name"], module_output.file
        src_context = source.slice(None, d["start"])
        proof = source.slice(d["sigEnd"], d["end"])
        yield MiniCtxRecord(
            srcContext=src_context, theoremStatement=source.slice(d["start"], d["sigEnd"]), theoremName=name,
            fileCreated=_commit_date(history.file_created(file)),
            theoremCreated=_commit_date(history.theorem_created(name)),
            file=f"{module_output.project}/{file}" if module_output.project else file,
            module=module_output.module, jsonFile=f"{module_output.module}.jsonl",
            positionMetadata=PositionMetadata(lineInFile=1 + src_context.count("\n"),
                                              tokenPositionInFile=len(src_context),
                                              theoremPositionInFile=position),
            dependencyMetadata=_dependency_metadata(name, in_file, project_premises),
            proofMetadata=_proof_metadata(proof),
            declId=decl_id(module_output.module, d),
            declarationCreated=_commit_date(history.declaration_created(file, name)),
            fileCreatedFollowingRenames=_commit_date(history.file_created_following_renames(file)),
            isTheorem=is_theorem(d), hasSorry=bool(d["hasSorry"]), hasError=bool(d["hasError"]),
            statementHash=statement_hash(statement(source, d)), project=module_output.project,
        )
        position += 1


@dataclass(frozen=True)
class DeclarationFacts:
    """What splits and leakage need of a declaration with a proof or value: where it is, its
    name, whether ``minictx_select.py`` would pick it (a theorem whose proof has no ``sorry``),
    and its ``statementHash``."""

    project: str
    declId: str
    file: str
    name: str | None
    selectable: bool
    statementHash: str


def declaration_facts(module_output: ModuleOutput) -> Iterator[DeclarationFacts]:
    """The :class:`DeclarationFacts` of the module's declarations with a proof or value, in source order."""
    source = SourceBytes(module_output.source)
    for d in events_of(module_output, "declaration"):
        if not has_proof(source, d):
            continue
        proof = source.slice(d["sigEnd"], d["end"])
        yield DeclarationFacts(
            project=module_output.project, declId=decl_id(module_output.module, d), file=module_output.file,
            name=d.get("name"), selectable=is_theorem(d) and "sorry" not in proof,
            statementHash=statement_hash(statement(source, d)),
        )


@dataclass
class ProjectDeclarations:
    """What a build gathers about one project while it extracts: its declarations' facts, in
    module and source order, and the names of its premises."""

    facts: list[DeclarationFacts] = field(default_factory=list)
    premises: set[str] = field(default_factory=set)

    def add(self, module_output: ModuleOutput) -> None:
        """Take in one module's output."""
        self.facts.extend(declaration_facts(module_output))
        self.premises.update(module_premises(module_output))

    def history_request(self) -> HistoryRequest:
        """The dates to ask the project's history for: every file's named declarations."""
        files: dict[str, list[str]] = {}
        for fact in self.facts:
            names = files.setdefault(fact.file, [])
            if fact.name:
                names.append(fact.name)
        return HistoryRequest({file: tuple(names) for file, names in files.items()})


TEMPORAL_FIELDS = ("declarationCreated", "theoremCreated", "fileCreated", "fileCreatedFollowingRenames")
"""The date fields a temporal split can go by (``declarationCreated`` by default)."""


def creation_date(history: ProjectHistory, fact: DeclarationFacts, date_field: str) -> GitDate:
    """The date ``date_field`` (one of :data:`TEMPORAL_FIELDS`) of a declaration."""
    if date_field == "theoremCreated":
        return history.theorem_created(fact.name) if fact.name else NO_DATE
    if date_field == "fileCreated":
        return history.file_created(fact.file)
    if date_field == "fileCreatedFollowingRenames":
        return history.file_created_following_renames(fact.file)
    return history.declaration_created(fact.file, fact.name) if fact.name else NO_DATE

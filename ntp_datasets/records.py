"""Typed dataset records derived from the Lean extractor's output.

Data flows one way: the extractor emits JSON events per module
(``ntp_datasets.extract.ModuleOutput``), the pure functions here turn one
module's events into records, and the builder writes those records (or
prompts rendered from them) as dataset rows.

Every record class carries its ``datasets.Features`` declared explicitly in
``FEATURES``; the field names follow ntp-toolkit where it has one. Every record has a
``project`` field: the name of the project its module belongs to
(``ModuleOutput.project``, set by whoever extracted it).

Sorry and error policy: record configs (``tactic_prediction``, ``full_proof``) keep rows
whose tactic or declaration contains ``sorry`` (``hasSorry=True``), rows of declarations in
which Lean reported an error (``hasError=True``) and tactic rows inside a declaration's
statement (``inStatement=True``), flagged so users can filter them; prompt configs
(``instruct_*``) leave them out (see ``ntp_datasets.prompting``).

Source text: the extractor's byte offsets are offsets into the file as written (CRLF line
endings and all), so every text field is a slice of the file's own text; a leading UTF-8
byte-order mark is not part of any field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Iterator

import datasets

if TYPE_CHECKING:
    from ntp_datasets.extract import ModuleOutput

logger = logging.getLogger(__name__)

NO_GOALS = "no goals"
"""What a state comment says when no goals are left (as Lean prints it); ``state`` is "" then."""

BOM = "\ufeff".encode("utf-8")
"""The UTF-8 byte-order mark, which a file may start with; it is not part of any text field."""

DECL_KINDS_WITHOUT_PROOF = frozenset(
    {"structure", "class", "inductive", "class inductive", "axiom"}
)
"""Declaration kinds whose body is not a proof or value (``full_proof`` skips them)."""

_STRING = datasets.Value("string")
_INT = datasets.Value("int32")
_BOOL = datasets.Value("bool")


class SourceBytes:
    """A module's source encoded once as UTF-8, sliced by the extractor's byte offsets (offsets
    into the file as written, see ``lean/Extract.lean``)."""

    def __init__(self, source: str):
        self.data = source.encode("utf-8")
        self.text_start = len(BOM) if self.data.startswith(BOM) else 0
        """Where the text begins: after a byte-order mark, if the file has one."""
        self.newline = "\r\n" if b"\r\n" in self.data else "\n"
        """The file's line ending (CRLF if it uses any), for text inserted into it."""

    def slice(self, start: int | None = None, end: int | None = None) -> str:
        """Return the source text between byte offsets ``start`` (default: where the text
        begins, after a byte-order mark) and ``end`` (default: the end of the file)."""
        if start is None:
            start = self.text_start
        try:
            return self.data[start:end].decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"byte range [{start}:{end}] cuts a UTF-8 character; "
                "extractor offsets must be byte offsets"
            ) from error


@dataclass(frozen=True)
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
    goals: list
    goalsAfter: list
    module: str
    file: str
    line: int
    column: int
    hasSorry: bool
    hasError: bool
    inStatement: bool
    project: str

    FEATURES: ClassVar[datasets.Features] = datasets.Features(
        {
            "state": _STRING,
            "nextTactic": _STRING,
            "srcUpToTactic": _STRING,
            "declUpToTactic": _STRING,
            "decl": _STRING,
            "declId": _STRING,
            "stateAfter": _STRING,
            "goals": datasets.Sequence(_STRING),
            "goalsAfter": datasets.Sequence(_STRING),
            "module": _STRING,
            "file": _STRING,
            "line": _INT,
            "column": _INT,
            "hasSorry": _BOOL,
            "hasError": _BOOL,
            "inStatement": _BOOL,
            "project": _STRING,
        }
    )


@dataclass(frozen=True)
class FullProofRecord:
    """One declaration with a proof or value: its statement and the whole proof.
    ``hasError``: Lean reported an error inside the declaration."""

    srcUpToDecl: str
    decl: str
    declId: str
    proof: str
    module: str
    file: str
    line: int
    hasSorry: bool
    hasError: bool
    project: str

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
            "hasError": _BOOL,
            "project": _STRING,
        }
    )


ERROR_KINDS = {
    "parse": "Lean's parser rejected part of the module (the rest was elaborated)",
    "elaboration": "a command failed to elaborate (the module's other commands give rows)",
    "missing_import": "an import is neither a project module nor in the toolchain's library; module not extracted",
    "dependency": "the module imports a project module that could not be built; not extracted",
    "import_cycle": "the module is part of an import cycle; not extracted",
    "encoding": "the file is not UTF-8; not extracted",
    "unsupported": "a `module` file imports an ordinary file, which Lean forbids; not extracted",
    "timeout": "elaboration took longer than module_timeout; its Lean process was stopped",
    "crash": "the Lean process died on the module twice (or the extractor failed on it)",
    "toolchain_mismatch": "the project asks for another Lean version than the one that built it, and the module has errors",
}
"""The ``kind`` of an ``errors`` row -> what it means."""


@dataclass(frozen=True)
class ErrorRecord:
    """An error of a module: an error message of Lean (``line`` > 0), or the module failed as a
    whole (``line`` 0). ``kind``: a key of ``ERROR_KINDS``; ``declaration``: the ``declId`` of
    the declaration the error lies in, else ""."""

    module: str
    file: str
    line: int
    column: int
    message: str
    kind: str
    declaration: str
    project: str

    FEATURES: ClassVar[datasets.Features] = datasets.Features(
        {
            "module": _STRING,
            "file": _STRING,
            "line": _INT,
            "column": _INT,
            "message": _STRING,
            "kind": _STRING,
            "declaration": _STRING,
            "project": _STRING,
        }
    )


def as_row(record) -> dict:
    """Return a record as a plain dict keyed by its dataset column names."""
    return record if isinstance(record, dict) else dataclasses.asdict(record)


def decl_id(module: str, declaration: dict) -> str:
    """Return a declaration's stable id: ``module:name``, or ``module:_example_LINE_COLUMN`` if anonymous."""
    name = declaration.get("name")
    if name:
        return f"{module}:{name}"
    return f"{module}:_example_{declaration['line']}_{declaration['column']}"


def state_text(goals: list[str]) -> str:
    """Join pretty-printed goals the way ntp-toolkit does: one newline between goals, ""
    when there are none."""
    return "\n".join(goals)


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
            state=state_text(tactic["goalsBefore"]),
            nextTactic=source.slice(tactic["start"], tactic["end"]),
            srcUpToTactic=source.slice(None, tactic["start"]),
            declUpToTactic=source.slice(tactic["declStart"], tactic["start"]),
            decl=_statement(source, declaration),
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
            hasError=bool(declaration["hasError"]),
            project=module_output.project,
        )


def error_records(module_output: ModuleOutput) -> Iterator[ErrorRecord]:
    """Yield the module-level failure (if any), every error message of a module with the
    declaration it lies in, and a ``toolchain_mismatch`` row when the module has errors and
    was built with another Lean version than the project asks for."""
    module, file = module_output.module, module_output.file
    found = False
    if module_output.error:
        found = True
        yield ErrorRecord(module, file, 0, 0, module_output.error, module_output.error_kind or "crash", "",
                          module_output.project)
    declarations = list(_events(module_output, "declaration"))
    for message in _events(module_output, "message"):
        if message.get("severity") == "error":
            found = True
            line, column = message["line"], message["column"]
            yield ErrorRecord(
                module=module,
                file=file,
                line=line,
                column=column,
                message=message["text"],
                kind=_MESSAGE_KINDS.get(message.get("phase", ""), "elaboration"),
                declaration=_enclosing_declaration(module, declarations, line, column),
                project=module_output.project,
            )
    mismatch = module_output.toolchain_mismatch
    if found and mismatch:
        yield ErrorRecord(module, file, 0, 0, f"{mismatch}; the errors above may come from the version difference",
                          "toolchain_mismatch", "", module_output.project)


_MESSAGE_KINDS = {"parse": "parse", "import": "missing_import", "elab": "elaboration"}


def _enclosing_declaration(module: str, declarations: list[dict], line: int, column: int) -> str:
    """The ``declId`` of the declaration whose source range holds (line, column), or ""."""
    for declaration in declarations:
        if (declaration["line"], declaration["column"]) <= (line, column) <= (
                declaration["endLine"], declaration["endColumn"]):
            return decl_id(module, declaration)
    return ""


_STRINGS = datasets.Sequence(_STRING)
# A list of {name, module} structs (datasets.Sequence of a dict would be a dict of lists).
_CONSTANTS = datasets.List({"name": _STRING, "module": _STRING})


def _decl_key(declaration: dict) -> int:
    return declaration["start"]


def _declarations_by_start(module_output: ModuleOutput) -> dict[int, dict]:
    return {_decl_key(d): d for d in _events(module_output, "declaration")}


# ---------------------------------------------------------------------------
# Proof states as comments (state_comments, full_proof_with_states)
# ---------------------------------------------------------------------------


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
    """Source bytes ``start:end`` with the state after each tactic that ends a line inside the
    range inserted as a comment right after the tactic (tactics ending mid-line, such as
    ``t`` in ``t <;> s`` or ``t; s``, get none). Tactics ending at the same place (a step and
    the last step nested in it) get their comments innermost first; runs of one tactic on
    several goals (``s`` in ``t <;> s``) share one comment with the goals all runs left."""
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


@dataclass(frozen=True)
class StateCommentsRecord:
    """A module's source with the proof state after each tactic step as a comment."""

    module: str
    file: str
    text: str
    project: str

    FEATURES: ClassVar[datasets.Features] = datasets.Features({"module": _STRING, "file": _STRING, "text": _STRING, "project": _STRING})


def state_comments_records(module_output: ModuleOutput) -> Iterator[StateCommentsRecord]:
    """Yield one ``StateCommentsRecord`` for the module (none if it failed as a whole)."""
    if module_output.error:
        return
    source = SourceBytes(module_output.source)
    tactics = list(_events(module_output, "tactic"))
    text = _insert_state_comments(source, tactics, None, len(source.data))
    yield StateCommentsRecord(module_output.module, module_output.file, text, module_output.project)


def full_proof_with_states_records(module_output: ModuleOutput) -> Iterator[FullProofRecord]:
    """Like ``full_proof_records``, with the proof carrying the states as comments."""
    source = SourceBytes(module_output.source)
    tactics = list(_events(module_output, "tactic"))
    for record, declaration in zip(full_proof_records(module_output), _declarations_with_proof(module_output)):
        proof = _insert_state_comments(source, tactics, declaration["sigEnd"], declaration["end"])
        yield dataclasses.replace(record, proof=proof)


def _declarations_with_proof(module_output: ModuleOutput) -> Iterator[dict]:
    source = SourceBytes(module_output.source)
    return (d for d in _events(module_output, "declaration") if has_proof(source, d))


# ---------------------------------------------------------------------------
# Premises
# ---------------------------------------------------------------------------


def _module_of(constant: dict, module_output: ModuleOutput) -> str:
    """The module declaring a constant; the extractor leaves it empty for the current one."""
    return constant.get("module") or module_output.module


def _names(constants: list[dict], props: bool | None = None) -> list[str]:
    return [c["name"] for c in constants if props is None or c["isProp"] == props]


def _union(*lists: list[str]) -> list[str]:
    """Union of name lists, in order of first appearance."""
    return list(dict.fromkeys(name for names in lists for name in names))


@dataclass(frozen=True)
class PremisesRecord:
    """The constants a declaration's value uses: Prop-typed premises and other constants."""

    declId: str
    name: str
    module: str
    file: str
    line: int
    premises: list
    constants: list
    project: str

    FEATURES: ClassVar[datasets.Features] = datasets.Features(
        {"declId": _STRING, "name": _STRING, "module": _STRING, "file": _STRING, "line": _INT,
         "premises": _CONSTANTS, "constants": _CONSTANTS, "project": _STRING}
    )


def premises_records(module_output: ModuleOutput) -> Iterator[PremisesRecord]:
    """Yield a ``PremisesRecord`` per declaration whose value the extractor saw."""
    for d in _events(module_output, "declaration"):
        if "constants" not in d:
            continue
        used = [{"name": c["name"], "module": _module_of(c, module_output), "isProp": c["isProp"]} for c in d["constants"]]
        strip = lambda cs: [{"name": c["name"], "module": c["module"]} for c in cs]  # noqa: E731
        yield PremisesRecord(
            declId=decl_id(module_output.module, d), name=d.get("name") or "", module=module_output.module,
            file=module_output.file, line=d["line"],
            premises=strip([c for c in used if c["isProp"]]), constants=strip([c for c in used if not c["isProp"]]),
            project=module_output.project,
        )


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
    explicit_premises = _names(explicit, props=True)
    simp_or_rw = is_simp_or_rw(tactic["syntaxKind"])
    # A hammer wants the lemmas a step names and, for simp/rw, the definitions it unfolds.
    hammer = _union(explicit_premises, _names(explicit) if simp_or_rw else [])
    return _TacticPremises(_names(tactic.get("termConstants", []), props=True), _names(explicit), explicit_premises, hammer)


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


_PREMISE_FIELDS = (
    "nextTacticIsSimpOrRwVariant", "nextTacticTermPremises", "nextTacticExplicitConstants",
    "nextTacticExplicitPremises", "nextTacticExplicitLocalHypotheses", "nextTacticAllPremises",
    "nextTacticHammerRecommendation", "declTermPremises", "declExplicitConstants", "declExplicitPremises",
    "declAllPremises", "declHammerRecommendation", "termPremisesToEndOfGoal", "explicitConstantsToEndOfGoal",
    "explicitPremisesToEndOfGoal", "allPremisesToEndOfGoal", "hammerRecommendationToEndOfGoal",
)

TACTIC_WITH_PREMISES_FEATURES = datasets.Features(
    {**TacticRecord.FEATURES, **{f: (_BOOL if f == "nextTacticIsSimpOrRwVariant" else _STRINGS) for f in _PREMISE_FIELDS}}
)


def tactic_with_premises_records(module_output: ModuleOutput) -> Iterator[dict]:
    """Yield ``tactic_prediction`` rows extended with ntp-toolkit's premise fields (see README)."""
    declarations = _declarations_by_start(module_output)
    tactics = list(_events(module_output, "tactic"))
    by_decl: dict[int, list[dict]] = {}
    for tactic in tactics:
        by_decl.setdefault(tactic["declStart"], []).append(tactic)
    records = iter(tactic_records(module_output))
    for tactic in tactics:
        declaration = declarations.get(tactic["declStart"])
        if declaration is None:
            continue
        row = as_row(next(records))
        siblings = by_decl[tactic["declStart"]]
        mine = _tactic_premises(tactic)
        decl_parts = [_tactic_premises(t) for t in siblings]
        goal_parts = [_tactic_premises(t) for t in _to_end_of_goal(siblings, siblings.index(tactic))]
        decl_term = _names(declaration.get("constants", []), props=True)
        decl_explicit_premises = _union(*(p.explicit_premises for p in decl_parts))
        goal_term = _union(*(p.term for p in goal_parts))
        goal_explicit_premises = _union(*(p.explicit_premises for p in goal_parts))
        row.update(
            nextTacticIsSimpOrRwVariant=is_simp_or_rw(tactic["syntaxKind"]),
            nextTacticTermPremises=mine.term,
            nextTacticExplicitConstants=mine.explicit_constants,
            nextTacticExplicitPremises=mine.explicit_premises,
            nextTacticExplicitLocalHypotheses=list(tactic.get("explicitLocalHypotheses", [])),
            nextTacticAllPremises=_union(mine.term, mine.explicit_premises),
            nextTacticHammerRecommendation=mine.hammer,
            declTermPremises=decl_term,
            declExplicitConstants=_union(*(p.explicit_constants for p in decl_parts)),
            declExplicitPremises=decl_explicit_premises,
            declAllPremises=_union(decl_term, decl_explicit_premises),
            declHammerRecommendation=_union(*(p.hammer for p in decl_parts)),
            termPremisesToEndOfGoal=goal_term,
            explicitConstantsToEndOfGoal=_union(*(p.explicit_constants for p in goal_parts)),
            explicitPremisesToEndOfGoal=goal_explicit_premises,
            allPremisesToEndOfGoal=_union(goal_term, goal_explicit_premises),
            hammerRecommendationToEndOfGoal=_union(*(p.hammer for p in goal_parts)),
        )
        yield row


class TacticWithPremisesRecord:
    """Marker for ``tactic_prediction_with_premises`` rows (dicts): TacticRecord + premise fields."""

    FEATURES: ClassVar[datasets.Features] = TACTIC_WITH_PREMISES_FEATURES


# ---------------------------------------------------------------------------
# Declarations, imports, modules
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclarationRecord:
    """A declaration of the module with its type, signature and documentation."""

    declId: str
    name: str
    kind: str
    type: str
    typeArgs: list
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

    FEATURES: ClassVar[datasets.Features] = datasets.Features(
        {"declId": _STRING, "name": _STRING, "kind": _STRING, "type": _STRING, "typeArgs": _STRINGS,
         "typeBody": _STRING, "doc": _STRING, "signature": _STRING, "module": _STRING, "file": _STRING,
         "line": _INT, "column": _INT, "isProp": _BOOL, "scope": _STRING, "src": _STRING, "isHumanTheorem": _BOOL,
         "project": _STRING}
    )


def declaration_records(module_output: ModuleOutput) -> Iterator[DeclarationRecord]:
    """Yield a ``DeclarationRecord`` per named declaration the extractor found in the module.
    ``isHumanTheorem``: written in the source as a `theorem` of a proposition, without sorry."""
    source = SourceBytes(module_output.source)
    for d in _events(module_output, "declaration"):
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


@dataclass(frozen=True)
class ImportRecord:
    """A module imported by a module, directly (named in its header) or transitively."""

    module: str
    file: str
    imported: str
    isDirect: bool
    project: str

    FEATURES: ClassVar[datasets.Features] = datasets.Features(
        {"module": _STRING, "file": _STRING, "imported": _STRING, "isDirect": _BOOL, "project": _STRING}
    )


def import_records(module_output: ModuleOutput) -> Iterator[ImportRecord]:
    """Yield an ``ImportRecord`` for every module in the module's environment."""
    for event in _events(module_output, "imports"):
        direct = set(event["direct"])
        for name in event["all"]:
            yield ImportRecord(module_output.module, module_output.file, name, name in direct, module_output.project)


@dataclass(frozen=True)
class ModuleRecord:
    """A module of the project (rows come in import order), with the hash of its content."""

    module: str
    file: str
    sha256: str
    imports: list
    project: str

    FEATURES: ClassVar[datasets.Features] = datasets.Features(
        {"module": _STRING, "file": _STRING, "sha256": _STRING, "imports": _STRINGS, "project": _STRING}
    )


def module_records(module_output: ModuleOutput) -> Iterator[ModuleRecord]:
    """Yield the module's ``ModuleRecord``."""
    direct = [i for e in _events(module_output, "imports") for i in e["direct"]]
    digest = hashlib.sha256(module_output.source.encode("utf-8")).hexdigest()
    yield ModuleRecord(module_output.module, module_output.file, digest, direct, module_output.project)


RECORD_KINDS = {
    "tactic_prediction": (TacticRecord, tactic_records),
    "full_proof": (FullProofRecord, full_proof_records),
    "full_proof_with_states": (FullProofRecord, full_proof_with_states_records),
    "state_comments": (StateCommentsRecord, state_comments_records),
    "premises": (PremisesRecord, premises_records),
    "tactic_prediction_with_premises": (TacticWithPremisesRecord, tactic_with_premises_records),
    "declarations": (DeclarationRecord, declaration_records),
    "imports": (ImportRecord, import_records),
    "modules": (ModuleRecord, module_records),
    "errors": (ErrorRecord, error_records),
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

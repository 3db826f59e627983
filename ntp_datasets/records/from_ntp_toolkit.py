"""Records read from ntp-toolkit output: each config's rows from the task folder that holds them
(:data:`CONFIG_SOURCES`), one :class:`ReadyModule` per module, read lazily, file by file.

How a line becomes a record (docs/ntp-toolkit-output.md has the field-by-field table):

* a field with ntp-toolkit's name keeps ntp-toolkit's value, also where this project computes
  its own field of that name differently (``declId``, ``decl``, FullProof's ``file``, ...): it is
  what the field means there;
* a field of ours that follows exactly from what ntp-toolkit wrote is filled: ``module`` (the
  file's name), ``file`` (the module's path as Lake lays modules out), ``line``/``column`` (from
  the text before the tactic or declaration), ``declId`` where ntp-toolkit writes none
  (``Module:name``), ``isPrivate`` (Lean's private-name prefix), the hammer hints as structs;
* every other field of ours is null (:data:`NULL_FIELDS`).

A line that is not JSON, lacks a field its task always writes (:data:`ntp_toolkit_output.TASKS`)
or has one of the wrong type gives no record but an ``errors`` record naming the file and the
line (kind ``ntp_toolkit_output``); the other lines are kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ntp_datasets.errors import ConfigError
from ntp_datasets.project.ntp_toolkit_output import (
    MINICTX_FIELDS,
    MINICTX_FILE,
    MODULES_FIELDS,
    MODULES_FILE,
    TASKS,
    NtpToolkitOutput,
    layout_file,
    module_files,
    module_names,
    read_bytes,
    read_lines,
    relative_path,
)
from ntp_datasets.records.declarations import DeclarationRecord, ImportRecord, ModuleRecord
from ntp_datasets.records.errors import NTP_TOOLKIT_OUTPUT, ErrorRecord
from ntp_datasets.records.hammer import HammerHint
from ntp_datasets.records.premises import Dependent, PremisesRecord, module_file
from ntp_datasets.records.proofs import FullProofRecord, StateCommentsRecord
from ntp_datasets.records.ready import ReadyModule
from ntp_datasets.records.tactics import TacticRecord, TacticWithPremisesRecord
from ntp_datasets.records.statements import statement_hash

CONFIG_SOURCES: dict[str, tuple[str, ...]] = {
    "tactic_prediction": ("TacticPrediction",),
    "full_proof": ("FullProof", MINICTX_FILE),
    "full_proof_with_states": ("FullProofWithStates",),
    "state_comments": ("StateComments",),
    "premises": ("Premises",),
    "tactic_prediction_with_premises": ("TrainingDataWithPremises",),
    "declarations": ("Declarations",),
    "imports": ("Imports",),
    "modules": (MODULES_FILE,),
}
"""Record config -> the task folder or layout file its rows come from (the first one present).
``premise_corpus`` has none (ntp-toolkit writes no corpus); ``errors`` reads every one."""

ERRORS_CONFIG = "errors"

NULL_FIELDS: dict[str, tuple[str, ...]] = {
    "tactic_prediction": ("stateAfter", "goals", "goalsAfter", "hasSorry", "hasError", "inStatement", "tacticError"),
    "full_proof": ("hasSorry", "hasError"),
    "full_proof_with_states": ("line", "hasSorry", "hasError"),
    "state_comments": ("hasError", "hasSorry"),
    "premises": ("kind", "isProp", "isGenerated", "line", "column", "endLine", "endColumn",
                 "dependents.module", "dependents.file", "dependents.line", "dependents.column",
                 "dependents.endLine", "dependents.endColumn"),
    "tactic_prediction_with_premises": (
        "decl", "stateAfter", "goals", "goalsAfter", "hasSorry", "hasError", "inStatement", "nextTacticPremiseUses",
        "annotatedTactic", "nextTacticIsSimpOrRwVariant", "nextTacticTermPremises", "nextTacticExplicitConstants",
        "nextTacticExplicitPremises", "nextTacticExplicitLocalHypotheses", "nextTacticAllPremises", "declTermPremises",
        "declExplicitConstants", "declExplicitPremises", "declAllPremises", "termPremisesToEndOfGoal",
        "explicitConstantsToEndOfGoal", "explicitPremisesToEndOfGoal", "allPremisesToEndOfGoal",
        "hammerRecommendationToEndOfGoal", "tacticError"),
    "declarations": ("keyword", "namespace", "statementHash"),
    "imports": (),
    "modules": ("sha256", "imports"),
    "errors": (),
}
"""Per config, the fields of ours that are null in every row read from ntp-toolkit output (it has
nothing they could come from). Besides: ``tactic_prediction_with_premises``' ``line``/``column``
on a theorem's whole-proof row, and its ``declId`` where ntp-toolkit's ``declName`` is empty."""


class BadLine(Exception):
    """A line of ntp-toolkit output that gives no record; the message says why."""


@dataclass(frozen=True)
class _Where:
    """The project and module a line belongs to."""

    project: str
    module: str

    @property
    def file(self) -> str:
        """The module's file as this project's ``file`` fields name it (``Mathlib/Logic/Basic.lean``)."""
        return module_file(self.module)


def source_of(output: NtpToolkitOutput, config: str) -> str:
    """The task folder or layout file of ``output`` that ``config``'s rows come from (``errors``:
    every one); :class:`ConfigError` naming the config and what the output holds when there is none."""
    if config == ERRORS_CONFIG:
        return ERRORS_CONFIG
    if config not in CONFIG_SOURCES:
        raise ConfigError(f"config {config!r} cannot be read from ntp-toolkit output ({output.display}): no task of "
                          f"ntp-toolkit writes it; configs it can give: {', '.join(CONFIG_SOURCES)}, errors")
    for source in CONFIG_SOURCES[config]:
        if output.has(source):
            return source
    held = ", ".join(output.folders + output.files) or "nothing"
    raise ConfigError(f"config {config!r} needs {' or '.join(CONFIG_SOURCES[config])} in the ntp-toolkit output at "
                      f"{output.display}, which holds {held}")


def read_modules(output: NtpToolkitOutput, project: str, config: str) -> Iterator[ReadyModule]:
    """The records of ``config`` in ``output``, one :class:`ReadyModule` per module in module name
    order (``Modules.jsonl`` and ``minictx.jsonl``: in file order), each file read when its module
    is asked for."""
    source = source_of(output, config)
    if source == ERRORS_CONFIG:
        yield from _error_modules(output, project)
    elif source in TASKS:
        for module, path in module_files(output, source).items():
            yield _read_module(output, _Where(project, module), config, source, path)
    elif source == MODULES_FILE:
        yield from _modules_file(output, project)
    else:
        yield from _minictx_file(output, project)


def _read_module(output: NtpToolkitOutput, where: _Where, config: str, folder: str, path: str) -> ReadyModule:
    """One module's file of a task folder as records of ``config`` (and errors for bad lines)."""
    rel = relative_path(output, path)
    if TASKS[folder].extension == ".lean":
        records, errors = _lean_file(output, where, path, rel)
    else:
        convert = _CONVERTERS[config]
        records, errors = [], []
        for number, row in _rows(output, path, TASKS[folder].fields, where, errors):
            try:
                records.append(convert(row, where))
            except BadLine as bad:
                errors.append(_error(where, rel, number, str(bad)))
    return ReadyModule(where.project, where.module, where.file, config, tuple(records), tuple(errors),
                       f"{output.display}/{rel}")


def _rows(output: NtpToolkitOutput, path: str, fields: dict, where: _Where, errors: list) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` of each line of a JSONL file that parses and has ``fields``; an
    error record in ``errors`` for each that does not. Blank lines are skipped."""
    rel = relative_path(output, path)
    for number, line in read_lines(output, path):
        if not line.strip():
            continue
        try:
            yield number, parse_line(line, fields)
        except BadLine as bad:
            errors.append(_error(where, rel, number, str(bad)))


_JSON_TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer", list: "a list", dict: "an object",
                    type(None): "null", float: "a number"}


def parse_line(line: bytes, fields: dict) -> dict:
    """The JSON object of one line, checked to have every field of ``fields`` (name -> type or
    tuple of types); :class:`BadLine` saying what is wrong."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadLine(f"not UTF-8 (byte {error.start} of the line)") from None
    try:
        row = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadLine(f"not JSON: {error.msg} (column {error.colno})") from None
    if not isinstance(row, dict):
        raise BadLine(f"not a JSON object but {_json_type(row)}")
    missing = [name for name in fields if name not in row]
    if missing:
        raise BadLine(f"lacks {', '.join(missing)}, which its task always writes")
    for name, types in fields.items():
        _check_type(row[name], types, name)
    return row


def _json_type(value) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _check_type(value, types, name: str) -> None:
    types = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        wanted = " or ".join(_JSON_TYPE_NAMES[t] for t in types)
        raise BadLine(f"{name} is {_json_type(value)}, not {wanted}")


def _error(where: _Where, rel: str, line: int, message: str) -> ErrorRecord:
    return ErrorRecord(module=where.module, file=rel, line=line, column=0, message=message, kind=NTP_TOOLKIT_OUTPUT,
                       declaration="", project=where.project)


def _lean_file(output: NtpToolkitOutput, where: _Where, path: str, rel: str) -> tuple[list, list]:
    """A ``StateComments/<Module>.lean`` file as its ``state_comments`` record: the text
    ntp-toolkit printed, without the newline ``IO.println`` added."""
    data = read_bytes(output, path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        return [], [_error(where, rel, line, f"not UTF-8 (byte {error.start} of the file)")]
    return [StateCommentsRecord(where.module, where.file, text.removesuffix("\n"), where.project, hasError=None,
                                hasSorry=None)], []


def position(text_before: str) -> tuple[int, int]:
    """Lean's position (1-based line, 0-based codepoint column) of what follows ``text_before``."""
    return text_before.count("\n") + 1, len(text_before) - (text_before.rfind("\n") + 1)


def user_name(name: str) -> str:
    """A constant's name as it is written: without Lean's private prefix
    (``_private.Mathlib.Logic.Basic.0.foo`` -> ``foo``)."""
    if name.startswith("_private.") and ".0." in name:
        return name.split(".0.", 1)[1]
    return name


_RECOMMENDATION = re.compile(r"^\((?P<name>.+), (?P<hint>\w+)\)$")


def hammer_hints(items: list, field: str) -> list[HammerHint]:
    """ntp-toolkit's ``"(name, hint)"`` recommendation strings as ``{name, hint}`` structs,
    sorted by name; :class:`BadLine` for an item of another shape."""
    hints = []
    for item in items:
        match = _RECOMMENDATION.match(item) if isinstance(item, str) else None
        if match is None:
            raise BadLine(f"{field} holds {item!r}, not a string \"(name, hint)\"")
        hints.append(HammerHint(name=match["name"], hint=match["hint"]))
    return sorted(hints, key=lambda hint: hint["name"])


def _strings(items: list, field: str) -> list[str]:
    if not all(isinstance(item, str) for item in items):
        raise BadLine(f"{field} holds something other than strings")
    return list(items)


def _tactic(row: dict, where: _Where) -> TacticRecord:
    line, column = position(row["srcUpToTactic"])
    return TacticRecord(
        state=row["state"], nextTactic=row["nextTactic"], srcUpToTactic=row["srcUpToTactic"],
        declUpToTactic=row["declUpToTactic"], decl=row["decl"], declId=row["declId"], stateAfter=None, goals=None,
        goalsAfter=None, module=where.module, file=where.file, line=line, column=column, hasSorry=None,
        hasError=None, inStatement=None, project=where.project, tacticError=None,
    )


def _full_proof(row: dict, where: _Where, *, with_states: bool = False) -> FullProofRecord:
    # Older ntp-toolkit versions also wrote a `declId` (its random-hash form): kept, as its value.
    decl_id = row["declId"] if isinstance(row.get("declId"), str) else f"{where.module}:{row['declName']}"
    # In FullProofWithStates the text before is the StateComments copy's: no line of the module.
    line = None if with_states else position(row["srcUpToDecl"])[0]
    return FullProofRecord(
        srcUpToDecl=row["srcUpToDecl"], decl=row["decl"], declId=decl_id, proof=row["proof"], module=row["module"],
        file=row["file"], line=line, hasSorry=None, hasError=None, project=where.project,
        statementHash=statement_hash(row["decl"]),
    )


def _full_proof_with_states(row: dict, where: _Where) -> FullProofRecord:
    return _full_proof(row, where, with_states=True)


def _premises(row: dict, where: _Where) -> PremisesRecord:
    dependents = []
    for item in row["dependents"]:
        if not isinstance(item, dict):
            raise BadLine(f"dependents holds {_json_type(item)}, not an object")
        for name, types in (("name", str), ("explicit", bool), ("direct", bool)):
            if name not in item:
                raise BadLine(f"a dependent lacks {name}, which premises always writes")
            _check_type(item[name], types, f"a dependent's {name}")
        dependents.append(Dependent(name=item["name"], explicit=item["explicit"], direct=item["direct"], module=None,
                                    file=None, line=None, column=None, endLine=None, endColumn=None))
    return PremisesRecord(
        name=row["name"], dependents=dependents, declId=f"{where.module}:{user_name(row['name'])}", kind=None,
        isProp=None, isGenerated=None, isPrivate=row["name"].startswith("_private."), module=where.module,
        file=where.file, line=None, column=None, endLine=None, endColumn=None, project=where.project,
    )


def _tactic_with_premises(row: dict, where: _Where) -> TacticWithPremisesRecord:
    line, column = position(row["srcUpToTactic"]) if row["nextTactic"] is not None else (None, None)
    next_recommendation = _strings(row["nextTacticHammerRecommendation"], "nextTacticHammerRecommendation")
    decl_recommendation = _strings(row["declHammerRecommendation"], "declHammerRecommendation")
    unknown = dict.fromkeys(NULL_FIELDS["tactic_prediction_with_premises"])
    return TacticWithPremisesRecord(
        declName=row["declName"], srcUpToTactic=row["srcUpToTactic"], declUpToTactic=row["declUpToTactic"],
        state=row["state"], nextTactic=row["nextTactic"], nextTacticHammerRecommendation=next_recommendation,
        declHammerRecommendation=decl_recommendation,
        declId=f"{where.module}:{user_name(row['declName'])}" if row["declName"] else None,
        module=where.module, file=where.file, line=line, column=column, project=where.project,
        nextTacticHammerHints=hammer_hints(next_recommendation, "nextTacticHammerRecommendation"),
        declHammerHints=hammer_hints(decl_recommendation, "declHammerRecommendation"), **unknown,
    )


def _declaration(row: dict, where: _Where) -> DeclarationRecord:
    return DeclarationRecord(
        declId=f"{where.module}:{user_name(row['name'])}", name=row["name"], kind=row["kind"], keyword=None,
        type=row["type"], typeArgs=_strings(row["typeArgs"], "typeArgs"), typeBody=row["typeBody"], doc=row["doc"],
        signature=row["signature"], module=row["module"], file=where.file, line=row["line"], column=row["column"],
        isProp=row["isProp"], namespace=None, src=row["src"], isHumanTheorem=row["isHumanTheorem"],
        project=where.project, statementHash=None,
    )


def _import(row: dict, where: _Where) -> ImportRecord:
    return ImportRecord(where.module, where.file, row["name"], row["isDirect"], where.project)


_CONVERTERS: dict[str, Callable[[dict, _Where], object]] = {
    "tactic_prediction": _tactic,
    "full_proof": _full_proof,
    "full_proof_with_states": _full_proof_with_states,
    "premises": _premises,
    "tactic_prediction_with_premises": _tactic_with_premises,
    "declarations": _declaration,
    "imports": _import,
}
"""Config -> its record made from one checked line of its task folder."""

_CONFIG_OF_FOLDER = {"TacticPrediction": "tactic_prediction", "FullProof": "full_proof",
                     "FullProofWithStates": "full_proof_with_states", "StateComments": "state_comments",
                     "Premises": "premises", "TrainingDataWithPremises": "tactic_prediction_with_premises",
                     "Declarations": "declarations", "Imports": "imports"}


def _modules_file(output: NtpToolkitOutput, project: str) -> Iterator[ReadyModule]:
    """``Modules.jsonl``: a ``modules`` record per line (a line that gives none: an error record,
    under module "")."""
    path = layout_file(output, MODULES_FILE)
    source = f"{output.display}/{MODULES_FILE}"
    for number, line in read_lines(output, path):
        if not line.strip():
            continue
        try:
            module = parse_line(line, MODULES_FIELDS)["name"]
        except BadLine as bad:
            error = _error(_Where(project, ""), MODULES_FILE, number, str(bad))
            yield ReadyModule(project, "", "", "modules", (), (error,), source)
            continue
        record = ModuleRecord(module, module_file(module), None, None, project)
        yield ReadyModule(project, module, module_file(module), "modules", (record,), (), source)


def _minictx_file(output: NtpToolkitOutput, project: str) -> Iterator[ReadyModule]:
    """``minictx.jsonl`` as ``full_proof`` records, one :class:`ReadyModule` per run of lines of
    one module (``convert_minictx.py`` writes a module's theorems together)."""
    path = layout_file(output, MINICTX_FILE)
    source = f"{output.display}/{MINICTX_FILE}"
    module, records, errors = None, [], []
    for number, line in read_lines(output, path):
        if not line.strip():
            continue
        try:
            row = parse_line(line, MINICTX_FIELDS)
            proof = row["proofMetadata"].get("proof")
            _check_type(proof, str, "proofMetadata.proof")
        except BadLine as bad:
            errors.append(_error(_Where(project, module or ""), MINICTX_FILE, number, str(bad)))
            continue
        if module is not None and row["module"] != module:
            yield _minictx_module(project, module, records, errors, source)
            records, errors = [], []
        module = row["module"]
        records.append(FullProofRecord(
            srcUpToDecl=row["srcContext"], decl=row["theoremStatement"], declId=f"{module}:{row['theoremName']}",
            proof=proof, module=module, file=row["file"], line=position(row["srcContext"])[0], hasSorry=None,
            hasError=None, project=project, statementHash=statement_hash(row["theoremStatement"])))
    if module is not None or errors:
        yield _minictx_module(project, module or "", records, errors, source)


def _minictx_module(project: str, module: str, records: list, errors: list, source: str) -> ReadyModule:
    return ReadyModule(project, module, module_file(module) if module else "", "full_proof", tuple(records),
                       tuple(errors), source)


def _error_modules(output: NtpToolkitOutput, project: str) -> Iterator[ReadyModule]:
    """What the ``errors`` config of ntp-toolkit output holds: every line of every task folder and
    layout file that gives no row, per module (layout files' under module "")."""
    folders = [folder for folder in output.folders if folder in _CONFIG_OF_FOLDER]
    files = {folder: module_files(output, folder) for folder in folders}
    for module in module_names(output):
        errors = []
        for folder in folders:
            if module in files[folder]:
                config = _CONFIG_OF_FOLDER[folder]
                errors.extend(_read_module(output, _Where(project, module), config, folder, files[folder][module]).errors)
        yield ReadyModule(project, module, module_file(module), ERRORS_CONFIG, (), tuple(errors), output.display)
    for name, read in ((MODULES_FILE, _modules_file), (MINICTX_FILE, _minictx_file)):
        if output.has(name):
            errors = [e for ready in read(output, project) for e in ready.errors]
            yield ReadyModule(project, "", "", ERRORS_CONFIG, (), tuple(errors), f"{output.display}/{name}")


def read_config(output: NtpToolkitOutput, project: str, config: str) -> Iterable:
    """Every record of ``config`` in ``output`` (its errors records for ``errors``), in order."""
    return (record for ready in read_modules(output, project, config) for record in ready.records_of(config))

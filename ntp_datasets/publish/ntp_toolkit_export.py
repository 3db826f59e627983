"""The configs of a build written in ntp-toolkit's layout, so that ntp-toolkit's own scripts
(``instruction_tuning.py``, ``convert_minictx.py``, ``data_stats.py``) run on them unchanged.

``export_ntp_toolkit(project, OUT)`` (``ntp-datasets export [PROJECT] OUT --layout ntp-toolkit``)
builds the configs and writes, per project, the base directory ntp-toolkit's
``extract_repos.py`` writes (``Examples/<name>``)::

    OUT/<project>/Modules.jsonl                       {"name": module} a line, sorted by name
    OUT/<project>/TacticPrediction/<Module>.jsonl     one JSON object a line, keys sorted (Lean's Json.compress)
    OUT/<project>/StateComments/<Module>.lean         the text and the newline IO.println adds
    ...                                               a file per module in every folder, empty when it has no rows

Every field means what it means in ntp-toolkit's code (``ntp_toolkit_output.TASKS``), computed
from this project's records; where ntp-toolkit computes a field this project does not have, it
is made from what the records hold (``declId``'s position and hash, ``decl``'s whitespace,
FullProof's ``file``, private names); docs/ntp-toolkit-output.md lists what differs from a
native ntp-toolkit run. The directory is written beside ``OUT`` and renamed into place, so
``OUT`` is never half-written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ntp_datasets.api import build
from ntp_datasets.errors import PublishError
from ntp_datasets.extraction import ExtractionOptions, Extractor
from ntp_datasets.project import ResolvedProject, resolve_projects
from ntp_datasets.project.ntp_toolkit_output import LAYOUT_FILES, MODULES_FILE, TASKS
from ntp_datasets.records import RECORD_KINDS
from ntp_datasets.records.from_ntp_toolkit import position
from ntp_datasets.publish.build import built_aside
from ntp_datasets.summary import BuildSummary

logger = logging.getLogger(__name__)

LAYOUT = "ntp-toolkit"
"""The name of this layout on the command line (``--layout ntp-toolkit``)."""

EXPORTED_CONFIGS = {
    "tactic_prediction": "TacticPrediction",
    "full_proof": "FullProof",
    "full_proof_with_states": "FullProofWithStates",
    "state_comments": "StateComments",
    "premises": "Premises",
    "tactic_prediction_with_premises": "TrainingDataWithPremises",
    "declarations": "Declarations",
    "imports": "Imports",
    "modules": MODULES_FILE,
}
"""Config -> the task folder (or layout file) it is written to. The other configs (``errors``,
``premise_corpus``, ``instruct_*``) have no place in ntp-toolkit's layout."""

HELPER_CONFIGS = ("modules", "declarations", "premises")
"""Configs every export builds besides those asked for: the modules (a file per module in every
folder), the declarations' text (``decl`` with its whitespace) and the private constants."""

_HASH_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_EXAMPLE_NAME = re.compile(r"^_example_\d+_\d+$")


@dataclass(frozen=True)
class NtpToolkitExport:
    """What an export wrote: the directory, its projects' base directories (``OUT/<project>``),
    the configs written, the number of files, and the build summary of every config built."""

    out_dir: Path
    projects: tuple[str, ...]
    configs: tuple[str, ...]
    files: int
    summaries: tuple[BuildSummary, ...]


def check_export_configs(configs) -> list[str]:
    """The configs to export (default: every one ntp-toolkit has a folder for); another name is
    an error listing those."""
    if not configs:
        return list(EXPORTED_CONFIGS)
    unknown = [name for name in configs if name not in EXPORTED_CONFIGS]
    if unknown:
        raise PublishError(f"config {', '.join(map(repr, unknown))} has no place in ntp-toolkit's layout; "
                           f"configs it holds: {', '.join(EXPORTED_CONFIGS)}")
    return list(dict.fromkeys(configs))


def export_ntp_toolkit(project, out_dir, configs=None, *, cache_dir=None, num_proc: int | None = None,
                       extractor: Extractor | None = None, log: Callable[[str], None] = logger.info,
                       **config_kwargs) -> NtpToolkitExport:
    """Build ``configs`` (default: every one of :data:`EXPORTED_CONFIGS`) of ``project`` (a spec,
    as ``ntp_datasets.load_dataset`` takes it) and write them to ``out_dir`` in ntp-toolkit's
    layout. ``imports`` is built with ``import_closure=True`` (ntp-toolkit lists every module of
    the environment). ``out_dir`` must be absent, empty or an earlier export; it is replaced only
    once the new one is complete. Each config's build summary goes to ``log``."""
    names = check_export_configs(configs)
    out_dir = Path(out_dir)
    extractor = extractor or Extractor(ExtractionOptions.from_mapping(config_kwargs))  # options checked first
    projects = resolve_projects(project)
    _check_projects(projects)
    check_export_dir(out_dir, projects)
    records, summaries = {}, []
    for name in dict.fromkeys([*HELPER_CONFIGS, *names]):
        options = dict(config_kwargs, import_closure=True) if name == "imports" else config_kwargs
        result = build(name, project, cache_dir=cache_dir, num_proc=num_proc, extractor=extractor, **options)
        log(result.summary.format())
        summaries.append(result.summary)
        record_class, _ = RECORD_KINDS[name]
        # `package` is a column of ours (ntp-toolkit's layout has no place for it), not a record field.
        records[name] = [record_class(**{k: v for k, v in row.items() if k != "package"})
                         for split in result.dataset.values() for row in split]
    files = write_ntp_toolkit_layout(out_dir, records, names)
    return NtpToolkitExport(out_dir, tuple(p.name for p in projects), tuple(names), files, tuple(summaries))


def _check_projects(projects: list[ResolvedProject]) -> None:
    for project in projects:
        if project.output is not None:
            raise PublishError(f"project {project.name!r} is ntp-toolkit output already ({project.output.display}); "
                               "export builds of Lean projects")


def _layout_entry(path: Path) -> bool:
    """Whether ``path`` is a task folder or layout file of ntp-toolkit's layout."""
    return path.name in TASKS if path.is_dir() else path.name in LAYOUT_FILES


def check_export_dir(out_dir: Path, projects: list[ResolvedProject] = ()) -> None:
    """Refuse an ``out_dir`` that is (or holds) one of the projects, or that holds anything but
    earlier exports (directories of task folders and layout files): nothing else is replaced."""
    for root in (p.root.resolve() for p in projects if p.root is not None):
        if root == out_dir.resolve() or out_dir.resolve() in root.parents:
            raise PublishError(f"{out_dir} would replace the project {root}; choose another directory")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise PublishError(f"{out_dir} exists and is not a directory")
    foreign = [entry.name for entry in sorted(out_dir.iterdir())
               if not entry.is_dir() or not all(_layout_entry(inner) for inner in entry.iterdir())]
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise PublishError(f"{out_dir} holds {shown}, which is not an earlier export in ntp-toolkit's layout; "
                           "choose another directory")


def write_ntp_toolkit_layout(out_dir, records: Mapping[str, Iterable], configs: Iterable[str]) -> int:
    """Write ``configs`` of ``records`` (config -> its records, with :data:`HELPER_CONFIGS`'
    records too) to ``out_dir`` in ntp-toolkit's layout, and ``Modules.jsonl`` (its pipeline always
    writes it), beside it first and then renamed into place; return the number of files written."""
    out_dir = Path(out_dir)
    context = _Context.of(records)
    count = 0
    with built_aside(out_dir) as building:
        for config in dict.fromkeys([*configs, "modules"]):
            count += _write_config(building, config, records[config], context)
    return count


@dataclass(frozen=True)
class _Context:
    """What the fields of one config need from the others: each project's modules, each
    declaration's record (its whole text ``src`` and ``keyword``), each project's private
    constants (user name -> Lean's name, from ``premises``)."""

    modules: dict[str, list[str]]
    declarations: dict[tuple[str, str], object]
    private: dict[str, dict[str, str]]

    @classmethod
    def of(cls, records: Mapping[str, Iterable]) -> _Context:
        modules: dict[str, list[str]] = defaultdict(list)
        for record in records["modules"]:
            modules[record.project].append(record.module)
        declarations = {(d.project, d.declId): d for d in records["declarations"]}
        private: dict[str, dict[str, str]] = defaultdict(dict)
        for premise in records["premises"]:
            if premise.isPrivate:
                private[premise.project][premise.name] = f"_private.{premise.module}.0.{premise.name}"
        return cls(dict(modules), declarations, dict(private))

    def text(self, project: str, decl_id: str) -> str | None:
        """The whole text of a declaration (None for one without a ``declarations`` row: an ``example``)."""
        declaration = self.declarations.get((project, decl_id))
        return declaration.src if declaration is not None else None

    def lean_name(self, project: str, name: str) -> str:
        """``name`` as Lean stores it: a private constant of the project under its private name."""
        return self.private.get(project, {}).get(name, name)


def _write_config(directory: Path, config: str, records: Iterable, context: _Context) -> int:
    """Write one config's folder (or ``Modules.jsonl``) for every project; return the files written."""
    target = EXPORTED_CONFIGS[config]
    if target == MODULES_FILE:
        for project, modules in context.modules.items():
            lines = [_json({"name": module}) for module in sorted(modules)]
            _write(directory / project / MODULES_FILE, "".join(line + "\n" for line in lines))
        return len(context.modules)
    if config == "imports":
        by_module = _imports_lines(records, context)
    else:
        by_module: dict[tuple[str, str], list[str]] = defaultdict(list)
        for record in records:
            text = _CONVERTERS[config](record, context)
            if text is not None:
                by_module[record.project, record.module].append(text)
    extension, count = TASKS[target].extension, 0
    for project, modules in context.modules.items():
        for module in modules:
            texts = by_module.get((project, module), [])
            body = "".join(texts) if extension == ".lean" else "".join(text + "\n" for text in texts)
            _write(directory / project / target / f"{module}{extension}", body)
            count += 1
    return count


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")


def _json(fields: dict) -> str:
    """One line as Lean's ``Json.compress`` writes it: keys sorted, no spaces, non-ASCII as is."""
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def module_hash(project: str, module: str) -> str:
    """The 15 characters that end ntp-toolkit's ``declId`` (it draws them at random on each run,
    from letters and digits); here derived from the project and module, so exports repeat."""
    digest = hashlib.sha256(f"{project}\0{module}".encode()).digest()
    return "".join(_HASH_ALPHABET[1 + byte % (len(_HASH_ALPHABET) - 1)] for byte in digest[:15])


def with_whitespace(decl: str, text: str | None) -> tuple[str, str] | None:
    """``(decl with the whitespace after it, what follows)`` when the declaration's ``text``
    starts with this project's ``decl`` (its statement, trailing whitespace removed), else None."""
    if text is None or not text.startswith(decl):
        return None
    rest = text[len(decl):]
    value = rest.lstrip()
    return decl + rest[:len(rest) - len(value)], value


DECL_KEYWORDS = ("theorem", "lemma", "def", "abbrev")
"""Keywords whose syntax puts the value where ntp-toolkit's ``training_data`` looks for ``:=``
(``stx[1][3][0]``); for every other command (``example``, ``instance``, ``mutual``, ...) its
``decl`` is ""."""


def _tactic_line(r, context: _Context) -> str:
    """ntp-toolkit's ``training_data`` line: ``declId`` ``Module.LINE_COLUMN.HASH`` (the
    declaration's start), ``decl`` up to ``:=`` with the whitespace before it ("" when the value
    does not start with ``:=``, or the command is not one of :data:`DECL_KEYWORDS`)."""
    line, column = position(r.srcUpToTactic[:len(r.srcUpToTactic) - len(r.declUpToTactic)])
    declaration = context.declarations.get((r.project, r.declId))
    split = with_whitespace(r.decl, declaration.src if declaration is not None else r.declUpToTactic)
    keyword = declaration.keyword if declaration is not None else None
    value_is_assigned = split is not None and split[1].startswith(":=")
    decl = split[0] if value_is_assigned and keyword in DECL_KEYWORDS else ""
    return _json({"declId": f"{r.module}.{line}_{column}.{module_hash(r.project, r.module)}", "decl": decl,
                  "srcUpToTactic": r.srcUpToTactic, "declUpToTactic": r.declUpToTactic, "state": r.state,
                  "nextTactic": r.nextTactic})


def _full_proof_line(r, context: _Context) -> str | None:
    """ntp-toolkit's ``full_proof_training_data`` line (none for an anonymous declaration, which
    its ``declName`` cannot name): ``decl`` with the whitespace before the value, ``file`` under
    the package's directory (``<project>/<file>``, as ``findLean`` gives it without
    ``./.lake/packages/``)."""
    name = r.declId[len(r.module) + 1:] if r.declId.startswith(r.module + ":") else r.declId
    if _EXAMPLE_NAME.match(name):
        return None
    split = with_whitespace(r.decl, context.text(r.project, r.declId))
    return _json({"file": f"{r.project}/{r.file}", "module": r.module, "declName": name,
                  "decl": split[0] if split is not None else r.decl, "proof": r.proof,
                  "srcUpToDecl": r.srcUpToDecl})


def _state_comments_text(r, context: _Context) -> str:
    return r.text + "\n"  # IO.println's newline


def _premises_line(r, context: _Context) -> str:
    dependents = [{"name": context.lean_name(r.project, d["name"]), "explicit": d["explicit"], "direct": d["direct"]}
                  for d in r.dependents]
    return _json({"name": context.lean_name(r.project, r.name), "dependents": dependents})


def _tactic_with_premises_line(r, context: _Context) -> str:
    return _json({"declName": context.lean_name(r.project, r.declName), "srcUpToTactic": r.srcUpToTactic,
                  "declUpToTactic": r.declUpToTactic, "state": r.state, "nextTactic": r.nextTactic,
                  "nextTacticHammerRecommendation": r.nextTacticHammerRecommendation,
                  "declHammerRecommendation": r.declHammerRecommendation})


def _declaration_line(r, context: _Context) -> str:
    """ntp-toolkit's ``declarations`` line; ``scope`` (the imports and ``#where`` text) is not
    extracted here: null."""
    return _json({"name": context.lean_name(r.project, r.name), "kind": r.kind, "type": r.type,
                  "typeArgs": r.typeArgs, "typeBody": r.typeBody, "doc": r.doc, "signature": r.signature,
                  "line": r.line, "column": r.column, "isProp": r.isProp, "isHumanTheorem": r.isHumanTheorem,
                  "scope": None, "src": r.src, "module": r.module})


def _imports_lines(records: Iterable, context: _Context) -> dict[tuple[str, str], list[str]]:
    """ntp-toolkit's ``imports`` lines per module: every module of the environment of
    ``import <Module>`` (the module itself with its import closure: the ``imports`` records made
    with ``import_closure``), sorted by name, ``isDirect`` true only for the module itself
    (``env.imports`` of that environment is ``[Module]``)."""
    names: dict[tuple[str, str], set[str]] = {(project, module): {module} for project, modules
                                               in context.modules.items() for module in modules}
    for r in records:
        names.setdefault((r.project, r.module), {r.module}).add(r.imported)
    return {key: [_json({"name": name, "isDirect": name == key[1]}) for name in sorted(found)]
            for key, found in names.items()}


_CONVERTERS: dict[str, Callable] = {
    "tactic_prediction": _tactic_line,
    "full_proof": _full_proof_line,
    "full_proof_with_states": _full_proof_line,
    "state_comments": _state_comments_text,
    "premises": _premises_line,
    "tactic_prediction_with_premises": _tactic_with_premises_line,
    "declarations": _declaration_line,
}

"""``premises`` records: every constant a module adds, with the constants it depends on, and
where each of those is declared.

``name`` and ``dependents`` (``{name, explicit, direct}``) are ntp-toolkit's ``premises``
schema; the other fields, and the position keys of each dependent, are ours (see README)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from ntp_datasets.extraction import ModuleOutput
from ntp_datasets.records.base import decl_id, events_of, record


class Site(TypedDict):
    """Where a premise is declared: its module, the module's file relative to its package root
    (the project's, or the toolchain library's source root), and its line/column range (Lean's:
    1-based lines, 0-based codepoint columns; 0 when Lean recorded no range)."""

    module: str
    file: str
    line: int
    column: int
    endLine: int
    endColumn: int


class Dependent(TypedDict):
    """A constant another one uses: ntp-toolkit's ``name``, ``explicit`` and ``direct``, and
    where it is declared (``Site``'s fields)."""

    name: str
    explicit: bool
    direct: bool
    module: str | None
    file: str | None
    line: int | None
    column: int | None
    endLine: int | None
    endColumn: int | None


@record
class PremisesRecord:
    """A constant the module adds to the environment (written or made by the elaborator) and
    the constants its type and value use (``dependents``, auxiliary lemmas unfolded)."""

    name: str
    dependents: list[Dependent]
    declId: str
    kind: str | None
    isProp: bool | None
    isGenerated: bool | None
    isPrivate: bool
    module: str
    file: str
    line: int | None
    column: int | None
    endLine: int | None
    endColumn: int | None
    project: str


def module_file(module: str) -> str:
    """The file of a module relative to its package root, as Lake lays modules out
    (``Init.Data.List.Basic`` -> ``Init/Data/List/Basic.lean``; ``«A B».C`` -> ``A B/C.lean``)."""
    return "/".join(part.strip("«»") for part in _name_parts(module)) + ".lean"


def _name_parts(name: str) -> list[str]:
    """The components of a dotted Lean name, dots inside ``«…»`` kept."""
    parts, current, quoted = [], "", False
    for char in name:
        if char == "«":
            quoted = True
        elif char == "»":
            quoted = False
        if char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def premise_sites(module_output: ModuleOutput) -> dict[str, Site]:
    """Where each constant the module's events mention is declared, by name (the extractor's
    ``premiseSites`` event; its module ``null`` is the module itself)."""
    sites = {}
    for event in events_of(module_output, "premiseSites"):
        for s in event["sites"]:
            sites[s["name"]] = site_of(module_output, s.get("module"), s)
    return sites


def site_of(module_output: ModuleOutput, module: str | None, position: dict) -> Site:
    """A ``Site`` of a constant declared in ``module`` (None: the module being extracted) at
    ``position`` (an event's ``line``, ``column``, ``endLine``, ``endColumn``, if any)."""
    if not module or module == module_output.module:
        module, file = module_output.module, module_output.file
    else:
        file = module_file(module)
    return Site(module=module, file=file, line=position.get("line", 0), column=position.get("column", 0),
                endLine=position.get("endLine", 0), endColumn=position.get("endColumn", 0))


NO_SITE = Site(module="", file="", line=0, column=0, endLine=0, endColumn=0)
"""The site of a constant the extractor could not find (it never happens for constants Lean's
terms hold)."""


def premises_records(module_output: ModuleOutput) -> Iterator[PremisesRecord]:
    """Yield a ``PremisesRecord`` per constant the module adds (``constant`` events), sorted by
    name. ``isGenerated``: no declaration of the module's source declares it."""
    written = {d["name"] for d in events_of(module_output, "declaration") if d.get("name")}
    sites = premise_sites(module_output)
    for c in events_of(module_output, "constant"):
        own = site_of(module_output, None, c)
        yield PremisesRecord(
            name=c["name"],
            dependents=[Dependent(name=d["name"], explicit=d["explicit"], direct=d["direct"],
                                  **sites.get(d["name"], NO_SITE)) for d in c["dependents"]],
            declId=f"{module_output.module}:{c['name']}", kind=c["constKind"], isProp=c["isProp"],
            isGenerated=c["name"] not in written, isPrivate=c["private"],
            module=module_output.module, file=module_output.file,
            line=own["line"], column=own["column"], endLine=own["endLine"], endColumn=own["endColumn"],
            project=module_output.project,
        )



def declaration_premises(module_output: ModuleOutput) -> Iterator[tuple[str, str, list[str]]]:
    """``(file, declId, premises)`` of each declaration of the module, for the ``novel_premises``
    split: its premises are the theorems (Prop-typed constants) its value uses, itself left out."""
    for d in events_of(module_output, "declaration"):
        premises = [c["name"] for c in d.get("constants", []) if c["isProp"] and c["name"] != d.get("name")]
        yield module_output.file, decl_id(module_output.module, d), premises


@record
class CorpusRecord:
    """A candidate premise visible to the project (LeanDojo's retrieval corpus): a constant of
    the project or of the toolchain library modules it imports."""

    name: str
    kind: str
    type: str
    module: str
    file: str
    line: int
    column: int
    endLine: int
    endColumn: int
    src: str
    project: str


def text_range(source: str, line: int, column: int, end_line: int, end_column: int) -> str:
    """The text between two Lean positions (1-based lines, 0-based codepoint columns) of a
    module's source; "" when there is no range (line 0)."""
    if line < 1 or end_line < line:
        return ""
    lines = source.removeprefix("\ufeff").split("\n")
    starts = [0]
    for text in lines:
        starts.append(starts[-1] + len(text) + 1)
    text = source.removeprefix("\ufeff")
    if end_line > len(lines):
        return ""
    return text[starts[line - 1] + column:starts[end_line - 1] + end_column]


def corpus_records(module_output: ModuleOutput) -> Iterator[CorpusRecord]:
    """Yield a ``CorpusRecord`` per candidate premise the module adds (``constant`` events marked
    ``candidate``: not internal or auxiliary), with its source text."""
    for c in events_of(module_output, "constant"):
        if not c.get("candidate"):
            continue
        yield CorpusRecord(
            name=c["name"], kind=c["constKind"], type=c.get("type", ""), module=module_output.module,
            file=module_output.file, line=c.get("line", 0), column=c.get("column", 0),
            endLine=c.get("endLine", 0), endColumn=c.get("endColumn", 0),
            src=text_range(module_output.source, c.get("line", 0), c.get("column", 0),
                           c.get("endLine", 0), c.get("endColumn", 0)),
            project=module_output.project,
        )


def library_imports(module_outputs) -> list[str]:
    """The modules outside the project that the project's modules see (their environments'
    modules that are not project modules), sorted."""
    outputs = list(module_outputs)
    own = {o.module for o in outputs}
    seen = {name for o in outputs for e in events_of(o, "imports") for name in e["all"]}
    return sorted(seen - own)


def library_corpus_records(entries: list[dict], project: str) -> Iterator[CorpusRecord]:
    """``CorpusRecord``s of the extractor's library corpus lines (no source text: the toolchain
    ships no sources on every build)."""
    for e in entries:
        yield CorpusRecord(
            name=e["name"], kind=e["kind"], type=e.get("type", ""), module=e.get("module") or "",
            file=module_file(e["module"]) if e.get("module") else "", line=e.get("line", 0),
            column=e.get("column", 0), endLine=e.get("endLine", 0), endColumn=e.get("endColumn", 0),
            src="", project=project,
        )

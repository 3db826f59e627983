"""``errors`` records: every error of a module, with its kind and the declaration it lies in."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ntp_datasets.extraction import FAILURE_KINDS, ModuleOutput
from ntp_datasets.extraction.outputs import NOT_EXPOSED, TOOLCHAIN_LIMIT, toolchain_limit
from ntp_datasets.project.modules import is_module_file
from ntp_datasets.records.base import decl_id, events_of, record
from ntp_datasets.records.ready import ReadyModule

MESSAGE_KINDS = {
    "parse": "Lean's parser rejected part of the module (the rest was elaborated)",
    "elaboration": "a command failed to elaborate (the module's other commands give rows)",
    "extractor": "the extractor could not turn one declaration or tactic step into an event (Lean elaborated it; "
                 "that row is missing, the module's other rows are kept)",
}
"""Kinds of Lean's error messages inside a module that was extracted."""

NTP_TOOLKIT_OUTPUT = "ntp_toolkit_output"
"""The kind of an error row of a project read from ntp-toolkit output: ``file`` and ``line`` name
a line of its output that gives no row."""

ERROR_KINDS = {
    **MESSAGE_KINDS,
    **FAILURE_KINDS,
    NTP_TOOLKIT_OUTPUT: ("a line of ntp-toolkit output that is not JSON, lacks a field its task always writes or has "
                         "one of the wrong type; `file` and `line` name it; it gives no row, the others are kept"),
}
"""The ``kind`` of an ``errors`` row -> what it means. A row of a command that was not elaborated
(phase ``skip``: it killed the Lean process twice, or ran past ``command_timeout``) has the kind
the scheduler gave it: ``toolchain_limit``, ``crash`` or ``timeout``, at the command's line."""

SKIPPED_COMMAND = "skip"
"""The phase of the error message of a command the scheduler had the extractor skip."""

_KIND_OF_PHASE = {"parse": "parse", "import": "missing_import", "elab": "elaboration", "extract": "extractor"}

# `import all` of a module of the toolchain's library (whose private data the WebAssembly
# Lean does not ship).
_IMPORT_ALL_CORE = re.compile(r"^\s*(?:public\s+)?(?:meta\s+)?import\s+all\s+(?:Init|Std|Lean|Lake)\b", re.M)


def message_kind(phase: str, text: str, source: str, skipped_kind: str = "") -> str:
    """The ``kind`` of an error message of Lean (``phase``: the extractor's, ``text``: the
    message) in a module whose source is ``source``: ``toolchain_limit`` when it shows a limit
    of the WebAssembly Lean (see ``extraction.toolchain_limit``), else by its phase. A
    definition that is not exposed is the toolchain's limit only where a native Lean would see
    its body: in an ordinary file (which imports everything at the private level) or in a
    `module` file that imports a core module with `import all`; elsewhere the project asked
    for it. A skipped command's message has the kind it was skipped with (``skipped_kind``)."""
    if phase == SKIPPED_COMMAND and skipped_kind:
        return skipped_kind
    if toolchain_limit(text) and (not NOT_EXPOSED.search(text) or not is_module_file(source)
                                  or _IMPORT_ALL_CORE.search(source)):
        return TOOLCHAIN_LIMIT
    return _KIND_OF_PHASE.get(phase, "elaboration")


@record
class ErrorRecord:
    """An error of a module: an error message of Lean (``line`` > 0), or the module failed as a
    whole (``line`` 0). ``kind``: a key of ``ERROR_KINDS``; ``declaration``: the ``declId`` of
    the declaration the error lies in, else ""; ``skipped``: the command at ``line`` was not
    elaborated (it killed the Lean process twice, or ran past ``command_timeout``)."""

    module: str
    file: str
    line: int
    column: int
    message: str
    kind: str
    declaration: str
    project: str
    skipped: bool = False


def error_records(module_output: ModuleOutput | ReadyModule) -> Iterator[ErrorRecord]:
    """Yield the module-level failure (if any) and every error message of a module with the
    declaration it lies in (for a skipped command: the one it would have declared). A
    :class:`ReadyModule` gives the errors met while reading it."""
    if isinstance(module_output, ReadyModule):
        yield from module_output.errors
        return
    module, file, project = module_output.module, module_output.file, module_output.project
    if module_output.error:
        yield ErrorRecord(module, file, 0, 0, module_output.error, module_output.error_kind or "crash", "", project)
    declarations = list(events_of(module_output, "declaration"))
    for message in events_of(module_output, "message"):
        if message.get("severity") == "error":
            line, column = message["line"], message["column"]
            yield ErrorRecord(
                module=module,
                file=file,
                line=line,
                column=column,
                message=message["text"],
                kind=message_kind(message.get("phase", ""), message["text"], module_output.source,
                                  message.get("errorKind", "")),
                declaration=(decl_id(module, {"name": message["declName"]}) if message.get("declName")
                             else _enclosing_declaration(module, declarations, line, column)),
                project=project,
                skipped=message.get("phase") == SKIPPED_COMMAND,
            )


def _enclosing_declaration(module: str, declarations: list[dict], line: int, column: int) -> str:
    """The ``declId`` of the declaration whose source range holds (line, column), or ""."""
    for declaration in declarations:
        if (declaration["line"], declaration["column"]) <= (line, column) <= (
                declaration["endLine"], declaration["endColumn"]):
            return decl_id(module, declaration)
    return ""

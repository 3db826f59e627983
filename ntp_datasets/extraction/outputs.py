"""What extraction gives: one :class:`ModuleOutput` per module, and the kinds of failure that
stop a module as a whole.

A module's ``events`` are the JSON objects the extractor (``Extract.lean``) wrote for it,
one per declaration, tactic step, message and import list; the records room turns them into
rows. A module that could not be extracted has ``error`` and ``error_kind`` set and no events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TIMEOUT = "timeout"
CRASH = "crash"
MISSING_IMPORT = "missing_import"
DEPENDENCY = "dependency"
ENCODING = "encoding"
IMPORT_CYCLE = "import_cycle"
UNSUPPORTED = "unsupported"
NAME_COLLISION = "name_collision"
OUTSIDE_PROJECT = "outside_project"
IMPORT_FAILED = "import_failed"
TOOLCHAIN_LIMIT = "toolchain_limit"

FAILURE_KINDS = {
    MISSING_IMPORT: "an import is neither a project module nor in the toolchain's library; module not extracted",
    DEPENDENCY: "the module imports a project module that could not be built; not extracted",
    IMPORT_CYCLE: "the module is part of an import cycle; not extracted",
    ENCODING: "the file is not UTF-8; not extracted",
    UNSUPPORTED: "a `module` file imports an ordinary file, which Lean forbids; not extracted",
    NAME_COLLISION: "two files of the project are the same module (`A/B.lean` and `A.B.lean`); not extracted",
    OUTSIDE_PROJECT: "the file is a symlink leading outside the project; not read, not extracted",
    TIMEOUT: ("the module ran past module_timeout CPU seconds twice (the second time alone, with the limit "
              "doubled); as an error at a command's line: that command ran past command_timeout and was skipped"),
    CRASH: ("the Lean process died on the module twice outside every command (or the extractor failed on it); as "
            "an error at a command's line: that command killed the process twice and was skipped"),
    IMPORT_FAILED: "an import exists but Lean could not load it (the message says why); module not extracted",
    TOOLCHAIN_LIMIT: ("a limit of the WebAssembly Lean, which a native Lean does not have: a core definition it "
                      "cannot unfold (its library ships no private `.olean`s: \"not exposed\"), code it has no "
                      "native implementation for, its 2 GB memory cap, a thread's stack. An error message (or a "
                      "command that killed the process twice and was skipped): the module's other declarations give "
                      "rows; a module failure: not extracted"),
}
"""Why a module failed as a whole (``ModuleOutput.error_kind``) -> what it means."""

LEAN_FAILURES = frozenset({TIMEOUT, CRASH, MISSING_IMPORT, IMPORT_FAILED})
"""Failures that happen in Lean, where a version mismatch may be the cause."""


@dataclass
class ModuleOutput:
    """What the extractor produced for one module (events: see ``Extract.lean``)."""

    module: str
    file: str
    source: str
    events: list[dict] = field(default_factory=list)
    error: str | None = None
    cached: bool = False
    error_kind: str = ""
    """Why the module failed as a whole (a key of :data:`FAILURE_KINDS`), when ``error`` is set."""
    project: str = ""
    """Name of the project the module belongs to (the builder sets it; records copy it)."""
    package: str = ""
    """The Lake package of the module (the root package's or a dependency's; empty without a
    lakefile). The extractor sets it."""
    project_imports: tuple[str, ...] = ()
    """The project modules it imports, directly or through other project modules (the
    extractor sets it; the ``imports`` records keep these besides the direct imports)."""

    @property
    def has_errors(self) -> bool:
        """Whether the module failed as a whole or Lean reported an error in it."""
        return bool(self.error) or any(
            e.get("kind") == "message" and e.get("severity") == "error" for e in self.events)

    @property
    def skipped_commands(self) -> list[dict]:
        """The message events of commands the extractor was told to skip (phase ``skip``)."""
        return [e for e in self.events if e.get("kind") == "message" and e.get("phase") == "skip"]


def failed_output(module, kind: str, error: str) -> ModuleOutput:
    """The output of a module (a ``project.LeanModule``) that failed as a whole (a file
    refused as leaving the project is not read: its source is empty)."""
    source = "" if getattr(module, "refused", None) else read_source(module.path)
    return ModuleOutput(module.name, module.relpath, source, [], error, error_kind=kind)


def read_source(path) -> str:
    """A module's source as Lean reads it (bytes that are not UTF-8 shown as U+FFFD)."""
    return path.read_bytes().decode("utf-8", errors="replace")


NOT_EXPOSED = re.compile(r"definition is not exposed|definition with an exposed body")
"""Lean's words for a definition it may not unfold: its body is not in the imported data."""

MEMORY_CAP = re.compile(r"Cannot enlarge memory|Aborted\(OOM\)|out of memory|Out of memory")
"""What the WebAssembly Lean prints when it reaches its memory cap."""

STACK_OVERFLOW = re.compile(r"RangeError: Maximum call stack size exceeded")
"""What Node prints when a thread of the WebAssembly Lean runs out of stack (its workers have
`NTP_WORKER_STACK_MB`, 256 MB by default)."""

INTERPRETER_STACK = re.compile(r"uncaught C\+\+ exception lean::throwable: deep recursion was detected at "
                               r"'interpreter'")
"""What the driver prints when Lean's interpreter ran out of its thread's stack: an exception that
nothing catches (natively too), so the process dies. The WebAssembly build needs more stack for
the same recursion (see docs/wasm-stack-overflow.md), hence a limit of the build."""

WASM_PROCESS_LIMITS = (MEMORY_CAP, STACK_OVERFLOW, INTERPRETER_STACK)
"""Deaths of a WebAssembly Lean process that are the build's limits (see `toolchain_limit`)."""

_TOOLCHAIN_LIMITS = [
    (NOT_EXPOSED, "a definition whose body is not in the imported `.olean`s"),
    (re.compile(r"Could not find native implementation of external declaration '([^']*)'"),
     "no native implementation of `{}` in this Lean"),
    (re.compile(r"\(interpreter\) unknown declaration '([^']*)'"), "the interpreter found no code for `{}`"),
    (re.compile(r"\(interpreter\) IR of declaration '([^']*)' not available"),
     "the interpreter found no code for `{}` (this build's `Lake` library carries none)"),
    (MEMORY_CAP, "the WebAssembly memory cap (2 GB) was reached"),
    # What starting another program gives there (`bv_decide` runs a SAT solver).
    (re.compile(r"unsupported operation \(error code: 52, function not implemented\)"),
     "this Lean cannot start other programs (e.g. `bv_decide`'s SAT solver)"),
    (STACK_OVERFLOW, "a thread of the WebAssembly Lean ran out of stack (Node's \"Maximum call stack size "
                     "exceeded\")"),
    (INTERPRETER_STACK, "Lean's interpreter ran out of its thread's stack (NTP_LEAN_THREAD_STACK_MB, 64 by "
                        "default), which kills the process"),
]


def toolchain_limit(text: str) -> str | None:
    """What limit of the WebAssembly Lean ``text`` (a Lean message, or the end of its stderr)
    shows, as a few words, or None. Whether it is the toolchain's fault and not the project's
    is for the caller to judge where that depends on more than the text (not exposed)."""
    for pattern, words in _TOOLCHAIN_LIMITS:
        if match := pattern.search(text):
            return words.format(*match.groups())
    return None

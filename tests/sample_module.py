"""Shared test data: a small Lean module and the extractor events Lean would emit for it.

The events' byte offsets are computed from the source text itself, so the
tests pin byte slicing (the source has multi-byte characters such as ``ℕ``).
No Lean toolchain is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = """\
import Sample.Defs

/-- `n + 0` is `n` for `n : ℕ`. -/
theorem add_zero' (n : ℕ) : n + 0 = n := by
  simp

example : ∀ n : ℕ, n = n := by
  intro n
  sorry

structure Point where
  x : ℕ
"""

MODULE = "Sample.Basic"
FILE = "Sample/Basic.lean"


@dataclass
class FakeModuleOutput:
    """Same fields as ``ntp_datasets.extraction.ModuleOutput`` (the builder only duck-types it)."""

    module: str
    file: str
    source: str
    events: list
    error: str | None = None
    cached: bool = False
    error_kind: str = ""
    project: str = ""
    package: str = ""
    project_imports: tuple = ()


def byte_offset(text: str, needle: str, after: str = "") -> int:
    """Byte offset of the first ``needle`` in ``text`` that comes after ``after``."""
    char_index = text.index(needle, text.index(after) if after else 0)
    return len(text[:char_index].encode("utf-8"))


def byte_end(text: str, needle: str, after: str = "") -> int:
    """Byte offset just past the first ``needle`` after ``after``."""
    return byte_offset(text, needle, after) + len(needle.encode("utf-8"))


def line_column(text: str, needle: str, after: str = "") -> tuple[int, int]:
    """1-based line and 0-based codepoint column of ``needle``."""
    char_index = text.index(needle, text.index(after) if after else 0)
    before = text[:char_index]
    return before.count("\n") + 1, char_index - (before.rfind("\n") + 1)


def declaration(text, first_token, name, decl_kind, sig_token, last_token, has_sorry=False, has_error=False):
    """A declaration event spanning ``first_token`` .. ``last_token``, its value starting at ``sig_token``."""
    line, column = line_column(text, first_token)
    end_line, end_column = line_column(text, last_token, first_token)
    return {
        "kind": "declaration",
        "name": name,
        "declKind": decl_kind,
        "start": byte_offset(text, first_token),
        "end": byte_end(text, last_token, first_token),
        "sigEnd": byte_offset(text, sig_token, first_token),
        "line": line,
        "column": column,
        "endLine": end_line,
        "endColumn": end_column + len(last_token),
        "hasSorry": has_sorry,
        "hasError": has_error,
    }


def tactic(text, decl_token, tactic_text, goals_before, goals_after, has_sorry=False, in_statement=False):
    """A tactic event for ``tactic_text`` inside the declaration starting at ``decl_token``."""
    line, column = line_column(text, tactic_text, decl_token)
    return {
        "kind": "tactic",
        "declStart": byte_offset(text, decl_token),
        "start": byte_offset(text, tactic_text, decl_token),
        "end": byte_end(text, tactic_text, decl_token),
        "line": line,
        "column": column,
        "endLine": line,
        "endColumn": column + len(tactic_text),
        "syntaxKind": "Lean.Parser.Tactic.tacticSeq1Indented",
        "goalsBefore": goals_before,
        "goalsAfter": goals_after,
        "hasSorry": has_sorry,
        "inStatement": in_statement,
    }


def sample_events(text: str = SOURCE) -> list[dict]:
    """Extractor events for ``SOURCE`` in source order."""
    theorem = "/-- `n + 0`"
    return [
        declaration(text, theorem, "Sample.add_zero'", "theorem", ":=", "simp"),
        tactic(text, theorem, "simp", ["n : ℕ\n⊢ n + 0 = n"], []),
        declaration(text, "example", None, "example", ":=", "sorry", has_sorry=True),
        tactic(text, "example", "intro n", ["⊢ ∀ (n : ℕ), n = n"], ["n : ℕ\n⊢ n = n"]),
        tactic(text, "example", "sorry", ["n : ℕ\n⊢ n = n"], [], has_sorry=True),
        {"kind": "message", "severity": "warning", "line": 7, "column": 0, "text": "declaration uses 'sorry'"},
        declaration(text, "structure", "Sample.Point", "structure", "where", "x : ℕ"),
        {"kind": "message", "severity": "error", "line": 12, "column": 6, "text": "unknown identifier 'y'"},
    ]


def sample_module_output(text: str = SOURCE) -> FakeModuleOutput:
    """A ModuleOutput-shaped value for ``text`` (default ``SOURCE``)."""
    return FakeModuleOutput(module=MODULE, file=FILE, source=text, events=sample_events(text))

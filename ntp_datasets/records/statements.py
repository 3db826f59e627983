"""``statementHash``: one value per statement, the same in every project and version that states it.

A statement is what a declaration claims: its binders and type. So the hash is of the
declaration's text up to its value (``decl``) with comments and doc comments taken out, the
attributes (``@[simp]``), modifiers (``private``, ``protected``, ...), keyword and name left out
(a renamed or moved copy states the same thing), and whitespace normalised: every run of
whitespace is one space, and none is kept next to a character that is not part of a name
(``(n: ℕ)`` and ``( n : ℕ )`` are the same). Two statements that differ only there share a hash.
"""

from __future__ import annotations

import hashlib
import re

from ntp_datasets.project.lean_text import without_comments

MODIFIERS = ("private", "protected", "noncomputable", "partial", "unsafe", "nonrec", "public", "meta")
KEYWORDS = ("theorem", "lemma", "def", "abbrev", "instance", "example", "opaque", "axiom", "structure", "class",
            "inductive")

_HEAD = re.compile(r"\s*(?:@\[(?:[^\[\]]|\[[^\[\]]*\])*\]\s*|(?:" + "|".join(MODIFIERS) + r")\b\s*)*"
                   r"(?:class\s+inductive\b|(?:" + "|".join(KEYWORDS) + r")\b)\s*")
"""Attributes, modifiers and the keyword at the start of a declaration."""
_NAME = re.compile(r"(?:«[^»]*»|[^\s()\[\]{}⟨⟩⦃⦄:,«».])+(?:\.(?:«[^»]*»|[^\s()\[\]{}⟨⟩⦃⦄:,«».])+)*(?:\.\{[^}]*\})?")
_WORD_CHAR = re.compile(r"[\w'.!?«»₀-₉ₐ-ₜᵢ-ᵪ]")


def normalized_statement(decl: str) -> str:
    """What :func:`statement_hash` hashes: ``decl`` without comments, attributes, modifiers,
    keyword and name, its whitespace normalised (see the module docstring)."""
    text = without_comments(decl)
    head = _HEAD.match(text)
    if head:
        keyword = head.group(0).split()[-1] if head.group(0).split() else ""
        text = text[head.end():]
        if keyword != "example":
            name = _NAME.match(text)
            if name and not text.startswith((":", "(", "[", "{", "⦃")):
                text = text[name.end():]
    return _squeeze(text)


def _squeeze(text: str) -> str:
    """One space for every run of whitespace between two name characters, none elsewhere."""
    pieces = text.split()
    out = ""
    for piece in pieces:
        if out and _WORD_CHAR.match(out[-1]) and _WORD_CHAR.match(piece[0]):
            out += " "
        out += piece
    return out


def statement_hash(decl: str) -> str:
    """The ``statementHash`` of a declaration's statement ``decl``: 32 hex digits of the
    SHA-256 of :func:`normalized_statement`."""
    return hashlib.sha256(normalized_statement(decl).encode("utf-8")).hexdigest()[:32]

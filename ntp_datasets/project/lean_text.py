"""Lean source read as text, without Lean: comments taken out, and the declarations a version
of a file declares (for dates from a project's history, where no elaborated version exists).

This is a reading of the surface syntax, not Lean's parser: it knows comments (nested block
comments, doc comments, line comments), string and character literals, `namespace`/`section`/
`mutual`/`end` scopes and the declaration keywords. A declaration a project's own command
macro makes (other than `lemma`) is not seen.
"""

from __future__ import annotations

import re

DECLARATION_KEYWORDS = ("theorem", "lemma", "def", "abbrev", "instance", "structure", "class", "inductive",
                        "opaque", "axiom", "example")
"""Keywords that start a declaration (`class inductive` is `class` followed by `inductive`)."""

_IDENT_CHAR = re.compile(r"[^\s()\[\]{}⟨⟩⦃⦄,:;\"`@#$]")
_NAME = re.compile(r"(?:«[^»\n]*»|[^\s()\[\]{}⟨⟩⦃⦄,:;\"`@#$.«»'+*/<>=|&!?~^%-])"
                   r"(?:«[^»\n]*»|[^\s()\[\]{}⟨⟩⦃⦄,:;\"`@#$.«»])*"
                   r"(?:\.(?:«[^»\n]*»|[^\s()\[\]{}⟨⟩⦃⦄,:;\"`@#$.«»])+)*(?:\.\{[^}\n]*\})?")
"""A declaration name: a token of :data:`_TOKEN` that does not start like an operator."""
_TOKEN = re.compile(r"(?:«[^»\n]*»|[^\s()\[\]{}⟨⟩⦃⦄,:;\"`@#$.«»]+)(?:\.(?:«[^»\n]*»|[^\s()\[\]{}⟨⟩⦃⦄,:;\"`@#$.«»]+))*"
                    r"(?:\.\{[^}\n]*\})?|\S")
"""A name (dotted, ``«…»`` components, universe parameters ``.{u}`` included) or one other character."""
_UNIVERSES = re.compile(r"\.\{[^}]*\}$")


def without_comments(text: str) -> str:
    """``text`` with every comment (``--`` to the end of its line; ``/- … -/``, nested, doc
    comments included) and every string literal's content replaced by spaces, newlines kept,
    so positions and line structure stay. A string's quotes are kept (``""``)."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            _blank(out, i, end)
            i = end
        elif c == "/" and text.startswith("/-", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/-", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("-/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            _blank(out, i, j)
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            _blank(out, i + 1, min(j, n))
            i = j + 1
        elif c == "'" and (i == 0 or not _IDENT_CHAR.match(text[i - 1])) and _char_literal_end(text, i):
            end = _char_literal_end(text, i)
            _blank(out, i, end)
            i = end
        else:
            i += 1
    return "".join(out)


def _blank(chars: list[str], start: int, end: int) -> None:
    for k in range(start, min(end, len(chars))):
        if chars[k] != "\n":
            chars[k] = " "


def _char_literal_end(text: str, i: int) -> int | None:
    """Where a character literal starting at ``i`` (``'a'``, ``'\\n'``, ``'\\x41'``) ends, or
    None when the quote starts none (a prime in a name such as ``h'`` never gets here)."""
    match = re.match(r"'(?:\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)|[^\\'\n])'", text[i:i + 10])
    return i + match.end() if match else None


def _components(name: str) -> list[str]:
    """The components of a dotted name, ``«…»`` quoting kept out."""
    return [part.removeprefix("«").removesuffix("»") for part in re.findall(r"«[^»\n]*»|[^.«»]+", name)]


def declared_names(text: str) -> set[str]:
    """The full names of the declarations a Lean file's text declares: each keyword of
    :data:`DECLARATION_KEYWORDS` followed by a name, the name prefixed by the namespaces open
    at that point (``namespace A.B`` … ``end A.B``; ``_root_.x`` is ``x``). Comments and
    strings are ignored; anonymous instances and ``example`` have no name."""
    names: set[str] = set()
    scopes: list[int] = []  # per open scope: how many namespace components it added
    namespace: list[str] = []
    tokens = _TOKEN.findall(without_comments(text))
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token == "namespace" and _NAME.fullmatch(following):
            parts = _components(following)
            namespace += parts
            scopes.append(len(parts))
        elif token in ("section", "mutual"):
            scopes.append(0)
        elif token == "end" and scopes:
            added = scopes.pop()
            del namespace[len(namespace) - added:]
        elif token in DECLARATION_KEYWORDS and token != "example" and _NAME.fullmatch(following):
            if following in DECLARATION_KEYWORDS:  # `class inductive`
                continue
            parts = _components(_UNIVERSES.sub("", following))
            if parts and parts[0] == "_root_":
                names.add(".".join(parts[1:]))
            else:
                names.add(".".join(namespace + parts))
    return names

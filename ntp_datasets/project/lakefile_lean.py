"""The declarative part of a ``lakefile.lean``, read without running Lean (see
:mod:`ntp_datasets.project.lakefile` for what is read and what is refused): a lexer for Lean's
tokens, the commands of the Lake DSL, and a term evaluator for literal field values."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ntp_datasets.errors import LakeConfigError, UnsupportedLakefileError
from ntp_datasets.project.lake_config import (
    Glob,
    LakefileConfig,
    LeanExeConfig,
    LeanLibConfig,
    LeanOption,
    Require,
    check_unique_targets,
    clean_path,
    merge_options,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    """``ident``, ``name`` (a `` `name `` literal), ``glob`` (`` `Foo.+ ``), ``string``,
    ``number``, ``char`` or ``sym``."""
    text: str
    value: object
    line: int
    col: int
    first: bool
    """Whether the token is the first one on its line."""


_SYMBOLS = (":=", "#[", "@[", "++", "|>.", "|>", "<|", "=>", "==", "!=", "&&", "||", "<-", "..", "::")
_OPEN = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "#[": "]", "@[": "]"}
_CLOSE = {")", "]", "}", "⟩"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


def _depth_change(token: _Token) -> int:
    """+1 for an opening bracket, -1 for a closing one, else 0."""
    if token.kind != "sym":
        return 0
    return 1 if token.value in _OPEN else -1 if token.value in _CLOSE else 0


def _ident_start(c: str) -> bool:
    return c == "_" or c == "«" or (c.isalpha() and c not in "λΠΣ")


def _ident_rest(c: str) -> bool:
    return c.isalnum() or c in "_'!?" or unicodedata.category(c) == "No"  # subscripts


class _Lexer:
    """Lean tokens of a lakefile (comments dropped), enough for its declarative part."""

    def __init__(self, text: str, file: str):
        self.text, self.file = text, file
        self.i, self.line, self.col, self.first = 0, 1, 0, True

    def fail(self, message: str):
        raise LakeConfigError(f"{self.file}:{self.line}: {message}", self.file, self.line)

    def tokens(self) -> list[_Token]:
        out = []
        while True:
            self._skip_space()
            if self.i >= len(self.text):
                return out
            out.append(self._token())

    def _advance(self, n: int = 1) -> None:
        for c in self.text[self.i:self.i + n]:
            if c == "\n":
                self.line, self.col, self.first = self.line + 1, 0, True
            else:
                self.col += 1
        self.i += n

    def _skip_space(self) -> None:
        text = self.text
        while self.i < len(text):
            if text[self.i].isspace():
                self._advance()
            elif text.startswith("--", self.i):
                end = text.find("\n", self.i)
                self._advance((len(text) if end == -1 else end) - self.i)
            elif text.startswith("/-", self.i):
                depth, start = 0, self.line
                while self.i < len(text):
                    if text.startswith("/-", self.i):
                        depth += 1
                        self._advance(2)
                    elif text.startswith("-/", self.i):
                        depth -= 1
                        self._advance(2)
                        if depth == 0:
                            break
                    else:
                        self._advance()
                if depth:
                    self.line = start
                    self.fail("a comment opened here is never closed")
            else:
                return

    def _token(self) -> _Token:
        text, start, line, col, first = self.text, self.i, self.line, self.col, self.first
        self.first = False
        c = text[self.i]
        if c == '"' or (c == "r" and re.match(r'r#*"', text[self.i:self.i + 8] or "")):
            kind, value = "string", self._string()
        elif c == "`":
            self._advance(2 if text.startswith("``", self.i) else 1)
            if self.i >= len(text) or not _ident_start(text[self.i]):
                self.fail("a name literal (`) without a name")
            kind, value = "name", self._ident()
            if text[self.i:self.i + 2] in (".*", ".+") and not (
                    self.i + 2 < len(text) and _ident_rest(text[self.i + 2])):
                kind, value = "glob", Glob(value, "submodules" if text[self.i + 1] == "+" else "and_submodules")
                self._advance(2)
        elif _ident_start(c):
            kind, value = "ident", self._ident()
        elif c.isdigit():
            match = re.match(r"0x[0-9a-fA-F_]+|0b[01_]+|0o[0-7_]+|[0-9][0-9_]*", text[self.i:])
            self._advance(len(match.group(0)))
            kind, value = "number", int(match.group(0).replace("_", ""), 0)
        elif c == "#" and self.i + 1 < len(text) and text[self.i + 1].isalpha():  # #eval, #check
            match = re.match(r"#[A-Za-z_]+", text[self.i:])
            self._advance(len(match.group(0)))
            kind, value = "sym", match.group(0)
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[self.i:self.i + 4]):
            match = re.match(r"'(\\.|[^\\'])'", text[self.i:])
            self._advance(len(match.group(0)))
            kind, value = "char", match.group(1)
        else:
            symbol = next((s for s in _SYMBOLS if text.startswith(s, self.i)), c)
            self._advance(len(symbol))
            kind, value = "sym", symbol
        return _Token(kind, text[start:self.i], value, line, col, first)

    def _ident(self) -> str:
        parts = []
        while True:
            if self.text.startswith("«", self.i):
                end = self.text.find("»", self.i)
                if end == -1:
                    self.fail("a «name» is never closed")
                parts.append(self.text[self.i + 1:end])
                self._advance(end + 1 - self.i)
            else:
                j = self.i
                while j < len(self.text) and (_ident_rest(self.text[j]) if j > self.i else _ident_start(self.text[j])):
                    j += 1
                parts.append(self.text[self.i:j])
                self._advance(j - self.i)
            if self.text.startswith(".", self.i) and self.i + 1 < len(self.text) and _ident_start(self.text[self.i + 1]):
                self._advance()
                continue
            return ".".join(parts)

    def _string(self) -> str:
        text = self.text
        raw = re.match(r'r(#*)"', text[self.i:])
        if raw:
            close = '"' + raw.group(1)
            end = text.find(close, self.i + len(raw.group(0)))
            if end == -1:
                self.fail("a raw string is never closed")
            value = text[self.i + len(raw.group(0)):end]
            self._advance(end + len(close) - self.i)
            return value
        self._advance()
        out = []
        while True:
            if self.i >= len(text):
                self.fail("a string is never closed")
            c = text[self.i]
            if c == '"':
                self._advance()
                return "".join(out)
            if c == "\\":
                nxt = text[self.i + 1:self.i + 2]
                if nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                    self._advance(2)
                elif nxt == "x":
                    out.append(chr(int(text[self.i + 2:self.i + 4], 16)))
                    self._advance(4)
                elif nxt == "u":
                    end = text.index("}", self.i)
                    out.append(chr(int(text[self.i + 3:end], 16)))
                    self._advance(end + 1 - self.i)
                elif nxt == "\n":  # a line continuation: the newline and the next line's indent go
                    self._advance(2)
                    while self.i < len(text) and text[self.i] in " \t":
                        self._advance()
                else:
                    self.fail(f"unknown escape \\{nxt} in a string")
            else:
                out.append(c)
                self._advance()


class _Name(str):
    """The value of a `` `name `` literal (a string with a type of its own)."""


def _unsupported(file: str, token: _Token, what: str, construct: str = "") -> UnsupportedLakefileError:
    """The error for a construct at ``token`` (named by ``construct``, else the token's text)."""
    return UnsupportedLakefileError(
        f"{file}:{token.line}: {what}; ntp-datasets reads only the declarative part of lakefile.lean "
        "(without running Lean) and does not guess what this computes. Write the value out "
        "(or convert the package to lakefile.toml)", file, token.line, construct or token.text)


# Commands that add no module and change no module's options; read past.
_SKIPPED_COMMANDS = {
    "import", "open", "set_option", "namespace", "section", "end", "universe", "variable", "script",
    "post_update", "target", "extern_lib", "input_file", "input_dir", "macro", "syntax", "macro_rules",
    "elab", "elab_rules", "notation", "infix", "infixl", "infixr", "prefix", "postfix", "theorem", "lemma",
    "example", "instance", "structure", "inductive", "class", "attribute", "export", "def", "abbrev",
    "opaque", "axiom", "deriving", "mutual", "local", "scoped",
}
# Commands that run code while Lake loads the lakefile; refused.
_RUNNING_COMMANDS = {"#eval", "#print", "run_cmd", "run_elab", "run_meta", "initialize", "builtin_initialize",
                     "run_io", "if", "do", "#exit"}
_MODIFIERS = {"private", "protected", "noncomputable", "partial", "unsafe", "nonrec", "public", "meta"}


def parse_lakefile_lean(text: str, file: str = "lakefile.lean") -> LakefileConfig:
    """Read the declarative part of a ``lakefile.lean`` (see the module docstring); a
    construct it cannot follow raises :class:`UnsupportedLakefileError` naming it and its line."""
    return _LeanReader(text, file).read()


class _LeanReader:
    def __init__(self, text: str, file: str):
        self.file = file
        self.tokens = _Lexer(text, file).tokens()
        self.constants: dict[str, list[_Token]] = {}
        self.evaluating: set[str] = set()
        self.package: dict | None = None
        self.libs: list[tuple[str, dict]] = []
        self.exes: list[tuple[str, dict]] = []
        self.defaults: list[str] = []
        self.requires: list[Require] = []
        self.skipped: list[str] = []

    def read(self) -> LakefileConfig:
        commands = self._commands()
        for tokens in commands:  # constants first: a field may name one defined below it
            self._record_constant(tokens)
        index = 0
        while index < len(commands):
            index = self._command(commands, index)
        if self.package is None:
            raise LakeConfigError(f"{self.file}: no `package NAME` declaration", self.file)
        package = self.package
        libs = tuple(self._lib(name, fields) for name, fields in self.libs)
        exes = tuple(self._exe(name, fields) for name, fields in self.exes)
        check_unique_targets(self.file, libs, exes)
        own = {t.name for t in (*libs, *exes)}
        for name, fields in [*self.libs, *self.exes, ("the package", package["fields"])]:
            for key in ("needs", "extraDepTargets"):
                if key in fields:
                    needs = self._value(fields[key], "list")
                    for need in needs:
                        if str(need).lstrip("@+").split(":")[0] not in own:
                            raise _unsupported(self.file, fields[key][0], f"{name} {key} `{need}`, which this reader "
                                               "cannot build (a custom target may generate files its modules read)",
                                               key)
        settings = self._settings(package["fields"])
        return LakefileConfig(
            name=package["name"], file="lakefile.lean",
            src_dir=self._src_dir(package["fields"], "the package's srcDir"), **settings,
            lean_libs=libs, lean_exes=exes, default_targets=tuple(self.defaults),
            requires=tuple(self.requires), skipped=tuple(self.skipped))

    # -- commands -----------------------------------------------------------

    def _commands(self) -> list[list[_Token]]:
        """The tokens split into commands: a command starts at column 0 outside brackets."""
        commands: list[list[_Token]] = []
        depth = 0
        for token in self.tokens:
            if token.first and token.col == 0 and depth == 0 or not commands:
                commands.append([])
            commands[-1].append(token)
            depth = max(0, depth + _depth_change(token))
        merged: list[list[_Token]] = []
        for tokens in commands:  # `@[attr]` on a line of its own belongs to the next command
            if merged and merged[-1][0].value == "@[" and self._attribute_end(merged[-1]) == len(merged[-1]):
                merged[-1] = merged[-1] + tokens
            else:
                merged.append(tokens)
        return merged

    @staticmethod
    def _attribute_end(tokens: list[_Token]) -> int:
        depth = 0
        for i, token in enumerate(tokens):
            depth += _depth_change(token)
            if depth == 0 and token.kind == "sym" and token.value in _CLOSE:
                return i + 1
        return len(tokens)

    def _record_constant(self, tokens: list[_Token]) -> None:
        """``def NAME := ...``/``abbrev NAME : T := ...`` without parameters: a value fields may use."""
        i = self._attribute_end(tokens) if tokens[0].value == "@[" else 0
        while i < len(tokens) and tokens[i].value in _MODIFIERS:
            i += 1
        if i + 2 >= len(tokens) or tokens[i].value not in ("def", "abbrev") or tokens[i + 1].kind != "ident":
            return
        name, j = tokens[i + 1].value, i + 2
        if tokens[j].value == ":":
            depth = 0
            while j < len(tokens) and not (depth == 0 and tokens[j].value == ":="):
                depth += _depth_change(tokens[j])
                j += 1
        if j < len(tokens) and tokens[j].value == ":=":
            self.constants[name] = tokens[j + 1:]

    def _command(self, commands: list[list[_Token]], index: int) -> int:
        """Read the command at ``index``; return the index of the next one."""
        tokens = commands[index]
        attributes: list[str] = []
        if tokens[0].value == "@[":
            end = self._attribute_end(tokens)
            attributes = [t.value for t in tokens[1:end - 1] if t.kind == "ident"]
            tokens = tokens[end:]
        if not tokens:
            return index + 1
        head = tokens[0]
        keyword = head.value if head.kind in ("ident", "sym") else head.text
        if keyword == "meta" and len(tokens) > 1 and tokens[1].value == "if":
            return self._meta_if(commands, index)
        while keyword in _MODIFIERS and len(tokens) > 1:
            tokens = tokens[1:]
            keyword = tokens[0].value
        if keyword == "package":
            if self.package is not None:
                raise LakeConfigError(f"{self.file}:{head.line}: a second `package` declaration", self.file, head.line)
            name, fields = self._declaration(tokens)
            self.package = {"name": name, "fields": fields}
        elif keyword in ("lean_lib", "lean_exe"):
            name, fields = self._declaration(tokens)
            (self.libs if keyword == "lean_lib" else self.exes).append((name, fields))
            if "default_target" in attributes:
                self.defaults.append(name)
        elif keyword == "require":
            self.requires.append(self._require(tokens))
        elif keyword in ("target", "extern_lib") and len(tokens) > 1:
            self.skipped.append(f"{keyword} {tokens[1].value} (line {head.line})")
        elif keyword in _SKIPPED_COMMANDS:
            if keyword in ("script", "input_file", "input_dir", "post_update"):
                label = tokens[1].value if len(tokens) > 1 else ""
                self.skipped.append(f"{keyword} {label} (line {head.line})".replace("  ", " "))
        elif keyword in _RUNNING_COMMANDS:
            raise _unsupported(self.file, head, f"`{head.text}` runs code while Lake loads the lakefile")
        else:
            raise _unsupported(self.file, head, f"`{head.text}` is not a Lake declaration this reader knows "
                               "(a macro or custom command may declare targets)")
        return index + 1

    def _meta_if(self, commands: list[list[_Token]], index: int) -> int:
        """``meta if COND then CMD [else CMD]``, with ``COND`` a test of ``get_config?``:
        without ``-K`` options every ``get_config? x`` is ``none``."""
        tokens = commands[index]
        then = next((i for i, t in enumerate(tokens) if t.value == "then"), None)
        if then is None:
            raise _unsupported(self.file, tokens[0], "`meta if` without `then`")
        condition = self._config_condition(tokens[2:then], tokens[0])
        body = tokens[then + 1:]
        else_at = next((i for i, t in enumerate(body) if t.value == "else" and t.kind == "ident"), None)
        then_part, else_part = (body, []) if else_at is None else (body[:else_at], body[else_at + 1:])
        following = index + 1
        if not then_part and following < len(commands):  # `then` at a line's end: the body is the next command
            then_part, following = commands[following], following + 1
            if following < len(commands) and commands[following][0].value == "else":
                else_part = commands[following][1:]
                following += 1
                if not else_part and following < len(commands):
                    else_part, following = commands[following], following + 1
        chosen = then_part if condition else else_part
        if chosen:
            if chosen[0].value == "do":
                raise _unsupported(self.file, chosen[0], "a `do` block under `meta if`")
            self._command([chosen], 0)
        self.skipped.append(f"meta if (line {tokens[0].line}): {'then' if condition else 'else'} branch taken")
        return following

    def _config_condition(self, cond: list[_Token], at: _Token) -> bool:
        """The truth of a ``get_config?`` test with no ``-K`` option given."""
        words = [str(t.value) for t in cond]
        text = " ".join(words)
        patterns = {
            r"^(\( )?get_config\? \S+ (\) )?(\|>\.|\.) isSome$": False,
            r"^(\( )?get_config\? \S+ (\) )?(\|>\.|\.) isNone$": True,
            r"^get_config\? \S+ (=|==) some .+$": False,
            r"^get_config\? \S+ != some .+$": True,
        }
        for pattern, value in patterns.items():
            if re.match(pattern, text):
                return value
        raise _unsupported(self.file, cond[0] if cond else at, f"`meta if {' '.join(t.text for t in cond)}` "
                           "is not a test of get_config? this reader can evaluate")

    def _declaration(self, tokens: list[_Token]) -> tuple[str, dict[str, list[_Token]]]:
        """``KEYWORD NAME [where FIELDS | { FIELDS } | := { FIELDS }]`` -> (name, field -> value tokens)."""
        if len(tokens) < 2 or tokens[1].kind != "ident":
            raise _unsupported(self.file, tokens[0], f"`{tokens[0].text}` without a plain name")
        name, rest = tokens[1].value, tokens[2:]
        if rest and rest[0].value == ":=":
            rest = rest[1:]
        if not rest:
            return name, {}
        if rest[0].value == "where":
            return name, self._fields(rest[1:], braces=False)
        if rest[0].value == "{" and rest[-1].value == "}":
            return name, self._fields(rest[1:-1], braces=True)
        raise _unsupported(self.file, rest[0], f"`{tokens[0].value} {name}` followed by `{rest[0].text}`")

    def _fields(self, tokens: list[_Token], braces: bool) -> dict[str, list[_Token]]:
        """``name := value`` fields, each starting a line at the first field's column (or
        after a comma in braces); a ``x := ...`` deeper inside a value (a ``do`` block of a
        field read past) starts none."""
        fields: dict[str, list[_Token]] = {}
        current: list[_Token] | None = None
        depth = 0
        column = tokens[0].col if tokens else 0
        for i, token in enumerate(tokens):
            starts = depth == 0 and token.kind == "ident" and i + 1 < len(tokens) and tokens[i + 1].value == ":=" and (
                (token.first and token.col == column) or i == 0 or (braces and tokens[i - 1].value == ","))
            if starts:
                if token.value in fields:
                    raise LakeConfigError(f"{self.file}:{token.line}: field {token.value} is given twice",
                                          self.file, token.line)
                current = fields[token.value] = []
                continue
            if token.value == ":=" and current == [] and depth == 0:
                continue
            if braces and depth == 0 and token.value == ",":
                current = None
                continue
            if current is None:
                raise _unsupported(self.file, token, f"`{token.text}` where a `field := value` was expected")
            depth += _depth_change(token)
            current.append(token)
        return fields

    def _require(self, tokens: list[_Token]) -> Require:
        """``require ["scope" /] NAME [@ [git] "rev"] [from git "URL" [@ "rev"] [/ "dir"] | from "path"]
        [with OPTIONS]``."""
        i = 1
        scope = ""
        if len(tokens) > 3 and tokens[1].kind == "string" and tokens[2].value == "/":
            scope, i = tokens[1].value, 3
        if i >= len(tokens) or tokens[i].kind not in ("ident", "string"):
            raise _unsupported(self.file, tokens[0], "`require` without a package name")
        name, i = str(tokens[i].value), i + 1
        git = path = rev = subdir = ""
        while i < len(tokens):
            token = tokens[i]
            if token.value == "@":
                i += 1
                if i < len(tokens) and tokens[i].value == "git":
                    i += 1
                rev, i = self._string_at(tokens, i, "a revision after `@`"), i + 1
            elif token.value == "from":
                i += 1
                if i < len(tokens) and tokens[i].value == "git":
                    git, i = self._string_at(tokens, i + 1, "a URL after `from git`"), i + 2
                    while i + 1 < len(tokens) and tokens[i].value in ("@", "/") and tokens[i + 1].kind == "string":
                        if tokens[i].value == "@":
                            rev = tokens[i + 1].value
                        else:
                            subdir = tokens[i + 1].value
                        i += 2
                else:
                    parts = [self._string_at(tokens, i, "a path or `git` after `from`")]
                    i += 1
                    while i + 1 < len(tokens) and tokens[i].value == "/" and tokens[i + 1].kind == "string":
                        parts.append(tokens[i + 1].value)
                        i += 2
                    path = "/".join(parts)
            elif token.value == "with":
                break  # options passed to the dependency's lakefile (`-K`); they do not name the package
            else:
                raise _unsupported(self.file, token, f"`{token.text}` in a `require`")
        return Require(name, scope, git=git, path=path, rev=rev, subdir=subdir)

    def _string_at(self, tokens: list[_Token], i: int, what: str) -> str:
        if i >= len(tokens) or tokens[i].kind != "string":
            raise _unsupported(self.file, tokens[min(i, len(tokens) - 1)], f"expected {what} (a string literal)")
        return tokens[i].value

    # -- fields -------------------------------------------------------------

    def _settings(self, fields: dict) -> dict:
        return dict(
            lean_options=merge_options(self._options(fields["leanOptions"]) if "leanOptions" in fields else ()),
            more_lean_args=tuple(self._strings(fields["moreLeanArgs"])) if "moreLeanArgs" in fields else (),
            weak_lean_args=tuple(self._strings(fields["weakLeanArgs"])) if "weakLeanArgs" in fields else ())

    def _src_dir(self, fields: dict, what: str) -> str:
        if "srcDir" not in fields:
            return "."
        value = self._value(fields["srcDir"], "string")
        return clean_path(value, what, self.file)

    def _lib(self, name: str, fields: dict) -> LeanLibConfig:
        roots = tuple(self._names(fields["roots"])) if "roots" in fields else ()
        globs = ()
        if "globs" in fields:
            value = self._value(fields["globs"], "globs")
            items = value if isinstance(value, list) else [value]  # `Coe Glob (Array Glob)`
            globs = tuple(self._glob(item, fields["globs"][0]) for item in items)
        return LeanLibConfig(name, self._src_dir(fields, f"lean_lib {name}'s srcDir"), roots, globs,
                             **self._settings(fields))

    def _exe(self, name: str, fields: dict) -> LeanExeConfig:
        root = ""
        if "root" in fields:
            value = self._value(fields["root"], "name")
            if not isinstance(value, _Name):
                raise _unsupported(self.file, fields["root"][0], f"lean_exe {name}'s root is not a `name literal")
            root = str(value)
        return LeanExeConfig(name, self._src_dir(fields, f"lean_exe {name}'s srcDir"), root, **self._settings(fields))

    def _glob(self, item, at: _Token) -> Glob:
        if isinstance(item, Glob):
            return item
        if isinstance(item, _Name):
            return Glob(str(item))
        raise _unsupported(self.file, at, f"{item!r} is not a glob")

    def _names(self, tokens: list[_Token]) -> list[str]:
        value = self._value(tokens, "list")
        if not isinstance(value, list) or not all(isinstance(v, _Name) for v in value):
            raise _unsupported(self.file, tokens[0], "roots is not an array of `name literals")
        return [str(v) for v in value]

    def _strings(self, tokens: list[_Token]) -> list[str]:
        value = self._value(tokens, "list")
        if not isinstance(value, list) or not all(isinstance(v, str) and not isinstance(v, _Name) for v in value):
            raise _unsupported(self.file, tokens[0], "the value is not an array of string literals")
        return value

    def _options(self, tokens: list[_Token]) -> list[LeanOption]:
        value = self._value(tokens, "list")
        if not isinstance(value, list):
            raise _unsupported(self.file, tokens[0], "leanOptions is not an array")
        options = []
        for item in value:
            if isinstance(item, LeanOption):
                options.append(item)
            elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], _Name) and \
                    isinstance(item[1], (bool, int, str)) and not isinstance(item[1], _Name):
                options.append(LeanOption(str(item[0]), item[1]))
            else:
                raise _unsupported(self.file, tokens[0], f"{item!r} in leanOptions is not ⟨`name, value⟩")
        return options

    def _value(self, tokens: list[_Token], what: str):
        if not tokens:
            raise LakeConfigError(f"{self.file}: a field without a value", self.file)
        parser = _TermParser(self, tokens)
        value = parser.expression()
        if parser.i < len(tokens):
            extra = tokens[parser.i]
            raise _unsupported(self.file, extra, f"`{extra.text}` after a value (an operator or an application)")
        return value

    def constant(self, token: _Token):
        """The value of the constant ``token`` names (a parameterless def/abbrev)."""
        name = token.value
        if name not in self.constants:
            raise _unsupported(self.file, token, f"`{token.text}` is neither a literal nor a constant defined in "
                               "the lakefile")
        if name in self.evaluating:
            raise _unsupported(self.file, token, f"`{name}` is defined in terms of itself")
        self.evaluating.add(name)
        try:
            return self._value(self.constants[name], "constant")
        finally:
            self.evaluating.discard(name)


_CONSTRUCTORS = {
    "one": "glob", "submodules": "glob", "andSubmodules": "glob",
    "ofBool": "value", "ofNat": "value", "ofString": "value",
}


class _TermParser:
    """The literal terms of a lakefile's fields: strings (joined with ``/``), numbers,
    booleans, `` `names ``, globs (`` `Foo.+ ``, ``.submodules `Foo``), arrays (joined with
    ``++``), ``⟨a, b⟩``, ``(x : T)``, option values (``.ofNat 3``) and the lakefile's constants."""

    def __init__(self, reader: _LeanReader, tokens: list[_Token]):
        self.reader, self.tokens, self.i = reader, tokens, 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1]
            raise _unsupported(self.reader.file, last, f"a value ends after `{last.text}`")
        self.i += 1
        return token

    def expect(self, symbol: str) -> None:
        token = self.take()
        if token.value != symbol:
            raise _unsupported(self.reader.file, token, f"`{token.text}` where `{symbol}` was expected")

    def expression(self):
        value = self.term()
        while (token := self.peek()) is not None and token.kind == "sym" and token.value in ("++", "/"):
            self.take()
            right = self.term()
            if token.value == "++" and isinstance(value, list) and isinstance(right, list):
                value = value + right
            elif token.value == "/" and isinstance(value, str) and isinstance(right, str) and \
                    not isinstance(value, _Name):
                value = f"{value}/{right}"
            else:
                raise _unsupported(self.reader.file, token, f"`{token.text}` between values this reader cannot join")
        return value

    def term(self):
        token = self.take()
        file = self.reader.file
        if token.kind in ("string", "number", "char"):
            return token.value
        if token.kind == "name":
            return _Name(token.value)
        if token.kind == "glob":
            return token.value
        if token.kind == "ident":
            if token.value in ("true", "false"):
                return token.value == "true"
            ctor = token.value.rsplit(".", 1)[-1]
            if ctor in _CONSTRUCTORS and token.value.split(".")[0] in (ctor, "Glob", "Lake", "LeanOptionValue",
                                                                         "Lean"):
                return self.constructor(ctor, token)
            return self.reader.constant(token)
        if token.kind == "sym":
            if token.value == "#[":
                return self.sequence("]")
            if token.value == "⟨":
                return tuple(self.sequence("⟩"))
            if token.value == "(":
                value = self.expression()
                if (nxt := self.peek()) is not None and nxt.value == ":":
                    depth = 0
                    while (nxt := self.peek()) is not None and not (depth == 0 and nxt.value == ")"):
                        depth += _depth_change(nxt)
                        self.take()
                self.expect(")")
                return value
            if token.value == "." and (nxt := self.peek()) is not None and nxt.kind == "ident" and \
                    nxt.value in _CONSTRUCTORS:
                self.take()
                return self.constructor(nxt.value, nxt)
            if token.value == "{":
                return self.structure(token)
        raise _unsupported(file, token, f"`{token.text}` is not a literal this reader can evaluate")

    def constructor(self, ctor: str, token: _Token):
        argument = self.term()
        if _CONSTRUCTORS[ctor] == "value":
            expected = {"ofBool": bool, "ofNat": int, "ofString": str}[ctor]
            if not isinstance(argument, expected) or (ctor != "ofBool" and isinstance(argument, bool)):
                raise _unsupported(self.reader.file, token, f"`{ctor}` applied to {argument!r}")
            return argument
        if not isinstance(argument, _Name):
            raise _unsupported(self.reader.file, token, f"`{ctor}` applied to {argument!r}, not a `name")
        return Glob(str(argument), {"one": "one", "submodules": "submodules", "andSubmodules": "and_submodules"}[ctor])

    def sequence(self, close: str) -> list:
        items = []
        while True:
            token = self.peek()
            if token is not None and token.value == close:
                self.take()
                return items
            items.append(self.expression())
            token = self.take()
            if token.value == close:
                return items
            if token.value != ",":
                raise _unsupported(self.reader.file, token, f"`{token.text}` in a list (expected `,` or `{close}`)")

    def structure(self, opening: _Token):
        """``{ name := `x, value := v }``: a Lean option written as a structure."""
        fields = {}
        while (token := self.take()).value != "}":
            if token.value == ",":
                continue
            if token.kind != "ident" or self.take().value != ":=":
                raise _unsupported(self.reader.file, token, f"`{token.text}` in a structure instance")
            fields[token.value] = self.expression()
        if set(fields) == {"name", "value"} and isinstance(fields["name"], _Name):
            return LeanOption(str(fields["name"]), fields["value"])
        raise _unsupported(self.reader.file, opening, "a structure instance that is not {name := `x, value := v}")

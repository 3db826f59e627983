"""Instruction-tuning prompts rendered from records with Jinja2 templates.

A prompt type is a Jinja2 template (a ``<prompt type>.j2`` file, or a string)
that defines two macros, ``prompt()`` and ``completion()``, and declares the
record kind it renders (one whose records have ``declId``, ``module`` and
``file``) at top level::

    {% set record_kind = "full_proof" %}   {# a key of records.RECORD_KINDS #}
    {% set task = "full_proof" %}          {# optional; default: the record kind #}
    {% macro prompt() -%}
    [DECL]
    {{ decl }}
    [/DECL]
    [PROOF]
    {% endmacro %}
    {%- macro completion() -%}
    {{ proof }}
    [/PROOF]
    {%- endmacro %}

Both declarations must be string literals: they are read from the parsed
template without rendering it.

The macros read the fields of one record (e.g. ``srcUpToTactic``, ``state``,
``nextTactic`` of a ``TacticRecord``) and the function
``truncate_context(text)``, which cuts a file context to the token budget
(``ntp_datasets.truncation``; each row its own seeded way). A row's ``target`` is its completion without
a closing marker line such as ``[/PROOF]``.

The built-in prompt types are the templates in ``templates/`` beside this module
(after ntp-toolkit's ``instruction_tuning.py``), read when first used.
``prompt_types_in_dir`` reads a user's directory of templates the same way;
``prompt_type_from_string`` takes a template string.

Templates render in Jinja's immutable sandbox with ``StrictUndefined``: a variable
the record lacks, or an attempt to reach Python internals, raises
``PromptRenderError`` naming the template.

Records are left out (``drop_reason``) when their tactic or proof contains ``sorry``
(``hasSorry``: a model should not learn to answer ``sorry``), when their tactic step failed
(``tacticError``), when Lean reported an error in their declaration (``hasError``; kept with
``keep_error_rows=True``), and when a tactic lies in its declaration's statement
(``inStatement``: the prompt's ``decl`` already holds the answer).
``instruction_rows`` returns the number left out; the builder logs them by reason.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import datasets
import jinja2
import jinja2.nodes
import jinja2.sandbox

from ntp_datasets.errors import ConfigError, PromptRenderError, PromptTemplateError
from ntp_datasets.records import RECORD_KINDS, as_row, features_of_kind
from ntp_datasets.rows.truncation import ContextTruncator

logger = logging.getLogger(__name__)

TEMPLATE_SUFFIX = ".j2"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
"""The built-in templates, one ``<prompt type>.j2`` each."""
BUILTIN_PROMPT_NAMES = (
    "state_tactic", "context_state_tactic", "full_proof", "context_full_proof", "full_proof_states",
    "context_full_proof_states",
)
"""The built-in prompt types (the files of ``TEMPLATE_DIR``); config ``instruct_<name>`` serves each."""
ROW_FIELDS = ("declId", "module", "file")
"""Record fields every instruction row copies; records without them cannot be prompted."""
_CLOSING_MARKER_LINE = re.compile(r"\n\[/[^\[\]\n]+\]\s*\Z")


@dataclass(frozen=True)
class PromptType:
    """A prompt type: its name, the record kind it renders, its ``task`` label and its template."""

    name: str
    record_kind: str
    task: str
    source: str
    origin: str
    """Where the template came from (a file path, or ``<template string>``), for error messages."""


FEATURES = datasets.Features(
    {
        "prompt": datasets.Value("string"),
        "completion": datasets.Value("string"),
        "task": datasets.Value("string"),
        "prompt_name": datasets.Value("string"),
        "project": datasets.Value("string"),
        "package": datasets.Value("string"),
        "module": datasets.Value("string"),
        "file": datasets.Value("string"),
        "declId": datasets.Value("string"),
        "target": datasets.Value("string"),
        "split": datasets.Value("string"),
    }
)
"""Columns of every ``instruct_*`` config."""


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # The sandbox: a template may come from a user's directory or string, and must not reach
    # Python internals (e.g. `cycler.__init__.__globals__.os`) or change its inputs.
    return jinja2.sandbox.ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def template_declarations(source: str, origin: str) -> dict[str, str]:
    """Read the top-level ``{% set name = "literal" %}`` declarations of a template, without rendering it."""
    try:
        parsed = _environment().parse(source)
    except jinja2.TemplateSyntaxError as error:
        raise PromptTemplateError(f"prompt template {origin!r}, line {error.lineno}: {error.message}") from error
    declarations = {}
    for node in parsed.body:
        if (
            isinstance(node, jinja2.nodes.Assign)
            and isinstance(node.target, jinja2.nodes.Name)
            and isinstance(node.node, jinja2.nodes.Const)
            and isinstance(node.node.value, str)
        ):
            declarations[node.target.name] = node.node.value
    return declarations


def prompt_type_from_string(name: str, source: str, record_kind: str | None = None, origin: str = "<template string>") -> PromptType:
    """Make prompt type ``name`` of a template string; its own ``record_kind`` declaration wins over ``record_kind``."""
    declared = template_declarations(source, origin)
    kind = declared.get("record_kind", record_kind)
    if kind is None:
        raise PromptTemplateError(
            f"prompt template {origin!r} does not say which records it renders: "
            f"add {{% set record_kind = \"...\" %}} (one of {sorted(RECORD_KINDS)})"
        )
    if kind not in promptable_record_kinds():
        raise PromptTemplateError(
            f"prompt template {origin!r}: record_kind {kind!r} is not one of {promptable_record_kinds()}"
        )
    prompt_type = PromptType(name, kind, declared.get("task", kind), source, origin)
    _check_macros(prompt_type)
    return prompt_type


def promptable_record_kinds() -> list[str]:
    """Record kinds a prompt type may render: those whose records have ``ROW_FIELDS``."""
    return sorted(kind for kind in RECORD_KINDS if all(f in features_of_kind(kind) for f in ROW_FIELDS))


def _check_macros(prompt_type: PromptType) -> None:
    """Fail early, naming the template, if it lacks ``prompt()`` or ``completion()``."""
    parsed = _environment().parse(prompt_type.source)
    macros = {node.name for node in parsed.find_all(jinja2.nodes.Macro)}
    missing = sorted({"prompt", "completion"} - macros)
    if missing:
        raise PromptTemplateError(f"prompt template {prompt_type.origin!r} defines no macro {', '.join(missing)}()")


def prompt_type_from_file(path: Path) -> PromptType:
    """Make the prompt type of template file ``path``, named after the file (``<name>.j2``)."""
    name = path.name.removesuffix(TEMPLATE_SUFFIX)
    return prompt_type_from_string(name, path.read_text(encoding="utf-8"), origin=str(path))


def prompt_types_in_dir(directory) -> dict[str, PromptType]:
    """Every ``<name>.j2`` of ``directory`` as prompt type ``name``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PromptTemplateError(f"prompt template directory not found: {directory}")
    return {path.name.removesuffix(TEMPLATE_SUFFIX): prompt_type_from_file(path) for path in sorted(directory.glob("*" + TEMPLATE_SUFFIX))}


class _BuiltinPromptTypes(Mapping):
    """The built-in prompt types by name; each template is read when first looked up."""

    def __getitem__(self, name: str) -> PromptType:
        if name not in BUILTIN_PROMPT_NAMES:
            raise KeyError(name)
        return _builtin_prompt_type(name)

    def __iter__(self) -> Iterator[str]:
        return iter(BUILTIN_PROMPT_NAMES)

    def __len__(self) -> int:
        return len(BUILTIN_PROMPT_NAMES)


@functools.lru_cache(maxsize=None)
def _builtin_prompt_type(name: str) -> PromptType:
    return prompt_type_from_file(TEMPLATE_DIR / f"{name}{TEMPLATE_SUFFIX}")


PROMPT_TYPES: Mapping[str, PromptType] = _BuiltinPromptTypes()
"""Built-in prompt type name -> ``PromptType``; config ``instruct_<name>`` serves each."""


def resolve_prompt_type(
    prompt_name: str | None,
    *,
    template: str | None = None,
    template_dir=None,
    record_kind: str | None = None,
) -> PromptType:
    """Find the prompt type a config asks for.

    ``template``: a template string, prompt type ``prompt_name`` (default ``custom``);
    its record kind is its declaration or else ``record_kind``. Otherwise
    ``prompt_name`` is looked up in ``template_dir`` first, then among the
    built-ins; ``prompt_name`` may be omitted when ``template_dir`` holds one template.
    """
    if template is not None:
        return prompt_type_from_string(prompt_name or "custom", template, record_kind)
    available = dict(PROMPT_TYPES)
    if template_dir is not None:
        user_types = prompt_types_in_dir(template_dir)
        if prompt_name is None and len(user_types) == 1:
            return next(iter(user_types.values()))
        available.update(user_types)
    if prompt_name not in available:
        raise ConfigError(f"prompt_name must be one of {sorted(available)}, got {prompt_name!r}")
    return available[prompt_name]


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> jinja2.Template:
    return _environment().from_string(source)


def _as_prompt_type(prompt) -> PromptType:
    return prompt if isinstance(prompt, PromptType) else PROMPT_TYPES[prompt]


def _no_truncation(text: str) -> str:
    return text


def render(prompt, variables: dict) -> dict[str, str]:
    """Render ``prompt`` (a ``PromptType`` or built-in name) with ``variables``; return ``{"prompt", "completion"}``.

    ``variables`` are a record's fields; without a ``truncate_context`` entry
    the context is not cut.
    """
    prompt_type = _as_prompt_type(prompt)
    variables = {"truncate_context": _no_truncation, **variables}
    rendered, part = {}, "top level"
    try:
        module = _compiled(prompt_type.source).make_module(variables)
        for part in ("prompt", "completion"):
            rendered[part] = str(getattr(module, part)())
    except (jinja2.UndefinedError, jinja2.sandbox.SecurityError) as error:
        where = part if part == "top level" else f"macro {part}()"
        raise PromptRenderError(f"prompt template {prompt_type.origin!r}, {where}: {error.message}") from error
    return rendered


def completion_target(completion: str) -> str:
    """The completion without its closing marker line (``"simp\\n[/TAC]"`` -> ``"simp"``)."""
    return _CLOSING_MARKER_LINE.sub("", completion)


def row_key(row: dict) -> str:
    """Name a record's row by declaration and source position (e.g. ``M:foo@5:2``), independent of row order."""
    position = ":".join(str(row[field]) for field in ("line", "column") if field in row)
    return f"{row['declId']}@{position}"


def has_sorry(record) -> bool:
    """Whether a record's tactic or proof contains ``sorry`` (records without ``hasSorry`` never do).
    A record read from ntp-toolkit output (``hasSorry`` null) is tested as ntp-toolkit's
    ``instruction_tuning.py`` tests it: the word ``sorry`` in its ``nextTactic`` or ``proof``."""
    flag = getattr(record, "hasSorry", False)
    if flag is None:
        return "sorry" in (getattr(record, "nextTactic", None) or getattr(record, "proof", None) or "")
    return bool(flag)


DROP_REASONS = {
    "sorry": "containing sorry",
    "failed_tactic": "of tactic steps that failed",
    "error": "of declarations with Lean errors",
    "statement": "inside a declaration's statement",
    "duplicate": "of declarations whose statement is kept once, in train (dedup)",
}
"""Why a prompt config leaves a record out (``drop_reason``) -> how the log says it."""


def drop_reason(record, keep_error_rows: bool = False) -> str | None:
    """Why prompt configs leave ``record`` out, a key of ``DROP_REASONS``, or None to keep it:
    ``sorry`` (``has_sorry``), ``failed_tactic`` (a step that failed, ``tacticError``: its tactic
    is no answer to its state, even with ``keep_error_rows``), ``error`` (Lean reported an error
    inside its declaration, ``hasError``; None with ``keep_error_rows``), ``statement`` (a tactic
    inside its declaration's statement, ``inStatement``, which the prompt's ``decl`` already
    shows). (``duplicate`` is the builder's, for ``dedup``.)"""
    if has_sorry(record):
        return "sorry"
    if getattr(record, "tacticError", None) is not None:
        return "failed_tactic"
    if getattr(record, "hasError", False) and not keep_error_rows:
        return "error"
    if getattr(record, "inStatement", False):
        return "statement"
    return None


def instruction_row(
    prompt_type: PromptType,
    record,
    *,
    project: str = "",
    package: str = "",
    split: str = "train",
    truncator: ContextTruncator | None = None,
) -> dict:
    """Render one record as a row of ``instruct_<prompt_type.name>`` (columns: ``FEATURES``);
    ``project`` and ``package`` say where its module comes from."""
    variables = as_row(record)
    if truncator is not None:
        variables["truncate_context"] = truncator.for_row(row_key(variables))
    rendered = render(prompt_type, variables)
    return {
        **rendered,
        "task": prompt_type.task,
        "prompt_name": prompt_type.name,
        "project": project,
        "package": package,
        "module": record.module,
        "file": record.file,
        "declId": record.declId,
        "target": completion_target(rendered["completion"]),
        "split": split,
    }


def instruction_rows(
    prompt, records: Iterable, *, project: str = "", split: str = "train", truncator: ContextTruncator | None = None,
    keep_error_rows: bool = False,
) -> tuple[list[dict], int]:
    """Render ``records`` as rows of one split; return (rows, number left out: ``drop_reason``)."""
    prompt_type = _as_prompt_type(prompt)
    rows, dropped = [], 0
    for record in records:
        if drop_reason(record, keep_error_rows):
            dropped += 1
            continue
        rows.append(instruction_row(prompt_type, record, project=project, split=split, truncator=truncator))
    return rows, dropped

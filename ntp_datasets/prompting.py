"""Instruction-tuning prompts rendered from records with Jinja2 templates.

A prompt type is a template file ``prompts/<prompt type>.j2`` that defines
two macros, ``prompt()`` and ``completion()``; each reads the fields of one
record (e.g. ``srcUpToTactic``, ``state``, ``nextTactic`` of a
``TacticRecord``). (This module is not named ``prompts``: installed, that name
is the data package holding the templates.)
Templates render with ``StrictUndefined``: a field the record lacks raises
``PromptRenderError`` naming the template and the variable.

Rows whose record has ``hasSorry=True`` are dropped: a model should not learn
to answer ``sorry``. ``instruction_rows`` returns the number dropped; the
builder logs it.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Iterable

import datasets
import jinja2

from ntp_datasets.records import as_row
from ntp_datasets.resources import resource_dir

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromptType:
    """A prompt type: its name, the record kind it renders, and its template file."""

    name: str
    record_kind: str
    template: str


PROMPT_TYPES = {
    "context_state_tactic": PromptType(
        "context_state_tactic", "tactic_prediction", "context_state_tactic.j2"
    ),
}
"""Prompt type name -> ``PromptType``; config ``instruct_<name>`` serves each."""

FEATURES = datasets.Features(
    {
        "prompt": datasets.Value("string"),
        "completion": datasets.Value("string"),
        "task": datasets.Value("string"),
        "prompt_name": datasets.Value("string"),
        "module": datasets.Value("string"),
        "file": datasets.Value("string"),
        "declId": datasets.Value("string"),
    }
)
"""Columns of every ``instruct_*`` config."""


class PromptRenderError(ValueError):
    """A template used a variable the record does not provide."""


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_dir("prompts")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(prompt_name: str, variables: dict) -> dict[str, str]:
    """Render prompt type ``prompt_name`` with ``variables``; return ``{"prompt", "completion"}``."""
    template_name = PROMPT_TYPES[prompt_name].template
    module = _environment().get_template(template_name).make_module(variables)
    rendered = {}
    for macro in ("prompt", "completion"):
        try:
            rendered[macro] = str(getattr(module, macro)())
        except jinja2.UndefinedError as error:
            raise PromptRenderError(
                f"prompt template {template_name!r}, macro {macro}(): {error.message}"
            ) from error
    return rendered


def instruction_rows(prompt_name: str, records: Iterable) -> tuple[list[dict], int]:
    """Render ``records`` as ``instruct_<prompt_name>`` rows; return (rows, number dropped for sorry)."""
    prompt_type = PROMPT_TYPES[prompt_name]
    rows, dropped = [], 0
    for record in records:
        if record.hasSorry:
            dropped += 1
            continue
        rows.append(
            {
                **render(prompt_name, as_row(record)),
                "task": prompt_type.record_kind,
                "prompt_name": prompt_name,
                "module": record.module,
                "file": record.file,
                "declId": record.declId,
            }
        )
    return rows, dropped

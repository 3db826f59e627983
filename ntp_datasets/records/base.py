"""What every record kind shares: slicing a module's source by the extractor's byte offsets,
declaration ids, goal text, and the ``datasets.Features`` of a record class, derived from its
dataclass fields (:func:`record`).

Source text: the extractor's byte offsets are offsets into the file as written (CRLF line
endings and all), so every text field is a slice of the file's own text; a leading UTF-8
byte-order mark is not part of any field."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator
from typing import TypedDict

import datasets

from ntp_datasets.extraction import ModuleOutput

NO_GOALS = "no goals"
"""What a state comment says when no goals are left (as Lean prints it); ``state`` is "" then."""

BOM = "\ufeff".encode("utf-8")
"""The UTF-8 byte-order mark, which a file may start with; it is not part of any text field."""

DECL_KINDS_WITHOUT_PROOF = frozenset({"structure", "class", "inductive", "class inductive", "axiom"})
"""Declaration kinds whose body is not a proof or value (``full_proof`` skips them)."""


class Constant(TypedDict):
    """A constant a declaration or tactic uses, and the module that declares it."""

    name: str
    module: str


_SCALARS = {str: datasets.Value("string"), int: datasets.Value("int32"), bool: datasets.Value("bool")}


def feature_of_type(annotation) -> datasets.features.features.FeatureType:
    """The ``datasets`` feature of a field type: ``str``, ``int`` (int32), ``bool``, a
    ``list[...]`` of these, a ``TypedDict`` (a struct), or ``X | None`` (X, null allowed)."""
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) and len(args) == 2 and type(None) in args:
        # `X | None`: a nullable column of X (every datasets value may be null).
        (item,) = [a for a in args if a is not type(None)]
        return feature_of_type(item)
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        return datasets.List(feature_of_type(item))
    if typing.is_typeddict(annotation):
        return {name: feature_of_type(t) for name, t in typing.get_type_hints(annotation).items()}
    raise TypeError(f"no datasets feature for field type {annotation!r}")


def features_of(record_class) -> datasets.Features:
    """The ``datasets.Features`` of a record dataclass: one column per field, in field order."""
    hints = typing.get_type_hints(record_class)
    return datasets.Features({f.name: feature_of_type(hints[f.name]) for f in dataclasses.fields(record_class)})


def record(cls):
    """Make ``cls`` a frozen dataclass whose ``FEATURES`` are derived from its fields."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    cls.FEATURES = features_of(cls)
    return cls


def as_row(record_value) -> dict:
    """Return a record as a plain dict keyed by its dataset column names."""
    return dataclasses.asdict(record_value)


class SourceBytes:
    """A module's source encoded once as UTF-8, sliced by the extractor's byte offsets (offsets
    into the file as written, see ``ntp_datasets/extraction/Extract.lean``)."""

    def __init__(self, source: str):
        self.data = source.encode("utf-8")
        self.text_start = len(BOM) if self.data.startswith(BOM) else 0
        """Where the text begins: after a byte-order mark, if the file has one."""
        self.newline = "\r\n" if b"\r\n" in self.data else "\n"
        """The file's line ending (CRLF if it uses any), for text inserted into it."""

    def slice(self, start: int | None = None, end: int | None = None) -> str:
        """Return the source text between byte offsets ``start`` (default: where the text
        begins, after a byte-order mark) and ``end`` (default: the end of the file)."""
        if start is None:
            start = self.text_start
        try:
            return self.data[start:end].decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"byte range [{start}:{end}] cuts a UTF-8 character; extractor offsets must be byte offsets"
            ) from error


def events_of(module_output: ModuleOutput, kind: str) -> Iterator[dict]:
    """The module's extractor events of ``kind`` (``declaration``, ``tactic``, ``message``, ``imports``)."""
    return (event for event in module_output.events if event.get("kind") == kind)


def decl_id(module: str, declaration: dict) -> str:
    """Return a declaration's stable id: ``module:name``, or ``module:_example_LINE_COLUMN`` if anonymous."""
    name = declaration.get("name")
    if name:
        return f"{module}:{name}"
    return f"{module}:_example_{declaration['line']}_{declaration['column']}"


def state_text(goals: list[str]) -> str:
    """Join pretty-printed goals the way ntp-toolkit does: one newline between goals, ""
    when there are none."""
    return "\n".join(goals)


def statement(source: SourceBytes, declaration: dict) -> str:
    """The declaration up to where its proof or value begins, without trailing whitespace."""
    return source.slice(declaration["start"], declaration["sigEnd"]).rstrip()


def has_proof(source: SourceBytes, declaration: dict) -> bool:
    """Whether a declaration carries a proof or value (theorem, def, example, instance, ...)."""
    if declaration["declKind"] in DECL_KINDS_WITHOUT_PROOF:
        return False
    return bool(source.slice(declaration["sigEnd"], declaration["end"]).strip())


def names_of(constants: list[dict], props: bool | None = None) -> list[str]:
    """Names of extractor constants (``{name, isProp, module}``), only the Prop-typed or only
    the other ones when ``props`` says so."""
    return [c["name"] for c in constants if props is None or c["isProp"] == props]


def union(*lists: list[str]) -> list[str]:
    """Union of name lists, in order of first appearance."""
    return list(dict.fromkeys(name for names in lists for name in names))

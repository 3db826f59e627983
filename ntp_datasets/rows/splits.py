"""Seeded train/dev/test splits of instruction rows, at declaration and at file level.

Following ntp-toolkit's ``instruction_tuning.py``:

- **file level**: a fraction of the project's files is held out whole, as
  ``file_split_dev`` and ``file_split_test`` (unseen files). Rows of those
  files go there and to no other split.
- **declaration level**: the rows of every other file go to ``train``,
  ``dev`` or ``test`` by their declaration, so all rows of one declaration
  (e.g. all its tactic steps) share a split.

A file's or declaration's split is a pure function of ``(seed, file)`` or
``(seed, declId)``: a hash, read as a number in [0, 1), is compared with the
fractions. So it does not depend on the order of modules, on the number of
workers, or on what else the project contains, and it stays put when other
files are added. The fractions are expected shares, not exact counts: a small
project may have no dev or test row at all.

Two more strategies put declarations in ``dev``/``test`` by what they are rather than by a
hash: ``novel_premises`` (:func:`novel_premises_splits`) and ``temporal``
(:func:`temporal_splits`: theorems created after a cut-off date, as miniCTX selects them).
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass

from ntp_datasets.errors import ConfigError

TRAIN, DEV, TEST = "train", "dev", "test"
FILE_SPLIT_DEV, FILE_SPLIT_TEST = "file_split_dev", "file_split_test"
SPLIT_NAMES = (TRAIN, DEV, TEST, FILE_SPLIT_DEV, FILE_SPLIT_TEST)
"""Every split of an ``instruct_*`` config, in the order the builder writes them."""


def seeded_fraction(seed: int, kind: str, key: str) -> float:
    """A number in [0, 1) fixed by ``(seed, kind, key)``: the same in every process and run."""
    digest = hashlib.sha256(f"{seed}\0{kind}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class SplitFractions:
    """Expected shares of each held-out split, and the seed of the assignment.

    ``dev``/``test``: shares of declarations (of files not held out) in dev/test
    (ntp-toolkit's ``--num-dev-examples``, which gives dev and test the same share).
    ``file_dev``/``file_test``: shares of files held out as ``file_split_dev``/
    ``file_split_test`` (ntp-toolkit's ``--num-eval-dev-files``/``--num-eval-test-files``).
    """

    dev: float = 0.025
    test: float = 0.025
    file_dev: float = 0.0
    file_test: float = 0.0
    seed: int = 42

    def __post_init__(self):
        for name in ("dev", "test", "file_dev", "file_test"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"split fraction {name} must be in [0, 1], got {getattr(self, name)!r}")
        if self.dev + self.test > 1.0 or self.file_dev + self.file_test > 1.0:
            raise ConfigError(f"split fractions add up to more than 1: {self}")


def file_split(fractions: SplitFractions, file: str) -> str | None:
    """``file_split_dev``/``file_split_test`` if ``file`` is held out whole, else None."""
    share = seeded_fraction(fractions.seed, "file", file)
    if share < fractions.file_dev:
        return FILE_SPLIT_DEV
    if share < fractions.file_dev + fractions.file_test:
        return FILE_SPLIT_TEST
    return None


def declaration_split(fractions: SplitFractions, decl_id: str) -> str:
    """``train``, ``dev`` or ``test`` for the declaration ``decl_id``."""
    share = seeded_fraction(fractions.seed, "declaration", decl_id)
    if share < fractions.dev:
        return DEV
    if share < fractions.dev + fractions.test:
        return TEST
    return TRAIN


def split_of(fractions: SplitFractions, file: str, decl_id: str | None) -> str:
    """The split of a row of declaration ``decl_id`` in ``file``: its file's if held out, else its
    declaration's. A row of no known declaration (``decl_id`` None: read from ntp-toolkit output
    with an empty ``declName``) goes to ``train``, as ntp-toolkit's ``instruction_tuning.py`` puts it."""
    return file_split(fractions, file) or (declaration_split(fractions, decl_id) if decl_id is not None else TRAIN)


SPLIT_STRATEGIES = ("random", "novel_premises", "temporal")
"""How declarations are put in ``train``/``dev``/``test``: ``random`` (:func:`declaration_split`,
each by its own seeded hash), ``novel_premises`` (:func:`novel_premises_splits`) or
``temporal`` (:func:`temporal_splits`)."""

_CUTOFF = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_cutoff(cutoff) -> str:
    """``cutoff`` if it is a date ``YYYY-MM-DD``, else a ``ConfigError``."""
    if not isinstance(cutoff, str) or not _CUTOFF.fullmatch(cutoff):
        raise ConfigError(f'cutoff must be a date "YYYY-MM-DD", got {cutoff!r}')
    try:
        datetime.date.fromisoformat(cutoff)
    except ValueError:
        raise ConfigError(f"cutoff {cutoff!r} is not a date of the calendar") from None
    return cutoff


@dataclass(frozen=True)
class TemporalSplit:
    """The held-out declarations of a temporal split (``{(project, declId): split}``) and what
    it counted: declarations created after the cut-off, and declarations without a date."""

    held_out: dict[tuple[str, str], str]
    after_cutoff: int
    undated: int


def temporal_splits(fractions: SplitFractions, declarations, date_of, cutoff: str) -> TemporalSplit:
    """The ``temporal`` strategy: the declarations ``minictx_select.py`` selects (``selectable``:
    theorems whose proof has no ``sorry``) created after ``cutoff`` (their date, ``date_of(fact)``,
    later than it, as the script compares) go to ``test``, a seeded half of them (rounded down)
    to ``dev``; every other declaration to ``train``. A declaration without a date goes to
    train and is counted. Declarations of files held out whole (:func:`file_split`) take no
    part. ``declarations``: ``records.DeclarationFacts``."""
    check_cutoff(cutoff)
    late, undated = [], 0
    for fact in declarations:
        if file_split(fractions, fact.file) is not None:
            continue
        date = date_of(fact).date
        if date is None:
            undated += 1
        elif fact.selectable and date > cutoff:
            late.append((fact.project, fact.declId))
    order = sorted(late, key=lambda key: (seeded_fraction(fractions.seed, "temporal", "\0".join(key)), key))
    dev_count = len(order) // 2
    held_out = {key: DEV if index < dev_count else TEST for index, key in enumerate(order)}
    return TemporalSplit(held_out=held_out, after_cutoff=len(order), undated=undated)


@dataclass(frozen=True)
class SplitAssignment:
    """The split of every declaration of a build with a proof or value, by ``(project, declId)``,
    and the declarations ``dedup`` left out (``rows.leakage``)."""

    splits: dict[tuple[str, str], str]
    dropped: frozenset[tuple[str, str]] = frozenset()


def novel_premises_splits(fractions: SplitFractions, declarations: list[tuple[str, str, list[str]]]) -> dict[str, str]:
    """The ``dev``/``test`` declarations of the ``novel_premises`` strategy, as ``{declId: split}``
    (a declaration not in it is in ``train``, unless its file is held out whole).

    ``declarations``: ``(file, declId, premises)`` of every declaration (premises: the theorems its
    proof uses). Declarations of files held out whole (:func:`file_split`) take no part. Premises are
    taken in an order fixed by ``(seed, premise)``; a premise is taken when the declarations using it
    that are still in train are at least one and fit in what dev (then test) still lacks; all of
    them then go to that split. So every dev and test declaration uses a premise that no train
    declaration uses. The targets are ``round(share * n)`` of the ``n`` declarations that take
    part; a small project, or one whose premises are all shared widely, may get fewer."""
    users: dict[str, list[str]] = {}
    taking_part = []
    for file, decl_id, premises in declarations:
        if file_split(fractions, file) is not None:
            continue
        taking_part.append(decl_id)
        for premise in dict.fromkeys(premises):
            users.setdefault(premise, []).append(decl_id)
    order = sorted(users, key=lambda premise: (seeded_fraction(fractions.seed, "premise", premise), premise))
    assignment: dict[str, str] = {}
    for split, share in ((DEV, fractions.dev), (TEST, fractions.test)):
        missing = round(share * len(taking_part))
        for premise in order:
            if missing <= 0:
                break
            fresh = [d for d in dict.fromkeys(users[premise]) if d not in assignment]
            if fresh and len(fresh) <= missing:
                assignment.update(dict.fromkeys(fresh, split))
                missing -= len(fresh)
    return assignment

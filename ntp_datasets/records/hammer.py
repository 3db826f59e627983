"""ntp-toolkit's hammer recommendations: the lemmas a tactic or proof hands an automated prover,
each with a hint saying how its ``simp_all`` preprocessing should take it.

The extractor reports, per tactic, the theorems and axioms of the proof term it assigned to its
main goal (``hammerTerm``) and the lemmas its ``simp [...]``/``rw [...]`` syntax names with their
hints (``hammerSyntax``); per theorem, the theorems and axioms of its value (``valueHammer``).
This module applies a blacklist (``BLACKLIST_ENV``) and merges hints as its
``training_data_with_premises`` does."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import TypedDict

from ntp_datasets.errors import ConfigError

logger = logging.getLogger(__name__)

BLACKLIST_ENV = "NTP_HAMMER_BLACKLIST"
"""Names a file of the constants never to recommend, one name a line. ntp-toolkit leaves out
the names of its ``hammerRecommendationBlackList`` (basic logic a prover knows already); that
list is ntp-toolkit's, so ntp-datasets does not ship it: for ntp-toolkit's exact
recommendations, write its names into a file and name the file here. Unset: nothing is left
out (and :func:`blacklist` logs a warning once)."""

HINT_PRIORITY = ("simpErase", "unmodified", "backwardOnly", "simpPreOnly", "simpPostOnly",
                 "simpPreAndBackward", "simpPostAndBackward", "notInSimpAll")
"""ntp-toolkit's hints (``SimpAllHint``), the one a name keeps first when it gets several."""

NOT_IN_SIMP_ALL = "notInSimpAll"
"""The hint of a lemma the prover gets but ``simp_all`` does not (every term premise, ``rw`` lemmas)."""


class HammerHint(TypedDict):
    """A recommended lemma and its ``SimpAllHint``."""

    name: str
    hint: str


@functools.lru_cache(maxsize=None)
def _read_blacklist(path: str) -> frozenset[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{BLACKLIST_ENV}={path}: cannot read the hammer blacklist: {e.strerror or e}") from None
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def blacklist() -> frozenset[str]:
    """The hammer blacklist named by ``$NTP_HAMMER_BLACKLIST`` (see ``BLACKLIST_ENV``), or none."""
    path = os.environ.get(BLACKLIST_ENV)
    if not path:
        _warn_no_blacklist()
        return frozenset()
    return _read_blacklist(path)


@functools.lru_cache(maxsize=1)
def _warn_no_blacklist() -> None:
    logger.warning("%s is not set: hammer recommendations leave out no names (ntp-toolkit leaves out those of its "
                   "blacklist; see the README, 'Premise fields')", BLACKLIST_ENV)


Recommendation = dict[str, str]
"""Lemma name -> hint."""


def add(recommendation: Recommendation, name: str, hint: str) -> None:
    """Add ``name`` with ``hint``; a name already there keeps the higher-priority hint."""
    old = recommendation.get(name)
    if old is None or HINT_PRIORITY.index(hint) < HINT_PRIORITY.index(old):
        recommendation[name] = hint


def merge(*recommendations: Recommendation) -> Recommendation:
    """The union of recommendations, each name with its highest-priority hint."""
    out: Recommendation = {}
    for recommendation in recommendations:
        for name, hint in recommendation.items():
            add(out, name, hint)
    return out


def of_tactic(tactic: dict) -> Recommendation:
    """A tactic's recommendation: the lemmas its simp/rw syntax names, with their hints, then the
    theorems of its proof term as ``notInSimpAll``; blacklisted names left out."""
    out: Recommendation = {}
    for item in tactic.get("hammerSyntax", []):
        if item["name"] not in blacklist():
            add(out, item["name"], item["hint"])
    return merge(out, of_terms(tactic.get("hammerTerm", [])))


def of_terms(names: list[str]) -> Recommendation:
    """Theorems of a proof term as ``notInSimpAll``, blacklisted names left out."""
    return {name: NOT_IN_SIMP_ALL for name in names if name not in blacklist()}


def as_strings(recommendation: Recommendation) -> list[str]:
    """ntp-toolkit's rendering, sorted by name: ``"(name, hint)"`` per lemma."""
    return [f"({name}, {hint})" for name, hint in sorted(recommendation.items())]


def as_hints(recommendation: Recommendation) -> list[HammerHint]:
    """The recommendation as ``{name, hint}`` structs, sorted by name."""
    return [HammerHint(name=name, hint=hint) for name, hint in sorted(recommendation.items())]

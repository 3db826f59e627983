"""ntp-toolkit's hammer recommendations: the lemmas a tactic or proof hands an automated prover,
each with a hint saying how its ``simp_all`` preprocessing should take it.

The extractor reports, per tactic, the theorems and axioms of the proof term it assigned to its
main goal (``hammerTerm``) and the lemmas its ``simp [...]``/``rw [...]`` syntax names with their
hints (``hammerSyntax``); per theorem, the theorems and axioms of its value (``valueHammer``).
This module applies ntp-toolkit's blacklist and merges hints as its
``training_data_with_premises`` does."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TypedDict

BLACKLIST_FILE = Path(__file__).resolve().parent / "hammer_blacklist.txt"
"""The constants ntp-toolkit never recommends (basic logic a prover knows already), one name a
line: the names of ntp-toolkit's ``hammerRecommendationBlackList`` (at commit e5ff982)."""

HINT_PRIORITY = ("simpErase", "unmodified", "backwardOnly", "simpPreOnly", "simpPostOnly",
                 "simpPreAndBackward", "simpPostAndBackward", "notInSimpAll")
"""ntp-toolkit's hints (``SimpAllHint``), the one a name keeps first when it gets several."""

NOT_IN_SIMP_ALL = "notInSimpAll"
"""The hint of a lemma the prover gets but ``simp_all`` does not (every term premise, ``rw`` lemmas)."""


class HammerHint(TypedDict):
    """A recommended lemma and its ``SimpAllHint``."""

    name: str
    hint: str


@functools.lru_cache(maxsize=1)
def blacklist() -> frozenset[str]:
    """ntp-toolkit's hammer blacklist (``BLACKLIST_FILE``)."""
    return frozenset(line.strip() for line in BLACKLIST_FILE.read_text(encoding="utf-8").splitlines() if line.strip())


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

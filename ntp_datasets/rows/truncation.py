"""Cutting a prompt's file context down to a token budget, as ntp-toolkit does.

A context longer than the budget is cut in one of two ways, chosen per row:

- **head and tail**: keep the start and the end of the context, joined by
  ``TRUNCATION_MARKER`` (``/- [LONG FILE TRUNCATED] -/``);
- **tail**: keep only the end (the part nearest the proof).

The choice comes from a generator seeded with ``(seed, row key)``, where the
row key names the declaration and position of the row, so a rebuild gives the
same rows whatever the order of modules or the number of workers.

The budget covers the whole cut context, marker included: its pieces, each
counted by the tokenizer on its own, sum to at most ``max_tokens``.

Tokenizers: anything ``token_counter`` accepts. The default,
``regex_word_tokens``, needs no download: a token is a run of word characters
or one other non-space character, so ``n + 0 = n`` is 5 tokens and whitespace
is free: a rough, offline stand-in for a subword tokenizer's count.
"""

from __future__ import annotations

import hashlib
import inspect
import random
import re
from typing import Callable

from ntp_datasets.errors import ConfigError

TRUNCATION_MARKER = "\n\n /- [LONG FILE TRUNCATED] -/\n\n"
"""Joins the kept head and tail of a cut context (ntp-toolkit's text)."""

DEFAULT_TOKENIZER_NAME = "regex-words"
"""Name of the default tokenizer, ``regex_word_tokens``."""

_WORD_OR_SYMBOL = re.compile(r"\w+|[^\w\s]")

TokenCounter = Callable[[str], int]


def regex_word_tokens(text: str) -> list[str]:
    """Split ``text`` into runs of word characters and single other non-space characters."""
    return _WORD_OR_SYMBOL.findall(text)


def load_tokenizer(name: str):
    """Return the tokenizer a string names: ``"regex-words"`` or ``"tiktoken:<encoding>"``.

    ``tiktoken:cl100k_base`` needs the ``tiktoken`` package and its encoding
    files (downloaded once by tiktoken, or present in ``TIKTOKEN_CACHE_DIR``).
    """
    if name == DEFAULT_TOKENIZER_NAME:
        return regex_word_tokens
    if name.startswith("tiktoken:"):
        try:
            import tiktoken
        except ImportError as error:
            raise ConfigError(f"tokenizer {name!r} needs the tiktoken package") from error
        return tiktoken.get_encoding(name.removeprefix("tiktoken:"))
    raise ConfigError(f"unknown tokenizer name {name!r}: use {DEFAULT_TOKENIZER_NAME!r} or 'tiktoken:<encoding>'")


def token_counter(tokenizer) -> TokenCounter:
    """Return a function counting the tokens of a text with ``tokenizer``.

    ``tokenizer`` is one of: None (the default, ``regex_word_tokens``); a name
    for ``load_tokenizer``; an object whose ``.encode(text)`` returns a list
    (tiktoken encodings, transformers tokenizers) or an object with ``.ids``
    (tokenizers' ``Tokenizer``); a callable ``str -> list``.
    """
    if tokenizer is None:
        tokenizer = regex_word_tokens
    elif isinstance(tokenizer, str):
        tokenizer = load_tokenizer(tokenizer)
    # `.encode` first: transformers tokenizers are callable too, but calling
    # one returns a dict of model inputs rather than a list of tokens.
    encode = tokenizer.encode if hasattr(tokenizer, "encode") else tokenizer
    if not callable(encode):
        raise TypeError(f"tokenizer must be callable or have .encode, got {type(tokenizer).__name__}")

    def count(text: str) -> int:
        encoded = encode(text)
        return len(encoded.ids if hasattr(encoded, "ids") else encoded)

    return count


def tokenizer_name(tokenizer) -> str:
    """A stable description of ``tokenizer`` for cache ids (never its memory address)."""
    if tokenizer is None:
        return DEFAULT_TOKENIZER_NAME
    if isinstance(tokenizer, str):
        return tokenizer
    named = tokenizer if inspect.isroutine(tokenizer) else type(tokenizer)
    description = f"{getattr(named, '__module__', None) or ''}.{named.__qualname__}".lstrip(".")
    # tiktoken encodings carry `.name`, transformers tokenizers `.name_or_path`.
    label = getattr(tokenizer, "name_or_path", None) or getattr(tokenizer, "name", None)
    return f"{description}:{label}" if isinstance(label, str) and label else description


def longest_prefix(text: str, max_tokens: int, count: TokenCounter) -> str:
    """The longest start of ``text`` that counts at most ``max_tokens`` tokens."""
    length = _longest_fitting_length(len(text), max_tokens, lambda n: count(text[:n]))
    return text[:length]


def longest_suffix(text: str, max_tokens: int, count: TokenCounter) -> str:
    """The longest end of ``text`` that counts at most ``max_tokens`` tokens."""
    length = _longest_fitting_length(len(text), max_tokens, lambda n: count(text[len(text) - n :]))
    return text[len(text) - length :]


def _longest_fitting_length(total: int, max_tokens: int, tokens_of_length: Callable[[int], int]) -> int:
    """Binary search for the largest character length whose piece fits ``max_tokens``.

    Cutting characters (not decoded token ids) works for every tokenizer and
    never splits a character; only lengths that were measured to fit are kept.
    """
    fits, too_long = 0, total + 1
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if tokens_of_length(middle) <= max_tokens:
            fits = middle
        else:
            too_long = middle
    return fits


def truncate(text: str, max_tokens: int, count: TokenCounter, keep_head: bool) -> str:
    """Cut ``text`` to ``max_tokens`` tokens: head and tail around the marker, or the tail only.

    ``max_tokens <= 0`` means no limit. A budget too small to hold the marker
    and some text on both sides keeps the tail only.
    """
    if max_tokens <= 0 or count(text) <= max_tokens:
        return text
    text_budget = max_tokens - count(TRUNCATION_MARKER)
    if not keep_head or text_budget < 2:
        return longest_suffix(text, max_tokens, count)
    head_budget = text_budget // 2
    head = longest_prefix(text, head_budget, count)
    tail = longest_suffix(text[len(head) :], text_budget - head_budget, count)
    return head + TRUNCATION_MARKER + tail


def keeps_head(seed: int, row_key: str) -> bool:
    """Whether the row named ``row_key`` keeps head and tail (else the tail only): a fair coin seeded by both."""
    material = hashlib.sha256(f"{seed}\0{row_key}".encode()).digest()
    return random.Random(int.from_bytes(material[:8], "big")).random() < 0.5


class ContextTruncator:
    """Cuts contexts to ``max_tokens`` tokens of ``tokenizer``, each row's way chosen by ``seed``."""

    def __init__(self, max_tokens: int = 1024, tokenizer=None, seed: int = 42):
        self.max_tokens = max_tokens
        self.seed = seed
        self.count = token_counter(tokenizer)

    def for_row(self, row_key: str) -> Callable[[str], str]:
        """Return the function that cuts a context of the row named ``row_key``."""
        keep_head = keeps_head(self.seed, row_key)
        return lambda text: truncate(text, self.max_tokens, self.count, keep_head)

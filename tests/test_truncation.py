"""Context truncation by tokens: bound, marker, the seeded choice, pluggable tokenizers."""

import importlib.util
import os

import pytest

import ntp_datasets
from ntp_datasets.rows import prompting, truncation
from ntp_datasets.builders.ntp_toolkit import NtpToolkit
from ntp_datasets.records import TacticRecord
from ntp_datasets.rows.truncation import TRUNCATION_MARKER, ContextTruncator, regex_word_tokens, token_counter

LEMMAS = "".join(f"theorem lemma_{i} (n : Nat) : n + {i} = {i} + n := by\n  omega\n\n" for i in range(200))
count = token_counter(None)


def test_default_tokenizer_counts_words_and_symbols():
    assert regex_word_tokens("theorem foo (n : ℕ) : n + 0 = n") == [
        "theorem", "foo", "(", "n", ":", "ℕ", ")", ":", "n", "+", "0", "=", "n",
    ]  # fmt: skip
    assert count("  \n ") == 0


def test_context_within_budget_is_unchanged():
    assert truncation.truncate("theorem a : True := trivial", 10, count, keep_head=True) == "theorem a : True := trivial"
    assert truncation.truncate(LEMMAS, 0, count, keep_head=True) == LEMMAS  # 0: no limit


def test_head_and_tail_keep_both_ends_around_the_marker_within_budget():
    cut = truncation.truncate(LEMMAS, 100, count, keep_head=True)

    head, tail = cut.split(TRUNCATION_MARKER)
    assert TRUNCATION_MARKER == "\n\n /- [LONG FILE TRUNCATED] -/\n\n"
    assert LEMMAS.startswith(head) and LEMMAS.endswith(tail)
    assert head.startswith("theorem lemma_0 ") and tail.endswith("omega\n\n")
    assert count(cut) <= 100
    # Little is wasted: both pieces are nearly as long as they may be.
    assert count(cut) >= 95


def test_tail_keeps_the_longest_end_within_budget():
    cut = truncation.truncate(LEMMAS, 100, count, keep_head=False)

    assert TRUNCATION_MARKER not in cut
    assert LEMMAS.endswith(cut)
    assert count(cut) <= 100
    assert count(LEMMAS[-len(cut) - 1 :]) > 100


def test_budget_too_small_for_the_marker_keeps_the_tail():
    cut = truncation.truncate(LEMMAS, 5, count, keep_head=True)

    assert LEMMAS.endswith(cut) and count(cut) == 5


def test_choice_is_seeded_by_row_and_seed():
    keys = [f"Mod:lemma_{i}@{i}:2" for i in range(400)]
    choices = [truncation.keeps_head(42, key) for key in keys]

    assert choices == [truncation.keeps_head(42, key) for key in keys]
    assert 150 < sum(choices) < 250  # a fair coin, both ways taken
    assert choices != [truncation.keeps_head(7, key) for key in keys]


def big_file_record(line: int) -> TacticRecord:
    """A tactic step of a long file, at ``line``."""
    return TacticRecord(
        state="⊢ True", nextTactic="trivial", srcUpToTactic=LEMMAS, declUpToTactic="", decl="",
        declId=f"Big:lemma_{line}", stateAfter="", goals=["⊢ True"], goalsAfter=[], module="Big", file="Big.lean",
        line=line, column=2, hasSorry=False, hasError=False, inStatement=False, project="big",
        tacticError=None,
    )  # fmt: skip


def contexts_of(lines, truncator) -> dict[int, str]:
    """The [CTX] text of the context_state_tactic prompt of each line's record, rendered in the given order."""
    prompt_type = prompting.PROMPT_TYPES["context_state_tactic"]
    contexts = {}
    for line in lines:
        prompt = prompting.instruction_row(prompt_type, big_file_record(line), truncator=truncator)["prompt"]
        contexts[line] = prompt.split("[CTX]\n")[1].split("\n[/CTX]")[0]
    return contexts


def test_truncated_prompts_are_bounded_and_the_same_in_any_order():
    lines = range(1, 41)
    forward = contexts_of(lines, ContextTruncator(max_tokens=60, seed=42))
    backward = contexts_of(reversed(lines), ContextTruncator(max_tokens=60, seed=42))

    assert forward == backward
    assert all(count(context) <= 60 for context in forward.values())
    marked = [TRUNCATION_MARKER in context for context in forward.values()]
    assert any(marked) and not all(marked)
    assert contexts_of(lines, ContextTruncator(max_tokens=60, seed=1)) != forward
    assert contexts_of(lines, ContextTruncator(max_tokens=0))[1] == LEMMAS


class SplitTokenizer:
    """A tokenizer object whose .encode returns a list (like tiktoken or transformers)."""

    def encode(self, text):
        return text.split()


class Encoding:
    def __init__(self, ids):
        self.ids = ids


class IdsTokenizer:
    """A tokenizer whose .encode returns an object with .ids (like the tokenizers package)."""

    def encode(self, text):
        return Encoding(list(range(len(text.split()))))


@pytest.mark.parametrize("tokenizer", [str.split, lambda text: text.split(), SplitTokenizer(), IdsTokenizer()])
def test_pluggable_tokenizers_set_the_budget(tokenizer):
    counter = token_counter(tokenizer)
    text = "a b c d e f g h"

    assert counter(text) == 8
    assert truncation.truncate(text, 3, counter, keep_head=False) == " f g h"  # whitespace is free


def test_tokenizer_by_name():
    assert token_counter("regex-words")("n + 0") == 3
    with pytest.raises(ValueError, match="unknown tokenizer name"):
        token_counter("sentencepiece")
    with pytest.raises(TypeError, match="must be callable"):
        token_counter(42)


@pytest.mark.skipif(importlib.util.find_spec("tiktoken") is not None, reason="tiktoken is installed")
def test_tiktoken_name_without_tiktoken_says_what_is_missing():
    with pytest.raises(ValueError, match="needs the tiktoken package"):
        token_counter("tiktoken:cl100k_base")


def test_tokenizer_names_are_stable_descriptions():
    assert truncation.tokenizer_name(None) == "regex-words"
    assert truncation.tokenizer_name("tiktoken:cl100k_base") == "tiktoken:cl100k_base"
    assert truncation.tokenizer_name(SplitTokenizer()) == "test_truncation.SplitTokenizer"
    assert truncation.tokenizer_name(str.split) == "str.split"
    named = SplitTokenizer()
    named.name_or_path = "gpt2"
    assert truncation.tokenizer_name(named) == "test_truncation.SplitTokenizer:gpt2"
    assert "0x" not in truncation.tokenizer_name(lambda text: [])


class NoisyTokenizer(SplitTokenizer):
    """Carries per-instance random state, so hashing the object itself would differ run to run."""

    def __init__(self):
        self.nonce = os.urandom(16)



def test_config_id_names_the_tokenizer_not_the_object(project, tmp_path):
    def config_id(**options):
        builder = NtpToolkit(
            config_name="instruct_context_state_tactic", project=str(project), cache_dir=str(tmp_path), **options
        )
        return builder.config_id

    default = config_id()
    assert config_id(tokenizer=NoisyTokenizer()) == config_id(tokenizer=NoisyTokenizer()) != default
    assert config_id(tokenizer=NoisyTokenizer(), tokenizer_name="a") != config_id(tokenizer=NoisyTokenizer(), tokenizer_name="b")
    assert config_id(max_context_tokens=512) != default
    assert config_id(max_context_tokens=1024) == config_id(max_context_tokens=1024)


def test_build_truncates_with_the_configured_tokenizer(fake_extractor, project, tmp_path):
    dataset = ntp_datasets.load_dataset(
        "instruct_context_state_tactic", project=project, cache_dir=str(tmp_path), max_context_tokens=3, tokenizer=str.split, extractor=fake_extractor
    )

    context = dataset["train"][0]["prompt"].split("[CTX]\n")[1].split("\n[/CTX]")[0]
    assert context == "(n : ℕ) : n + 0 = n := by\n  "[-len(context):] and len(context.split()) == 3

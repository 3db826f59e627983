"""The rows room: instruction-tuning rows rendered from records with Jinja templates
(``prompting``; the built-in templates are in ``templates/``), the token-budget truncation of
their file context (``truncation``) and their seeded splits (``splits``). All pure functions
of the records and the config's options."""

from ntp_datasets.rows.prompting import FEATURES, PROMPT_TYPES, PromptType, instruction_row, resolve_prompt_type
from ntp_datasets.rows.splits import SPLIT_NAMES, TRAIN, SplitFractions, split_of
from ntp_datasets.rows.truncation import ContextTruncator

__all__ = ["FEATURES", "PROMPT_TYPES", "SPLIT_NAMES", "TRAIN", "ContextTruncator", "PromptType", "SplitFractions",
           "instruction_row", "resolve_prompt_type", "split_of"]

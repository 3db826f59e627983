"""The records room: typed dataset records derived from the extractor's output.

Data flows one way: extraction gives one ``ModuleOutput`` per module, the pure functions
here turn its events into records (frozen dataclasses whose ``FEATURES`` are derived from
their fields), and the builder writes those records, or prompts rendered from them, as rows.
Field names follow ntp-toolkit where it has one. Every record has a ``project`` field: the
name of the project its module belongs to (``ModuleOutput.project``).

Sorry and error policy: record configs keep rows whose tactic or declaration contains
``sorry`` (``hasSorry=True``), rows of declarations in which Lean reported an error
(``hasError=True``), tactic rows inside a declaration's statement (``inStatement=True``) and
steps that failed (``tacticError`` set, the state after them null), flagged so users can
filter them; prompt configs leave them out (``ntp_datasets.rows.prompting.drop_reason``).

Records also come ready-made: read from ntp-toolkit output (``from_ntp_toolkit``), one
:class:`ReadyModule` per module. Their fields with ntp-toolkit's names hold ntp-toolkit's values;
the fields annotated ``X | None`` that ntp-toolkit has no value for are null in them.
"""

from __future__ import annotations

from collections.abc import Iterator

import datasets

from ntp_datasets.extraction import ModuleOutput
from ntp_datasets.records.base import NO_GOALS, Constant, SourceBytes, as_row, decl_id, features_of, state_text
from ntp_datasets.records.declarations import (
    DeclarationRecord,
    ImportRecord,
    ModuleRecord,
    declaration_records,
    import_records,
    module_records,
)
from ntp_datasets.records.errors import ERROR_KINDS, ErrorRecord, error_records
from ntp_datasets.records.minictx import (
    TEMPORAL_FIELDS,
    DeclarationFacts,
    MiniCtxContext,
    MiniCtxRecord,
    ProjectDeclarations,
    creation_date,
    minictx_records,
)
from ntp_datasets.records.premises import (
    CorpusRecord,
    PremisesRecord,
    corpus_records,
    library_corpus_records,
    library_imports,
    premises_records,
)
from ntp_datasets.records.ready import ReadyModule
from ntp_datasets.records.proofs import (
    FullProofRecord,
    StateCommentsRecord,
    full_proof_records,
    full_proof_with_states_records,
    state_comments_records,
)
from ntp_datasets.records.tactics import (
    TACTIC_WITH_PREMISES_FEATURES,
    TacticRecord,
    TacticWithPremisesRecord,
    is_simp_or_rw,
    tactic_records,
    tactic_with_premises_records,
)

RECORD_KINDS = {
    "tactic_prediction": (TacticRecord, tactic_records),
    "full_proof": (FullProofRecord, full_proof_records),
    "full_proof_with_states": (FullProofRecord, full_proof_with_states_records),
    "state_comments": (StateCommentsRecord, state_comments_records),
    "premises": (PremisesRecord, premises_records),
    "premise_corpus": (CorpusRecord, corpus_records),
    "tactic_prediction_with_premises": (TacticWithPremisesRecord, tactic_with_premises_records),
    "declarations": (DeclarationRecord, declaration_records),
    "imports": (ImportRecord, import_records),
    "modules": (ModuleRecord, module_records),
    "errors": (ErrorRecord, error_records),
    "minictx": (MiniCtxRecord, minictx_records),
}
"""Record config name -> (record class, function deriving its records from a ModuleOutput)."""


def records_of_kind(record_kind: str, module_output: ModuleOutput | ReadyModule, *, import_closure: bool = False,
                    minictx: MiniCtxContext | None = None) -> Iterator:
    """Yield the records of ``record_kind`` (a key of ``RECORD_KINDS``) for one module.
    ``import_closure``: ``imports`` records of every module in the environment (see
    :func:`import_records`). ``minictx``: the project's premises and history, for ``minictx``
    records (see :func:`minictx_records`). A :class:`ReadyModule` gives the records it holds."""
    if isinstance(module_output, ReadyModule):
        return iter(module_output.records_of(record_kind))
    if record_kind == "imports":
        return import_records(module_output, import_closure)
    if record_kind == "minictx":
        return minictx_records(module_output, minictx)
    _, derive = RECORD_KINDS[record_kind]
    return derive(module_output)


def features_of_kind(record_kind: str) -> datasets.Features:
    """Return the ``datasets.Features`` of a record kind."""
    record_class, _ = RECORD_KINDS[record_kind]
    return record_class.FEATURES


__all__ = [
    "Constant", "CorpusRecord", "DeclarationFacts", "DeclarationRecord", "ERROR_KINDS", "ErrorRecord", "FullProofRecord",
    "ImportRecord", "MiniCtxContext", "MiniCtxRecord", "ModuleRecord", "NO_GOALS", "PremisesRecord", "ProjectDeclarations",
    "RECORD_KINDS", "ReadyModule", "SourceBytes", "StateCommentsRecord", "TACTIC_WITH_PREMISES_FEATURES", "TEMPORAL_FIELDS",
    "creation_date", "minictx_records",
    "TacticRecord", "TacticWithPremisesRecord", "as_row", "decl_id", "declaration_records", "error_records",
    "features_of", "features_of_kind", "full_proof_records", "full_proof_with_states_records", "state_text",
    "import_records", "is_simp_or_rw", "library_corpus_records", "library_imports", "corpus_records", "module_records", "premises_records", "records_of_kind",
    "state_comments_records", "tactic_records", "tactic_with_premises_records",
]

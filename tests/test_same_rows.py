"""The rows of the bundled sample project and of the Lean fixtures of five test files are the
ones the code gave before the one scheduler, the package model and the release work
(commit 1fefce9, `golden/rows_1fefce9.json.gz`, made by `golden/make_golden.py`), field for
field, except what changed on purpose since:

* fields added: ``statementHash``, ``tacticError``, ``skipped``, and ``hasError``/``hasSorry``
  of ``state_comments`` (their values are tested where they were added);
* a tactic step that failed has no state after it (``stateAfter``/``goalsAfter`` null) and no
  state comment after it (docs/releases.md, "failed steps").
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
from pathlib import Path

import fixture_projects

from ntp_datasets.records import as_row, records_of_kind

GOLDEN = json.loads(gzip.decompress((Path(__file__).parent / "golden" / "rows_1fefce9.json.gz").read_bytes()))
FIXTURE_FILES = ("test_extraction", "test_ordinary_projects", "test_premise_rows", "test_project_syntax",
                 "test_real_code_rows")
ADDED = {"statementHash", "tacticError", "skipped", "hasError", "hasSorry"}
TACTIC_KINDS = ("tactic_prediction", "tactic_prediction_with_premises")
TEXTS = {"state_comments": "text", "full_proof_with_states": "proof"}


def current_outputs(sample_outputs, extract_files) -> dict:
    for name in FIXTURE_FILES:  # registers their fixtures, as collecting them does
        importlib.import_module(name)
    fixtures = {}
    for name, files in fixture_projects.REGISTERED.items():
        fixtures.update({o.module: (o, files[o.file]) for o in extract_files(name, files).values()})
    return {"sample": {m: (o, None) for m, o in sample_outputs.items()}, "fixtures": fixtures}


def differences(golden: dict, outputs: dict) -> list[tuple]:
    """(project, module, kind, index, field, before, now) for every value that differs, rows
    compared on the fields they had before."""
    found = []
    for project, modules in golden.items():
        for module, before in modules.items():
            output, text = outputs[project][module]
            if text is not None:
                assert hashlib.sha256(text.encode()).hexdigest() == before["source_sha256"], module
            assert output.error_kind == before["error_kind"], module
            for kind, rows in before["rows"].items():
                now = [as_row(r) for r in records_of_kind(kind, output)]
                assert len(now) == len(rows), (module, kind)
                for index, (old, new) in enumerate(zip(rows, now)):
                    assert set(new) - set(old) <= ADDED and set(old) <= set(new), (module, kind)
                    found += [(project, module, kind, index, f, old[f], new[f]) for f in old if old[f] != new[f]]
    return found


def test_rows_are_those_of_before_but_for_failed_steps(sample_outputs, extract_files):
    outputs = current_outputs(sample_outputs, extract_files)
    assert set(GOLDEN["sample"]) == {"Sample.Basic", "Sample.Calc", "Sample.Lists"}
    assert len(GOLDEN["fixtures"]) == 22
    found = differences(GOLDEN, outputs)

    failed = {}  # (module, kind, index) of each failed step -> the state after it that was recorded
    for project, module, kind, index, field, before, now in found:
        output = outputs[project][module][0]
        if kind in TACTIC_KINDS:
            row = as_row(list(records_of_kind(kind, output))[index])
            assert field in ("stateAfter", "goalsAfter") and now is None and row["tacticError"], (module, field)
            if field == "stateAfter":
                failed[module, kind] = before
        else:
            assert field == TEXTS[kind], (module, kind, field)
    assert sorted(failed) == [(m, k) for m in ("Fix.B", "Lim.Core", "Real.Failed") for k in TACTIC_KINDS]
    for project, module, kind, index, field, before, now in found:
        if kind in TEXTS:  # the comment after the failed step, and only it, is gone
            state = failed[module, "tactic_prediction"]
            comment = f"\n  /- {state or 'no goals'} -/"
            at = [i for i in range(len(before)) if before.startswith(comment, i)]
            assert [before[:i] + before[i + len(comment):] == now for i in at].count(True) >= 1, (module, kind)
    assert sorted({(m, k) for _, m, k, *_ in found if k in TEXTS}) == [
        (m, k) for m in ("Fix.B", "Lim.Core", "Real.Failed") for k in ("full_proof_with_states", "state_comments")]

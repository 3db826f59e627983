"""Broken projects through the public entry points: parse and elaboration errors, a file that
is not UTF-8, an import cycle, a missing import, a command that never finishes, a command that
kills the Lean process, a project asking for another Lean version. Each failure becomes an
`errors` row of its kind, and every other module (and declaration) still gives its rows.

One real build of one project with all of these, shared by the tests of this file."""

from __future__ import annotations

import logging

import pytest

import ntp_datasets
from ntp_datasets import cli
from ntp_datasets.extraction import ExtractionOptions, Extractor

pytestmark = pytest.mark.slow  # one build runs four Lean processes and waits for a time limit

# Import order (ties broken by name): A, B_Errors, C_Loop (its loop stops the first Lean process),
# then again without the loop, D_Good, E_Missing, F_UsesLoop, Z_Crash (kills the second
# process, and the third), then Z_Crash without that command -- four processes.
BAD_PROJECT = {
    "lean-toolchain": "leanprover/lean4:v4.9.0\n",
    "Bad/A.lean": "def Bad.one : Nat := 1\n\ntheorem Bad.one_pos : 0 < Bad.one := by\n  decide\n",
    "Bad/B_Errors.lean": (
        "import Bad.A\n\n"
        "theorem Bad.wrong : Bad.one = 2 := by\n  rfl\n\n"
        "def Bad.broken : Nat := )\n\n"
        "theorem Bad.right : Bad.one = 1 := by\n  rfl\n"
    ),
    "Bad/C_Loop.lean": "#eval show IO Unit from do\n  while true do\n    IO.sleep 50\n",
    "Bad/D_Good.lean": "import Bad.A\n\ntheorem Bad.d : Bad.one + 1 = 2 := by\n  decide\n",
    "Bad/E_Missing.lean": "import Bad.A\nimport Nowhere.Lemmas\n\ntheorem Bad.e : True := by\n  trivial\n",
    "Bad/F_UsesLoop.lean": "import Bad.C_Loop\n\ntheorem Bad.f : True := by\n  trivial\n",
    "Bad/CycleA.lean": "import Bad.CycleB\n\ntheorem Bad.ca : True := by\n  trivial\n",
    "Bad/CycleB.lean": "import Bad.CycleA\n\ntheorem Bad.cb : True := by\n  trivial\n",
    "Bad/Z_Crash.lean": "import Bad.A\n\n#eval (IO.Process.exit 3 : IO Unit)\n",
}
LATIN1 = ("Bad/Latin1.lean", "-- café, saved as Latin-1\ndef Bad.latin : Nat := 1\n".encode("latin-1"))
TIMEOUT = 30  # CPU seconds a module may take; far more than any good module here needs
COMMAND_TIMEOUT = 5  # CPU seconds a command may take: the loop waits, so 4 x 5 s of wall time


@pytest.fixture(scope="module")
def bad_build(tmp_path_factory, empty_home):
    """Write the project, build its `errors` config once (with an empty extraction cache, kept
    for the tests of this file) and keep the log."""
    root = tmp_path_factory.mktemp("bad_project")
    for rel, text in BAD_PROJECT.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    (root / LATIN1[0]).write_bytes(LATIN1[1])
    cache_dir = tmp_path_factory.mktemp("bad_datasets_cache")
    # One extractor for every build of this file: it remembers the modules that timed out or
    # crashed, so later builds (other configs, the CLI) start no Lean process.
    extractor = Extractor(ExtractionOptions.of(module_timeout=TIMEOUT, command_timeout=COMMAND_TIMEOUT),
                          progress=False)
    log, logger = _LogCapture(), logging.getLogger("ntp_datasets")
    level = logger.level
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("NTP_DATASETS_HOME", str(empty_home("bad_home")))
        logger.addHandler(log)
        logger.setLevel(logging.INFO)
        try:
            errors = ntp_datasets.load_dataset("errors", project=root, cache_dir=str(cache_dir),
                                               module_timeout=TIMEOUT, extractor=extractor)
        finally:
            logger.removeHandler(log)
            logger.setLevel(level)
        yield {"root": root, "cache_dir": cache_dir, "errors": errors["train"], "log": "\n".join(log.lines),
               "extractor": extractor}


class _LogCapture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _errors_of(bad_build, module):
    return [row for row in bad_build["errors"] if row["module"] == module]


def _build(bad_build, config):
    return ntp_datasets.load_dataset(config, project=bad_build["root"], cache_dir=str(bad_build["cache_dir"]),
                                     module_timeout=TIMEOUT, extractor=bad_build["extractor"])["train"]


def test_parse_and_elaboration_errors_name_their_declaration_and_other_declarations_keep_rows(bad_build):
    rows = _errors_of(bad_build, "Bad.B_Errors")
    kinds = {(r["kind"], r["line"], r["declaration"]) for r in rows}
    assert ("elaboration", 4, "Bad.B_Errors:Bad.wrong") in kinds
    assert ("parse", 6, "Bad.B_Errors:Bad.broken") in kinds
    (parse,) = [r for r in rows if r["kind"] == "parse"]
    assert "unexpected token ')'" in parse["message"]
    proofs = set(_build(bad_build, "full_proof")["declId"])
    assert {"Bad.B_Errors:Bad.right", "Bad.B_Errors:Bad.wrong", "Bad.A:Bad.one_pos", "Bad.D_Good:Bad.d"} <= proofs


def test_a_file_that_is_not_utf8_is_reported_with_its_byte_offset(bad_build):
    (row,) = _errors_of(bad_build, "Bad.Latin1")
    assert row["kind"] == "encoding" and row["line"] == 0
    assert "Bad/Latin1.lean is not UTF-8: byte 0xe9 at byte offset 6 (line 1)" in row["message"]


def test_import_cycle_and_missing_import_fail_only_their_modules(bad_build):
    for module in ("Bad.CycleA", "Bad.CycleB"):
        (row,) = [r for r in _errors_of(bad_build, module) if r["kind"] != "toolchain_mismatch"]
        assert row["kind"] == "import_cycle"
        assert "Bad.CycleA -> Bad.CycleB -> Bad.CycleA" in row["message"]
    (missing,) = [r for r in _errors_of(bad_build, "Bad.E_Missing") if r["kind"] != "toolchain_mismatch"]
    assert missing["kind"] == "missing_import"
    assert "import Nowhere.Lemmas: not a module of the project nor of the toolchain's library" in missing["message"]
    steps = _build(bad_build, "tactic_prediction")
    assert {"Bad.A", "Bad.B_Errors", "Bad.D_Good"} <= set(steps["module"])
    assert not {"Bad.CycleA", "Bad.CycleB", "Bad.E_Missing"} & set(steps["module"])


def test_a_command_that_never_finishes_is_skipped_and_its_module_and_importers_go_on(bad_build):
    (row,) = _errors_of(bad_build, "Bad.C_Loop")
    assert (row["kind"], row["line"], row["skipped"]) == ("timeout", 1, True)
    assert row["message"] == (f"not elaborated: this command ran past the time limit of {COMMAND_TIMEOUT} CPU "
                              "seconds (command_timeout) and its Lean process was stopped")
    assert _errors_of(bad_build, "Bad.F_UsesLoop") == []
    assert "Bad.F_UsesLoop:Bad.f" in set(_build(bad_build, "full_proof")["declId"])
    # D_Good comes after the loop: a fresh Lean process elaborated it.
    assert "elaborated Bad.D_Good in " in bad_build["log"]
    assert _errors_of(bad_build, "Bad.D_Good") == []


def test_a_command_that_kills_the_lean_process_twice_is_skipped(bad_build):
    (row,) = _errors_of(bad_build, "Bad.Z_Crash")
    assert (row["kind"], row["line"], row["skipped"]) == ("crash", 3, True)
    assert row["message"].startswith("not elaborated: this command killed the Lean process twice (the process died)")
    log = bad_build["log"]
    assert "died while elaborating Bad.Z_Crash (command at line 3; trying it again in a fresh process)" in log
    assert ("died while elaborating Bad.Z_Crash (command at line 3; elaborating the module again without that "
            "command)") in log


def test_another_lean_version_is_a_warning_never_an_error_row(bad_build):
    assert "asks for Lean 4.9.0 (leanprover/lean4:v4.9.0) but the toolchain in use is Lean 4." in bad_build["log"]
    assert not {r["kind"] for r in bad_build["errors"]} - {"parse", "elaboration", "encoding", "import_cycle",
                                                             "missing_import", "timeout", "crash"}


def test_every_build_ends_with_a_summary_and_strict_sets_the_exit_status(bad_build, capsys):
    assert f"errors of {bad_build['root'].name}: 10 modules: " in bad_build["log"]
    args = ["preview", str(bad_build["root"]), "--config", "declarations", "--cache-dir", str(bad_build["cache_dir"]),
            "--module-timeout", str(TIMEOUT), "--command-timeout", str(COMMAND_TIMEOUT)]
    assert cli.main(args, extractor=bad_build["extractor"]) == 0
    out = capsys.readouterr().out
    assert f"declarations of {bad_build['root'].name}: 10 modules:" in out
    assert "failed (encoding: 1, import_cycle: 2, missing_import: 1)" in out
    assert "2 commands skipped (crash: 1, timeout: 1)" in out
    assert cli.main([*args, "--strict"], extractor=bad_build["extractor"]) == 1

"""Every record kind, from one real elaboration of the sample project, and the module cache."""

from __future__ import annotations

import pytest
from fake_pool import recording_pool

import ntp_datasets
from ntp_datasets import records
from ntp_datasets.extraction import Extractor
from ntp_datasets.extraction.process import ModuleDone, ModuleStarted


def _rows(kind, output):
    return [records.as_row(r) for r in records.records_of_kind(kind, output)]


def _by_decl(rows, decl_id):
    return [r for r in rows if r["declId"] == decl_id]


def test_premises_list_what_each_constant_uses(sample_outputs):
    rows = {r["name"]: r for r in _rows("premises", sample_outputs["Sample.Basic"])}
    deps = {d["name"]: d for d in rows["Sample.double_add"]["dependents"]}
    assert deps["Sample.double_eq_two_mul"] | {"explicit": None} == {
        "name": "Sample.double_eq_two_mul", "explicit": None, "direct": True, "module": "Sample.Basic",
        "file": "Sample/Basic.lean", "line": 8, "column": 0, "endLine": 10, "endColumn": 7}
    assert not rows["Sample.double_add"]["isGenerated"] and rows["Sample.double_add"]["kind"] == "theorem"
    lists = {r["name"]: r for r in _rows("premises", sample_outputs["Sample.Lists"])}
    uses_basic = {d["name"]: d for d in lists["Sample.sum_double"]["dependents"]}["Sample.double_add"]
    assert (uses_basic["module"], uses_basic["file"], uses_basic["line"]) == ("Sample.Basic", "Sample/Basic.lean", 12)


def test_tactic_premise_fields(sample_outputs):
    rows = _by_decl(_rows("tactic_prediction_with_premises", sample_outputs["Sample.Lists"]),
                    "Sample.Lists:Sample.sum_double")
    assert rows[0]["nextTactic"] is None and rows[0]["declName"] == "Sample.sum_double"  # the whole term first
    have = next(r for r in rows if (r["nextTactic"] or "").startswith("have h"))
    assert have["nextTacticExplicitPremises"] == ["Sample.double_add"]
    assert "Sample.double_add" in have["nextTacticTermPremises"]
    assert not have["nextTacticIsSimpOrRwVariant"]
    rw = next(r for r in rows if r["nextTactic"] == "rw [h]")
    assert rw["nextTacticIsSimpOrRwVariant"] and rw["nextTacticExplicitLocalHypotheses"] == ["h"]
    simp = next(r for r in rows if (r["nextTactic"] or "").startswith("simp only"))
    hints = {h["name"]: h["hint"] for h in simp["nextTacticHammerHints"]}
    assert hints["List.map"] == hints["Sample.sum"] == "unmodified" and "ih" not in hints
    assert simp["nextTacticHammerRecommendation"] == [f"({n}, {h})" for n, h in sorted(hints.items())]
    assert set(simp["nextTacticHammerRecommendation"]) <= set(simp["declHammerRecommendation"])
    assert simp["annotatedTactic"] == "simp only [<a>List.map</a>, <a>sum</a>, ih]"
    # The `have` step's goal is closed by the two steps after it, which add their premises.
    assert set(have["termPremisesToEndOfGoal"]) >= set(have["nextTacticTermPremises"])
    assert "Sample.double_add" in rw["declAllPremises"] and "Sample.double_add" not in rw["allPremisesToEndOfGoal"]
    assert set(records.TACTIC_WITH_PREMISES_FEATURES) == set(have)


def test_declarations(sample_outputs):
    decls = {r["name"]: r for r in _rows("declarations", sample_outputs["Sample.Basic"])}
    double = decls["Sample.double"]
    assert (double["kind"], double["type"], double["typeArgs"], double["typeBody"]) == ("def", "Nat → Nat", ["(n : Nat)"], "Nat")
    assert double["doc"] == "Twice a natural number. " and not double["isProp"] and not double["isHumanTheorem"]
    assert double["signature"] == "/-- Twice a natural number. -/\ndef Sample.double (n : Nat) : Nat"
    assert double["namespace"] == "Sample"
    thm = decls["Sample.double_eq_two_mul"]
    assert thm["isProp"] and thm["isHumanTheorem"] and thm["src"].startswith("theorem double_eq_two_mul")
    assert thm["signature"] == "theorem Sample.double_eq_two_mul (n : Nat) : Sample.double n = (2 : Nat) * n"
    sorry = {r["name"]: r for r in _rows("declarations", sample_outputs["Sample.Calc"])}["Sample.sum_le_double"]
    assert sorry["isHumanTheorem"]  # as ntp-toolkit: a theorem, sorry or not


def test_imports_are_the_written_ones_and_project_modules_unless_the_closure_is_asked(sample_outputs):
    imported = {m: sorted((r["imported"], r["isDirect"]) for r in _rows("imports", o)) for m, o in sample_outputs.items()}
    assert imported == {"Sample.Basic": [], "Sample.Lists": [("Sample.Basic", True)],
                        "Sample.Calc": [("Sample.Basic", True), ("Sample.Lists", True)]}
    closure = [r.imported for r in records.records_of_kind("imports", sample_outputs["Sample.Calc"], import_closure=True)]
    assert {"Init.Prelude", "Init", "Sample.Basic", "Sample.Lists"} <= set(closure) and len(closure) > 100
    modules = [r for o in sample_outputs.values() for r in _rows("modules", o)]
    assert [m["module"] for m in modules] == ["Sample.Basic", "Sample.Lists", "Sample.Calc"]
    assert len({m["sha256"] for m in modules}) == 3


def test_state_comments_elaborate_again(sample_outputs, extract_files):
    commented = {o.file: _rows("state_comments", o)[0]["text"] for o in sample_outputs.values()}
    assert ("  unfold double\n  /- n : Nat\n     ⊢ n + n = (2 : Nat) * n -/\n  omega\n  /- no goals -/"
            in commented["Sample/Basic.lean"])
    again = extract_files("commented", commented)
    assert [list(records.error_records(o)) for o in again.values()] == [[], [], []]
    rows = [r.nextTactic for o in again.values() for r in records.tactic_records(o)]
    original = [r.nextTactic for o in sample_outputs.values() for r in records.tactic_records(o)]
    assert len(rows) == len(original)


def test_full_proof_with_states(sample_outputs):
    (row,) = _by_decl(_rows("full_proof_with_states", sample_outputs["Sample.Basic"]), "Sample.Basic:Sample.double_add")
    assert row["proof"] == (":= by\n  simp only [double_eq_two_mul]\n  /- a b : Nat\n"
                            "     ⊢ (2 : Nat) * (a + b) = (2 : Nat) * a + (2 : Nat) * b -/"
                            "\n  omega\n  /- no goals -/")


PROJECT = {
    "Cache/A.lean": "def Cache.a : Nat := 1\n",
    "Cache/B.lean": "import Cache.A\n\ntheorem Cache.b : Cache.a = 1 := by\n  rfl\n",
    "Cache/C.lean": "theorem Cache.c : 2 = 2 := by\n  rfl\n",
}


@pytest.mark.slow
def test_modules_are_elaborated_once_and_only_again_when_they_or_their_imports_change(
        tmp_path, toolchain, monkeypatch):
    monkeypatch.setenv("NTP_DATASETS_HOME", str(tmp_path / "home"))  # an empty cache
    project = tmp_path / "project"
    for rel, text in PROJECT.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)
    elaborated, profiles = [], {}

    def on_event(event):
        if isinstance(event, ModuleStarted):
            elaborated[-1].append(event.module)
        if isinstance(event, ModuleDone):
            profiles[event.module] = event.profile

    def run():
        elaborated.append([])
        extractor = Extractor(toolchain=toolchain, progress=False, on_event=on_event)
        return {o.module: o for o in extractor.extract_project(project)}

    first = run()
    assert sorted(elaborated[0]) == ["Cache.A", "Cache.B", "Cache.C"] and not any(o.cached for o in first.values())
    # The events phase's profile counts what the events hold: Cache.B has one step (`rfl`, one goal
    # before it, none after), one declaration and one constant; Cache.A no step.
    counts = {m: {k: v for k, v in p.items() if k.startswith("count.")} for m, p in profiles.items()}
    assert counts["Cache.B"] == {"count.steps": 1, "count.goalPrints": 1, "count.goalsReused": 0,
                                 "count.declarations": 1, "count.constants": 1}
    assert counts["Cache.A"]["count.steps"] == 0 and counts["Cache.A"]["count.declarations"] == 1
    assert counts["Cache.A"]["count.constants"] == sum(1 for e in first["Cache.A"].events if e["kind"] == "constant")
    assert all(isinstance(v, int) and v >= 0 for p in profiles.values() for v in p.values())
    second = run()
    assert elaborated[1] == [] and all(o.cached for o in second.values())
    assert [o.events for o in second.values()] == [o.events for o in first.values()]
    (project / "Cache/A.lean").write_text("def Cache.a : Nat := 1\n\ndef Cache.z : Nat := 0\n")
    third = run()
    assert elaborated[2] == ["Cache.A", "Cache.B"] and third["Cache.C"].cached
    assert list(records.error_records(third["Cache.B"])) == []


def test_a_second_config_elaborates_nothing(sample_outputs, tmp_path, monkeypatch):
    calls = []
    extractor = Extractor(progress=False, start_pool=recording_pool(calls))
    ds = ntp_datasets.load_dataset("declarations", cache_dir=str(tmp_path), extractor=extractor)
    assert calls == [] and "Sample.Lists:Sample.sum_append" in ds["train"]["declId"]

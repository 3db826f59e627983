"""Builds written in ntp-toolkit's layout (``ntp-datasets export --layout ntp-toolkit OUT``): the
lines its code would write, the files its scripts expect, atomic replacement, and a round trip
of the real sample project (export, then read back as ntp-toolkit output: the same values in
every field the two share)."""

from __future__ import annotations

import glob
import json
import os
import re
from collections import defaultdict
from pathlib import Path

import pytest
from sample_module import FakeModuleOutput, sample_events, SOURCE

import ntp_datasets
from ntp_datasets.cli import main
from ntp_datasets.errors import ProjectError, PublishError
from ntp_datasets.publish.ntp_toolkit_export import EXPORTED_CONFIGS, module_hash
from ntp_datasets.records.from_ntp_toolkit import user_name

HASH = module_hash("my_project", "Sample.Basic")
THEOREM = SOURCE.index("/-- `n + 0`")


def typed_module_output() -> FakeModuleOutput:
    """The hand-made sample module, its theorem with the type information Lean would give."""
    events = sample_events()
    events[0].update(type="∀ (n : ℕ), n + 0 = n", typeArgs=["(n : ℕ)"], typeBody="n + 0 = n",
                     doc="`n + 0` is `n` for `n : ℕ`.", isProp=True, scope="", constKind="theorem")
    return FakeModuleOutput(module="Sample.Basic", file="Sample/Basic.lean", source=SOURCE, events=events)


CONFIGS = ["tactic_prediction", "full_proof", "state_comments", "declarations", "imports", "modules"]


def export(project, out, fake_extractor, tmp_path, configs=CONFIGS, **kwargs):
    fake_extractor["outputs"] = [typed_module_output()]
    return ntp_datasets.export_ntp_toolkit(project, out, configs, cache_dir=str(tmp_path / "cache"),
                                           extractor=fake_extractor, progress=False, **kwargs)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_writes_the_lines_ntp_toolkits_code_writes(project, fake_extractor, tmp_path):
    out = tmp_path / "out"
    result = export(project, out, fake_extractor, tmp_path)

    base = out / "my_project"
    assert result.projects == ("my_project",) and result.files == 6
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "my_project/Declarations/Sample.Basic.jsonl", "my_project/FullProof/Sample.Basic.jsonl",
        "my_project/Imports/Sample.Basic.jsonl", "my_project/Modules.jsonl",
        "my_project/StateComments/Sample.Basic.lean", "my_project/TacticPrediction/Sample.Basic.jsonl"]
    statement = "/-- `n + 0` is `n` for `n : ℕ`. -/\ntheorem add_zero' (n : ℕ) : n + 0 = n "
    simp = SOURCE.index("simp")
    tactic_text = (base / "TacticPrediction" / "Sample.Basic.jsonl").read_text(encoding="utf-8").splitlines()
    # Keys sorted, no spaces, non-ASCII as it is: Lean's Json.compress.
    assert tactic_text[0] == json.dumps(
        {"decl": statement, "declId": f"Sample.Basic.3_0.{HASH}", "declUpToTactic": SOURCE[THEOREM:simp],
         "nextTactic": "simp", "srcUpToTactic": SOURCE[:simp], "state": "n : ℕ\n⊢ n + 0 = n"},
        ensure_ascii=False, separators=(",", ":"))
    # An example's command has no `:=` where ntp-toolkit looks for it: decl "".
    example = [line for line in lines(base / "TacticPrediction" / "Sample.Basic.jsonl")[1:]]
    assert [(t["decl"], t["declId"], t["nextTactic"]) for t in example] == [
        ("", f"Sample.Basic.7_0.{HASH}", "intro n"), ("", f"Sample.Basic.7_0.{HASH}", "sorry")]
    # FullProof: no row for the example (its declName would be empty); decl with the space before `:=`.
    assert lines(base / "FullProof" / "Sample.Basic.jsonl") == [
        {"decl": statement, "declName": "Sample.add_zero'", "file": "my_project/Sample/Basic.lean",
         "module": "Sample.Basic", "proof": ":= by\n  simp", "srcUpToDecl": "import Sample.Defs\n\n"}]
    assert (base / "StateComments" / "Sample.Basic.lean").read_text(encoding="utf-8").endswith("  x : ℕ\n\n")
    assert lines(base / "Declarations" / "Sample.Basic.jsonl") == [
        {"column": 0, "doc": "`n + 0` is `n` for `n : ℕ`.", "isHumanTheorem": True, "isProp": True,
         "kind": "theorem", "line": 3, "module": "Sample.Basic", "name": "Sample.add_zero'", "scope": None,
         "signature": "/-- `n + 0` is `n` for `n : ℕ`. -/\ntheorem Sample.add_zero' (n : ℕ) : n + 0 = n",
         "src": statement + ":= by\n  simp", "type": "∀ (n : ℕ), n + 0 = n", "typeArgs": ["(n : ℕ)"],
         "typeBody": "n + 0 = n"}]
    assert lines(base / "Imports" / "Sample.Basic.jsonl") == [{"isDirect": True, "name": "Sample.Basic"}]
    assert lines(base / "Modules.jsonl") == [{"name": "Sample.Basic"}]


def test_the_cli_exports_and_an_earlier_export_is_replaced_whole(project, fake_extractor, tmp_path, capsys):
    out = tmp_path / "out"
    fake_extractor["outputs"] = [typed_module_output()]
    (out / "my_project" / "Premises").mkdir(parents=True)
    (out / "my_project" / "Premises" / "Old.Module.jsonl").write_text("{}\n")

    status = main(["export", str(project), str(out), "--layout", "ntp-toolkit", "--config", "full_proof",
                   "--cache-dir", str(tmp_path / "cache")], extractor=fake_extractor)

    printed = capsys.readouterr().out
    assert status == 0
    assert printed.splitlines()[-1] == f"wrote 2 files in ntp-toolkit's layout to {out}: {out}/my_project"
    assert "full_proof of my_project: 1 modules: 1 extracted now" in printed
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "my_project/FullProof/Sample.Basic.jsonl", "my_project/Modules.jsonl"]


def test_an_out_dir_holding_other_files_is_refused_and_left_alone(project, fake_extractor, tmp_path):
    out = tmp_path / "out"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "todo.txt").write_text("mine")

    with pytest.raises(PublishError, match="holds notes, which is not an earlier export in ntp-toolkit's layout"):
        export(project, out, fake_extractor, tmp_path)
    with pytest.raises(PublishError, match="would replace the project"):
        export(project, project, fake_extractor, tmp_path)
    with pytest.raises(PublishError, match="config 'errors' has no place in ntp-toolkit's layout"):
        export(project, tmp_path / "new", fake_extractor, tmp_path, configs=["errors"])
    assert (out / "notes" / "todo.txt").read_text() == "mine"


def test_a_failed_export_leaves_the_earlier_one_and_nothing_half_written(project, fake_extractor, tmp_path):
    out = tmp_path / "out"
    export(project, out, fake_extractor, tmp_path)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    calls = []

    def outputs(project_dir):
        calls.append(project_dir)
        if len(calls) == 4:  # the helper configs are built; the first exported one fails
            raise ProjectError("the disk with the project went away")
        return [typed_module_output()]

    fake_extractor["outputs"] = outputs
    with pytest.raises(ProjectError, match="went away"):
        ntp_datasets.export_ntp_toolkit(project, out, CONFIGS, cache_dir=str(tmp_path / "other-cache"),
                                        extractor=fake_extractor, progress=False)

    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []


def test_ntp_toolkit_output_is_not_exported_again(tmp_path, fake_extractor):
    (tmp_path / "base" / "TacticPrediction").mkdir(parents=True)

    with pytest.raises(PublishError, match="is ntp-toolkit output already"):
        ntp_datasets.export_ntp_toolkit(str(tmp_path / "base"), tmp_path / "out", extractor=fake_extractor)


# ---------------------------------------------------------------------------------------------
# The real sample project: ntp-toolkit's scripts' reading, and the round trip
# ---------------------------------------------------------------------------------------------


def read_like_ntp_toolkits_scripts(base: Path) -> dict:
    """What ntp-toolkit's scripts read from one base directory, read the way they read it (a
    helper of ours, after the scripts' logic): ``data_stats.py`` counts the files of
    TacticPrediction and FullProof and their lines; ``instruction_tuning.py`` opens, for each
    TacticPrediction file, the FullProof and FullProofWithStates file of the same name and reads
    the fields its prompts use; ``convert_minictx.py`` opens, for each FullProof file, the
    Premises file of the same name. Returns the counts and the files that were missing."""
    stats, missing = {}, []
    for folder, unit in (("TacticPrediction", "tactics"), ("FullProof", "theorems")):
        files = glob.glob(os.path.join(str(base), folder, "*.jsonl"))
        stats[f"{folder}_files"] = len(files)
        stats[f"{folder}_{unit}"] = sum(1 for f in files for _ in open(f, encoding="utf-8"))
    for f in glob.glob(os.path.join(str(base), "TacticPrediction", "*.jsonl")):
        for folder, fields in (("TacticPrediction", ("state", "nextTactic", "srcUpToTactic", "declId")),
                               ("FullProof", ("decl", "proof", "srcUpToDecl", "declName")),
                               ("FullProofWithStates", ("decl", "proof", "srcUpToDecl", "declName"))):
            counterpart = f.replace("TacticPrediction", folder)
            if not os.path.exists(counterpart):
                missing.append(counterpart)
                continue
            for line in open(counterpart, encoding="utf-8"):
                item = json.loads(line)
                assert all(isinstance(item[field], str) for field in fields), (counterpart, item)
    for f in glob.glob(os.path.join(str(base), "FullProof", "*.jsonl")):
        premises = f.replace("FullProof", "Premises", 1)
        if not os.path.exists(premises):
            missing.append(premises)
            continue
        names = {json.loads(line)["name"]: json.loads(line)["dependents"] for line in open(premises, encoding="utf-8")}
        for line in open(f, encoding="utf-8"):
            item = json.loads(line)
            assert {"srcUpToDecl", "declName", "proof", "file", "module", "decl"} <= set(item)
            assert all({"name", "explicit", "direct"} == set(d) for d in names.get(item["declName"], []))
    return {"stats": stats, "missing": missing}


@pytest.fixture
def sample_export(sample_outputs, fake_extractor, tmp_path):
    """The sample project's build (the real extractor's output) exported; (OUT, built rows by config)."""
    fake_extractor["outputs"] = list(sample_outputs.values())
    out = tmp_path / "out"
    result = ntp_datasets.export_ntp_toolkit(None, out, cache_dir=str(tmp_path / "cache"), extractor=fake_extractor,
                                             progress=False)
    assert result.configs == tuple(EXPORTED_CONFIGS)
    built = {}
    for config in EXPORTED_CONFIGS:
        options = {"import_closure": True} if config == "imports" else {}
        built[config] = list(ntp_datasets.load_dataset(config, cache_dir=str(tmp_path / "cache"), progress=False,
                                                       extractor=fake_extractor, **options)["train"])
    return out, built


def test_ntp_toolkits_scripts_find_every_file_they_expect(sample_export):
    out, built = sample_export

    found = read_like_ntp_toolkits_scripts(out / "sample_project")

    modules = sorted(r["module"] for r in built["modules"])
    assert modules == ["Sample.Basic", "Sample.Calc", "Sample.Lists"]
    assert found["missing"] == []
    named = [r for r in built["full_proof"] if not re.search(r":_example_\d+_\d+$", r["declId"])]
    assert found["stats"] == {"TacticPrediction_files": 3, "TacticPrediction_tactics": len(built["tactic_prediction"]),
                              "FullProof_files": 3, "FullProof_theorems": len(named)}
    for folder, extension in [(f, ".lean" if f == "StateComments" else ".jsonl")
                              for f in EXPORTED_CONFIGS.values() if f != "Modules.jsonl"]:
        assert sorted(p.name for p in (out / "sample_project" / folder).iterdir()) == \
            [m + extension for m in modules], folder


SHARED = {
    "tactic_prediction": ("state", "nextTactic", "srcUpToTactic", "declUpToTactic", "module", "file", "line",
                          "column", "project"),
    "full_proof": ("srcUpToDecl", "declId", "proof", "module", "line", "project"),
    "full_proof_with_states": ("srcUpToDecl", "declId", "proof", "module", "project"),
    "state_comments": ("module", "file", "text", "project"),
    "premises": ("declId", "isPrivate", "module", "file", "project"),
    "tactic_prediction_with_premises": ("declName", "srcUpToTactic", "declUpToTactic", "state", "nextTactic",
                                        "nextTacticHammerRecommendation", "declHammerRecommendation", "declId",
                                        "module", "file", "project", "nextTacticHammerHints", "declHammerHints"),
    "declarations": ("declId", "name", "kind", "type", "typeArgs", "typeBody", "doc", "signature", "module", "file",
                     "line", "column", "isProp", "src", "isHumanTheorem", "project"),
    "imports": ("module", "file", "imported", "project"),
    "modules": ("module", "file", "project"),
}
"""Per config, the fields an export and its reading back share with the build: same name, same meaning."""


def by_module(rows: list[dict], fields) -> dict[str, list[tuple]]:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row["module"]].append(tuple(json.dumps(row[f], sort_keys=True) for f in fields))
    return dict(grouped)


def test_an_export_read_back_gives_the_same_values_in_every_shared_field(sample_export, tmp_path):
    out, built = sample_export
    read = {config: list(ntp_datasets.load_dataset(config, str(out / "sample_project"), progress=False,
                                                   cache_dir=str(tmp_path / "read-cache"))["train"])
            for config in EXPORTED_CONFIGS}

    for config, fields in SHARED.items():
        ours = built[config]
        if config in ("full_proof", "full_proof_with_states"):  # ntp-toolkit writes no row for an example
            ours = [r for r in ours if not re.search(r":_example_\d+_\d+$", r["declId"])]
        if config == "imports":  # ntp-toolkit lists the module itself too
            ours = ours + [{**r, "imported": r["module"]} for r in built["modules"]]
            ours.sort(key=lambda r: (r["module"], r["imported"]))
        if config == "tactic_prediction_with_premises":  # line and column: tactic rows only
            fields = fields + ("line", "column")
            ours = [{**r, "line": None, "column": None} if r["nextTactic"] is None else r for r in ours]
            # An example's steps: declName "" names no declaration, so declId is null read back.
            ours = [{**r, "declId": None} if r["declName"] == "" else r for r in ours]
        assert by_module(read[config], fields) == by_module(ours, fields), config

    # Fields of the same name computed as ntp-toolkit computes them, read back as its values:
    examples = {r["declId"] for r in built["full_proof"]} - {r["declId"] for r in read["full_proof"]}
    assert examples == {"Sample.Calc:_example_14_0"}
    statements = {o["declId"]: o["decl"] for o in built["full_proof"]}
    # ntp-toolkit's decl keeps the whitespace before the value; ours has none.
    assert [(r["declId"], r["decl"][len(statements[r["declId"]]):]) for r in read["full_proof"][:3]] == [
        ("Sample.Basic:Sample.double", " "), ("Sample.Basic:Sample.double_eq_two_mul", " "),
        ("Sample.Basic:Sample.double_add", " ")]
    assert all(r["decl"].rstrip() == statements[r["declId"]] for r in read["full_proof"])
    assert {r["file"] for r in read["full_proof"]} == {"sample_project/Sample/Basic.lean",
                                                       "sample_project/Sample/Calc.lean",
                                                       "sample_project/Sample/Lists.lean"}
    tactic_ids = {(r["module"], r["declId"]) for r in read["tactic_prediction"]}
    assert all(re.fullmatch(rf"{re.escape(m)}\.\d+_\d+\.{module_hash('sample_project', m)}", i) for m, i in tactic_ids)
    assert len(tactic_ids) == len({r["declId"] for r in built["tactic_prediction"]})
    assert [(r["imported"], r["isDirect"]) for r in read["imports"] if r["isDirect"]] == [
        ("Sample.Basic", True), ("Sample.Calc", True), ("Sample.Lists", True)]
    assert [user_name(r["name"]) for r in read["premises"]] == [r["name"] for r in
                                                                sorted(built["premises"], key=lambda r: r["module"])]
    assert all(r["dependents"] and all(d["module"] is None for d in r["dependents"])
               for r in read["premises"] if r["name"] == "Sample.double_add")

"""The summary at the end of a build and the CLI's exit status (`--strict`, nothing built, no
toolchain), on a fake extractor: no Lean runs here."""

from __future__ import annotations

from sample_module import FILE, MODULE, SOURCE, FakeModuleOutput, sample_module_output

from ntp_datasets import cli


def _preview(project, tmp_path, *flags, extractor=None):
    return cli.main(["preview", str(project), "--config", "tactic_prediction", "--cache-dir", str(tmp_path / "ds"), *flags],
                    extractor=extractor)


def test_a_build_with_errors_succeeds_unless_strict(project, fake_extractor, tmp_path, capsys):
    timed_out = FakeModuleOutput("Sample.Slow", "Sample/Slow.lean", "", [], "elaboration did not finish", error_kind="timeout")
    (project / "Sample" / "Slow.lean").write_text("")  # the project has the two modules the fake extracts
    fake_extractor["outputs"] = [sample_module_output(), timed_out]
    assert _preview(project, tmp_path, extractor=fake_extractor) == 0
    out = capsys.readouterr().out
    line = ("tactic_prediction of my_project: 2 modules: 1 extracted now, 0 read from the extraction cache, "
            "1 failed (timeout: 1); 2 errors (elaboration: 1, timeout: 1); 3 rows")
    assert out.count("tactic_prediction of my_project") == 1 and line + "\n" in out
    assert "Sample.Basic:Sample.add_zero'" in out  # the rows are printed too
    assert _preview(project, tmp_path, "--strict", extractor=fake_extractor) == 1
    again = capsys.readouterr().out
    assert ("tactic_prediction of my_project: read from the datasets cache: 2 modules, 1 failed (timeout: 1); "
            "2 errors (elaboration: 1, timeout: 1); 3 rows\n") in again


def test_nothing_built_is_a_failure_even_without_strict(project, fake_extractor, tmp_path, capsys):
    fake_extractor["outputs"] = [FakeModuleOutput(MODULE, FILE, SOURCE, [], "not extracted: Sample/Basic.lean is not "
                                                  "UTF-8", error_kind="encoding")]
    assert _preview(project, tmp_path, extractor=fake_extractor) == 1
    assert ("tactic_prediction of my_project: 1 modules: 0 extracted now, 0 read from the extraction cache, "
            "1 failed (encoding: 1); 1 errors (encoding: 1); 0 rows") in capsys.readouterr().out


def test_no_toolchain_is_one_clear_error_and_nothing_is_touched(project, tmp_path, monkeypatch, capsys):
    home = tmp_path / "empty-home"
    monkeypatch.setenv("NTP_DATASETS_HOME", str(home))
    monkeypatch.setenv("NTP_DATASETS_TOOLCHAIN", "native")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    sources = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert _preview(project, tmp_path) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: NTP_DATASETS_TOOLCHAIN=native but no `lean` is on PATH")
    assert "Install Lean with elan" in err and "ntp-datasets toolchain install" in err
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == sources
    assert not home.exists()


def test_a_missing_project_is_one_clear_error(tmp_path, capsys):
    assert cli.main(["preview", str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().err.startswith("error: Lean project not found:")


def test_folder_build_prints_one_true_line_per_config_and_each_error_once(project, fake_extractor, tmp_path, capsys,
                                                                          caplog):
    cached = sample_module_output()
    cached.cached = True
    fake_extractor["outputs"] = [cached]
    args = ["build", str(project), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "ds"),
            "--config", "tactic_prediction", "--config", "full_proof", "--config", "errors"]
    assert cli.main(args, extractor=fake_extractor) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if " of my_project: " in line] == [
        f"  {config} of my_project: 1 modules: 0 extracted now, 1 read from the extraction cache, 0 failed; "
        f"1 errors (elaboration: 1); {rows} rows" for config, rows in (("tactic_prediction", 3), ("full_proof", 2),
                                                                          ("errors", 1))]
    assert "build summary" not in out
    warnings = [r.getMessage() for r in caplog.records if "Lean errors" in r.getMessage()]
    assert warnings == ["Sample.Basic: 1 Lean errors\n  Sample/Basic.lean:12:6: [elaboration] unknown identifier 'y'"]
    assert cli.main([*args, "--force"], extractor=fake_extractor) == 0  # every config from the datasets cache
    assert [line for line in capsys.readouterr().out.splitlines() if " of my_project: " in line] == [
        f"  {config} of my_project: read from the datasets cache: 1 modules, 0 failed; 1 errors (elaboration: 1); "
        f"{rows} rows" for config, rows in (("tactic_prediction", 3), ("full_proof", 2), ("errors", 1))]


def test_load_dataset_shows_its_summary_once_on_stderr_unless_progress_is_off(project, fake_extractor, tmp_path,
                                                                             capsys):
    import ntp_datasets

    ntp_datasets.load_dataset("full_proof", project, cache_dir=tmp_path / "ds", extractor=fake_extractor)
    err = capsys.readouterr().err
    assert err.count("full_proof of my_project: 1 modules: 1 extracted now, 0 read from the extraction cache, "
                     "0 failed; 1 errors (elaboration: 1); 2 rows\n") == 1
    assert "full_proof: extracting my_project (1 of 1) ...\n" in err and "full_proof: writing rows ...\n" in err
    ntp_datasets.load_dataset("full_proof", project, cache_dir=tmp_path / "ds", extractor=fake_extractor)
    assert "full_proof of my_project: read from the datasets cache (nothing extracted); 2 rows\n" in \
        capsys.readouterr().err
    ntp_datasets.load_dataset("full_proof", project, cache_dir=tmp_path / "ds2", extractor=fake_extractor,
                              progress=False)
    assert " of my_project" not in capsys.readouterr().err

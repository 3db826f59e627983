"""The summary at the end of a build and the CLI's exit status (`--strict`, nothing built, no
toolchain), on a fake extractor: no Lean runs here."""

from __future__ import annotations

import pytest
from sample_module import FILE, MODULE, SOURCE, FakeModuleOutput, sample_module_output

from ntp_datasets import cli


def _preview(project, tmp_path, *flags, extractor=None):
    return cli.main(["preview", str(project), "--config", "tactic_prediction", "--cache-dir", str(tmp_path / "ds"), *flags],
                    extractor=extractor)


def test_a_build_with_errors_succeeds_unless_strict(project, fake_extractor, tmp_path, capsys):
    timed_out = FakeModuleOutput("Sample.Slow", "Sample/Slow.lean", "", [], "elaboration did not finish", error_kind="timeout")
    fake_extractor["outputs"] = [sample_module_output(), timed_out]
    assert _preview(project, tmp_path, extractor=fake_extractor) == 0
    out = capsys.readouterr().out
    assert "2 modules: 1 extracted, 0 from cache, 1 failed (timeout: 1); 2 errors (elaboration: 1, timeout: 1)" in out
    assert "Sample.Basic:Sample.add_zero'" in out  # the rows are printed too
    assert _preview(project, tmp_path, "--strict", extractor=fake_extractor) == 1
    assert "2 errors (elaboration: 1, timeout: 1)" in capsys.readouterr().out


def test_nothing_built_is_a_failure_even_without_strict(project, fake_extractor, tmp_path, capsys):
    fake_extractor["outputs"] = [FakeModuleOutput(MODULE, FILE, SOURCE, [], "not extracted: Sample/Basic.lean is not "
                                                  "UTF-8", error_kind="encoding")]
    assert _preview(project, tmp_path, extractor=fake_extractor) == 1
    assert "1 modules: 0 extracted, 0 from cache, 1 failed (encoding: 1)" in capsys.readouterr().out


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


def test_module_timeout_comes_from_the_argument_else_the_environment_else_600(monkeypatch):
    from ntp_datasets.extraction import module_timeout_seconds

    monkeypatch.delenv("NTP_DATASETS_MODULE_TIMEOUT", raising=False)
    assert module_timeout_seconds() == 600
    monkeypatch.setenv("NTP_DATASETS_MODULE_TIMEOUT", "90")
    assert module_timeout_seconds() == 90 and module_timeout_seconds(5) == 5
    assert module_timeout_seconds(0) is None  # no limit
    monkeypatch.setenv("NTP_DATASETS_MODULE_TIMEOUT", "ten minutes")
    with pytest.raises(ValueError, match="NTP_DATASETS_MODULE_TIMEOUT must be a number of seconds"):
        module_timeout_seconds()

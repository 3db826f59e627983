"""The example notebook runs from top to bottom in a Jupyter kernel (nbclient), so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "explore.ipynb"


@pytest.mark.slow
def test_the_example_notebook_runs_and_shows_rows_a_plot_a_prompt_and_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("PYTHONPATH", str(NOTEBOOK.parents[1]))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [cell.get("outputs", []) for cell in notebook.cells if cell.cell_type == "code"]
    table = outputs[1][0]["data"]["text/html"]
    assert "Sample.Basic:Sample.double_eq_two_mul" in table and "nextTactic" in table  # the pandas table
    assert any("image/png" in out.get("data", {}) for out in outputs[2])  # the plot
    printed = "".join(out.get("text", "") for out in outputs[3] if out.get("name") == "stdout")
    assert "[STATE]" in printed and "[TAC]" in printed  # a prompt (the build's progress goes to stderr)
    assert (tmp_path / "sample_dataset" / "README.md").is_file()
    stats = "".join(out.get("text", "") for out in outputs[4] if out.get("name") == "stdout")
    assert "full_proof" in stats and "instruct_state_tactic" in stats  # the folder's rows per config
    loaded = outputs[4][-1]["data"]["text/plain"]  # the folder's full_proof, loaded with plain datasets
    assert loaded.startswith("DatasetDict({") and "train: Dataset({" in loaded and "'proof'" in loaded

"""The example notebook runs headless, as a user meets the drop-in promise."""

from __future__ import annotations

import pathlib

import pytest

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "examples" / "assignment1.ipynb"


def test_example_notebook_runs_and_reproduces_the_course_checks(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    text = "\n".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert "No loop difference was: 0.000000" in text
    assert "Final training loss:  0.017149607938732093" in text
    scores_diff = float(text.split("correct scores:\n")[1].splitlines()[0])
    assert scores_diff < 1e-7
    accuracy = float(text.split("Validation accuracy: ")[1].splitlines()[0])
    assert accuracy > 0.9

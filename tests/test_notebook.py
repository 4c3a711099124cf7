"""The example notebook runs headless, as a user meets the drop-in promise."""

from __future__ import annotations

import importlib.util
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


def test_progress_bar_in_a_kernel_without_ipywidgets_prints_no_warning(tmp_path):
    """tqdm.auto in Jupyter without ipywidgets warns 'IProgress not found'; fastvr's bar
    falls back to text silently (this environment has no ipywidgets, as a bare Colab-less
    install would not)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    code = (
        "import importlib.util\n"
        "assert importlib.util.find_spec('ipywidgets') is None\n"
        "import numpy as np\n"
        "from fastvr.features import extract_features, hog_feature\n"
        "imgs = np.random.default_rng(0).random((3, 32, 32, 3)) * 255\n"
        "print(extract_features(imgs, [hog_feature], verbose=True).shape)\n"
        "print(extract_features(imgs, [lambda im: hog_feature(im)], verbose=True).shape)\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    if importlib.util.find_spec("ipywidgets") is not None:
        pytest.skip("ipywidgets is installed here: the widget bar is the right choice")
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs)
    assert "(3, 144)" in text
    assert "IProgress" not in text and not any(o.output_type == "error" for o in outputs)

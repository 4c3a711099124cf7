"""The example notebook runs headless, as a user meets the drop-in promise."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
NOTEBOOK = EXAMPLES / "assignment1.ipynb"


def _run(path: pathlib.Path, folder: pathlib.Path) -> str:
    """Execute the notebook at ``path`` in ``folder``; its printed text (stdout)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return "".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("name") != "stderr"
    )


def _value(text: str, label: str, occurrence: int = 0) -> float:
    return float(text.split(label)[occurrence + 1].split()[0])


def test_example_notebook_runs_and_reproduces_the_course_checks(tmp_path):
    text = _run(NOTEBOOK, tmp_path)
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


def test_current_edition_notebook_reproduces_the_course_numbers(tmp_path):
    """examples/assignment1_2025.ipynb: the 2021–2026 notebooks' sanity cells, unchanged."""
    text = _run(EXAMPLES / "assignment1_2025.ipynb", tmp_path)
    assert "No loop difference was: 0.000000" in text
    assert "difference: 0.000000\nGradient difference: 0.000000" in text  # naive = vectorized
    assert _value(text, "Testing affine_forward function:\ndifference: ") < 1e-9
    for label in ("dx error: ", "dw error: ", "db error: "):
        assert _value(text, label) < 1e-10
    assert abs(_value(text, "Testing softmax_loss:\nloss: ") - 2.3025458445007376) < 1e-12
    assert abs(_value(text, "(no regularization)\nloss: ") - 3.4702243556) < 1e-10
    assert abs(_value(text, "regularized loss: ") - 26.5948426952) < 1e-10
    assert abs(_value(text, "Initial loss: ") - 2.3004790897684924) < 1e-12
    assert abs(_value(text, "Initial loss: ", occurrence=1) - 7.052114776533016) < 1e-12
    assert abs(_value(text, "sgd_momentum next_w error: ") - 8.882347033505819e-09) < 1e-14
    assert abs(_value(text, "adam next_w error: ") - 1.1395691798535431e-07) < 1e-13
    assert "(1197, 170)\n" in text and "(1197, 169)\n" in text  # 144 HOG + 25 hue bins
    assert _value(text, "Validation set accuracy: ") > 0.9
    assert _value(text, "Validation set accuracy: ", occurrence=1) > 0.9
    saved = sorted(p.name for p in (tmp_path / "saved").iterdir())
    assert saved == [
        "best_softmax.npy",
        "best_softmax_features.npy",
        "best_two_layer_net.npy",
        "best_two_layer_net_features.npy",
    ]

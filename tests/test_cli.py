"""The fastvr command: demo, bench, info; errors a person can act on."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from fastvr.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_pngs(paths):
    import matplotlib.image

    assert paths
    for path in paths:
        with open(path, "rb") as f:
            assert f.read(8) == PNG_MAGIC
        height, width = matplotlib.image.imread(path).shape[:2]
        assert height > 100 and width > 100


def test_demo_on_the_bundled_digits(tmp_path, capsys):
    assert main(["demo", "--quick", "--backend", "numpy", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "UCI digits (bundled): 1197 training, 300 validation, 300 test" in out
    for model in ("k-NN", "Linear SVM", "Softmax", "Two-layer net"):
        assert f"| {model} |" in out
    knn_row = next(line for line in out.splitlines() if line.startswith("| k-NN |"))
    assert float(knn_row.split("|")[3]) > 0.9  # test accuracy: digits are easy for k-NN
    _check_pngs(sorted(tmp_path.glob("*.png")))
    assert (tmp_path / "knn_cross_validation.png").exists()


def test_demo_on_a_cifar_folder_runs_the_features_pipeline(tmp_path, rng, capsys):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(root / name, "wb") as f:
            pickle.dump(
                {
                    b"data": rng.integers(0, 256, (60, 3072), dtype=np.uint8),
                    b"labels": rng.integers(0, 10, 60).tolist(),
                },
                f,
                protocol=2,
            )
    out_dir = tmp_path / "out"
    assert main(["demo", "--quick", "--data", str(root), "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "CIFAR-10: 270 training, 30 validation, 60 test" in out
    assert "| Features + net |" in out
    _check_pngs(sorted(out_dir.glob("*.png")))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--data", "/no/such/folder"], "no such folder: /no/such/folder"),
        (["bench", "--repeat", "1", "--size", "small", "--backend", "cupy"], "CuPy"),
    ],
)
def test_errors_are_one_line_without_traceback(argv, message, capsys):
    from fastvr._backend import cuda_device_count

    if "cupy" in argv and cuda_device_count():
        pytest.skip("CuPy is usable here")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastvr: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_empty_cifar_folder_says_what_is_expected(tmp_path, capsys):
    assert main(["demo", "--data", str(tmp_path)]) == 2
    assert "no CIFAR-10 batches in" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["demo"], ["bench"], ["info"], ["warmup"]])
def test_help_everywhere(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: fastvr" in capsys.readouterr().out


def test_warmup_reports_each_group_and_the_cache(capsys):
    assert main(["warmup"]) == 0
    out = capsys.readouterr().out
    for group in ("naive SVM and softmax losses", "k-NN", "HOG and hue histograms"):
        assert group in out
    assert "kernels ready in" in out and "Numba's cache:" in out


def test_info_and_bench(capsys):
    assert main(["info", "--json"]) == 0
    info = capsys.readouterr().out
    assert '"fastvr"' in info and '"kernel warm-up (FASTVR_WARMUP)"' in info
    assert (
        main(
            [
                "bench",
                "--size",
                "small",
                "--dtype",
                "float32",
                "--repeat",
                "1",
                "--backend",
                "numpy",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| float32 | predict k=10 |" in out and "| float32 | Numba two_loops |" in out

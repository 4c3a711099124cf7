"""The kernels' warm-up (fastvr._warmup): what it compiles, and that it never changes an
answer, the random state, a forked child or a multiprocessing worker."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

# Each script runs in a fresh process with an empty Numba cache: what a new Colab session has.
_SIGNATURES_AFTER_WARMUP = """
import functools
import json
import numpy as np
import fastvr
from fastvr.kernels import cpu

def compiled():
    return {name: len(k.signatures) for name, k in vars(cpu).items() if hasattr(k, "signatures")}

fastvr.warmup()
before = compiled()
rng = np.random.default_rng(0)
# large enough for every compiled path: a reference of 2^20 entries, 2^22 pixels of images
X = rng.integers(0, 256, (2300, 512)).astype(np.float64)
y = rng.integers(0, 10, 2300)
from fastvr.classifiers import KNearestNeighbor
from fastvr.classifiers.linear_svm import svm_loss_naive
from fastvr.classifiers.softmax import softmax_loss_naive
from fastvr.features import color_histogram_hsv, extract_features, hog_feature
knn = KNearestNeighbor()
knn.train(X[:2050], y[:2050])
knn.compute_distances_two_loops(X[2050:2060])
knn.compute_distances_one_loop(X[2050:2060])
knn.predict_labels(knn.compute_distances_no_loops(X[1800:]), k=1)
for k in (1, 5, 10):
    knn.predict(X[1800:], k=k)
knn.predict(X[1800:] / 3, k=5)
assert fastvr.neighbors.last_screen_stats().rows == 500  # the screen ran
W = rng.standard_normal((512, 10)) * 1e-4
svm_loss_naive(W, X - X.mean(axis=0), y, 5e-6)
softmax_loss_naive(W, X - X.mean(axis=0), y, 5e-6)
imgs = rng.integers(0, 256, (4096, 32, 32, 3)).astype(np.float64)
extract_features(imgs[:20], [hog_feature, lambda im: color_histogram_hsv(im, nbin=10)])
extract_features(imgs, [hog_feature, functools.partial(color_histogram_hsv, nbin=10)])
print(json.dumps({"before": before, "after": compiled()}))
"""


def _python(code: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), **env}
    return subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=300
    )


def _fill_cache(tmp_path) -> None:
    """Numba's cache in ``tmp_path`` filled by a first process, as a later session finds it."""
    fill = _python("import fastvr; fastvr.warmup()", tmp_path, FASTVR_WARMUP="off")
    assert fill.returncode == 0, fill.stderr


@pytest.mark.slow
def test_warmup_compiles_every_kernel_a_course_notebook_calls(tmp_path):
    out = _python(_SIGNATURES_AFTER_WARMUP, tmp_path, FASTVR_WARMUP="off")
    assert out.returncode == 0, out.stderr
    counts = json.loads(out.stdout.splitlines()[-1])
    new = {k: v for k, v in counts["after"].items() if v != counts["before"].get(k, 0)}
    assert new == {}, f"compiled after the warm-up: {new}"
    assert counts["before"]["_two_loops_tiles"] == 1  # one signature, no spare ones


def test_background_warmup_runs_without_touching_numpy_random(tmp_path):
    code = (
        "import numpy as np\n"
        "np.random.seed(0)\n"
        "import fastvr, fastvr._warmup as w\n"
        "started = w.status()\n"
        "assert w.wait(240)\n"
        "print(started, w.status(), np.random.rand())\n"
    )
    out = _python(code, tmp_path)
    assert out.returncode == 0, out.stderr
    import numpy as np

    np.random.seed(0)
    assert out.stdout.split() == ["running", "done", repr(np.random.rand())]


@pytest.mark.parametrize(("value", "status"), [("off", "off"), ("0", "off"), ("", "done")])
def test_the_environment_variable_turns_it_off_and_empty_means_the_default(tmp_path, value, status):
    code = "import fastvr, fastvr._warmup as w\nw.wait(240)\nprint(w.status())"
    out = _python(code, tmp_path, FASTVR_WARMUP=value)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == status


def test_an_unknown_value_warns_naming_the_variable_and_its_values(tmp_path):
    code = "import fastvr, fastvr._warmup as w\nprint(w.status())"
    out = _python(code, tmp_path, FASTVR_WARMUP="bogus")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "off"
    assert "FASTVR_WARMUP='bogus' is not one of 'background', 'off'" in out.stderr


def test_a_child_forked_while_the_warmup_compiles_in_process_compiles_and_exits(tmp_path):
    """The in-process step compiles (or loads) under Numba's compiler lock: a child forked
    meanwhile must not inherit the lock held by a thread it does not have."""
    code = (
        "import os, threading, time, numpy as np\n"
        "import fastvr, fastvr._warmup as w\n"
        "from fastvr.classifiers.softmax import softmax_loss_naive\n"
        "w._hold_compiler_across_fork()\n"
        "thread = threading.Thread(target=fastvr.warmup)  # compiles: the cache is empty\n"
        "thread.start()\n"
        "time.sleep(0.5)\n"
        "assert thread.is_alive()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    W, X, y = np.zeros((3, 2)), np.ones((4, 3)), np.zeros(4, int)\n"
        "    loss, _ = softmax_loss_naive(W, X, y, 0.0)\n"
        "    os._exit(0 if abs(loss - np.log(2)) < 1e-12 else 1)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "thread.join()\n"
        "print(os.waitstatus_to_exitcode(status))\n"
    )
    out = _python(code, tmp_path, FASTVR_WARMUP="off")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


@pytest.mark.parametrize("cache", ["empty", "filled"])
def test_the_background_thread_leaves_every_kernel_loaded(tmp_path, cache):
    """After the warm-up, a process has Numba started and every kernel loaded from the cache,
    whether the cache held them (filled by an earlier process) or the warm-up's own process
    compiled them (empty): no first call pays a compilation or Numba's start-up."""
    if cache == "filled":
        _fill_cache(tmp_path)
    code = (
        "import sys\n"
        "import fastvr, fastvr._warmup as w\n"
        "assert w.wait(600) and w.status() == 'done', w.status()\n"
        "from fastvr.kernels import cpu\n"
        "names = ['_two_loops_tiles', '_one_loop_rows', 'smallest_k', 'naive_linear_loss',\n"
        "         '_screen_candidates_rows', '_lower_reference_rows', '_hog_cells_rows']\n"
        "loaded = [len(getattr(cpu, n).signatures) for n in names]\n"
        "misses = sum(sum(k.stats.cache_misses.values()) for k in vars(cpu).values()\n"
        "             if hasattr(k, 'stats'))\n"
        "gpu = 'cupy' in sys.modules or any(m.startswith('numba.cuda') for m in sys.modules)\n"
        "print(min(loaded), misses, gpu)\n"
    )
    out = _python(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "0", "False"]  # loaded here, none compiled, no GPU code


def test_no_warmup_in_multiprocessing_workers(tmp_path):
    code = (
        "import multiprocessing as mp\n"
        "def status():\n"
        "    import fastvr._warmup as w\n"
        "    return w.status()\n"
        "if __name__ == '__main__':\n"
        "    with mp.get_context('spawn').Pool(1) as pool:\n"
        "        print(pool.apply(status))\n"
    )
    script = tmp_path / "workers.py"
    script.write_text(code)
    environ = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    out = subprocess.run(
        [sys.executable, str(script)], env=environ, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "off"


def test_an_import_of_numba_while_the_warmup_imports_it_waits_and_succeeds(tmp_path):
    """Numba's modules import each other in cycles: a notebook that imports Numba (or a
    library that does) while the background thread imports it must get whole modules, not
    an ImportError from a half-initialised one. The script enters Numba's import through
    another module than the warm-up does, the moment the warm-up's import has begun."""
    _fill_cache(tmp_path)
    code = (
        "import sys, time\n"
        "import fastvr, fastvr._warmup as w\n"
        "deadline = time.monotonic() + 120\n"
        "while 'numba' not in sys.modules and time.monotonic() < deadline:\n"
        "    pass\n"
        "from numba.core.registry import cpu_target\n"
        "from numba.np.ufunc import ufuncbuilder\n"
        "assert w.wait(240)\n"
        "print(w.status(), type(cpu_target).__name__, ufuncbuilder.__name__)\n"
    )
    for _ in range(3):  # the race is timing-dependent: three chances to lose it
        out = _python(code, tmp_path)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["done", "CPUTarget", "numba.np.ufunc.ufuncbuilder"]


def test_a_checkout_imported_without_an_install_says_how_to_install_it(tmp_path):
    """kernels/ becomes fastvr.kernels only through an install: the package folder alone
    (what ``import fastvr`` finds in a fresh clone's root) fails at once, saying so."""
    import fastvr

    package = pathlib.Path(fastvr.__file__).parent
    shutil.copytree(package, tmp_path / "fastvr", ignore=shutil.ignore_patterns("__pycache__"))
    code = (  # without this machine's editable install, as a fresh clone has none
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
        "import fastvr\n"
    )
    for setting in ("off", "background"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env={**os.environ, "FASTVR_WARMUP": setting},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode != 0
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith("ImportError: fastvr was imported from"), out.stderr
        assert f"pip install -e {tmp_path}" in last

"""``fastvr check``: the course's unfilled skeletons are all ``missing``, fastvr dressed as a
student's package passes everything, each planted classic mistake is caught with its hint,
and a hanging, crashing or memory-hungry function ends only its own check."""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest

from fastvr import cli
from fastvr.check import check_package, find_package

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def write_package(root: Path, files: dict[str, str]) -> Path:
    """A ``cs231n`` package under ``root`` with ``files`` (relative path -> source)."""
    package = root / "cs231n"
    for folder in (package, package / "classifiers"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").touch()
    for name, source in files.items():
        (package / name).write_text(textwrap.dedent(source))
    return root


# The 2025 skeleton as handed out: what each TODO leaves behind (written for this test).
STUBS_2025 = {
    "classifiers/k_nearest_neighbor.py": """
        import numpy as np

        class KNearestNeighbor(object):
            def train(self, X, y):
                self.X_train = X
                self.y_train = y

            def compute_distances_two_loops(self, X):
                dists = np.zeros((X.shape[0], self.X_train.shape[0]))
                for i in range(X.shape[0]):
                    for j in range(self.X_train.shape[0]):
                        pass  # TODO
                return dists

            def compute_distances_one_loop(self, X):
                dists = np.zeros((X.shape[0], self.X_train.shape[0]))
                for i in range(X.shape[0]):
                    pass  # TODO
                return dists

            def compute_distances_no_loops(self, X):
                return np.zeros((X.shape[0], self.X_train.shape[0]))  # TODO

            def predict_labels(self, dists, k=1):
                y_pred = np.zeros(dists.shape[0])
                for i in range(dists.shape[0]):
                    closest_y = []  # TODO
                return y_pred
    """,
    "classifiers/softmax.py": """
        import numpy as np

        def softmax_loss_naive(W, X, y, reg):
            loss = 0.0
            dW = np.zeros_like(W)
            for i in range(X.shape[0]):  # the loss is given in 2025; the gradient is a TODO
                scores = X[i].dot(W)
                scores -= np.max(scores)
                p = np.exp(scores) / np.sum(np.exp(scores))
                loss -= np.log(p[y[i]])
            loss = loss / X.shape[0] + reg * np.sum(W * W)
            return loss, dW

        def softmax_loss_vectorized(W, X, y, reg):
            loss = 0.0
            dW = np.zeros_like(W)  # TODO
            return loss, dW
    """,
    "classifiers/linear_classifier.py": """
        import numpy as np
        from .softmax import softmax_loss_vectorized

        class LinearClassifier(object):
            def __init__(self):
                self.W = None

            def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100,
                      batch_size=200, verbose=False):
                num_train, dim = X.shape
                if self.W is None:
                    self.W = 0.001 * np.random.randn(dim, np.max(y) + 1)
                loss_history = []
                for it in range(num_iters):
                    X_batch = None  # TODO
                    y_batch = None
                    loss, grad = self.loss(X_batch, y_batch, reg)
                    loss_history.append(loss)
                    # TODO: update the weights
                return loss_history

            def predict(self, X):
                y_pred = np.zeros(X.shape[0])  # TODO
                return y_pred

        class Softmax(LinearClassifier):
            def loss(self, X_batch, y_batch, reg):
                return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)
    """,
    "layers.py": """
        def affine_forward(x, w, b):
            out = None  # TODO
            cache = (x, w, b)
            return out, cache

        def affine_backward(dout, cache):
            dx, dw, db = None, None, None  # TODO
            return dx, dw, db

        def relu_forward(x):
            out = None  # TODO
            return out, x

        def relu_backward(dout, cache):
            dx = None  # TODO
            return dx

        def svm_loss(x, y):
            loss, dx = None, None  # TODO (optional in 2025)
            return loss, dx

        def softmax_loss(x, y):
            loss, dx = None, None  # TODO
            return loss, dx
    """,
    "classifiers/fc_net.py": """
        import numpy as np
        from ..layers import *

        class TwoLayerNet(object):
            def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                         weight_scale=1e-3, reg=0.0):
                self.params = {}
                self.reg = reg  # TODO: initialise the weights and biases

            def loss(self, X, y=None):
                scores = None  # TODO
                if y is None:
                    return scores
                loss, grads = 0, {}  # TODO
                return loss, grads

        class FullyConnectedNet(object):
            def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10,
                         dropout_keep_ratio=1, normalization=None, reg=0.0,
                         weight_scale=1e-2, dtype=np.float32, seed=None):
                self.reg = reg
                self.num_layers = 1 + len(hidden_dims)
                self.dtype = dtype
                self.params = {}  # TODO

            def loss(self, X, y=None):
                X = X.astype(self.dtype)
                scores = None  # TODO
                if y is None:
                    return scores
                loss, grads = 0.0, {}  # TODO
                return loss, grads
    """,
    "optim.py": """
        import numpy as np

        def sgd(w, dw, config=None):
            if config is None:
                config = {}
            config.setdefault("learning_rate", 1e-2)
            w -= config["learning_rate"] * dw
            return w, config

        def sgd_momentum(w, dw, config=None):
            if config is None:
                config = {}
            config.setdefault("learning_rate", 1e-2)
            config.setdefault("momentum", 0.9)
            v = config.get("velocity", np.zeros_like(w))
            next_w = None  # TODO
            config["velocity"] = v
            return next_w, config

        def rmsprop(w, dw, config=None):
            if config is None:
                config = {}
            config.setdefault("cache", np.zeros_like(w))
            next_w = None  # TODO
            return next_w, config

        def adam(w, dw, config=None):
            if config is None:
                config = {}
            config.setdefault("m", np.zeros_like(w))
            config.setdefault("v", np.zeros_like(w))
            config.setdefault("t", 0)
            next_w = None  # TODO
            return next_w, config
    """,
}

# fastvr itself, at the course's module paths
DRESSED = {
    "classifiers/k_nearest_neighbor.py": "from fastvr.classifiers.k_nearest_neighbor import *\n",
    "classifiers/linear_svm.py": "from fastvr.classifiers.linear_svm import *\n",
    "classifiers/softmax.py": "from fastvr.classifiers.softmax import *\n",
    "classifiers/linear_classifier.py": "from fastvr.classifiers.linear_classifier import *\n",
}
DRESSED_2025 = {
    **DRESSED,
    "classifiers/fc_net.py": "from fastvr.classifiers.fc_net import FullyConnectedNet, TwoLayerNet",
    "layers.py": "from fastvr.layers import *\n",
    "optim.py": "from fastvr.optim import *\n",
}
DRESSED_2019 = {
    **DRESSED,
    "classifiers/neural_net.py": "from fastvr.classifiers.neural_net import *\n",
}


def statuses(report) -> dict[str, str]:
    return {v.name.removeprefix("cs231n."): v.status for v in report.verdicts}


def test_the_unfilled_2025_skeleton_is_missing_everywhere(tmp_path):
    report = check_package(write_package(tmp_path, STUBS_2025), speed=False)
    assert report.edition == "2025/2026"
    found = statuses(report)
    assert len(found) == 22  # no linear_svm.py in 2025: the SVM functions are not listed
    assert found.pop("optim.sgd") == "pass"  # provided by the course since 2022
    assert set(found.values()) == {"missing"}, found
    assert report.ok  # missing is reported, not failed


@pytest.mark.parametrize(
    ("files", "edition", "count"),
    [(DRESSED_2025, "2025/2026", 24), (DRESSED_2019, "2019/2020", 13)],
    ids=["2025", "2019"],
)
def test_fastvr_dressed_as_a_student_passes_everything(tmp_path, files, edition, count):
    report = check_package(write_package(tmp_path, files), speed=False)
    assert report.edition == edition
    found = statuses(report)
    assert len(found) == count
    assert set(found.values()) == {"pass"}, {n: s for n, s in found.items() if s != "pass"}
    assert report.ok


SOFTMAX_NO_SHIFT = """
    import numpy as np

    def softmax_loss_vectorized(W, X, y, reg):
        n = X.shape[0]
        e = np.exp(X.dot(W))
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), y]).mean() + reg * np.sum(W * W)
        p[np.arange(n), y] -= 1
        return loss, X.T.dot(p) / n + 2 * reg * W
"""

SOFTMAX_HALF_REG = """
    import numpy as np

    def softmax_loss_vectorized(W, X, y, reg):
        n = X.shape[0]
        s = X.dot(W)
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), y]).mean() + 0.5 * reg * np.sum(W * W)
        p[np.arange(n), y] -= 1
        return loss, X.T.dot(p) / n + reg * W
"""


def _svm(loss_line: str, grad_line: str) -> str:
    return f"""
    import numpy as np

    def svm_loss_vectorized(W, X, y, reg):
        n = X.shape[0]
        s = X.dot(W)
        m = np.maximum(0, s - s[np.arange(n), y][:, None] + 1)
        m[np.arange(n), y] = 0
        {loss_line}
        on = (m > 0).astype(float)
        on[np.arange(n), y] = -on.sum(axis=1)
        {grad_line}
        return loss, dW
"""


SVM_RIGHT_LOSS = "loss = m.sum() / n + reg * np.sum(W * W)"
KNN_BASE = """
    import numpy as np
    from fastvr.classifiers.k_nearest_neighbor import KNearestNeighbor as _Fast

    class KNearestNeighbor(_Fast):
"""

PLANTED = [
    ("softmax.py", SOFTMAX_NO_SHIFT, "softmax_loss_vectorized", "max shift"),
    (
        "softmax.py",
        SOFTMAX_HALF_REG.replace("0.5 * reg", "reg").replace("+ reg * W", ""),
        "softmax_loss_vectorized",
        "regularization term's gradient is missing",
    ),
    (
        "softmax.py",
        SOFTMAX_HALF_REG.replace("0.5 * reg", "reg"),
        "softmax_loss_vectorized",
        "factor 2",
    ),
    (
        "linear_svm.py",
        _svm(SVM_RIGHT_LOSS, "dW = X.T.dot(on) / n"),
        "svm_loss_vectorized",
        "regularization term's gradient is missing",
    ),
    (
        "linear_svm.py",
        _svm(SVM_RIGHT_LOSS, "dW = X.T.dot(on) / n + reg * W"),
        "svm_loss_vectorized",
        "factor 2",
    ),
    (
        "linear_svm.py",
        _svm("loss = m.sum() // n + reg * np.sum(W * W)", "dW = X.T.dot(on) / n + 2 * reg * W"),
        "svm_loss_vectorized",
        "integer division",
    ),
    (
        "linear_svm.py",
        _svm("loss = m.sum() / n + reg * np.sum(W * W)", "dW = X.T.dot(on) + 2 * reg * W"),
        "svm_loss_vectorized",
        "gradient and its own loss disagree",
    ),  # not averaged in dW only: no known mistake, but its own check says
    (
        "linear_svm.py",
        _svm("loss = m.sum() / n", "dW = X.T.dot(on) / n + 2 * reg * W"),
        "svm_loss_vectorized",
        "missing from the loss",
    ),
    (
        "k_nearest_neighbor.py",
        KNN_BASE
        + """
        def compute_distances_no_loops(self, X):
            return (np.sum(X**2, axis=1)[:, None] + np.sum(self.X_train**2, axis=1)[None, :]
                    - 2 * X.dot(self.X_train.T))
    """,
        "compute_distances_no_loops",
        "square root is missing",
    ),
    (
        "k_nearest_neighbor.py",
        KNN_BASE
        + """
        def predict_labels(self, dists, k=1):
            y_pred = np.zeros(dists.shape[0])
            for i in range(dists.shape[0]):
                closest = self.y_train[np.argsort(dists[i], kind="stable")[:k]]
                values, counts = np.unique(closest, return_counts=True)
                y_pred[i] = values[counts == counts.max()].max()
            return y_pred
    """,
        "predict_labels",
        "larger label",
    ),
    (
        "../layers.py",
        """
        import numpy as np

        def relu_forward(x):
            x[x < 0] = 0
            return x, x
    """,
        "relu_forward",
        "in-place",
    ),
    (
        "../layers.py",
        """
        import numpy as np
        from fastvr.layers import relu_forward

        def relu_backward(dout, cache):
            return dout * (cache >= 0)
    """,
        "relu_backward",
        "x == 0",
    ),
    (
        "../optim.py",
        """
        import numpy as np

        def adam(w, dw, config=None):
            config = {} if config is None else config
            config.setdefault("learning_rate", 1e-3)
            for key in ("m", "v"):
                config.setdefault(key, np.zeros_like(w))
            config.setdefault("t", 0)
            m = 0.9 * config["m"] + 0.1 * dw
            v = 0.999 * config["v"] + 0.001 * dw**2
            t = config["t"]
            next_w = w - config["learning_rate"] * (m / (1 - 0.9**t)) / (
                np.sqrt(v / (1 - 0.999**t)) + 1e-8)
            config.update(m=m, v=v, t=t + 1)
            return next_w, config
    """,
        "adam",
        "incremented before",
    ),
    (
        "fc_net.py",
        """
        import numpy as np
        from fastvr.classifiers.fc_net import TwoLayerNet as _Fast

        class TwoLayerNet(_Fast):
            def loss(self, X, y=None):
                out = super().loss(X, y)
                if y is None:
                    return out
                loss, grads = out
                for name in ("W1", "W2"):
                    loss += 0.5 * self.reg * np.sum(self.params[name] ** 2)
                    grads[name] = grads[name] + self.reg * self.params[name]
                return loss, grads
    """,
        "TwoLayerNet.loss",
        "0.5 * reg",
    ),
]


@pytest.mark.parametrize(
    ("module", "source", "name", "hint"), PLANTED, ids=[f"{p[2]}-{p[3]}" for p in PLANTED]
)
def test_each_planted_mistake_fails_with_its_hint(tmp_path, module, source, name, hint):
    path = module.removeprefix("../") if module.startswith("../") else f"classifiers/{module}"
    report = check_package(write_package(tmp_path, {path: source}), only=name, speed=False)
    (verdict,) = report.verdicts
    assert verdict.status == "fail", verdict
    assert hint in verdict.hint or hint in verdict.detail, verdict
    assert not report.ok


def test_another_regularization_convention_is_a_convention_not_a_failure(tmp_path):
    files = {"classifiers/softmax.py": SOFTMAX_HALF_REG}
    report = check_package(
        write_package(tmp_path, files), only="softmax_loss_vectorized", speed=False
    )
    (verdict,) = report.verdicts
    assert verdict.status == "convention", verdict
    assert "0.5 * reg" in verdict.hint
    assert "agrees with a numerical gradient of its own loss" in verdict.detail
    assert report.ok


def test_a_failure_names_the_smallest_failing_case_and_its_error(tmp_path):
    files = {"classifiers/softmax.py": SOFTMAX_HALF_REG.replace("0.5 * reg", "reg")}
    report = check_package(
        write_package(tmp_path, files), only="softmax_loss_vectorized", speed=False
    )
    (verdict,) = report.verdicts
    assert verdict.detail.startswith("N=1, D=1, C=2: max relative error")
    assert 0 < verdict.max_rel_error < 1


KNN_BAD = {
    "hang": "while True:\n                pass",
    "os._exit": "import os; os._exit(3)",
    "sys.exit": "import sys; sys.exit(4)",
    "huge allocation": "return np.ones((60000, 60000))",
    "raises": "raise ValueError('not yet')",
}


@pytest.mark.parametrize(
    ("what", "expect"),
    [
        ("hang", "ran past the time limit (3 s), in case 1 of 5"),
        ("os._exit", "the process exited with status 3"),
        ("sys.exit", "SystemExit: 4"),
        ("huge allocation", "MemoryError"),
        ("raises", "ValueError: not yet"),
    ],
)
def test_a_hanging_or_crashing_function_ends_only_its_own_check(tmp_path, what, expect):
    source = (
        KNN_BASE
        + f"""
        def compute_distances_two_loops(self, X):
            {KNN_BAD[what]}
    """
    )
    files = {"classifiers/k_nearest_neighbor.py": source}
    report = check_package(write_package(tmp_path, files), timeout=3, memory_mib=1024, speed=False)
    found = {v.name.rsplit(".", 1)[1]: v for v in report.verdicts}
    bad = found.pop("compute_distances_two_loops")
    assert bad.status == "error" and expect in bad.detail, bad
    assert {v.status for v in found.values()} == {"pass"}  # the others still checked
    assert not report.ok


def test_an_unimportable_module_is_an_error_and_a_missing_name_is_missing(tmp_path):
    files = {
        "classifiers/softmax.py": "def softmax_loss_naive(W, X, y, reg:\n    pass\n",
        "classifiers/linear_svm.py": "import numpy as np\n",
    }
    report = check_package(write_package(tmp_path, files), speed=False)
    found = statuses(report)
    assert found["classifiers.softmax.softmax_loss_naive"] == "error"
    assert (
        "SyntaxError"
        in report.verdicts[
            [v.name for v in report.verdicts].index("cs231n.classifiers.softmax.softmax_loss_naive")
        ].detail
    )
    assert found["classifiers.linear_svm.svm_loss_naive"] == "missing"


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_package_is_never_modified(tmp_path):
    source = (
        KNN_BASE
        + """
        def train(self, X, y):
            import os
            here = os.path.dirname(__file__)
            open(os.path.join(here, "written.txt"), "w").write("x")
            open(__file__, "a").write("# changed")
            super().train(X, y)
    """
    )
    root = write_package(tmp_path, {"classifiers/k_nearest_neighbor.py": source})
    before = _digest(root)
    check_package(root, only="predict_labels", speed=False)
    assert _digest(root) == before  # no bytecode, no written file, the source as it was


def test_find_package_takes_the_assignment_folder_or_the_package(tmp_path):
    root = write_package(tmp_path, {})
    assert find_package(root) == find_package(root / "cs231n") == (root / "cs231n").resolve()
    with pytest.raises(ValueError, match="no cs231n package"):
        find_package(root / "cs231n" / "classifiers")
    with pytest.raises(ValueError, match="--only 'nope' matches no function"):
        check_package(write_package(tmp_path, DRESSED), only="nope")


def test_the_command_writes_json_and_gradescope_and_sets_the_exit_status(tmp_path, capsys):
    root = write_package(tmp_path, {"classifiers/softmax.py": SOFTMAX_NO_SHIFT})
    out = tmp_path / "report.json"
    code = cli.main(
        ["check", str(root), "--only", "softmax_loss_vectorized", "--json", str(out), "--no-speed"]
    )
    assert code == 1
    table = capsys.readouterr().out
    assert "softmax.softmax_loss_vectorized" in table and "hint: missing max shift" in table
    data = json.loads(out.read_text())
    (entry,) = data["functions"]
    assert entry["name"] == "cs231n.classifiers.softmax.softmax_loss_vectorized"
    assert entry["status"] == "fail" and "max shift" in entry["hint"]
    assert data["summary"]["fail"] == 1

    grades = tmp_path / "results.json"
    code = cli.main(
        ["check", str(root), "--format", "gradescope", "--json", str(grades), "--no-speed"]
    )
    assert code == 1
    results = json.loads(grades.read_text())
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["cs231n.classifiers.softmax.softmax_loss_vectorized"]["score"] == 0
    assert tests["cs231n.classifiers.softmax.softmax_loss_naive"]["output"].startswith("missing")
    assert all(t["max_score"] == 1 for t in results["tests"])


def test_the_command_passes_a_right_function_and_times_it(tmp_path, capsys):
    root = write_package(tmp_path, DRESSED)
    assert cli.main(["check", str(root), "--only", "svm_loss_vectorized"]) == 0
    assert "x fastvr" in capsys.readouterr().out


def test_its_own_gradient_check_tells_a_wrong_backward_pass_from_a_wrong_forward(tmp_path):
    files = {
        "layers.py": """
        import numpy as np
        from fastvr.layers import affine_forward

        def affine_backward(dout, cache):
            x, w, b = cache
            dx = dout.dot(w.T).reshape(x.shape)
            return dx, x.reshape(x.shape[0], -1).T.dot(dout), dout.sum(axis=0) / 2
    """
    }
    report = check_package(write_package(tmp_path, files), only="affine_backward", speed=False)
    (verdict,) = report.verdicts
    assert verdict.status == "fail"
    assert "its gradient and its own loss disagree" in verdict.detail


SVM_COUNTS_ITS_OWN_CLASS = """
    import numpy as np

    def svm_loss_vectorized(W, X, y, reg):
        n = X.shape[0]
        s = X.dot(W)
        m = np.maximum(0, s - s[np.arange(n), y][:, None] + 1)  # the correct class's is 1
        loss = m.sum() / n + reg * np.sum(W * W)
        on = (m > 0).astype(float)
        on[np.arange(n), y] = 0
        on[np.arange(n), y] = -on.sum(axis=1)
        return loss, X.T.dot(on) / n + 2 * reg * W
"""

SVM_ZERO_MARGIN_COUNTS = """
    import numpy as np

    def svm_loss_vectorized(W, X, y, reg):
        n = X.shape[0]
        s = X.dot(W)
        margins = s - s[np.arange(n), y][:, None] + 1
        margins[np.arange(n), y] = -1
        loss = np.maximum(0, margins).sum() / n + reg * np.sum(W * W)
        on = (margins >= 0).astype(float)
        on[np.arange(n), y] = -on.sum(axis=1)
        return loss, X.T.dot(on) / n + 2 * reg * W
"""


@pytest.mark.parametrize(
    ("source", "hint"),
    [(SVM_COUNTS_ITS_OWN_CLASS, "j == y[i]"), (SVM_ZERO_MARGIN_COUNTS, "margin > 0")],
    ids=["own class counted", "zero margin counted"],
)
def test_svm_margin_mistakes(tmp_path, source, hint):
    files = {"classifiers/linear_svm.py": source}
    report = check_package(write_package(tmp_path, files), only="svm_loss_vectorized", speed=False)
    (verdict,) = report.verdicts
    assert verdict.status == "fail" and hint in verdict.hint, verdict


def test_the_worker_imports_nothing_of_fastvr():
    # the child process runs the student's code beside numpy only: nothing it does can
    # reach the checker's own modules
    import subprocess
    import sys

    from fastvr.check import _runner

    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1], run_name='not_main'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'fastvr'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(_runner._WORKER)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_a_failure_that_comes_from_a_broken_dependency_says_so(tmp_path):
    files = {
        "classifiers/softmax.py": SOFTMAX_NO_SHIFT.replace("+ 2 * reg * W", ""),
        "classifiers/linear_classifier.py": "from fastvr.classifiers.linear_classifier import *\n"
        "from .softmax import softmax_loss_vectorized\n\n"
        "class Softmax(LinearClassifier):\n"
        "    def loss(self, X_batch, y_batch, reg):\n"
        "        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)\n",
    }
    report = check_package(write_package(tmp_path, files), speed=False)
    train = next(v for v in report.verdicts if v.name.endswith("LinearClassifier.train"))
    assert train.status == "fail"
    assert "it calls softmax.softmax_loss_vectorized, which fails: fix it first" in train.detail

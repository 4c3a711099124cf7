"""The course's gradient-checking helpers: values, printed format, x restored."""

from __future__ import annotations

import random
import re

import numpy as np

import fastvr
from fastvr.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
)

from .conftest import to_xp


def _cubic(x):
    return float(np.sum(x**3 + 2 * x))


def test_eval_numerical_gradient_matches_the_derivative_and_restores_x(rng):
    x = rng.normal(size=(3, 4))
    before = x.copy()
    grad = eval_numerical_gradient(_cubic, x, verbose=False)
    np.testing.assert_allclose(grad, 3 * before**2 + 2, rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_verbose_prints_index_and_value(capsys):
    eval_numerical_gradient(_cubic, np.zeros((1, 2)))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("(0, 0) 2.0") and out[1].startswith("(0, 1) 2.0")


def test_eval_numerical_gradient_array(rng):
    x, df = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    grad = eval_numerical_gradient_array(lambda v: np.tanh(v), x, df)
    np.testing.assert_allclose(grad, (1 - np.tanh(x) ** 2) * df, rtol=1e-7)


def test_works_on_other_array_libraries(xp, rng):
    x = to_xp(xp, rng.normal(size=(2, 2)))
    grad = eval_numerical_gradient(lambda v: float(xp.sum(v * v)), x, verbose=False)
    np.testing.assert_allclose(fastvr.to_numpy(grad), 2 * fastvr.to_numpy(x), rtol=1e-8)
    assert type(grad) is type(x)


def test_grad_check_sparse_prints_the_course_line_and_returns_errors(rng, capsys):
    x = rng.normal(size=(5, 6))
    random.seed(0)
    errors = grad_check_sparse(_cubic, x, 3 * x**2 + 2, num_checks=4)
    lines = capsys.readouterr().out.splitlines()
    pattern = r"^numerical: -?\d+\.\d{6} analytic: -?\d+\.\d{6}, relative error: \d\.\d{6}e[+-]\d+$"
    assert len(lines) == 4 and all(re.match(pattern, line) for line in lines)
    assert len(errors) == 4 and max(errors) < 1e-8
    wrong = grad_check_sparse(_cubic, x, 3 * x**2, num_checks=3)
    assert min(wrong) > 1e-3  # a wrong analytic gradient is caught


def test_grad_check_sparse_draws_like_the_course(rng):
    """Indices come from Python's random.randrange, so random.seed reproduces them."""
    x = rng.normal(size=(7, 9))
    seen = []

    def f(v):
        seen.append(v.copy())
        return float(np.sum(v))

    random.seed(42)
    grad_check_sparse(f, x, np.ones_like(x), num_checks=3)
    random.seed(42)
    expected = [tuple(random.randrange(m) for m in x.shape) for _ in range(3)]
    changed = [tuple(int(i) for i in np.argwhere(s != x)[0]) for s in seen[::2]]
    assert changed == expected

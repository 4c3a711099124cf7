import numpy as np

from benchmarks.course_code import centred_values, eval_numerical_gradient, grad_check_sparse


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        pos, neg = centred_values(f, x, it.multi_index, h)
        grad[it.multi_index] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


__all__ = ["eval_numerical_gradient", "eval_numerical_gradient_array", "grad_check_sparse"]

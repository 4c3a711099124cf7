"""FullyConnectedNet loss and gradients against PyTorch CPU autograd, each in its own process.

``python benchmarks/fc_vs_pytorch.py [--json out.json]`` times ``FullyConnectedNet([100] * 5)``
(3072 inputs, batch 200, with and without batch norm, float32 and float64): fastvr's
``loss(X, y)`` and the same network in PyTorch (2 threads) with ``backward()``, best of 200.
Separate processes because in one process PyTorch's OpenMP threads keep spinning after each of
its calls and slow the numpy entries that follow (measured here: 5.3 ms became 6.2–7.3 ms).
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import time

import numpy as np

CASES = [(dtype, norm) for dtype in ("float32", "float64") for norm in (None, "batchnorm")]


def _model(dtype: str, norm: str | None):
    from fastvr.classifiers.fc_net import FullyConnectedNet

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((200, 3072)).astype(dtype), rng.integers(0, 10, 200)
    np.random.seed(0)
    model = FullyConnectedNet(
        [100] * 5, normalization=norm, reg=1e-3, weight_scale=5e-2, dtype=dtype
    )
    return model, X, y


def _pytorch_step(model, X, y, norm):
    import torch

    torch.set_num_threads(2)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    tX, ty = torch.tensor(X), torch.tensor(y)
    layers = model.num_layers

    def step():
        for value in t.values():
            value.grad = None
        h = tX
        for i in range(1, layers):
            h = h @ t[f"W{i}"] + t[f"b{i}"]
            if norm:
                h = torch.nn.functional.batch_norm(
                    h, None, None, t[f"gamma{i}"], t[f"beta{i}"], True
                )
            h = torch.relu(h)
        loss = torch.nn.functional.cross_entropy(h @ t[f"W{layers}"] + t[f"b{layers}"], ty)
        loss = loss + 0.5e-3 * sum((t[f"W{i}"] ** 2).sum() for i in range(1, layers + 1))
        loss.backward()

    return step


def _time(who: str) -> dict[str, float]:
    """Best-of-200 milliseconds per case for ``who`` (run in a fresh process)."""
    out = {}
    for dtype, norm in CASES:
        model, X, y = _model(dtype, norm)
        if who == "fastvr":
            fn = functools.partial(model.loss, X, y)
        else:
            fn = _pytorch_step(model, X, y, norm)
        best = float("inf")
        for _ in range(200):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        out[f"{dtype} {norm or 'no norm'}"] = best * 1e3
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json")
    parser.add_argument("--who", choices=["fastvr", "pytorch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.who:
        print(json.dumps(_time(args.who)))
        return 0
    times = {
        who: json.loads(
            subprocess.run(
                [sys.executable, __file__, "--who", who], capture_output=True, text=True, check=True
            ).stdout
        )
        for who in ("fastvr", "pytorch")
    }
    print("| case | fastvr | PyTorch | fastvr / PyTorch |\n|---|---:|---:|---:|")
    for case, ms in times["fastvr"].items():
        torch_ms = times["pytorch"][case]
        print(f"| {case} | {ms:.2f} ms | {torch_ms:.2f} ms | {ms / torch_ms:.2f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(times, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# The GPU check, run on a lent NVIDIA machine (see the device tool's README), in one go:
# installs fastvr (no dependencies: the image has CuPy, Numba-CUDA, PyTorch, pytest and
# pytest-benchmark), runs the test suite with the CuPy backend forced, the Numba-CUDA kernels
# on real hardware, and the GPU benchmarks; writes everything under $OUT.
#
# Here, once:   echo /.whl/ >> .git/info/exclude
#               python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#                   --implementation cp -d .whl array-api-compat array-api-strict
# Then:         device run, carry [".whl"], command "bash benchmarks/gpu/check.sh",
#               timeout_s 420 (leaves room for one rerun in 15 minutes of device time).
# Status: written and shell-checked without a GPU; not yet run on one.
set -uo pipefail
OUT="${OUT:-/tmp/fastvr-gpu}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
python3 -m pip install -q --no-deps --no-build-isolation -e . || exit 1

{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    python3 -c "import cupy, numba, numpy, fastvr; print('cupy', cupy.__version__, \
'cuda runtime', cupy.cuda.runtime.runtimeGetVersion(), 'numba', numba.__version__, \
'numpy', numpy.__version__, 'fastvr', fastvr.__version__)"
} > "$OUT/environment.txt" 2>&1
cat "$OUT/environment.txt"

status=0
echo "== tests, CuPy backend forced"
FASTVR_BACKEND=cupy timeout 200 python3 -m pytest tests -q -p no:cacheprovider \
    --junitxml="$OUT/tests.xml" 2>&1 | tee "$OUT/tests.log" | tail -25 || status=1

echo "== GPU benchmarks"
timeout 150 python3 -m pytest benchmarks -q -p no:cacheprovider -k "cupy or gpu" \
    --benchmark-json="$OUT/bench-gpu.json" > "$OUT/bench.log" 2>&1 || status=1
tail -5 "$OUT/bench.log"
python3 benchmarks/report.py "$OUT/bench-gpu.json" > "$OUT/bench-gpu.md" 2>&1 && \
    head -60 "$OUT/bench-gpu.md"
exit $status

"""Backend-generic vectorized math, written once against an array namespace ``xp``.

Functions here take arrays already placed on their device and the namespace to use; they
validate nothing (the public layer above does). Library-specific fast paths come from the
helpers of ``fastvr._backend`` and, for loops, from the Numba and Numba-CUDA kernels of
``fastvr.kernels`` (imported where first run, so that ``import fastvr`` loads no compiler).
"""

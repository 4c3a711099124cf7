"""Backend-generic vectorized math, written once against an array namespace ``xp``.

Functions here take arrays already placed on their device and the namespace to use; they
validate nothing (the public layer above does) and leave library-specific fast paths to
the helpers of ``fastvr._backend``.
"""

"""Loop kernels, installed as ``fastvr.kernels``: a leaf that imports only numba and numpy.

``fastvr.kernels.cpu`` holds Numba ``@njit`` loops; ``fastvr.kernels.cuda`` holds Numba-CUDA
kernels and is imported only when GPU arrays need it. They are the readable reference paths
(the course's two-loop and one-loop distances) and the baselines of the speed reports.
"""

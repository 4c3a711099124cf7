"""The backend layer: selection, placement, transfers and helpers the standard lacks."""

from ._arrays import (
    Placement,
    asarray,
    library_of,
    placement_for,
    placement_with_state,
    to_numpy,
)
from ._extras import (
    argpartition,
    bincount,
    clamp_min_,
    float_dtype_for,
    itemsize,
    row_sq_norms,
    scatter_rows,
    scatter_set,
    take_nd,
)
from ._select import (
    BACKEND_NAMES,
    Backend,
    BackendUnavailableError,
    backend,
    cuda_device_count,
    current_backend,
    import_cupy,
    use,
)

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BackendUnavailableError",
    "Placement",
    "argpartition",
    "asarray",
    "backend",
    "bincount",
    "clamp_min_",
    "cuda_device_count",
    "current_backend",
    "float_dtype_for",
    "import_cupy",
    "itemsize",
    "library_of",
    "placement_for",
    "placement_with_state",
    "row_sq_norms",
    "scatter_rows",
    "scatter_set",
    "take_nd",
    "to_numpy",
    "use",
]

"""Progress bars: tqdm's widget in a notebook that can draw one, its text bar everywhere else."""

from __future__ import annotations

import importlib.util


def progress_bar() -> type:
    """The ``tqdm`` class to use here.

    ``tqdm.auto`` picks the notebook widget inside Jupyter, and when ipywidgets is missing it
    warns (``IProgress not found``) before falling back to text. The widget is chosen only
    where ipywidgets is installed; otherwise the text bar, silently.

    Examples
    --------
    >>> from fastvr._progress import progress_bar
    >>> bar = progress_bar()
    >>> sum(bar(range(3), disable=True))
    3
    """
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm

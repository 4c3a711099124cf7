"""Course-compatible classifiers (``from fastvr.classifiers import KNearestNeighbor``)."""

from .k_nearest_neighbor import KNearestNeighbor

__all__ = ["KNearestNeighbor"]

"""Course-compatible classifiers (``from fastvr.classifiers import KNearestNeighbor``)."""

from .k_nearest_neighbor import KNearestNeighbor
from .linear_classifier import LinearClassifier, LinearSVM, Softmax
from .neural_net import TwoLayerNet

__all__ = ["KNearestNeighbor", "LinearClassifier", "LinearSVM", "Softmax", "TwoLayerNet"]

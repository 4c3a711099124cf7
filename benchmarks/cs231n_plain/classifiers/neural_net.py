from benchmarks.course_code import TwoLayerNet

__all__ = ["TwoLayerNet"]

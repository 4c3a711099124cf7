from benchmarks.course_code import KNearestNeighbor

__all__ = ["KNearestNeighbor"]

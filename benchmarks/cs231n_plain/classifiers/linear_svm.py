from benchmarks.course_code import svm_loss_naive, svm_loss_vectorized

__all__ = ["svm_loss_naive", "svm_loss_vectorized"]

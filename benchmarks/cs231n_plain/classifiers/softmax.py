from benchmarks.course_code import softmax_loss_naive, softmax_loss_vectorized

__all__ = ["softmax_loss_naive", "softmax_loss_vectorized"]

"""The notebooks' plotting cells (loss and accuracy histories), as the course draws them."""

from __future__ import annotations

import matplotlib.pyplot as plt


def training_history(loss_history, train_acc_history=(), val_acc_history=(), title="Training"):
    fig = plt.figure(figsize=(6.4, 6.0))
    plt.subplot(2, 1, 1)
    plt.plot(loss_history)
    plt.title(f"{title}: loss")
    plt.xlabel("iteration")
    plt.subplot(2, 1, 2)
    plt.plot(train_acc_history, label="train")
    plt.plot(val_acc_history, label="val")
    plt.title(f"{title}: accuracy")
    plt.xlabel("epoch")
    plt.legend()
    return fig

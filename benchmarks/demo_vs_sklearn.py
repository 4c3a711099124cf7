"""scikit-learn's equivalents on the demo's split of the bundled digits (the README's table).

Run: ``python benchmarks/demo_vs_sklearn.py`` (needs scikit-learn). Same split and the same
mean-centring as ``fastvr demo``; each model's settings chosen on the validation split.
"""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import LinearSVC

from fastvr.demo import bundled_digits


def main() -> None:
    d = bundled_digits()
    flat = [im.reshape(len(im), -1) for im in (d.images_train, d.images_val, d.images_test)]
    mean = flat[0].mean(axis=0)
    X_train, X_val, X_test = (X - mean for X in flat)
    candidates = {
        "k-NN (KNeighborsClassifier, brute)": [
            KNeighborsClassifier(k, algorithm="brute") for k in (1, 3, 5, 8, 10)
        ],
        "Linear SVM (LinearSVC)": [LinearSVC(C=c, max_iter=20000) for c in (1e-3, 1e-2, 1e-1, 1)],
        "Softmax (LogisticRegression)": [
            LogisticRegression(C=c, max_iter=5000) for c in (1e-3, 1e-2, 1e-1, 1)
        ],
        "Two-layer net (MLPClassifier, 100 hidden)": [
            MLPClassifier((100,), alpha=a, max_iter=2000, random_state=0) for a in (1e-4, 1e-2)
        ],
    }
    print("| model | validation | test |\n|---|---:|---:|")
    for name, models in candidates.items():
        best = max(models, key=lambda m: m.fit(X_train, d.y_train).score(X_val, d.y_val))
        print(f"| {name} | {best.score(X_val, d.y_val):.3f} | {best.score(X_test, d.y_test):.3f} |")


if __name__ == "__main__":
    main()

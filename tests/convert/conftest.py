"""Shared fixtures: sklearn's bundled digits (no downloads) and tiny models trained in a few seconds."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def digits():
    """(X_train, X_test, y_train, y_test), pixels scaled to [0, 1]."""
    datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.model_selection import train_test_split

    X, y = datasets.load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="session")
def mlp(digits):
    """A 64-128-64-10 ReLU MLP (scikit-learn)."""
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    Xtr, _, ytr, _ = digits
    with threadpool_limits(1):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=200, random_state=0).fit(Xtr, ytr)

"""Reader for scikit-learn ``MLPClassifier`` / ``MLPRegressor`` (ReLU hidden layers).

Needs no import of scikit-learn: it reads the fitted attributes ``coefs_``,
``intercepts_``, ``activation``, ``out_activation_`` and ``classes_``.
"""
from __future__ import annotations

import numpy as np

from neurocore.convert._ir import Op
from neurocore.errors import ConversionError

__all__ = ["is_sklearn_mlp", "read_sklearn"]

#: Output activations that keep the arg-max (classifiers) or are the identity (regressors).
_OUT_OK = {"softmax", "logistic", "identity"}


def is_sklearn_mlp(model) -> bool:
    return type(model).__module__.startswith("sklearn") and type(model).__name__ in ("MLPClassifier", "MLPRegressor")


def read_sklearn(model, input_shape=None, sample=None) -> tuple[list[Op], dict]:
    """Ops of a fitted MLP; raises ConversionError for a non-ReLU activation or an unfitted model.

    ``sample`` is not needed here (every reader takes ``(model, input_shape, sample)``,
    see :data:`neurocore.convert.READERS`).
    """
    name = type(model).__name__
    if not hasattr(model, "coefs_"):
        raise ConversionError(f"{name} is not fitted (no coefs_); call .fit() before converting")
    if model.activation != "relu":
        raise ConversionError(f"{name} hidden layers 'hidden_1'..'hidden_{len(model.coefs_) - 1}' use activation "
                              f"'{model.activation}'; only 'relu' converts to integrate-and-fire neurons: "
                              "retrain with activation='relu'")
    if model.out_activation_ not in _OUT_OK:
        raise ConversionError(f"{name} output layer uses '{model.out_activation_}'; supported: {sorted(_OUT_OK)}")
    n_in = model.coefs_[0].shape[0]
    ops = [Op("input", "input", [], {"shape": tuple(input_shape) if input_shape else (n_in,)}, "input")]
    prev = "input"
    n = len(model.coefs_)
    for i, (w, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        lname = f"hidden_{i + 1}" if i < n - 1 else "output"
        ops.append(Op(lname, "dense", [prev], {"weight": np.asarray(w, np.float64).T.copy(),
                                               "bias": np.asarray(b, np.float64).copy()}, "Dense"))
        prev = lname
        if i < n - 1:
            ops.append(Op(f"{lname}.relu", "relu", [prev], {}, "ReLU"))
            prev = f"{lname}.relu"
    classifier = name == "MLPClassifier"
    info = {"format": "scikit-learn", "task": "classify" if classifier else "regress",
            "classes": list(np.asarray(model.classes_).tolist()) if classifier else None}
    return ops, info

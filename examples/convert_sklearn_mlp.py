"""Train a 64-128-64-10 ReLU MLP on scikit-learn's digits, convert it, and compare ANN vs SNN accuracy.

    python examples/convert_sklearn_mlp.py

The SNN runs on the integer chip (Loihi widths, 8-bit weights), direct input
encoding, spike-count read-out; the float SNN (unquantized) is shown beside it.
"""
import warnings

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import neurocore as nc
from neurocore.convert import convert
from neurocore.evaluate import accuracy_vs_timesteps, float_accuracy_vs_timesteps

STEPS = (4, 8, 16, 32)

X, y = load_digits(return_X_y=True)
X = X / 16.0
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    mlp = MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=200, random_state=0).fit(Xtr, ytr)
ann = mlp.score(Xte, yte)

chip = nc.chip.loihi()
for decoding in ("count", "membrane"):
    snn = convert(mlp, calibration=Xtr[:500], chip=chip, decoding=decoding)
    if decoding == "count":
        print(snn.meta["conversion_report"], "\n")
    chip_acc = accuracy_vs_timesteps(snn, chip, Xte, yte, steps=STEPS)
    float_acc = float_accuracy_vs_timesteps(snn, Xte, yte, steps=STEPS)
    print(f"MLP 64-128-64-10, {decoding} read-out: ANN {100 * ann:.2f}%  ({len(yte)} test digits)")
    print(f"{'T':>4} {'SNN chip':>9} {'SNN float':>10} {'chip - ANN':>11}")
    for t in STEPS:
        print(f"{t:>4} {100 * chip_acc[t]:>8.2f}% {100 * float_acc[t]:>9.2f}% {100 * (chip_acc[t] - ann):>+10.2f}")
    print()

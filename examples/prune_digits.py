"""Prune a wide converted MLP (64-1024-1024-10, sklearn digits) whose cores are bound by synapse memory.

    python examples/prune_digits.py [--budget 0.005] [--steps 32]

Trains an sklearn MLPClassifier (fixed seed), converts it for Loihi (8-bit weights),
prunes by activity on 500 calibration digits with an accuracy budget measured on a
validation split (bisection), then reports on the held-out test split: stored non-zero
synapses, cores on loihi() and energy per inference (loihi profile), before and after.
"""
import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import neurocore as nc

ap = argparse.ArgumentParser()
ap.add_argument("--budget", type=float, default=0.005, help="accuracy budget on validation (fraction)")
ap.add_argument("--steps", type=int, default=32)
ap.add_argument("--rule", default="both", choices=sorted(nc.pruning.PRUNE_RULES))
ap.add_argument("--sweep", action="store_true",
                help="also: accuracy on validation + test at fixed fractions, for every rule but 'silent'")
args = ap.parse_args()

X, y = load_digits(return_X_y=True)
X = X / 16.0
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.4, random_state=0, stratify=y)
Xval, Xte, yval, yte = train_test_split(Xte, yte, test_size=0.5, random_state=0, stratify=yte)
t0 = time.time()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    mlp = MLPClassifier(hidden_layer_sizes=(1024, 1024), max_iter=60, random_state=0).fit(Xtr, ytr)
print(f"ANN 64-1024-1024-10: test {100 * mlp.score(Xte, yte):.2f} %  (trained in {time.time() - t0:.0f} s)")

chip = nc.chip.loihi()
snn = nc.convert(mlp, calibration=Xtr[:500], chip=chip)
t0 = time.time()
pruned, report = nc.prune(snn, calibration=Xtr[:500], rule=args.rule, validation=(Xval, yval),
                          max_accuracy_drop=args.budget, n_steps=args.steps, chip=chip)
print(f"pruned in {time.time() - t0:.0f} s")
print(report)


def measure(graph, label):
    program = nc.compile(graph, chip)
    r = nc.Simulator(program).run(Xte, n_steps=args.steps)
    e = nc.energy.estimate(r, chip="loihi", baseline=None)
    ec = nc.energy.estimate(r, chip="loihi", baseline=None, static="core_fraction")
    m = program.mapping
    bound = f"lower bound {m['core_bound']} cores, set by {m['bound_binding']}"
    print(f"{label:>7}: test {100 * r.accuracy(yte):.2f} %  synapses {sum(p.n_synapses for p in graph.projections.values())}"
          f"  cores {program.n_cores_used}  energy/inference {1e6 * e.energy_per_inference_J:.2f} uJ"
          f"  synops/inf {r.counters['synops'].mean():.0f}  ({bound})\n"
          f"         dynamic {1e6 * e.dynamic_energy_J:.2f} uJ  static {1e6 * e.static_energy_J:.2f} uJ (whole chip)"
          f"  latency {1e6 * e.latency_s:.1f} us;  static=core_fraction: {1e6 * ec.energy_per_inference_J:.2f} uJ")
    return r.accuracy(yte), program.n_cores_used, e


a0, c0, e0 = measure(snn, "before")
a1, c1, e1 = measure(pruned, "after")
print(f"removed {100 * report.removed_fraction:.1f} % of stored non-zero synapses; test accuracy "
      f"{100 * (a1 - a0):+.2f} points; cores {c0} -> {c1}; energy/inference "
      f"{100 * (e1.energy_per_inference_J / e0.energy_per_inference_J - 1):+.1f} % (dynamic "
      f"{100 * (e1.dynamic_energy_J / e0.dynamic_energy_J - 1):+.1f} %, latency {100 * (e1.latency_s / e0.latency_s - 1):+.1f} %)")

if args.sweep:
    Xa, ya = np.concatenate([Xval, Xte]), np.concatenate([yval, yte])

    def acc(graph):
        return nc.Simulator(nc.compile(graph, chip, placement="in_order")).run(Xa, n_steps=args.steps).accuracy(ya)

    base = acc(snn)
    print(f"fixed fractions, accuracy on validation + test ({len(ya)} digits; unpruned {100 * base:.2f} %)")
    for rule in ("activity", "magnitude", "both"):
        for frac in (0.5, 0.6, 0.7):
            p, _ = nc.prune(snn, calibration=Xtr[:500], rule=rule, fraction=frac, n_steps=args.steps)
            a = acc(p)
            print(f"  {rule:<10} {frac:.1f}  {100 * a:.2f} %  ({100 * (a - base):+.2f} points)")

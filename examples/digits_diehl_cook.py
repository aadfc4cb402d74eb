"""Unsupervised digit learning in the style of Diehl & Cook (2015), on the fixed-point learning engine.

scikit-learn's ``digits`` (8x8 images, 0..16) become Poisson spike trains (one channel per pixel).
They drive ``--neurons`` excitatory :class:`~neurocore.AdaptiveLIF` neurons through plastic
synapses; the neurons inhibit each other (winner-take-all) and each spike raises a neuron's
threshold, which decays back by a 12-bit factor per step (Diehl & Cook's homeostasis). The rule is
Diehl & Cook's pre-synaptic-trace rule ``dw = eta * (x_pre - x_tar)`` at each post spike, written
in Lava's grammar as ``2^-3 * y0 * (x1 - 16)``; weights stay in [0, 255] (excitatory sign mode).
Nothing is supervised: after training (one sample after another, concatenated in time, one
learning run) learning is switched off, each neuron takes the class it responds to most on the
training set (Diehl & Cook's rule), and a test digit is assigned the class whose neurons fire most.
The same network with learning switched off (its random initial weights) is the baseline.

Choices, and where they differ from Diehl & Cook: the rule adds a weight decay at each post spike
(``- 2^-4 * y0 * w``), which keeps each neuron's weights a bounded prototype in place of Diehl &
Cook's explicit weight normalisation (not a learning-engine operation). The threshold's decay is
``theta_decay=0``: with integer truncation the smallest non-zero 12-bit factor removes one unit
per step, far faster than Diehl & Cook's 10^7 ms time constant, so theta here only rises (by 20
threshold units per spike). At test time theta is frozen (as in Diehl & Cook) and its common
offset, the smallest theta, is subtracted, so the same input rate still drives the network.

Usage::

    python examples/digits_diehl_cook.py [--neurons 100] [--epochs 2] [--seed 0]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

import neurocore as nc

T_ON, T_OFF = 60, 30          # steps a digit is shown, then silence
W_EXP = -2                    # weight exponent of the plastic synapses
P_MAX = 0.25                  # spike probability per step of a full-intensity pixel (16)
RULE = "2^-3 * y0 * (x1 - 8) - 2^-4 * y0 * w"  # Diehl & Cook: eta (x_pre - x_tar), plus a weight decay
EXC = dict(du=2048, dv=410, vth=800, theta_inc=20, theta_decay=0)  # theta_decay: see the docstring
W_INH, INH_EXP = 100, 3          # lateral inhibition (mutual, all-to-all): -W_INH << INH_EXP


def build(n: int, seed: int) -> nc.Graph:
    g = nc.Graph()
    x = g.input(64, name="pixels")
    exc = g.population(n, nc.AdaptiveLIF(**EXC), name="exc")
    rule = nc.LearningRule(dw=RULE, x1_impulse=24, x1_tau=15, y1_impulse=24, y1_tau=15, sign_mode="excitatory",
                           mode="chip", rng_seed=seed, name="diehl_cook")
    w0 = np.random.default_rng(seed).integers(0, 90, (n, 64))
    g.connect(x, exc, weights=w0, weight_exp=W_EXP, learning=rule, name="pixels->exc")
    g.connect(exc, exc, weights=-W_INH * (1 - np.eye(n, dtype=int)), weight_exp=INH_EXP, name="inhibition")
    return g


def encode(images: np.ndarray, rng) -> np.ndarray:
    """(n, 64) pixels -> (n, T_ON + T_OFF, 64) Poisson spikes."""
    p = images[:, None, :] / 16.0 * P_MAX
    x = np.zeros((images.shape[0], T_ON + T_OFF, 64), np.int32)
    x[:, :T_ON] = rng.random((images.shape[0], T_ON, 64)) < p
    return x


def responses(graph: nc.Graph, images: np.ndarray, rng, chunk: int = 400) -> np.ndarray:
    """Spike counts (n_images, n_neurons), learning off, theta fixed at its learned value."""
    exc = graph.nodes["exc"]
    theta = np.asarray(exc.neuron.theta0) - np.min(exc.neuron.theta0)  # fixed; only the differences matter
    fixed = dataclasses.replace(exc.neuron, theta_inc=0, theta_decay=0, theta0=theta)
    g = nc.Graph()
    for k, node in graph.nodes.items():
        g.nodes[k] = node if k != "exc" else nc.graph.Population("exc", exc.n, neuron=fixed)
    for p in graph.projections.values():
        g.projections[p.name] = p
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    out = []
    for i in range(0, images.shape[0], chunk):
        r = sim.run(encode(images[i:i + chunk], rng), n_steps=T_ON + T_OFF, learning=False)
        out.append(r.spike_counts["exc"])
    return np.concatenate(out).astype(np.int64)


def diehl_cook_labels(resp: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each neuron's class: the one with the highest mean response (Diehl & Cook 2015)."""
    mean = np.stack([resp[y == c].mean(axis=0) for c in range(10)])
    return np.argmax(mean, axis=0)


def predict(resp: np.ndarray, labels: np.ndarray) -> np.ndarray:
    score = np.stack([resp[:, labels == c].mean(axis=1) if np.any(labels == c) else np.zeros(resp.shape[0])
                      for c in range(10)], axis=1)
    return np.argmax(score, axis=1)


def evaluate(graph, Xtr, ytr, Xte, yte, rng) -> float:
    labels = diehl_cook_labels(responses(graph, Xtr, rng), ytr)
    return float(np.mean(predict(responses(graph, Xte, rng), labels) == yte))


def main(argv=None) -> None:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=a.seed, stratify=y)
    rng = np.random.default_rng(a.seed)
    g = build(a.neurons, a.seed)
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    t0, r, learn_J, n_shown = time.perf_counter(), None, 0.0, 0
    for _ in range(a.epochs):
        order = rng.permutation(len(Xtr))
        for i in range(0, len(order), 200):  # one sample: presentations concatenated in time, in chunks
            x = encode(Xtr[order[i:i + 200]], rng).reshape(1, -1, 64)
            r = sim.run(x, n_steps=x.shape[1], initial_state=r)
            learn_J += nc.energy.estimate(r, chip="loihi", baseline=None).breakdown_J["learning"]
            n_shown += len(order[i:i + 200])
    train_s = time.perf_counter() - t0
    learned = nc.learned_graph(g, r)
    acc = evaluate(learned, Xtr, ytr, Xte, yte, rng)
    base = evaluate(g, Xtr, ytr, Xte, yte, rng)
    print(f"digits: {len(Xtr)} train / {len(Xte)} test, {a.neurons} AdaptiveLIF neurons, {a.epochs} epoch(s), "
          f"{T_ON}+{T_OFF} steps per digit; training wall {train_s:.1f} s")
    print(f"test accuracy, learned on chip (Diehl & Cook labels): {acc:.3f}")
    print(f"test accuracy, learning switched off (random weights): {base:.3f}")
    print(f"learning energy on Loihi (120 pJ per synaptic update): {learn_J * 1e3:.2f} mJ for {n_shown} "
          f"presentations = {learn_J / n_shown * 1e6:.1f} uJ per training digit")


if __name__ == "__main__":
    sys.exit(main())

"""Song, Miller & Abbott (2000): STDP onto one neuron makes the weights bimodal — on Loihi's learning engine.

Many independent Poisson inputs drive one leaky integrate-and-fire neuron through plastic
excitatory synapses. Pair-based STDP with depression slightly stronger than potentiation
(A- tau- > A+ tau+) makes the synapses compete: the weight distribution, uniform at the start,
splits into a group near 0 and a group near the upper bound (Song, Miller & Abbott, Nat.
Neurosci. 3:919-926, 2000, Fig. 2).

Here the whole experiment runs in neurocore's fixed-point learning engine (``mode="chip"``):
7-bit traces with integer decay and stochastic rounding, 9-bit weights in ``excitatory`` sign
mode ([0, 255]), Lava's rule grammar. One step = 1 ms.

Usage::

    python examples/stdp_song2000.py [--inputs 500] [--seconds 200] [--png weights.png] [--brian2 PY]

``--brian2 PY`` runs the same experiment in Brian2's float STDP (Song et al.'s additive rule,
exact exponential traces) with the interpreter PY (Brian2 needs numpy < 2.4, so it lives in its
own venv) and compares the two weight distributions.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import neurocore as nc

# Fixed-point parameters (one step = 1 ms)
TAU = 20            # STDP windows tau+ = tau- = 20 ms, as Song et al.
IMPULSE = 16        # trace impulse per spike (7-bit trace, 0..127)
RULE_DW = "7 * 2^-6 * y0 * x1 - 7 * 2^-6 * x0 * y1 - 2^-7 * x0 * y1"   # A-/A+ = 15/14
NEURON = dict(du=820, dv=205, vth=3000)  # tau_syn ~ 5 ms, tau_m ~ 20 ms


def build(n_inputs: int, seed: int):
    g = nc.Graph()
    x = g.input(n_inputs, name="poisson")
    post = g.population(1, nc.CubaLIF(**NEURON), name="post")
    rule = nc.LearningRule(dw=RULE_DW, x1_impulse=IMPULSE, x1_tau=TAU, y1_impulse=IMPULSE, y1_tau=TAU,
                           sign_mode="excitatory", mode="chip", rng_seed=seed, name="song_stdp")
    w0 = np.random.default_rng(seed).integers(0, 256, (1, n_inputs))  # uniform start over [0, 255]
    g.connect(x, post, weights=w0, weight_exp=-5, learning=rule, name="syn")
    return g, w0


def run_neurocore(n_inputs: int, seconds: int, rate_hz: float, seed: int, chunk: int = 10_000) -> dict:
    g, w0 = build(n_inputs, seed)
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    rng = np.random.default_rng(seed + 1)
    steps = seconds * 1000
    r, spikes, t0 = None, [], time.perf_counter()
    for start in range(0, steps, chunk):
        n = min(chunk, steps - start)
        x = (rng.random((1, n, n_inputs)) < rate_hz / 1000).astype(np.int32)
        r = sim.run(x, n_steps=n, initial_state=r)
        spikes.append(int(r.counters["spikes"][0]))
    wall = time.perf_counter() - t0
    rep = nc.energy.estimate(r, chip="loihi", baseline=None)
    return {"w0": w0.ravel(), "w": r.weights["syn"][0].ravel(), "post_rate_hz": [s / (chunk / 1000) for s in spikes],
            "wall_s": wall, "learning_J_last_chunk": rep.breakdown_J.get("learning", 0.0)}


def bimodality(w: np.ndarray, wmax: float) -> dict:
    f = np.asarray(w, float) / wmax
    return {"low (<10%)": float(np.mean(f < 0.1)), "high (>90%)": float(np.mean(f > 0.9)),
            "middle": float(np.mean((f >= 0.1) & (f <= 0.9))), "mean": float(f.mean())}


def text_hist(w: np.ndarray, wmax: float, bins: int = 10) -> str:
    h, _ = np.histogram(np.asarray(w, float) / wmax, bins=bins, range=(0, 1))
    top = max(h.max(), 1)
    rows = (f"  {i / bins:.1f}-{(i + 1) / bins:.1f} {'#' * int(50 * c / top):<50} {c}" for i, c in enumerate(h))
    return "\n".join(rows)


def run_brian2(python: str, n_inputs: int, seconds: int, rate_hz: float, seed: int) -> dict:
    script = Path(__file__).with_name("stdp_song2000_brian2.py")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([python, str(script), "--inputs", str(n_inputs), "--seconds", str(seconds),
                              "--rate", str(rate_hz), "--seed", str(seed), "--out", f"{tmp}/w.npy"],
                             check=True, capture_output=True, text=True)
        info = json.loads(out.stdout.strip().splitlines()[-1])
        info["w"] = np.load(f"{tmp}/w.npy")
    return info


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=200)
    ap.add_argument("--rate", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--png", default=None)
    ap.add_argument("--brian2", default=None, help="python of a venv with brian2 installed")
    a = ap.parse_args(argv)
    res = run_neurocore(a.inputs, a.seconds, a.rate, a.seed)
    print(f"neurocore (chip mode, fixed point): {a.inputs} Poisson inputs at {a.rate:g} Hz, {a.seconds} s, "
          f"wall {res['wall_s']:.1f} s")
    print(f"  post rate first/last 10 s: {res['post_rate_hz'][0]:.1f} / {res['post_rate_hz'][-1]:.1f} Hz")
    print("  initial weights:", json.dumps({k: round(v, 3) for k, v in bimodality(res["w0"], 255).items()}))
    print("  final weights:  ", json.dumps({k: round(v, 3) for k, v in bimodality(res["w"], 255).items()}))
    print(text_hist(res["w"], 255))
    print(f"  learning energy (Loihi, Davies 2018: 120 pJ per update), last 10 s: "
          f"{res['learning_J_last_chunk'] * 1e6:.2f} uJ")
    b2 = None
    if a.brian2:
        b2 = run_brian2(a.brian2, a.inputs, a.seconds, a.rate, a.seed)
        print(f"Brian2 {b2['version']} (float64, exact traces): post rate last 10 s {b2['rate_last_hz']:.1f} Hz, "
              f"wall {b2['wall_s']:.1f} s")
        print("  final weights:  ", json.dumps({k: round(v, 3) for k, v in bimodality(b2["w"], 1.0).items()}))
        print(text_hist(b2["w"], 1.0))
    if a.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(1, 2 if b2 else 1, figsize=(9 if b2 else 5, 3.2), squeeze=False)
        ax[0, 0].hist(res["w"] / 255, bins=25, range=(0, 1))
        ax[0, 0].set(title="neurocore fixed point (chip mode)", xlabel="w / w_max", ylabel="synapses")
        if b2:
            ax[0, 1].hist(b2["w"], bins=25, range=(0, 1), color="C1")
            ax[0, 1].set(title=f"Brian2 {b2['version']} float", xlabel="w / w_max")
        fig.tight_layout()
        fig.savefig(a.png, dpi=100)
        print("wrote", a.png)


if __name__ == "__main__":
    sys.exit(main())

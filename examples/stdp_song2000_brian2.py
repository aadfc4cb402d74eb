"""The Song-Miller-Abbott STDP experiment of ``stdp_song2000.py`` in Brian2's float STDP (run in a Brian2 venv).

The same neuron (current decay (du+1)/4096 and voltage decay dv/4096 per 1 ms step, as continuous
exponential decays), the same input (Poisson, same rate and count), the same additive STDP
(traces with impulse 16 and tau 20 ms, potentiation 14/128 and depression 15/128 of the trace
per pairing in 1/255 units of w_max, weights clipped to [0, 1]) — all in float64 with exact
exponential traces: no 7-bit traces, no stochastic rounding, no 9-bit weights.

Prints one JSON line; writes the final weights (w / w_max) to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=200)
    ap.add_argument("--rate", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    b2.seed(a.seed)
    du, dv, vth = 820, 205, 3000  # as stdp_song2000.NEURON
    tau_u = -1.0 / math.log(1 - (du + 1) / 4096) * b2.ms
    tau_v = -1.0 / math.log(1 - dv / 4096) * b2.ms
    b2.defaultclock.dt = 1 * b2.ms
    inp = b2.PoissonGroup(a.inputs, rates=a.rate * b2.Hz)
    post = b2.NeuronGroup(1, "du/dt = -u / tau_u : 1\ndv/dt = -v / tau_v + u / ms : 1",
                          threshold="v > vth_v", reset="v = 0", method="exact",
                          namespace={"tau_u": tau_u, "tau_v": tau_v, "vth_v": vth * 64.0})
    # a spike adds (sum of w * 255) / 32 * 64 to u (weight_exp = -5 on a 9-bit weight, << 6)
    syn = b2.Synapses(inp, post, """w : 1
                      dapre/dt = -apre / taus : 1 (event-driven)
                      dapost/dt = -apost / taus : 1 (event-driven)""",
                      on_pre="""u_post += w * 255 / 32 * 64
                      apre += 16
                      w = clip(w - 15.0 / 128 * apost / 255, 0, 1)""",
                      on_post="""apost += 16
                      w = clip(w + 14.0 / 128 * apre / 255, 0, 1)""",
                      namespace={"taus": 20 * b2.ms})
    syn.connect()
    syn.w = np.random.default_rng(a.seed).integers(0, 256, a.inputs) / 255
    mon = b2.SpikeMonitor(post)
    t0 = time.perf_counter()
    b2.run(a.seconds * b2.second)
    wall = time.perf_counter() - t0
    last = np.sum(np.asarray(mon.t / b2.second) > a.seconds - 10) / 10
    np.save(a.out, np.asarray(syn.w[:], float))
    print(json.dumps({"version": b2.__version__, "wall_s": wall, "rate_last_hz": float(last)}))


if __name__ == "__main__":
    main()

"""Brian2 C++ standalone timings of the two workloads (run by ``compare.py`` in a Brian2 venv).

Brian2 2.9 needs ``numpy<2.4``, so this script runs under its own interpreter and
talks to ``compare.py`` through files: it reads the FF network from an ``.npz`` that
``compare.py`` writes and prints one JSON line.

* ``cuba``: Brian2's ``examples/CUBA.py`` verbatim (float64, ``method='exact'``, two
  synaptic time constants, SpikeMonitor on all neurons), run for ``--steps`` x 0.1 ms.
* ``ff``: the same integer weights and thresholds as neurocore's FF workload held in
  float64 (exact), IF neurons ``v > vth`` with ``v -= vth``, SpikeGeneratorGroup input,
  dt = 1 ms standing for one step. Brian2's schedule (thresholds, synapses, resets)
  gives every layer one step of latency, as in neurocore, so spike counts are equal.

Single thread (``openmp_threads = 0``). The binary is built once (excluded from the
timing) and then run ``--repeats`` times; each time is Brian2's own loop timer
(``device._last_run_time``, from the binary's ``last_run_info.txt``).

Usage: ``python brian2_runner.py {cuba,ff} --steps N --repeats R --workdir DIR [--npz FILE]``
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np


def build_cuba(b2, steps: int, seed: int):
    from brian2 import Network, NeuronGroup, SpikeMonitor, Synapses, defaultclock, ms, mV
    from brian2 import seed as b2seed
    b2seed(seed)
    defaultclock.dt = 0.1 * ms
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    P = NeuronGroup(4000, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact")
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = 0 * mV
    P.gi = 0 * mV
    we = (60 * 0.27 / 10) * mV
    wi = (-20 * 4.5 / 10) * mV
    Ce = Synapses(P, P, on_pre="ge += we")
    Ci = Synapses(P, P, on_pre="gi += wi")
    Ce.connect("i<3200", p=0.02)
    Ci.connect("i>=3200", p=0.02)
    s_mon = SpikeMonitor(P)
    net = Network(P, Ce, Ci, s_mon)
    net.run(steps * 0.1 * ms, namespace={"taum": taum, "taue": taue, "taui": taui, "Vt": Vt, "Vr": Vr, "El": El, "we": we, "wi": wi})

    def counts():
        deg = np.bincount(np.asarray(Ce.i[:]), minlength=4000) + np.bincount(np.asarray(Ci.i[:]), minlength=4000)
        c = np.asarray(s_mon.count[:])
        return {"spikes": int(c.sum()), "events": int(np.dot(c, deg)), "n_neurons": 4000,
                "spikes_per_group": {"exc": int(c[:3200].sum()), "inh": int(c[3200:].sum())}}
    return counts


def build_ff(b2, steps: int, npz: str):
    from brian2 import Network, NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, Synapses, defaultclock, ms
    d = np.load(npz)
    raster = d["raster"][:steps]
    defaultclock.dt = 1 * ms
    t_idx, n_idx = np.nonzero(raster)
    inp = SpikeGeneratorGroup(raster.shape[1], n_idx, t_idx * ms)
    objs, groups, src = [inp], [], inp
    degree = []
    k = 0
    while f"w{k}" in d:
        wmat = d[f"w{k}"]  # (n_dst, n_src) integer mantissas
        vth = float(d[f"vth{k}"])
        grp = NeuronGroup(wmat.shape[0], "v : 1", threshold="v > vth_l", reset="v -= vth_l", method="euler",
                          namespace={"vth_l": vth})
        syn = Synapses(src, grp, "w : 1", on_pre="v_post += w")
        jj, ii = np.nonzero(np.ones_like(wmat))
        syn.connect(i=ii, j=jj)
        syn.w = wmat[jj, ii].astype(np.float64)
        mon = SpikeMonitor(grp, record=False)
        objs += [grp, syn, mon]
        groups.append(mon)
        degree.append(wmat.shape[0])
        src = grp
        k += 1
    net = Network(*objs)
    net.run(steps * ms)

    def counts():
        c = [int(m.num_spikes) for m in groups]
        n_in = int(raster.sum())
        srcs = [n_in] + c[:-1]
        return {"spikes": int(sum(c)), "events": int(sum(s * dg for s, dg in zip(srcs, degree))),
                "n_neurons": int(sum(degree)), "spikes_per_group": dict(zip(["h1", "h2", "out"], c))}
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=("cuba", "ff"))
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--npz", help="FF network (raster, w0.., vth0..) written by compare.py")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    import brian2 as b2
    b2.set_device("cpp_standalone", directory=a.workdir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    counts = build_cuba(b2, a.steps, a.seed) if a.workload == "cuba" else build_ff(b2, a.steps, a.npz)
    t0 = time.perf_counter()
    b2.device.build(directory=a.workdir, compile=True, run=False, with_output=False)
    t_build = time.perf_counter() - t0
    loops, whole = [], []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        b2.device.run(directory=a.workdir, with_output=False, run_args=[])
        whole.append(time.perf_counter() - t0)
        loops.append(float(b2.device._last_run_time))
    out = {"simulator": f"brian2 {b2.__version__} cpp_standalone (1 thread)", "workload": a.workload,
           "steps": a.steps, "loop_s": loops, "binary_s": whole, "build_s": t_build}
    out.update(counts())
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""neurocore's energy and chip time against SANA-FE 2.2.9 on identical spikes: the README's table.

    PYTHONPATH=$PWD python bench/energy_validation.py [--steps 100] [--audit]

Three workloads (feed-forward, recurrent, convolutional), each compiled with its inputs on
cores of their own (``inputs_on="cores"``) so input messages make hops as in SANA-FE, run
in neurocore and in the real ``sanafe`` package (``pip install sanafe``). Rows:

* SANA-FE ``simple`` and ``detailed`` (its two fast timing models; energy is the same);
* neurocore ``loihi-sanafe``: SANA-FE's accounting (must equal ``simple``);
* neurocore ``loihi``: Davies 2018's per-op figures, neurocore's own step-time model, and
  static power under each attribution (``chips_used``, ``core_fraction``; ``none`` = dynamic).

Ratios are against SANA-FE ``simple``. Spikes are checked identical first. ``--audit`` adds
the 784-512-512-10 IF network of shared/reference/energy_fidelity_audit.md (128 neurons per
core, 4 Mbit of synapse memory per core so the layers cut as in SANA-FE; ~30 s more).
"""
from __future__ import annotations

import argparse
import dataclasses

import numpy as np

import neurocore as nc
from neurocore.energy import estimate
from neurocore.energy.sanafe import run_sanafe
from neurocore.report import format_si, format_table


def workloads(rng):
    ff = nc.Graph()
    x = ff.input(256, name="x")
    h = ff.dense(x, rng.integers(1, 5, (128, 256)), nc.IF(vth=300, reset="subtract"), name="h1")
    h = ff.dense(h, rng.integers(1, 5, (128, 128)), nc.IF(vth=150, reset="subtract"), name="h2")
    ff.dense(h, rng.integers(1, 5, (10, 128)), nc.IF(vth=120, reset="subtract"), name="o")
    rec = nc.Graph()
    x = rec.input(100, name="x")
    r = rec.population(400, nc.CubaLIF(du=4095, dv=256, vth=40, reset="subtract"), name="r")
    rec.connect(x, r, rng.integers(1, 9, (400, 100)) * (rng.random((400, 100)) < 0.1))
    rec.connect(r, r, rng.integers(1, 3, (400, 400)) * (rng.random((400, 400)) < 0.05))
    cnn = nc.Graph()
    x = cnn.input(2 * 16 * 16, name="x", shape=(2, 16, 16))
    c = cnn.conv2d(x, rng.integers(1, 4, (8, 2, 3, 3)), nc.IF(vth=60, reset="subtract"), name="c")
    cnn.dense(c, rng.integers(1, 3, (10, c.n)), nc.IF(vth=600, reset="subtract"), name="o")
    return [("FF 256-128-128-10, dense unit", ff, {"placement": "in_order"}, 0.2),
            ("recurrent 100->400 LIF, sparse unit", rec, {"seed": 1}, 0.05),
            ("conv 2x16x16 -> 8x14x14 -> 10, conv unit", cnn, {"placement": "in_order", "conv_storage": "shared"}, 0.2)]


def audit_ff(rng):
    g = nc.Graph()
    x = g.input(784, name="x")
    h = g.dense(x, rng.integers(1, 5, (512, 784)), nc.IF(vth=1500, reset="subtract"), name="l1")
    h = g.dense(h, rng.integers(1, 5, (512, 512)), nc.IF(vth=1300, reset="subtract"), name="l2")
    g.dense(h, rng.integers(1, 5, (10, 512)), nc.IF(vth=1100, reset="subtract"), name="l3")
    chip = dataclasses.replace(nc.chip.loihi(), neurons_per_core=128, syn_mem_bits_per_core=4 << 20)
    return "FF 784-512-512-10 (audit)", g, {"placement": "in_order"}, 0.2, chip


def main(steps: int, audit: bool = False) -> list[dict]:
    rng = np.random.default_rng(0)
    chip64 = dataclasses.replace(nc.chip.loihi(), neurons_per_core=64)
    cases = [(*w, chip64) for w in workloads(rng)] + ([audit_ff(np.random.default_rng(1))] if audit else [])
    rows = []
    for name, g, opts, rate, chip in cases:
        program = nc.compile(g, chip, inputs_on="cores", **opts)
        x = (rng.random((1, steps, program.n_inputs)) < rate).astype(np.int32)
        res = nc.Simulator(program).run(x, steps, probes={p: ["spikes"] for p in program.populations})
        simple = run_sanafe(program, x[0], steps, timing="simple")
        detailed = run_sanafe(program, x[0], steps, timing="detailed")
        bad = sum(int((res.probes[p]["spikes"][0].astype(bool) != simple.spikes[p]).sum()) for p in program.populations)
        tiles = np.unique(program.core_ids // chip.cores_per_tile).size
        wl = f"{name} ({program.n_cores_used} cores, {tiles} tiles, {steps} steps, {bad} spikes differ)"
        ref_e, ref_t = simple.energy_J["total"], simple.sim_time_s
        entries = [("SANA-FE 2.2.9 simple", ref_e, ref_t), ("SANA-FE 2.2.9 detailed", detailed.energy_J["total"],
                                                             detailed.sim_time_s)]
        rep = estimate(res, "loihi-sanafe", None)
        entries.append(("neurocore loihi-sanafe", rep.energy_per_inference_J, rep.latency_s))
        for static in ("none", "core_fraction", "chips_used"):
            rep = estimate(res, "loihi", None, static=static)
            entries.append((f"neurocore loihi, static={static}", rep.energy_per_inference_J, rep.latency_s))
        for tool, e, t in entries:
            rows.append({"tool": tool, "workload": wl, "energy": format_si(e, "J"), "chip time": format_si(t, "s"),
                         "energy / SANA-FE": f"{e / ref_e:.7f}", "time / SANA-FE": f"{t / ref_t:.7f}"})
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--audit", action="store_true", help="add the audit's 784-512-512-10 network")
    args = ap.parse_args()
    print(format_table(main(args.steps, args.audit)))

"""TrueNorth demo MLP: ternary weights with splitters, ternary with the rules off, 9-bit with the rules off.

Run: ``python bench/truenorth_accuracy.py`` (trains the demo's 64-128-64-10 MLP, seed 0; about
30 s on a quiet machine). Prints cores used and test accuracy (%) at 16 and 32 steps.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import neurocore as nc
from neurocore.demo import digits_split, train_digits_mlp


def main() -> None:
    Xtr, Xte, ytr, yte = digits_split(0)
    mlp = train_digits_mlp(Xtr, ytr, seed=0)
    tn = nc.chip.truenorth()
    free = dataclasses.replace(tn, name="truenorth-free", axon_types=0, single_target=False)
    g_t = nc.convert(mlp, calibration=Xtr[:500], chip=tn, encoding="rate")      # ternary per neuron
    g_f = nc.convert(mlp, calibration=Xtr[:500], chip=free, encoding="rate")    # 9-bit weights
    for label, g, chip in (("ternary+splitters", g_t, tn), ("ternary, rules off", g_t, free),
                           ("9-bit, rules off", g_f, free)):
        program = nc.compile(g, chip)
        sim = nc.Simulator(program)
        acc = {T: round(100 * sim.run(Xte, T).accuracy(yte), 2) for T in (16, 32)}
        print(f"{label:<20} cores {program.n_cores_used:>3}  accuracy {acc}", flush=True)


if __name__ == "__main__":
    main()

"""A hardware researcher's sweep: weight bits x timesteps -> accuracy and energy.

    python examples/hardware_sweep.py

Trains the demo's 64-128-64-10 MLP on scikit-learn's digits, then for each weight
width re-converts it for a Loihi variant with that width, runs the 540 test images at
several timestep counts and prices each run with the `loihi` profile against the
`dense-45nm` baseline.
"""
import dataclasses
import warnings

import neurocore as nc
from neurocore.demo import digits_split, train_digits_mlp

warnings.simplefilter("ignore")
Xtr, Xte, ytr, yte = digits_split()
mlp = train_digits_mlp(Xtr, ytr)
print(f"ANN accuracy {100 * mlp.score(Xte, yte):.2f} %")
print(f"{'bits':>4} {'T':>3} {'accuracy':>9} {'energy/inf':>11} {'x dense-45nm':>13}")
for bits in (2, 4, 6, 8):
    chip = dataclasses.replace(nc.chip.loihi(), weight_bits=bits)
    program = nc.compile(nc.convert(mlp, calibration=Xtr[:500], chip=chip), chip)
    for T in (8, 16, 32):
        r = nc.Simulator(program).run(Xte, n_steps=T)
        e = nc.energy.estimate(r, chip="loihi", baseline="dense-45nm")
        print(f"{bits:>4} {T:>3} {100 * r.accuracy(yte):>8.2f}% {1e6 * e.energy_per_inference_J:>8.2f} uJ "
              f"{e.ratio_vs_baseline:>12.3g}")

"""A hardware researcher's sweep: weight bits x timesteps -> accuracy and energy.

    python examples/hardware_sweep.py

The README's "A hardware sweep" block, as a script: trains the demo's 64-128-64-10 MLP on
scikit-learn's digits, then for each weight width re-converts it for a Loihi variant with
that width, runs the 540 test images at several timestep counts and prices each run with
the `loihi` profile against the `dense-45nm` baseline. Conversion warnings (weights that
use fewer bits than the chip has, at 2 bits) are shown, not hidden.
"""
import dataclasses

import neurocore as nc
from neurocore.demo import digits_split, train_digits_mlp

X_train, X_test, y_train, y_test = digits_split()
mlp = train_digits_mlp(X_train, y_train)
print(f"ANN accuracy {100 * mlp.score(X_test, y_test):.2f} %")
X_cal = X_train[:500]
rows = []
for bits in (2, 4, 6, 8):
    chip = dataclasses.replace(nc.chip.loihi(), weight_bits=bits)
    program = nc.compile(nc.convert(mlp, calibration=X_cal, chip=chip), chip)
    for T in (8, 16, 32):
        r = nc.Simulator(program).run(X_test, n_steps=T)
        e = nc.energy.estimate(r, chip="loihi", baseline="dense-45nm")
        rows.append((bits, T, r.accuracy(y_test), e.energy_per_inference_J, e.ratio_vs_baseline))
print(f"{'bits':>4} {'T':>3} {'accuracy':>9} {'energy/inf':>11} {'x dense-45nm':>13}")
for bits, T, acc, energy, ratio in rows:
    print(f"{bits:>4} {T:>3} {100 * acc:>8.2f}% {1e6 * energy:>8.2f} uJ {ratio:>12.3g}")

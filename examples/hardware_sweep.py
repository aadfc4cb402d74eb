"""A hardware researcher's sweep: weight bits x timesteps -> accuracy and energy, with nc.dse.

    python examples/hardware_sweep.py [--scheduler in-process|local|tcp://host:8786]

Trains the demo's 64-128-64-10 MLP on scikit-learn's digits, then sweeps a Loihi variant
per weight width and three timestep counts over the 540 test images with
``nc.dse.sweep``: one conversion and compile per width, each point priced with the
``loihi`` profile against the ``dense-45nm`` baseline and committed to
``runs/hardware_sweep.sqlite`` as it finishes (rerun: nothing is recomputed). By default
the points run on an embedded Dask cluster when dask is installed (``neurocore[dse]``),
else in this process.
"""
import argparse
import warnings

import neurocore as nc
from neurocore.demo import digits_split, train_digits_mlp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scheduler", default="local")
    ap.add_argument("--store", default="runs/hardware_sweep.sqlite")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    Xtr, Xte, ytr, yte = digits_split()
    mlp = train_digits_mlp(Xtr, ytr)
    print(f"ANN accuracy {100 * mlp.score(Xte, yte):.2f} %")
    space = nc.dse.Space(chip=nc.chip.loihi(), chip_fields={"weight_bits": [2, 4, 6, 8]}, n_steps=[8, 16, 32])
    study = nc.dse.sweep(mlp, space, data=(Xtr[:500], Xte, yte), energy="loihi", baseline="dense-45nm",
                         store=args.store, scheduler=args.scheduler)
    print(f"{'bits':>4} {'T':>3} {'accuracy':>9} {'energy/inf':>11} {'x dense-45nm':>13}")
    for r in study.records():
        print(f"{r['chip.weight_bits']:>4} {r['n_steps']:>3} {100 * r['accuracy']:>8.2f}% "
              f"{1e6 * r['energy_per_inference_J']:>8.2f} uJ {r['ratio_vs_baseline']:>12.3g}")
    front = study.pareto(["accuracy", "energy_per_inference_J"])
    print(f"Pareto front (accuracy vs energy): {len(front)} of {len(study)} points; "
          f"{study.n_evaluated} evaluated now, {study.n_skipped} found in {args.store}")


if __name__ == "__main__":  # Dask worker processes re-import this script
    main()

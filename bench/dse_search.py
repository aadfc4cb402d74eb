"""NSGA-II over chip and network choices for the demo MLP; writes the Pareto plots.

    PYTHONPATH=$PWD python bench/dse_search.py [--budget 500] [--pop 40] [--seed 0]
        [--scheduler in-process] [--out runs/nsga]

Space (768 points): weight_bits {2,3,4,5,6,8} x neurons_per_core {64,128,256,1024} x
percentile {99.0, 99.5, 99.9, 99.99} x encoding {direct, rate} x n_steps {4,8,16,32}.
Objectives: maximise accuracy, minimise energy per inference (``loihi`` profile).
Writes ``front.png`` (2-D), ``front3.png`` (accuracy, energy, latency: 3-D and parallel
coordinates), ``front.json`` and ``all.csv`` under ``--out``. ``--full-grid`` then
sweeps all 768 points into the same store (the searched ones are found there) and
compares the search's front with the true one.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    import neurocore as nc
    from neurocore.demo import digits_split, train_digits_mlp

    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--pop", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scheduler", default="in-process")
    ap.add_argument("--out", default="runs/nsga")
    ap.add_argument("--full-grid", action="store_true", help="then sweep the whole grid into the same store and "
                    "count how much of the true front the search found")
    args = ap.parse_args()
    out = Path(args.out)
    Xtr, Xte, ytr, yte = digits_split()
    mlp = train_digits_mlp(Xtr, ytr)
    space = nc.dse.Space(chip=nc.chip.loihi(),
                         chip_fields={"weight_bits": [2, 3, 4, 5, 6, 8], "neurons_per_core": [64, 128, 256, 1024]},
                         convert={"percentile": [99.0, 99.5, 99.9, 99.99], "encoding": ["direct", "rate"]},
                         n_steps=[4, 8, 16, 32])
    t0 = time.perf_counter()
    study = nc.dse.search(mlp, space, ["-accuracy", "energy_per_inference_J"], data=(Xtr[:500], Xte, yte),
                          budget=args.budget, pop_size=args.pop, seed=args.seed, store=out / "nsga.sqlite",
                          scheduler=args.scheduler)
    wall = time.perf_counter() - t0
    gens = len({g for g, _ in study.history})
    print(f"{len(study.history)} evaluations in {gens} generations ({len(study)} distinct points of {len(space)}, "
          f"{study.n_evaluated} computed now) in {wall:.1f} s")
    front = study.pareto(["accuracy", "energy_per_inference_J"])
    front.plot(out / "front.png", title=f"NSGA-II, {len(study.history)} evaluations: accuracy vs energy")
    front.to_json(out / "front.json")
    study.to_csv(out / "all.csv")
    study.pareto(["accuracy", "energy_per_inference_J", "latency_s"]).plot(out / "front3.png")
    for r in front.records():
        print({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in r.items() if k != "key"})
    print(f"wrote {out}/front.png, front3.png, front.json, all.csv")
    if args.full_grid:
        t0 = time.perf_counter()
        grid = nc.dse.sweep(mlp, space, data=(Xtr[:500], Xte, yte), store=out / "nsga.sqlite",
                            scheduler=args.scheduler, seed=args.seed)
        true = {r["key"] for r in grid.pareto(["accuracy", "energy_per_inference_J"]).records()}
        found = {r["key"] for r in front.records()}
        print(f"full grid: {len(grid)} points ({grid.n_evaluated} new) in {time.perf_counter() - t0:.1f} s; true "
              f"front {len(true)} points, the search found {len(found & true)} of them; {len(found - true)} of its "
              "front points are not on the true front")


if __name__ == "__main__":
    main()

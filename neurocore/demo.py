"""``neurocore demo``: the whole pipeline on a built-in default.

Train a small MLP on scikit-learn's bundled ``digits`` (no download), convert it
to a spiking network in Loihi's fixed point, compile it onto ``loihi()``, run the
test set, and report accuracy, cores used, energy per inference and per spike,
and the comparison with both dense baselines.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

__all__ = ["run_demo", "digits_split", "train_digits_mlp"]


def digits_split(seed: int = 0, test_fraction: float = 0.3):
    """sklearn's bundled 8x8 digits scaled to [0, 1], split stratified: (Xtr, Xte, ytr, yte)."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:
        raise ImportError("the demo needs scikit-learn: pip install 'neurocore[demo]'") from exc
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=test_fraction, random_state=seed, stratify=y)


def train_digits_mlp(Xtr, ytr, hidden=(128, 64), seed: int = 0):
    """A ReLU MLPClassifier (64-128-64-10 by default), trained in a few seconds."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(hidden_layer_sizes=hidden, activation="relu", max_iter=300, alpha=1e-4,
                             random_state=seed).fit(Xtr, ytr)


def _fmt(x: float, unit: str) -> str:
    from neurocore.report import format_si

    return format_si(x, unit)


def run_demo(steps: int = 32, chip_name: str = "loihi", plot_dir: str | None = None, json_path: str | None = None,
             seed: int = 0, out=None, sweep=(4, 8, 16, 32)) -> dict:
    """Run the demo, print a summary to ``out`` and return every figure as a dict."""
    import neurocore as nc
    from neurocore.cli import CHIP_PROFILE, run_batched
    from neurocore.energy import estimate

    out = out or sys.stdout
    say = (lambda *a: print(*a, file=out, flush=True))
    t_all = time.perf_counter()
    chip = nc.chip.get(chip_name)
    profile = CHIP_PROFILE.get(chip_name, "loihi")
    Xtr, Xte, ytr, yte = digits_split(seed)
    t0 = time.perf_counter()
    mlp = train_digits_mlp(Xtr, ytr, seed=seed)
    ann_acc = float(mlp.score(Xte, yte))
    sizes = [mlp.coefs_[0].shape[0]] + [c.shape[1] for c in mlp.coefs_]
    say(f"neurocore demo: scikit-learn digits ({len(Xtr)} train / {len(Xte)} test 8x8 images), "
        f"MLP {'-'.join(map(str, sizes))} trained in {time.perf_counter() - t0:.1f} s")

    encoding = "direct" if chip.graded_bits >= 2 else "rate"  # a spikes-only chip (TrueNorth) gets rate coding
    graph = nc.convert(mlp, calibration=Xtr[:500], chip=chip, encoding=encoding)
    program = nc.compile(graph, chip)
    sim = nc.Simulator(program)
    t0 = time.perf_counter()
    result = run_batched(sim, Xte, steps, desc=f"simulating {len(Xte)} samples")
    wall = time.perf_counter() - t0
    acc = result.accuracy(yte)
    gpu = estimate(result, chip=profile, baseline="gpu-h100")
    d45 = estimate(result, chip=profile, baseline="dense-45nm")
    tot = result.totals()
    n = result.batch_size

    say(f"  chip                          {chip.describe()}")
    say(f"  input encoding                {encoding}")
    say(f"  ANN accuracy (float)          {100 * ann_acc:.2f} %")
    say(f"  SNN accuracy ({steps} steps)       {100 * acc:.2f} %   ({n} samples simulated in {wall:.2f} s)")
    say(f"  cores used                    {program.n_cores_used} of {chip.n_cores}")
    say(f"  spikes / inference            {tot['spikes'] / n:,.0f}   synaptic ops / inference "
        f"{tot['synops'] / n:,.0f}")
    say(f"  energy / inference ({profile})  {_fmt(gpu.energy_per_inference_J, 'J')}   "
        f"dynamic {_fmt(gpu.energy_per_inference_J - gpu.breakdown_J.get('static', 0.0), 'J')}, "
        f"static {_fmt(gpu.breakdown_J.get('static', 0.0), 'J')}")
    say(f"  energy / spike                {_fmt(gpu.energy_per_spike_J, 'J')}   "
        f"energy / synaptic op {_fmt(gpu.energy_per_synop_J, 'J')}")
    say(f"  latency / inference           {steps} steps, {_fmt(gpu.latency_s, 's')} chip time")
    for rep in (gpu, d45):
        say(f"  vs {rep.baseline_profile:<12}               dense {_fmt(rep.baseline_energy_per_inference_J, 'J')} "
            f"/ inference: chip uses {rep.ratio_vs_baseline:,.3g}x the baseline's energy")
    say(f"  (energy profiles and their sources: `neurocore profiles {profile}`; full report: --json PATH)")

    summary = {"ann_accuracy": ann_acc, "snn_accuracy": acc, "n_steps": steps, "chip": chip.name,
               "cores_used": program.n_cores_used, "n_test": n, "sim_wall_s": wall,
               "report_gpu_h100": gpu.to_dict(), "report_dense_45nm": d45.to_dict()}
    if plot_dir:
        from neurocore.report import save_all

        rows = []
        for T in sweep:
            r = result if T == steps else run_batched(sim, Xte, T, desc=f"T={T}")
            e = estimate(r, chip=profile, baseline="gpu-h100")
            rows.append({"n_steps": T, "accuracy": r.accuracy(yte), "energy_per_inference_J": e.energy_per_inference_J,
                         "ann_accuracy": ann_acc, "baseline_energy_per_inference_J": e.baseline_energy_per_inference_J})
        probe = sim.run(Xte[:1], steps, probes={name: ["spikes"] for name in program.populations})
        paths = save_all(result, gpu, plot_dir, rows=rows)
        paths += save_all(probe, gpu, plot_dir, population=list(program.populations)[-2])[-1:]
        summary["sweep"] = rows
        for p in paths:
            say(f"  wrote {p}")
    if json_path:
        from neurocore._io import atomic_write

        atomic_write(json_path, json.dumps(summary, indent=2, default=float), "--json")
        say(f"  wrote {json_path}")
    say(f"done in {time.perf_counter() - t_all:.1f} s")
    return summary

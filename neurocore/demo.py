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


def _regimes(result, res_fill, profile: str, estimate) -> dict:
    """Reports for samples one after another on the chip (``serial``) and for replicas side by side
    (``fill``), each against ``gpu-h100`` in its batch-1 and throughput regimes."""
    return {"serial": estimate(result, chip=profile, baseline="gpu-h100"),
            "fill": estimate(res_fill, chip=profile, baseline="gpu-h100")}


def _static_range(rep) -> str:
    e = [t for t in rep.terms if t.kind == "static"]
    if rep.static_low_J is None or not e or not e[0].count_per_inference:
        return ""
    lo, hi = (x / e[0].count_per_inference for x in (rep.static_low_J, rep.static_high_J))
    return f" at {e[0].value:g} {e[0].unit} per chip; published {lo:g}-{hi:g} {e[0].unit}"


def _regime_rows(regimes: dict, k: int) -> list[dict]:
    from neurocore.report import format_si

    rows = []
    for key, regime, label in (("serial", "batch1", "1 sample at a time; GPU batch 1"),
                               ("serial", "throughput", "one after another; GPU whole batch"),
                               ("fill", "throughput", f"{k} replicas side by side; GPU whole batch")):
        rep = regimes[key]
        c = rep.comparison("gpu-h100", regime)
        b = c.baseline
        span = "-"
        if rep.energy_low_J is not None and b.energy_per_inference_J:
            span = f"{rep.energy_low_J / b.energy_per_inference_J:.3g}-{rep.energy_high_J / b.energy_per_inference_J:.3g}x"
        rows.append({"regime": label, "chip dynamic": format_si(rep.dynamic_energy_J, "J"),
                     "static": format_si(rep.static_energy_J, "J"), "total": format_si(rep.energy_per_inference_J, "J"),
                     "GPU total": format_si(b.energy_per_inference_J, "J"),
                     "GPU dynamic": format_si(b.dynamic_energy_per_inference_J, "J"),
                     "total/GPU": "-" if c.ratio is None else f"{c.ratio:.3g}x", "static range": span,
                     "dynamic/GPU dynamic": "-" if c.dynamic_ratio is None else f"{c.dynamic_ratio:.3g}x"})
    return rows


def _regime_table(regimes: dict, k: int) -> str:
    from neurocore.report import format_table

    return "\n".join("    " + line for line in format_table(_regime_rows(regimes, k)).splitlines())


def run_demo(steps: int = 32, chip_name: str = "loihi", plot_dir: str | None = None, json_path: str | None = None,
             seed: int = 0, out=None, sweep=(4, 8, 16, 32)) -> dict:
    """Run the demo, print a summary to ``out`` and return every figure as a dict."""
    import neurocore as nc
    from neurocore.batching import run_batched
    from neurocore.chip.presets import DEFAULT_PROFILE
    from neurocore.energy import estimate

    out = out or sys.stdout
    say = (lambda *a: print(*a, file=out, flush=True))
    t_all = time.perf_counter()
    chip = nc.chip.get(chip_name)
    profile = DEFAULT_PROFILE.get(chip_name, "loihi")
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
    # throughput regime: one copy per core the network needs, as many as the chip has (at most one per
    # test sample), each copy on its own sample; replicas="fill" would pack more where copies share cores
    # 128 copies keep the demo quick; on single-target chips (TrueNorth) every copy brings its splitter
    # rounds, so 32 there (128 took ~64 s to compile)
    cap = 32 if chip.single_target else 128
    k = max(1, min(chip.n_cores // program.n_cores_used, len(Xte), cap))
    filled = nc.compile(graph, chip, replicas=k)
    res_fill = run_batched(nc.Simulator(filled), Xte, steps, desc=f"simulating on {k} replicas", chunk=k)
    regimes = _regimes(result, res_fill, profile, estimate)
    gpu, d45 = regimes["serial"], estimate(result, chip=profile, baseline="dense-45nm")
    tot = result.totals()
    n = result.batch_size

    say(f"  chip                          {chip.describe()}")
    say(f"  input encoding                {encoding}")
    say(f"  ANN accuracy (float)          {100 * ann_acc:.2f} %")
    say(f"  SNN accuracy ({steps} steps)       {100 * acc:.2f} %   ({n} samples simulated in {wall:.2f} s; "
        f"{100 * res_fill.accuracy(yte):.2f} % on {k} replicas)")
    say(f"  cores used                    {program.n_cores_used} of {chip.n_cores} (x{k} replicas: "
        f"{filled.n_cores_used})")
    spl = program.meta.get("splitters")
    if spl is not None:
        shift = spl["latency_shift"].get(program.codec.output, 0)
        say(f"  splitter neurons              {spl['n_splitters']:,} on {spl['splitter_cores']} cores "
            f"(one target per neuron; output {shift} step(s) later)")
    say(f"  spikes / inference            {tot['spikes'] / n:,.0f}   synaptic ops / inference "
        f"{tot['synops'] / n:,.0f} ({100 * tot['synops_graded'] / max(tot['synops'], 1):.0f} % graded input)")
    say(f"  chip energy ({profile}, static='{gpu.static_model}'{_static_range(gpu)}) vs gpu-h100:")
    say(_regime_table(regimes, k))
    say(f"  latency / inference           {steps} steps, {_fmt(gpu.latency_s, 's')} chip time "
        f"({_fmt(regimes['fill'].latency_s, 's')} per run of {k} replicas)")
    say(f"  vs {d45.baseline_profile:<12}               dense {_fmt(d45.baseline_energy_per_inference_J, 'J')} "
        f"/ inference: chip total {d45.ratio_vs_baseline:,.3g}x, dynamic {d45.ratio_dynamic_vs_baseline:,.3g}x")
    say(f"  what drives the ratio:        {regimes['serial'].dominant_assumption}")
    for f in gpu.flags:
        if "graded" in f:
            say(f"  ! {f}")
    say(f"  (energy profiles and their sources: `neurocore profiles {profile}`; full report: --json PATH)")

    summary = {"ann_accuracy": ann_acc, "snn_accuracy": acc, "n_steps": steps, "chip": chip.name,
               "cores_used": program.n_cores_used, "n_test": n, "sim_wall_s": wall, "replicas": k,
               "splitters": program.meta.get("splitters"),
               "report_gpu_h100": gpu.to_dict(), "report_dense_45nm": d45.to_dict(),
               "regimes": {name: rep.to_dict() for name, rep in regimes.items()}}
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

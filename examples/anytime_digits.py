"""Anytime inference on digits: early stopping per sample against the fixed-T curve.

    python examples/anytime_digits.py --model mlp [--encoding direct|poisson] [--plot DIR]
    python examples/anytime_digits.py --model cnn [--plot DIR]          # needs torch
    python examples/anytime_digits.py --model wide                       # pruned + stopped (64-1024-1024-10)

``mlp``/``cnn``: the demo's MLP (64-128-64-10, ``neurocore.demo``) or the digits CNN of
``examples/convert_torch_cnn.py`` (avg-pool), converted for ``loihi()`` (8-bit weights),
on the demo's split (1257 train / 540 held out). The 540 held-out digits are split in two
stratified halves; the stop rule is calibrated on one half (``nc.StopRule.calibrate``,
budget 0.3 points against fixed T on that half) and tested on the other, then the halves
swap, so every test prediction comes from a rule chosen without it. The fixed-T curve
(every T) and the margin sweep (``nc.accuracy_vs_energy``) are real kernel runs of all
540, priced on the ``loihi`` profile.

``wide``: the pruning example's network and split (train 1078 / validation 360 / test 359);
``nc.prune`` (rule "both", 0.5-point budget on validation) and a stop rule calibrated on
validation, alone and combined, with energy per inference on test.
"""
import argparse
import time
import warnings

import numpy as np
from sklearn.model_selection import train_test_split

import neurocore as nc
from neurocore.anytime import StopRule

ap = argparse.ArgumentParser()
ap.add_argument("--model", default="mlp", choices=["mlp", "cnn", "wide"])
ap.add_argument("--encoding", default="direct", choices=["direct", "poisson", "rate"])
ap.add_argument("--steps", type=int, default=32)
ap.add_argument("--target", type=float, default=0.003, help="accuracy budget against fixed T (fraction)")
ap.add_argument("--plot", default=None, help="directory for accuracy-vs-steps and -energy figures")
args = ap.parse_args()
T = args.steps
MARGINS = list(range(1, 13))
chip = nc.chip.loihi()


def train_cnn(Xtr, ytr):
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.set_num_threads(1)
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AvgPool2d(2),
                        nn.Flatten(), nn.Dropout(0.1), nn.Linear(32 * 2 * 2, 10))
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    xt, yt = torch.tensor(Xtr), torch.tensor(ytr)
    for _ in range(30):
        net.train()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i: i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(net(xt[idx]), yt[idx]).backward()
            opt.step()
    return net.eval()


def build(model):
    from neurocore.demo import digits_split, train_digits_mlp

    Xtr, Xte, ytr, yte = digits_split(0)
    if model == "cnn":
        Xtr, Xte = (a.reshape(-1, 1, 8, 8).astype(np.float32) for a in (Xtr, Xte))
        ann = train_cnn(Xtr, ytr)
        name = "digits CNN (avg-pool, PyTorch)"
    else:
        ann = train_digits_mlp(Xtr, ytr)
        name = "demo MLP 64-128-64-10"
    graph = nc.convert(ann, calibration=Xtr[:500], chip=chip, encoding=args.encoding)
    return name, nc.compile(graph, chip), Xte, yte


def interp_fixed(fixed: dict, steps: float) -> float:
    ts = sorted(fixed)
    return float(np.interp(steps, ts, [fixed[t] for t in ts]))


def cross_fit(program, X, y):
    """Calibrate on one half, test on the other, then swap; pooled predictions and steps."""
    idx = np.arange(len(y))
    a, b = train_test_split(idx, test_size=0.5, random_state=1, stratify=y)
    sim = nc.Simulator(program)
    pred, steps, energy = np.empty(len(y), np.int64), np.empty(len(y), np.int64), np.empty(len(y))
    for cal, test in ((a, b), (b, a)):
        rule, table = StopRule.calibrate(program, X[cal], y[cal], n_steps=T, target=args.target, margins=MARGINS)
        print(table if cal is a else f"(second half: chose margin {rule.margin}, min_steps {rule.min_steps})")
        r = sim.run(X[test], n_steps=T, stop=rule)
        pred[test], steps[test] = r.predictions, r.steps
        energy[test] = nc.energy.estimate(r, chip="loihi", baseline=None).energy_per_inference_J
        print(f"  rule {rule.margin}/{rule.min_steps} on the other half ({len(test)}): "
              f"{100 * r.accuracy(y[test]):.2f} %, mean steps {r.steps.mean():.2f}")
    return float(np.mean(pred == y)), float(steps.mean()), float(energy.mean())


def main_curve():
    name, program, X, y = build(args.model)
    print(f"{name}, {args.encoding} encoding, loihi(), {len(y)} held-out digits, T <= {T}; "
          f"output reached at step {program.codec.latency + 1}")
    t0 = time.time()
    curve = nc.accuracy_vs_energy(program, X, y, n_steps=T, margins=MARGINS, chip="loihi")
    print(f"(curve: {len(curve.rows)} kernel runs in {time.time() - t0:.0f} s)")
    print(curve)
    fixed = {r.parameter: r.accuracy for r in curve.of("fixed")}
    acc_T = fixed[T]
    smallest = min(t for t, acc in fixed.items() if acc >= acc_T - args.target - 1e-12)
    print(f"\nfixed T={T}: {100 * acc_T:.2f} %; smallest fixed T within {100 * args.target:.1f} points: "
          f"T={smallest} ({100 * fixed[smallest]:.2f} %)")
    print("at equal mean steps (fixed-T accuracy interpolated linearly between integer T):")
    for r in curve.of("stop"):
        f = interp_fixed(fixed, r.mean_steps)
        print(f"  margin {r.parameter:>2}: {r.mean_steps:6.2f} steps  stop {100 * r.accuracy:6.2f} %  "
              f"fixed {100 * f:6.2f} %  ({100 * (r.accuracy - f):+.2f} points)")
    acc, steps, energy = cross_fit(program, X, y)
    ok = acc >= acc_T - args.target - 1e-12 and steps <= 0.5 * smallest
    print(f"\ncross-fitted early stop on all {len(y)}: {100 * acc:.2f} % ({100 * (acc - acc_T):+.2f} points vs "
          f"fixed T={T}) at {steps:.2f} mean steps = {100 * steps / smallest:.0f} % of T={smallest}, "
          f"{100 * steps / T:.0f} % of T={T}: target {'met' if ok else 'NOT met'}")
    e = {r.parameter: r for r in curve.of("fixed")}
    print(f"energy/inference (loihi): fixed T={T} {1e6 * e[T].energy_J:.2f} uJ, fixed T={smallest} "
          f"{1e6 * e[smallest].energy_J:.2f} uJ, cross-fitted early stop {1e6 * energy:.2f} uJ")
    for f in curve.flags:
        if "early-stop" in f:
            print(f"  ! {f}")
    if args.plot:
        from pathlib import Path

        Path(args.plot).mkdir(parents=True, exist_ok=True)
        for x in ("mean_steps", "energy_J"):
            path = Path(args.plot) / f"anytime_{args.model}_{args.encoding}_{x}.png"
            curve.plot(path, x=x)
            print(f"wrote {path}")


def main_wide():
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.4, random_state=0, stratify=y)
    Xval, Xte, yval, yte = train_test_split(Xte, yte, test_size=0.5, random_state=0, stratify=yte)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier(hidden_layer_sizes=(1024, 1024), max_iter=60, random_state=0).fit(Xtr, ytr)
    snn = nc.convert(mlp, calibration=Xtr[:500], chip=chip)
    pruned, report = nc.prune(snn, calibration=Xtr[:500], rule="both", validation=(Xval, yval),
                              max_accuracy_drop=0.005, n_steps=T, chip=chip)
    print(f"wide MLP 64-1024-1024-10; pruned {100 * report.removed_fraction:.1f} % of synapses (0.5-point budget on "
          f"validation); stop rules calibrated on validation ({len(yval)} digits), {100 * args.target:.1f}-point budget; "
          f"test {len(yte)} digits, T <= {T}, loihi profile")
    rows = []
    for label, graph in (("baseline", snn), ("pruned", pruned)):
        program = nc.compile(graph, chip)
        sim = nc.Simulator(program)
        rule, _ = StopRule.calibrate(program, Xval, yval, n_steps=T, target=args.target, margins=MARGINS)
        for suffix, stop in (("", None), (" + stop", rule)):
            r = sim.run(Xte, n_steps=T, stop=stop)
            rows.append((label + suffix, r, program.n_cores_used, stop))
            if stop is not None:  # the fixed T nearest the stopped run's mean steps, for comparison
                k = int(np.ceil(r.steps.mean()))
                rows.append((f"{label} T={k}", sim.run(Xte, n_steps=k), program.n_cores_used, None))
    rows = [(tag, r.accuracy(yte), r.steps.mean(), cores, nc.energy.estimate(r, chip="loihi", baseline=None), stop)
            for tag, r, cores, stop in rows]
    e0 = rows[0][4].energy_per_inference_J
    print(f"  {'':<15} {'test acc':>8}  {'steps':>6}  cores  {'energy/inf':>10}  {'dynamic':>9}  {'latency':>9}  "
          f"vs baseline  rule")
    for tag, acc, steps, cores, e, stop in rows:
        print(f"  {tag:<15} {100 * acc:7.2f}%  {steps:6.2f}  {cores:>5}  {1e6 * e.energy_per_inference_J:7.2f} uJ"
              f"  {1e6 * e.dynamic_energy_J:6.2f} uJ  {1e6 * e.latency_s:6.1f} us  "
              f"{100 * (e.energy_per_inference_J / e0 - 1):+9.1f} %  "
              f"{'-' if stop is None else f'margin {stop.margin}, min_steps {stop.min_steps}'}")


if args.model == "wide":
    main_wide()
else:
    main_curve()

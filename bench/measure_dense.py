"""Time the dense network an SNN came from on this machine and write a *measured* baseline profile.

The network is rebuilt from a compiled program's layer statistics (``Program.layer_stats``:
one ``Linear`` per dense projection, one ``Conv2d`` per conv projection whose shapes the
program records, ReLU after each population, recurrent projections evaluated once per
timestep), in float32, and timed with PyTorch on the CPU under ``torch.inference_mode()`` at
each requested batch size (median over repeats, after warm-up). The profile it writes is
what ``nc.energy.estimate(result, baseline="path/to/profile.json")`` reads: the report never
times anything itself, so it stays reproducible.

Power attribution is a named option, recorded in the profile:

- ``rapl``: package energy from ``/sys/class/powercap/intel-rapl:*/energy_uj`` while the
  timed loop runs (active power) and over an idle second (idle power), where readable;
- ``tdp-share``: active power = ``--tdp-w`` x threads / ``--tdp-cores``, with the TDP's
  citation in ``--tdp-source`` (idle power unpublished unless ``--idle-w`` and
  ``--idle-source`` are given);
- ``none``: no power (the profile gives time only; energy is reported as undefined).

Examples::

    python bench/measure_dense.py --demo --batch 1 540 --out cpu-demo.json
    python bench/measure_dense.py --program prog.npz --batch 1 256 --timesteps 32 \\
        --power tdp-share --tdp-w 205 --tdp-cores 28 --tdp-source "Intel ARK, Xeon Platinum 8180" --out my.json
"""
from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from neurocore.energy.baselines import network_signature
from neurocore.errors import ProfileError

RAPL_GLOB = "/sys/class/powercap/intel-rapl:[0-9]*/energy_uj"


def build_torch_net(layer_stats: list[dict], timesteps: int):
    """A float32 torch module computing the dense forward pass of ``layer_stats``."""
    import torch

    class DenseNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ops = torch.nn.ModuleList()
            self.stats = layer_stats
            for ls in layer_stats:
                self.ops.append(_layer(torch, ls))
            dsts = {ls["dst"] for ls in layer_stats}
            self.inputs = sorted({ls["src"] for ls in layer_stats} - dsts)
            self.sizes = {ls["src"]: ls["n_src"] for ls in layer_stats}

        def forward(self, x: dict):
            vals = dict(x)
            ff = [(op, ls) for op, ls in zip(self.ops, self.stats) if not ls["recurrent"]]
            rec = [(op, ls) for op, ls in zip(self.ops, self.stats) if ls["recurrent"]]
            last = {ls["dst"]: i for i, (_, ls) in enumerate(ff)}
            for i, (op, ls) in enumerate(ff):
                y = _apply(op, ls, vals[ls["src"]])
                y = y if ls["dst"] not in vals else vals[ls["dst"]] + y
                vals[ls["dst"]] = torch.relu(y) if last[ls["dst"]] == i else y
            for _ in range(timesteps if rec else 0):
                for op, ls in rec:
                    vals[ls["dst"]] = torch.relu(vals[ls["dst"]] + _apply(op, ls, vals[ls["src"]]))
            return vals

    return DenseNet().eval()


def _layer(torch, ls: dict):
    if ls.get("kind") == "conv2d":
        missing = [k for k in ("kernel_shape", "in_shape", "stride", "padding") if k not in ls]
        if missing:
            raise ProfileError(f"projection '{ls['name']}' is conv2d but the program does not record {missing}; "
                               "recompile it with this neurocore version")
        co, ci, kh, kw = ls["kernel_shape"]
        return torch.nn.Conv2d(ci * ls.get("groups", 1), co, (kh, kw), stride=ls["stride"], padding=ls["padding"],
                               dilation=ls.get("dilation", 1), groups=ls.get("groups", 1))
    if ls["dense_macs"] != ls["n_src"] * ls["n_dst"]:
        raise ProfileError(f"projection '{ls['name']}' ({ls.get('kind')}) has {ls['dense_macs']} MACs, not "
                           f"n_src x n_dst = {ls['n_src'] * ls['n_dst']}: no dense layer computes it")
    return torch.nn.Linear(ls["n_src"], ls["n_dst"])


def _apply(op, ls: dict, x):
    if ls.get("kind") == "conv2d":
        y = op(x.reshape(x.shape[0], *ls["in_shape"]))
        return y.reshape(x.shape[0], -1)
    return op(x.reshape(x.shape[0], -1))


def time_batches(layer_stats, batches, timesteps, threads, repeats, min_time):
    """{batch: [seconds per forward pass, ...]} for each batch size."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build_torch_net(layer_stats, timesteps)
    out = {}
    with torch.inference_mode():
        for b in batches:
            x = {k: torch.rand(b, n, dtype=torch.float32) for k, n in net.sizes.items() if k in net.inputs}
            for _ in range(5):
                net(x)
            t0, n = time.perf_counter(), 0
            while time.perf_counter() - t0 < min_time / 4:      # calibrate the loop length
                net(x)
                n += 1
            loops = max(1, int(n * 4 / max(repeats, 1)))
            runs = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                for _ in range(loops):
                    net(x)
                runs.append((time.perf_counter() - t0) / loops)
            out[b] = runs
    return out


def rapl_files() -> list[str]:
    files = sorted(glob.glob(RAPL_GLOB))
    return [f for f in files if os.access(f, os.R_OK)]


def rapl_power(files: list[str], fn, seconds: float) -> float:
    """Mean package power (W) over ``fn`` run repeatedly for ``seconds`` (fn=None: idle)."""
    def read():
        return sum(int(Path(f).read_text()) for f in files)
    e0, t0 = read(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        if fn is None:
            time.sleep(0.05)
        else:
            fn()
    e1, t1 = read(), time.perf_counter()
    if e1 < e0:
        raise ProfileError("RAPL energy counter wrapped during the measurement; run again")
    return (e1 - e0) * 1e-6 / (t1 - t0)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def power_entries(args, layer_stats, threads) -> tuple[dict, str]:
    unpub = {"value": None, "unit": "W", "unpublished": True}
    if args.power == "rapl":
        files = rapl_files()
        if not files:
            raise ProfileError(f"--power rapl: no readable RAPL counter ({RAPL_GLOB}); use --power tdp-share "
                               "with a cited TDP, or --power none")
        import torch

        net = build_torch_net(layer_stats, args.timesteps)
        x = {k: torch.rand(max(args.batch), n) for k, n in net.sizes.items() if k in net.inputs}
        with torch.inference_mode():
            active = rapl_power(files, lambda: net(x), 2.0)
        idle = rapl_power(files, None, 2.0)
        src = f"measured with RAPL ({', '.join(files)}), package energy over 2 s"
        return ({"active_power": {"value": active, "unit": "W", "source": src + f" running batch {max(args.batch)}"},
                 "idle_power": {"value": idle, "unit": "W", "source": src + " idle"}}, "rapl")
    if args.power == "tdp-share":
        if args.tdp_w is None or args.tdp_cores is None or not args.tdp_source:
            raise ProfileError("--power tdp-share needs --tdp-w, --tdp-cores and --tdp-source (the TDP's citation)")
        active = args.tdp_w * threads / args.tdp_cores
        ent = {"active_power": {"value": active, "unit": "W",
                                "source": f"TDP share: {args.tdp_w:g} W x {threads} thread(s) / {args.tdp_cores} "
                                          f"cores; TDP from {args.tdp_source}"}}
        if args.idle_w is not None and args.idle_source:
            ent["idle_power"] = {"value": args.idle_w, "unit": "W", "source": args.idle_source}
        else:
            ent["idle_power"] = dict(unpub, source="no idle power given (--idle-w, --idle-source)")
        return ent, "tdp-share"
    why = args.power_note or "no power attribution chosen (--power none)"
    return ({"active_power": dict(unpub, source=why), "idle_power": dict(unpub, source=why)}, "none")


def demo_layer_stats() -> list[dict]:
    """The ``neurocore demo`` network's projections (MLP 64-128-64-10 on digits, as compiled for loihi)."""
    import neurocore as nc
    from neurocore.demo import digits_split, train_digits_mlp

    Xtr, _, ytr, _ = digits_split(0)
    chip = nc.chip.loihi()
    graph = nc.convert(train_digits_mlp(Xtr, ytr), calibration=Xtr[:500], chip=chip, encoding="direct")
    return nc.compile(graph, chip).layer_stats


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: a failed write keeps the old file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--program", help="a saved Program (.npz): time its dense network")
    src.add_argument("--demo", action="store_true", help="time the `neurocore demo` network")
    ap.add_argument("--batch", type=int, nargs="+", default=[1], help="batch sizes to time (include 1 and the run's)")
    ap.add_argument("--timesteps", type=int, default=1, help="evaluations of recurrent projections per inference")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per batch size, all repeats together")
    ap.add_argument("--power", choices=("rapl", "tdp-share", "none"), default=None,
                    help="power attribution (default: rapl where readable, else none)")
    ap.add_argument("--tdp-w", type=float)
    ap.add_argument("--tdp-cores", type=int)
    ap.add_argument("--tdp-source")
    ap.add_argument("--idle-w", type=float)
    ap.add_argument("--idle-source")
    ap.add_argument("--power-note", help="why no power is given (recorded with --power none)")
    ap.add_argument("--name", default="cpu-measured")
    ap.add_argument("--note", default="", help="free text recorded in the profile (e.g. machine load)")
    ap.add_argument("--out", required=True, help="profile JSON to write")
    args = ap.parse_args(argv)
    if any(b < 1 for b in args.batch) or args.threads < 1 or args.repeats < 1:
        raise ProfileError("--batch, --threads and --repeats must be >= 1")
    if args.power is None:
        args.power = "rapl" if rapl_files() else "none"
        if args.power == "none" and not args.power_note:
            args.power_note = f"no readable RAPL counter ({RAPL_GLOB}) and no cited TDP given"
    if args.demo:
        layer_stats = demo_layer_stats()
    else:
        from neurocore.mapping.program import Program

        layer_stats = Program.load(args.program).layer_stats
    import torch

    batches = sorted(set(args.batch))
    runs = time_batches(layer_stats, batches, args.timesteps, args.threads, args.repeats, args.min_time)
    power, attribution = power_entries(args, layer_stats, args.threads)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = {}
    for b in batches:
        med = statistics.median(runs[b])
        entries[f"time_per_batch_b{b}"] = {
            "value": med, "unit": "s", "range": [min(runs[b]), max(runs[b])],
            "source": f"measured {date}: median of {args.repeats} repeats (range = min, max) of one float32 "
                      f"forward pass at batch {b}, torch {torch.__version__} CPU, {args.threads} thread(s)"}
    entries.update(power)
    sig = network_signature(layer_stats)
    prof = {
        "format": "neurocore-energy-profile/1", "name": args.name, "kind": "dense", "scope": "per_term",
        "model": "measured", "precision": "fp32",
        "description": (f"Measured on {platform.node()} ({cpu_model()}): the dense float32 network "
                        f"({'-'.join(str(s[0]) for s in sig)}-{sig[-1][1]}) timed with PyTorch on the CPU at batch "
                        f"{', '.join(map(str, batches))}; power attribution '{attribution}'. {args.note}").strip(),
        "citations": [f"measured by bench/measure_dense.py on {date} (command in 'measurement')"],
        "measurement": {
            "date": date, "host": platform.node(), "cpu": cpu_model(), "cores_visible": os.cpu_count(),
            "threads": args.threads, "command": "python " + " ".join([sys.argv[0]] + (argv or sys.argv[1:])),
            "library": f"torch {torch.__version__} (CPU, float32, inference_mode)",
            "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__},
            "power_attribution": attribution, "batches": batches, "timesteps": args.timesteps,
            "repeats": args.repeats, "runs_s": {str(b): runs[b] for b in batches}, "note": args.note,
            "layers": [{"n_src": a, "n_dst": b, "dense_macs": m, "recurrent": r} for a, b, m, r in sig]},
        "entries": entries}
    from neurocore.energy.profiles import load_profile

    load_profile(prof)                                        # validate before writing
    write_atomic(Path(args.out), json.dumps(prof, indent=2) + "\n")
    for b in batches:
        print(f"batch {b:>5}: {statistics.median(runs[b]) * 1e6:10.2f} us per forward pass "
              f"[{min(runs[b]) * 1e6:.2f}-{max(runs[b]) * 1e6:.2f}], "
              f"{statistics.median(runs[b]) / b * 1e6:.3f} us per inference")
    print(f"power attribution: {attribution}; wrote {args.out}")
    return prof


if __name__ == "__main__":
    main()

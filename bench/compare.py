"""Compare neurocore's simulator with NumPy and Brian2 on the benchmark workloads.

Prints a markdown table per run: for each workload and implementation the wall time
of the whole workload (median of ``--repeats`` runs, [min-max]), synaptic events/s,
neuron updates/s, spikes, and the speed-up against the float32 NumPy event-driven step
measured in the same run. Everything is single-threaded.

Implementations:

* ``neurocore kernel``: ``Simulator.run(..., n_threads=1)``; compile time excluded (printed apart).
* ``neurocore reference``: the NumPy twin ``neurocore.kernels.reference.simulate`` on the
  first ``--ref-steps`` steps, time extrapolated linearly to the full run (labelled).
* ``numpy f32 event``: ``I = W[spiking_rows].sum(0)``; ``numpy f32 dense``: ``I = s @ W``
  (``bench/numpy_steps.py``). CUBA's dense step (a 4000 x 4000 gemv per step) runs on the
  first ``--dense-steps`` steps and is extrapolated (labelled).
* ``brian2 cpp_standalone``: when Brian2 can be run (this interpreter, or ``--brian2-python``,
  default ``/tmp/b2venv/bin/python`` if it exists; Brian2 2.9 needs ``numpy<2.4``):
  ``bench/brian2_runner.py`` builds the binary once (build excluded) and times the loop
  with Brian2's own timer. CUBA is Brian2's original float model (two synaptic time
  constants), FF the same integer network as neurocore's.

A synaptic event is one spike through one (non-zero) synapse; a neuron update is one
neuron advanced by one step (N x steps).

Batch tables (``--batch``, ``bench/batch_rows.py``): the FF network (300 steps, Bernoulli(0.2)
input, a new raster per sample) and the converted digits CNN (32 steps, direct input;
``--batch-net ff|cnn|all``) at batch 1, 32 and 256, neurocore's kernel (``n_threads=--threads``,
every counter kept) against the pinned dense PyTorch float32 step (``bench/torch_steps.py``:
``inference_mode``, preallocated buffers, one ``addmm``/``conv2d`` + threshold + reset per layer
per step, ``torch.set_num_threads(--threads)``, warm-up excluded) and, at batch 32, dense
NumPy/BLAS, plus neurocore at batch 32 on 1 thread against ``--threads``; dense PyTorch on
CUDA where a CUDA device is present (else the table says "no CUDA device"); snnTorch's and
sinabs' own layers on FF at ``--peer-batches`` (default 1, 32, 256), run in their venvs
(``bench/peer_runner.py``, ``--peer-venvs`` or ``$NEUROCORE_PEER_VENVS`` or ``.venvs``; a
missing tool's row says "skipped"); next to each events/s the fraction of the in-cache vector
limit and of the DRAM limit for 8-bit weights, the memory bandwidth measured in the same run
(``bench/machine_limits.py``, formula printed); and the kernel's table bytes per synapse.
Spike counts of PyTorch, NumPy and sinabs are checked equal to neurocore's (snnTorch's reset
differs: its agreement is printed). Repeats alternate between the implementations so that load
from other processes hits all of them alike; ratios are taken per repeat, then the median.

Usage::

    python bench/compare.py [--workload ff|cuba|all] [--repeats 5] [--json out.json]
                            [--brian2-python PATH | --no-brian2]
    python bench/compare.py --batch [--threads 2] [--repeats 5] [--json out.json] [--batch-net ff|cnn|all]
                            [--batches 1,32,256] [--peers snntorch,sinabs|none] [--peer-batches 1,32,256]
                            [--peer-venvs DIR] [--no-limits]
"""
from __future__ import annotations

import os
import sys as _sys

_threads = "1"
if "--threads" in _sys.argv:  # BLAS reads its thread count at import: set it before numpy loads
    _threads = _sys.argv[_sys.argv.index("--threads") + 1]
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "NEUROCORE_NUM_THREADS"):
    os.environ[_var] = _threads

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy_steps
import workloads
from workloads import nc, synaptic_events

from neurocore.kernels.reference import simulate

BASELINE = "numpy f32 event"
DEFAULT_B2 = "/tmp/b2venv/bin/python"


#: CPU time of this process (s). Brian2 C++ standalone's loop timer is ``std::clock()``, the
#: process's CPU time, so single-thread comparisons with Brian2 use CPU time on both sides:
#: wall time on a loaded machine also counts the time other processes held the core.
_cpu = time.process_time


def _load() -> float:
    """The 1-minute load average (other processes on this machine) when a figure is taken."""
    return os.getloadavg()[0]


def _timed(fn, repeats: int, warmup: int = 1, cpu: list | None = None):
    """Run ``fn`` warmup + repeats times; returns (wall times, last result); CPU times go to ``cpu``."""
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(repeats):
        c0, t0 = _cpu(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(_cpu() - c0)
    return times, out


def _row(wl, impl, times, events, updates, spikes, steps_timed, note=""):
    """One table row; ``times`` are for ``steps_timed`` steps, scaled to the full workload."""
    scale = wl.n_steps / steps_timed
    full = [t * scale for t in times]
    med = statistics.median(full)
    return {"workload": wl.name, "implementation": impl, "steps_timed": steps_timed, "n_steps": wl.n_steps,
            "extrapolated": steps_timed != wl.n_steps, "wall_s": full, "median_s": med, "min_s": min(full),
            "max_s": max(full), "events": int(events * scale), "events_per_s": events / (med / scale),
            "neuron_updates_per_s": updates / (med / scale), "spikes": int(spikes * scale)
            if steps_timed != wl.n_steps else int(spikes), "n": len(times), "note": note, "load": _load()}


def bench_neurocore(wl, repeats):
    t0 = time.perf_counter()
    prog = nc.compile(wl.graph, wl.chip)
    t_compile = time.perf_counter() - t0
    sim = nc.Simulator(prog)
    cpu: list = []
    times, r = _timed(lambda: sim.run(wl.inputs, n_steps=wl.n_steps, n_threads=1), repeats, cpu=cpu)
    tot = r.totals()
    N = wl.graph.n_neurons
    row = _row(wl, "neurocore kernel (1 thread)", times, tot["synops"], N * wl.n_steps, tot["spikes"], wl.n_steps,
               f"compile {t_compile:.2f} s excluded; {prog.n_cores_used} cores; CPU time median "
               f"{statistics.median(cpu):.3f} s [{min(cpu):.3f}–{max(cpu):.3f}]")
    row["cpu_s"] = cpu
    return row, sim, r


def bench_reference(wl, sim, repeats, ref_steps):
    short = wl.truncated(min(ref_steps, wl.n_steps))
    times, ref = _timed(lambda: simulate(short.graph, short.chip, short.inputs, short.n_steps),
                        max(1, min(repeats, 3)), warmup=0)
    counts = workloads.spikes_by_population(short, ref["spikes"][0])
    r = sim.run(short.inputs, n_steps=short.n_steps, n_threads=1)
    same = all(np.array_equal(r.spike_counts[p][0], counts[p]) for p in counts)
    if not same:
        raise SystemExit(f"{wl.name}: kernel and NumPy twin disagree on {short.n_steps} steps")
    counts["input"] = short.inputs[0].sum(0) if short.inputs.shape[2] else None
    events = synaptic_events(short, {k: v for k, v in counts.items() if k in short.out_degree})
    spikes = sum(int(v.sum()) for k, v in counts.items() if k != "input" and v is not None)
    return _row(wl, "neurocore reference (NumPy twin)", times, events, wl.graph.n_neurons * short.n_steps, spikes,
                short.n_steps, f"extrapolated from {short.n_steps} steps; spikes equal the kernel's")


def bench_numpy(wl, variant, repeats, steps):
    steps = min(steps, wl.n_steps)
    times, counts = _timed(lambda: numpy_steps.run(wl, variant, steps), repeats)
    events = synaptic_events(wl, {k: v for k, v in counts.items() if k in wl.out_degree})
    spikes = sum(int(v.sum()) for k, v in counts.items() if k != "input")
    note = "float32" + (f"; extrapolated from {steps} steps" if steps != wl.n_steps else "")
    return _row(wl, f"numpy f32 {variant}", times, events, wl.graph.n_neurons * steps, spikes, steps, note)


def _brian2_python(arg):
    if arg == "none":
        return None
    if arg:
        return arg
    try:
        import brian2  # noqa: F401
        return sys.executable
    except Exception:  # noqa: BLE001 - Brian2 fails to import with numpy >= 2.4
        return DEFAULT_B2 if Path(DEFAULT_B2).exists() else None


def bench_brian2(wl, py, repeats, workdir):
    wdir = Path(workdir) / f"b2_{wl.name}"
    cmd = [py, str(HERE / "brian2_runner.py"), wl.name, "--steps", str(wl.n_steps), "--repeats", str(repeats),
           "--workdir", str(wdir)]
    if wl.name == "ff":
        npz = Path(workdir) / "ff_net.npz"
        d = {"raster": wl.inputs[0].astype(np.uint8)}
        for k, layer in enumerate(wl.layers):
            d[f"w{k}"] = layer["wt"].T.astype(np.int16)
            d[f"vth{k}"] = np.float64(wl.neurons[layer["dst"]]["vth"])
        np.savez(npz, **d)
        cmd += ["--npz", str(npz)]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, check=False)
    if p.returncode != 0:
        print(f"[brian2] {wl.name} failed:\n{p.stderr[-2000:]}", file=sys.stderr)
        return None
    res = json.loads(p.stdout.strip().splitlines()[-1])
    row = _row(wl, "brian2 cpp_standalone (1 thread)", res["loop_s"], res["events"],
               res["n_neurons"] * wl.n_steps, res["spikes"], wl.n_steps,
               f"Brian2's loop timer (std::clock: CPU time of the loop); build {res['build_s']:.1f} s excluded; "
               f"whole binary wall median {statistics.median(res['binary_s']):.3f} s"
               + ("; original float model (2 synaptic taus)" if wl.name == "cuba" else ""))
    row["spikes_per_group"] = res["spikes_per_group"]
    row["cpu_s"] = res["loop_s"]
    return row


def _fmt_t(r):
    return f"{r['median_s']:.3f} [{r['min_s']:.3f}–{r['max_s']:.3f}]"


def table(rows):
    lines = [("| workload | implementation | wall time, s: median [min–max] | synaptic events/s | "
             "neuron updates/s | spikes | speed-up vs numpy f32 event | n | load avg | notes |"),
             "|---|---|---|---|---|---|---|---|---|---|"]
    for wl in dict.fromkeys(r["workload"] for r in rows):
        rs = [r for r in rows if r["workload"] == wl]
        base = next((r for r in rs if r["implementation"] == BASELINE), None)
        for r in rs:
            ratio = f"{base['median_s'] / r['median_s']:.2f}×" if base else "—"
            lines.append(f"| {wl} | {r['implementation']} | {_fmt_t(r)}{' (extrap.)' if r['extrapolated'] else ''}"
                         f" | {r['events_per_s']:.3g} | {r['neuron_updates_per_s']:.3g} | {r['spikes']:,}"
                         f"{' (extrap.)' if r['extrapolated'] else ''} | {ratio} | {r['n']} | {r['load']:.1f} | {r['note']} |")
    return "\n".join(lines)


def targets(rows):
    out = []
    get = {(r["workload"], r["implementation"].split(" (")[0]): r for r in rows}
    ff = get.get(("ff", "neurocore kernel"))
    if ff:
        ok = ff["events_per_s"] >= 1e9
        out.append(f"- FF: neurocore {ff['events_per_s']:.3g} synaptic events/s (target >= 1e9): "
                   f"{'MET' if ok else 'MISSED'}")
    cu, b2 = get.get(("cuba", "neurocore kernel")), get.get(("cuba", "brian2 cpp_standalone"))
    if cu and b2:  # CPU time on both sides: Brian2's loop timer is std::clock (see _cpu)
        nc_cpu, b2_cpu = statistics.median(cu["cpu_s"]), statistics.median(b2["cpu_s"])
        ratio = nc_cpu / b2_cpu
        spread = [a / b for a in cu["cpu_s"] for b in b2["cpu_s"]]
        out.append(f"- CUBA (single thread, CPU time of the loop on both sides): neurocore {nc_cpu:.3f} s "
                   f"[{min(cu['cpu_s']):.3f}–{max(cu['cpu_s']):.3f}] vs Brian2 C++ standalone {b2_cpu:.3f} s "
                   f"[{min(b2['cpu_s']):.3f}–{max(b2['cpu_s']):.3f}] = {ratio:.2f}× Brian2's time (pairwise "
                   f"{min(spread):.2f}–{max(spread):.2f}×; target <= 0.4×): {'MET' if ratio <= 0.4 else 'MISSED'}; "
                   f"neurocore wall {cu['median_s']:.3f} s; load average {cu['load']:.1f} / {b2['load']:.1f}")
    elif cu:
        out.append(f"- CUBA: neurocore {cu['median_s']:.3f} s; no Brian2 in this run (anchor: 0.169 s loop, "
                   f"target <= 0.068 s): {'MET' if cu['median_s'] <= 0.0676 else 'MISSED'} against the anchor")
    return "\n".join(out)


# The batch table lives in batch_rows (one module one job); these names stay importable from here.
from batch_rows import alternating as _alternating  # noqa: E402
from batch_rows import batch_table, batch_tables, bench_batch, bytes_per_synapse, limits_note  # noqa: E402
from batch_rows import spread as _spread  # noqa: E402,F401
from machine_limits import EVENTS_PER_CYCLE  # noqa: E402,F401
from machine_limits import clock_hz as _clock_hz  # noqa: E402,F401


def _peer_tools(arg: str) -> tuple[str, ...]:
    import peer_rows

    if arg == "none":
        return ()
    tools = tuple(t for t in arg.split(",") if t)
    bad = [t for t in tools if t not in peer_rows.TOOLS]
    if bad:
        raise SystemExit(f"--peers {arg!r}: unknown tool(s) {bad}; choose from {peer_rows.TOOLS}, 'none'")
    return tools


def main_batch(a) -> None:
    import torch

    import machine_limits

    nets = ("ff", "cnn") if a.batch_net == "all" else (a.batch_net,)
    print(f"# neurocore vs dense PyTorch at batch\n\nPython {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{a.threads} thread(s) on every side; {a.repeats} repeats (+1 warm-up), interleaved; "
          f"median [min–max]; load average at start {_load():.1f}\n")
    bandwidth = None if a.no_limits else machine_limits.memory_bandwidth(a.threads)
    peers = _peer_tools(a.peers)
    batches = tuple(int(b) for b in a.batches.split(","))
    peer_batches = tuple(int(b) for b in a.peer_batches.split(","))
    rows = []
    for net in nets:
        rows += bench_batch(a.repeats, a.threads, batches, net=net, peers=peers, peer_batches=peer_batches,
                            peer_venvs=a.peer_venvs, bandwidth=bandwidth, limits=not a.no_limits)
    print(batch_tables(rows))
    print("\n" + limits_note(rows, bandwidth))
    print("\nSimulator table size:\n" + bytes_per_synapse())
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(rows, indent=1))
        print(f"\nrows written to {a.json}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="neurocore simulator vs NumPy and Brian2 (markdown table)")
    ap.add_argument("--workload", choices=("ff", "cuba", "all"), default="all")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per implementation (after one warm-up)")
    ap.add_argument("--json", help="also write the rows (every time) to this JSON file")
    ap.add_argument("--brian2-python", help="interpreter with brian2 (default: this one if it imports brian2, "
                    f"else {DEFAULT_B2} if present)")
    ap.add_argument("--no-brian2", action="store_true")
    ap.add_argument("--ref-steps", type=int, default=None, help="steps for the NumPy twin (default ff 200, cuba 500)")
    ap.add_argument("--dense-steps", type=int, default=500, help="steps for CUBA's dense NumPy step")
    ap.add_argument("--workdir", default=None, help="Brian2 build folder (default: a temporary folder)")
    ap.add_argument("--batch", action="store_true", help="the batch tables against dense PyTorch, NumPy, "
                    "snnTorch and sinabs instead")
    ap.add_argument("--threads", type=int, default=1, help="threads on every side (read before numpy loads)")
    ap.add_argument("--batch-net", choices=("ff", "cnn", "all"), default="all",
                    help="--batch: the FF network, the converted digits CNN, or both (default)")
    ap.add_argument("--batches", default="1,32,256", help="--batch: batch sizes, comma-separated")
    ap.add_argument("--peers", default="snntorch,sinabs",
                    help="--batch: peer tools timed on FF in their venvs (comma-separated, or 'none')")
    ap.add_argument("--peer-batches", default="1,32,256", help="--batch: batch sizes of the peer rows")
    ap.add_argument("--peer-venvs", default=None, help="--batch: folder of the peer venvs (<dir>/<tool>/bin/python; "
                    "default $NEUROCORE_PEER_VENVS, else .venvs in the repository root)")
    ap.add_argument("--no-limits", action="store_true",
                    help="--batch: skip the memory-bandwidth measurement and the DRAM-limit column")
    a = ap.parse_args(argv)
    if a.batch:
        main_batch(a)
        return
    names = ("ff", "cuba") if a.workload == "all" else (a.workload,)
    py = None if a.no_brian2 else _brian2_python(a.brian2_python)
    workdir = a.workdir or tempfile.mkdtemp(prefix="neurocore_bench_")
    Path(workdir).mkdir(parents=True, exist_ok=True)
    rows = []
    print(f"# neurocore simulator benchmark\n\nPython {platform.python_version()}, numpy {np.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; single thread; "
          f"repeats {a.repeats} (+1 warm-up); load average at start {_load():.1f}\n")
    for name in names:
        wl = workloads.WORKLOADS[name]()
        print(f"- **{name}**: {wl.description}")
        row, sim, _ = bench_neurocore(wl, a.repeats)
        rows.append(row)
        ref_steps = a.ref_steps or {"ff": 200, "cuba": 500}[name]
        rows.append(bench_reference(wl, sim, a.repeats, ref_steps))
        rows.append(bench_numpy(wl, "event", a.repeats, wl.n_steps))
        rows.append(bench_numpy(wl, "dense", a.repeats, wl.n_steps if name == "ff" else a.dense_steps))
        if py:
            r = bench_brian2(wl, py, a.repeats, workdir)
            if r:
                rows.append(r)
    print()
    print(table(rows))
    print("\nTargets:\n" + targets(rows))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(rows, indent=1))
        print(f"\nrows written to {a.json}")


if __name__ == "__main__":
    main()

"""The batch table of ``compare.py --batch``: neurocore against dense PyTorch, NumPy/BLAS, snnTorch, sinabs.

Networks (``--batch-net ff|cnn|all``):

* ``ff``: FF 784-512-512-10 IF, 300 steps, Bernoulli(0.2) input, a new raster per sample
  (``workloads.ff``); dense PyTorch is ``torch_steps.TorchFF``, NumPy ``numpy_steps.run_ff_batch``.
* ``cnn``: the converted digits CNN, 32 steps, direct (graded) input (``workloads.digits_cnn``);
  dense PyTorch is ``torch_steps.TorchGraph`` (``conv2d`` for the convolution, ``addmm`` for
  the pooling-folded layers), NumPy ``numpy_steps.run_graph_batch`` (dense matrices).
  neurocore's run takes the float digits and encodes them itself (as a user's run does).

Per batch size (1, 32, 256) every implementation runs ``repeats`` times after one warm-up,
interleaved round by round (:func:`alternating`), so that load from other processes hits all
of them alike; ratios are taken per repeat (its time over neurocore's in the same round),
reported as median [min-max]. Every peer's spike counts are checked before timing (a
SystemExit otherwise): equal to neurocore's for dense PyTorch, NumPy and sinabs (exact integer
models); snnTorch's reset rule differs (see ``peer_runner``), so its counts are checked equal
to the NumPy twin of its rule (``numpy_steps.run_ff_batch(snntorch_reset=True)``) and their
agreement with neurocore's is reported. Also: neurocore on 1 thread vs ``threads`` at batch
32, dense PyTorch on CUDA when a CUDA device is present (else the table says "no CUDA
device"), and the machine limits (``machine_limits``: in-cache vector limit, DRAM limit for
8-bit weights with the memory bandwidth measured in the same run).
"""
from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

import machine_limits
import numpy_steps
import peer_rows
import workloads
from workloads import nc

__all__ = ["NET_STEPS", "alternating", "batch_tables", "bench_batch", "bytes_per_synapse", "peer_table"]

#: Steps per run of each batch-table network.
NET_STEPS = {"ff": 300, "cnn": workloads.CNN_STEPS}


def _load() -> float:
    import os

    return os.getloadavg()[0]


def alternating(fns: dict, repeats: int) -> dict:
    """Time each callable ``repeats`` times (after one warm-up each), interleaved round by round.

    A callable returning :class:`peer_rows.Measured` (a runner in another process) is timed by
    that value, its own clock around its forward pass; the others by ``perf_counter`` here."""
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t0
            times[k].append(float(out) if isinstance(out, peer_rows.Measured) else dt)
    return times


def spread(xs) -> str:
    return f"{statistics.median(xs):.3g} [{min(xs):.3g}–{max(xs):.3g}]"


@dataclass
class Case:
    """One network at one batch size, compiled and run once (the reference spike counts)."""

    net: str
    wl: object
    sim: object
    run_inputs: object          # what Simulator.run takes (raster, or float samples for the CNN)
    x: np.ndarray               # the chip's (B, T, C) input values, what the peers take
    n_steps: int
    ref: object = None
    extra: dict = field(default_factory=dict)

    def neurocore(self, threads: int):
        return lambda: self.sim.run(self.run_inputs, self.n_steps, n_threads=threads)

    def torch_peer(self, device: str = "cpu"):
        import torch_steps

        if self.net == "ff":
            return torch_steps.TorchFF(self.wl, self.x, device=device)
        return torch_steps.TorchGraph(self.wl.graph, self.wl.chip, self.x, device=device)

    def numpy_peer(self):
        if self.net == "ff":
            return lambda: numpy_steps.run_ff_batch(self.wl, self.n_steps)
        return lambda: numpy_steps.run_graph_batch(self.wl.graph, self.wl.chip, self.x, self.n_steps)


def _ff_case(B: int, n_steps: int) -> Case:
    wl = workloads.ff(n_steps=n_steps, batch=B)
    return Case("ff", wl, nc.Simulator(nc.compile(wl.graph, wl.chip)), wl.inputs, wl.inputs, n_steps)


def _cnn_case(B: int, n_steps: int) -> Case:
    wl = workloads.digits_cnn(n_steps=n_steps, batch=B)
    return Case("cnn", wl, nc.Simulator(nc.compile(wl.graph, wl.chip)), wl.info["samples"], wl.inputs, n_steps,
                extra={"accuracy": None})


CASES = {"ff": _ff_case, "cnn": _cnn_case}


def _check(case: Case, who: str, got: dict) -> None:
    for k, c in got.items():
        if not np.array_equal(c, case.ref.spike_counts[k]):
            raise SystemExit(f"{case.net} batch {case.x.shape[0]}: {who} spike counts differ from neurocore's in {k}")


def _agreement(case: Case, got: dict) -> dict:
    """How closely a peer's spike counts agree with neurocore's: equal entries, total spikes."""
    ref = case.ref.spike_counts
    same = sum(int((got[k] == ref[k]).sum()) for k in got)
    n = sum(got[k].size for k in got)
    tot, ref_tot = sum(int(got[k].sum()) for k in got), sum(int(ref[k].sum()) for k in got)
    return {"counts_equal": same == n, "equal_fraction": same / n, "spikes": tot, "neurocore_spikes": ref_tot}


def _start_peers(case: Case, tools, threads: int, venvs) -> tuple[dict, dict]:
    """Runner processes of the peer tools (FF only); returns (callables, per-tool facts)."""
    fns, facts = {}, {}
    if case.net != "ff":
        return fns, facts
    for tool in tools:
        try:
            run = peer_rows.PeerRun(tool, case.wl, threads, venvs)
        except RuntimeError as e:
            why = str(e).strip().splitlines() or ["failed to start"]
            facts[tool] = {"skipped": why[0] + (f" … {why[-1]}" if len(why) > 1 else "")}
            continue
        got = run.counts()
        agree = _agreement(case, got)
        # sinabs is neurocore's integer model; snnTorch's reset differs, so its counts must equal the
        # NumPy twin of its own rule (numpy_steps.run_ff_batch(snntorch_reset=True)) instead
        twin = (case.ref.spike_counts if tool == "sinabs" else
                numpy_steps.run_ff_batch(case.wl, case.n_steps, snntorch_reset=True))
        if not all(np.array_equal(got[k], twin[k]) for k in got):
            run.close()
            raise SystemExit(f"ff batch {case.x.shape[0]}: {tool}'s spike counts differ from "
                             + ("neurocore's" if tool == "sinabs" else "the NumPy twin of its reset rule"))
        facts[tool] = {"version": run.info.get("version"), "torch": run.info.get("torch"), **agree, "_run": run}
        fns[tool] = run
    return fns, facts


def _limits(case: Case, threads: int, events: int, bandwidth: float | None) -> dict:
    blk, known = machine_limits.kernel_block(case.sim, case.x, threads)
    k, ev, streamed = machine_limits.events_per_streamed_synapse(
        case.sim, case.wl.graph, case.run_inputs, case.x, case.n_steps, blk, case.wl.out_degree)
    out = {"block": blk, "block_known": known, "events_per_streamed_synapse": k, "streamed_synapses": streamed,
           "events_counted": ev, "events_match_synops": ev == events}
    if bandwidth:
        out["dram_bytes_per_s"] = bandwidth
        out["dram_limit_events_per_s"] = bandwidth * k
    return out


def bench_batch(repeats: int, threads: int, batches=(1, 32, 256), n_steps: int | None = None, *, net: str = "ff",
                peers=(), peer_batches=(32,), peer_venvs=None, bandwidth: float | None = None,
                limits: bool = False) -> list[dict]:
    """``net`` at several batch sizes: neurocore vs dense PyTorch (and NumPy/BLAS, 1 vs ``threads`` at 32).

    ``peers``: tools of ``peer_rows.TOOLS`` to time at ``peer_batches`` (FF only); ``limits``:
    count the events per streamed synapse for the DRAM limit (``bandwidth`` bytes/s, measured
    by the caller). Returns one dict per batch size (JSON-ready but for nothing)."""
    import torch

    torch.set_num_threads(threads)
    n_steps = NET_STEPS[net] if n_steps is None else n_steps
    rows = []
    for B in batches:
        case = CASES[net](B, n_steps)
        case.ref = case.sim.run(case.run_inputs, n_steps, n_threads=threads)
        tf = case.torch_peer()
        _check(case, "PyTorch", tf.run(n_steps, count=True))
        fns = {"neurocore": case.neurocore(threads), "torch": lambda tf=tf: tf.run(n_steps)}
        cuda = None
        if torch.cuda.is_available():
            tc = case.torch_peer("cuda")
            _check(case, "PyTorch CUDA", tc.run(n_steps, count=True))
            fns["torch cuda"] = lambda tc=tc: tc.run(n_steps)
            cuda = torch.cuda.get_device_name(0)
        if B == 32:
            npf = case.numpy_peer()
            _check(case, "NumPy", npf())
            fns["numpy"] = npf
            if threads != 1:
                fns["neurocore 1 thread"] = case.neurocore(1)
        pfns, pfacts = _start_peers(case, peers if B in peer_batches else (), threads, peer_venvs)
        fns.update(pfns)
        try:
            times = alternating(fns, repeats)
        finally:
            for f in pfacts.values():
                if "_run" in f:
                    f.pop("_run").close()
        rows.append(_row(case, B, threads, n_steps, times, cuda, pfacts,
                         _limits(case, threads, int(case.ref.totals()["synops"]), bandwidth) if limits else None))
        print(f"  {net} batch {B}: done", file=sys.stderr)
    return rows


def _row(case, B, threads, n_steps, times, cuda, pfacts, limits) -> dict:
    tot = case.ref.totals()
    events = int(tot["synops"])
    nct = times["neurocore"]

    def vs(k):
        return [a / b for a, b in zip(times[k], nct)]

    row = {"net": case.net, "batch": B, "threads": threads, "n_steps": n_steps, "events": events, "neurocore_s": nct,
           "load": _load(), "neurocore_events_per_s": [events / t for t in nct],
           "torch_s": times["torch"], "vs_torch": vs("torch"),
           "overflow": int(tot["overflow_u"] + tot["overflow_v"])}
    if case.net == "cnn":
        row["accuracy"] = float(np.mean(case.ref.predictions == case.wl.info["labels"]))
        row["ann_accuracy"] = case.wl.info["ann_accuracy"]
    if "numpy" in times:
        row["numpy_s"], row["vs_numpy"] = times["numpy"], vs("numpy")
    if "neurocore 1 thread" in times:
        row["neurocore_1thread_s"] = times["neurocore 1 thread"]
        row["threads_speedup"] = vs("neurocore 1 thread")
    row["cuda"] = cuda or "no CUDA device"
    if cuda:
        row["torch_cuda_s"], row["vs_torch_cuda"] = times["torch cuda"], vs("torch cuda")
    peers = {}
    for tool, f in pfacts.items():
        peers[tool] = dict(f)
        if tool in times:
            peers[tool]["s"], peers[tool]["vs"] = times[tool], vs(tool)
    if pfacts:
        row["peers"] = peers
    if limits:
        row["limits"] = limits
    return row


# ---------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------
NET_TITLES = {"ff": "FF 784-512-512-10 IF, 300 steps, Bernoulli(0.2) input",
              "cnn": "converted digits CNN (conv8-pool-conv16-pool-linear10 → IF 512-256-10), 32 steps, direct input"}


def _fractions(r, hz) -> tuple[str, str]:
    med = statistics.median(r["neurocore_events_per_s"])
    cache = f"{med / (machine_limits.EVENTS_PER_CYCLE * hz * r['threads']):.1%}" if hz else "—"
    lim = r.get("limits") or {}
    dram = f"{med / lim['dram_limit_events_per_s']:.1%}" if lim.get("dram_limit_events_per_s") else "—"
    return cache, dram


def batch_table(rows, repeats: int | None = None) -> str:
    """The markdown table of one network's rows (one row per batch size)."""
    hz = machine_limits.clock_hz()
    lines = ["| batch | neurocore, s | neurocore synaptic events/s | of the in-cache limit | of the DRAM limit "
             "(8-bit weights) | dense PyTorch f32, s | neurocore vs PyTorch (> 1: faster) | dense NumPy/BLAS f32, s "
             "| neurocore vs NumPy | threads: 2 vs 1 | load avg |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cache, dram = _fractions(r, hz)
        lines.append(f"| {r['batch']} | {spread(r['neurocore_s'])} | {spread(r['neurocore_events_per_s'])} | "
                     f"{cache} | {dram} | {spread(r['torch_s'])} | **{spread(r['vs_torch'])}×** | "
                     + (f"{spread(r['numpy_s'])} | {spread(r['vs_numpy'])}× | " if "numpy_s" in r else "— | — | ")
                     + (f"{spread(r['threads_speedup'])}× |" if "threads_speedup" in r else "— |")
                     + f" {r['load']:.1f} |")
    return "\n".join(lines)


def peer_table(rows) -> str:
    """Dense PyTorch on CUDA and the peer tools' own layers, each against neurocore in the same rounds."""
    lines = ["| net | batch | implementation | its time, s | neurocore vs it (> 1: neurocore faster) | spike counts |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        if "torch_cuda_s" in r:
            lines.append(f"| {r['net']} | {r['batch']} | dense PyTorch f32 on {r['cuda']} | "
                         f"{spread(r['torch_cuda_s'])} | {spread(r['vs_torch_cuda'])}× | equal |")
        for tool, f in (r.get("peers") or {}).items():
            if "skipped" in f:
                lines.append(f"| {r['net']} | {r['batch']} | {tool} | skipped: {f['skipped']} | — | — |")
                continue
            check = ("equal" if f["counts_equal"] else
                     f"its reset rule differs (see peer_runner): counts equal its rule's NumPy twin; "
                     f"{f['equal_fraction']:.2%} of them equal neurocore's, {f['spikes']:,} spikes vs "
                     f"{f['neurocore_spikes']:,}")
            lines.append(f"| {r['net']} | {r['batch']} | {tool} {f['version']} (torch {f['torch']}) | "
                         f"{spread(f['s'])} | **{spread(f['vs'])}×** | {check} |")
    if not any("torch_cuda_s" in r for r in rows):
        lines.append("| — | — | dense PyTorch f32 on a GPU | no CUDA device (torch.cuda.is_available() is False) "
                     "| — | — |")
    return "\n".join(lines)


def limits_note(rows, bandwidth: float | None) -> str:
    hz = machine_limits.clock_hz()
    out = []
    if hz:
        out.append(f"In-cache limit: {machine_limits.EVENTS_PER_CYCLE} synaptic events per cycle per thread at the "
                   f"{hz / 1e9:.2f} GHz /proc/cpuinfo reports (turbo unknown; under load the threads do not hold "
                   "their cores the whole time).")
    if bandwidth:
        out.append(f"DRAM limit: memory read bandwidth measured in this run {bandwidth / 1e9:.1f} GB/s (best of 3 "
                   f"sums over 1 GiB, threads as above; the same sum in cache, one thread: "
                   f"{machine_limits.in_cache_sum_rate() / 1e9:.1f} GB/s); the kernel streams a source's 1-byte weight row once per "
                   "step per block, which serves k events (k = samples of the block carrying the spike), so the "
                   "DRAM-bound rate is bandwidth × k, k = events / streamed synapses counted from this run's spike "
                   "trains:")
        for r in rows:
            lim = r.get("limits")
            if lim:
                out.append(f"  - {r['net']} batch {r['batch']}: block {lim['block']}"
                           f"{'' if lim['block_known'] else ' (assumed)'}, k = {lim['events_per_streamed_synapse']:.2f}"
                           f", DRAM-bound {lim['dram_limit_events_per_s']:.3g} events/s")
    return "\n".join(out)


def bytes_per_synapse() -> str:
    from neurocore.sim import kernel_tables, table_bytes

    out = []
    for name, wl in (("ff", workloads.ff(n_steps=1)), ("cuba", workloads.cuba(n_steps=1))):
        prog = nc.compile(wl.graph, wl.chip)
        tb = kernel_tables(prog)
        n = int(prog.arrays["target"].shape[0])
        out.append(f"- {name}: {table_bytes(tb) / n:.2f} bytes per synapse ({table_bytes(tb):,} bytes of synapse "
                   f"and route tables, {n:,} synapses; {tb['weight'].dtype} weights, {tb['target'].dtype} targets)")
    return "\n".join(out)


def batch_tables(rows) -> str:
    """Every network's table, the peer table and the limits note (markdown)."""
    parts = []
    for net in dict.fromkeys(r["net"] for r in rows):
        rs = [r for r in rows if r["net"] == net]
        head = f"### {NET_TITLES[net]}"
        if net == "cnn":
            head += (f"\n\nANN test accuracy {rs[0]['ann_accuracy']:.1%}; chip accuracy on the batch: "
                     + ", ".join(f"batch {r['batch']} {r['accuracy']:.1%}" for r in rs)
                     + ". Synaptic events include the graded input's (each non-zero input value through each "
                     "synapse, neurocore's synops); neurocore's time includes encoding the float digits and "
                     "decoding the predictions, the peers get the encoded values.")
        parts.append(head + "\n\n" + batch_table(rs))
    parts.append("### Dense PyTorch on a GPU; snnTorch and sinabs (their own layers, FF weights and inputs)\n\n"
                 + peer_table(rows))
    return "\n\n".join(parts)

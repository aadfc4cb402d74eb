"""How far a batch-table row is from this machine's limits: in-cache vector rate and DRAM bandwidth.

Two bounds on the synaptic-event rate of event-driven delivery (``compare.py --batch``):

* **In-cache vector limit**: ``EVENTS_PER_CYCLE`` (8) synaptic events per cycle per thread,
  one 8-wide 32-bit vector add of sign-extended 8-bit weights per cycle, times the clock
  ``/proc/cpuinfo`` reports, times the threads.
* **DRAM limit for 8-bit weights**: if every weight came from DRAM, one byte per synapse,
  the kernel streams a source's synapse row once per step per block of samples (the samples
  it advances in lockstep) whatever the number of samples in the block carrying that
  source's spike or value, so one streamed byte serves ``k`` events, ``k`` the number of
  samples of the block carrying the source at that step. Over a run

      k = events / streamed synapses
        = sum over blocks, steps, sources of (samples carrying it) x out_degree
          / sum over blocks, steps, sources of [carried by any sample] x out_degree

  and the DRAM-bound rate is ``bandwidth x k`` events/s (1 byte per weight). ``k`` is
  counted exactly here from the run's spike trains (probes) and input values, block by
  block with the block size the kernel picks; ``bandwidth`` is measured in the same run by
  :func:`memory_bandwidth`. This bound applies when the weights do not stay in cache (the
  FF network's 8-bit weights are 0.67 MB: they fit this machine's L2, so for it the DRAM
  figure says how much headroom streaming from memory would leave, not what binds).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

__all__ = ["EVENTS_PER_CYCLE", "clock_hz", "events_per_streamed_synapse", "in_cache_sum_rate", "kernel_block",
           "memory_bandwidth"]

#: The in-cache vector limit of event-driven accumulation: about 8 synaptic events per cycle
#: per core (one 8-wide 32-bit vector add of sign-extended 8-bit weights per cycle).
EVENTS_PER_CYCLE = 8


def clock_hz() -> float | None:
    """The CPU clock the kernel reports (``cpu MHz`` in /proc/cpuinfo), None when unknown."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1]) * 1e6
    except (OSError, ValueError):
        return None
    return None


def memory_bandwidth(threads: int = 1, gib: float = 1.0, repeats: int = 3) -> float:
    """Read bandwidth of main memory, bytes/s: best of ``repeats`` sums over a ``gib`` GiB uint64 array.

    The array (filled, so its pages are real) is split into ``threads`` contiguous parts summed
    in parallel (NumPy releases the GIL in reductions); the sum is an integer add per 8 bytes,
    far below the memory's rate, so the time is the time to read the bytes. 1 GiB is larger
    than any cache of this machine, so each pass streams from DRAM.
    """
    n = int(gib * (1 << 30)) // 8
    a = np.ones(n, np.uint64)
    parts = np.array_split(a, max(1, threads))
    best = float("inf")
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for _ in range(repeats):
            t0 = time.perf_counter()
            total = sum(pool.map(np.sum, parts))
            best = min(best, time.perf_counter() - t0)
    if int(total) != n:
        raise RuntimeError("memory_bandwidth: the sum is wrong")
    return a.nbytes / best


def in_cache_sum_rate(repeats: int = 3) -> float:
    """Bytes/s of the same uint64 sum over 512 KiB (in cache), one thread: the reduction's own speed.

    :func:`memory_bandwidth` measures memory only if this is well above it (on the 2-vCPU
    Xeon of the README, 35-68 GB/s in cache against 15 GB/s over 1 GiB in two loaded runs, one thread)."""
    a = np.ones(1 << 16, np.uint64)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(1000):
            a.sum()
        best = min(best, time.perf_counter() - t0)
    return a.nbytes * 1000 / best


def kernel_block(sim, x: np.ndarray, threads: int) -> tuple[int, bool]:
    """The block size the kernel picks for this batch (as ``Simulator.run`` does), and whether it is known.

    Reads ``neurocore.sim``'s ``narrow_ok`` / ``block_size`` the way ``_run_kernel`` calls them;
    if their signatures change, returns ``(min(64, ceil(B / threads)), False)``.
    """
    B = x.shape[0]
    try:
        from neurocore.sim import block_size, narrow_ok

        in_max = np.maximum(x.max(axis=(0, 1)).astype(np.int64), -x.min(axis=(0, 1)).astype(np.int64))
        narrow = narrow_ok(sim.program, sim._tables, in_max, sim._bound_parts)
        return int(block_size(sim._tables, not narrow, B, min(threads, B))), True
    except (ImportError, AttributeError, TypeError, KeyError):
        return int(min(64, -(-B // threads))), False


def events_per_streamed_synapse(sim, graph, run_inputs, x: np.ndarray, n_steps: int, block: int,
                                out_degree: dict[str, np.ndarray]) -> tuple[float, int, int]:
    """``k`` of the module docstring: (k, events, streamed synapses) over the whole batch.

    ``run_inputs`` is what ``sim.run`` takes (float samples for a converted network), ``x`` the
    chip's (B, T, C) input values; ``out_degree`` maps each source node (input or population)
    to its per-neuron/channel synapse count. The spike trains come from an extra run with
    spike probes, block by block (not timed)."""
    pops = [p.name for p in graph.populations if p.name in out_degree]
    chan, off = {}, 0
    for node in graph.inputs:
        chan[node.name] = (off, off + node.n)
        off += node.n
    events = streamed = 0
    B = x.shape[0]
    for b0 in range(0, B, block):
        b1 = min(B, b0 + block)
        r = sim.run(run_inputs[b0:b1], n_steps, probes={p: "spikes" for p in pops})
        carried = [(r.probes[p]["spikes"] != 0, out_degree[p]) for p in pops]
        carried += [(x[b0:b1, :n_steps, a:c] != 0, out_degree[name]) for name, (a, c) in chan.items()
                    if name in out_degree]
        for on, deg in carried:
            deg = np.asarray(deg, np.int64)
            events += int(on.sum(axis=(0, 1)) @ deg)
            streamed += int(on.any(axis=0).sum(axis=0) @ deg)
    return (events / streamed if streamed else 0.0), events, streamed

"""Memory known in advance: what compile and run will allocate, checked before they start.

Each estimate is a sum of the arrays the stage allocates, computed from the sizes of
the network and the request (synapses, neurons, populations; batch, steps, probes) and
the bytes of each array's dtype, so it follows the data structures, not a fit to one
machine's measurements. A request above ``memory_limit`` raises :class:`ResourceError`
at once, naming the size and how to reduce it, instead of being killed by the kernel's
OOM killer minutes later.

``memory_limit`` defaults to :func:`available_memory`: the smallest of the cgroup limit
(``/sys/fs/cgroup/memory.max``, or cgroup v1's ``memory.limit_in_bytes``) less the cgroup's
anonymous memory (page cache is reclaimable and not counted), ``MemAvailable`` from ``/proc/meminfo``, and the environment variable
``NEUROCORE_MEMORY_LIMIT`` (bytes, or with a K/M/G/T suffix). ``memory_limit=float("inf")``
turns the check off.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from neurocore.errors import ResourceError

__all__ = ["Estimate", "available_memory", "check_memory", "compile_estimate", "format_bytes", "run_estimate",
           "COMPILE_PHASES", "COMPILE_BYTES_PER_SYNAPSE", "COMPILE_BYTES_PER_ROW", "COMPILE_BYTES_PER_NEURON"]

I8, I32, I64, F64 = 1, 4, 8, 8

#: Bytes per synapse that compile holds in each of its phases (each term: arrays x dtype bytes).
#: Arrays of different phases are not alive together, so the peak is the largest phase.
COMPILE_PHASES: dict[str, dict[str, int]] = {
    "partition": {
        # the partitioner's int64 copies of each incoming projection's CSR indices, and flags
        "partition index copies (2 x int64, 1 bool)": 2 * I64 + I8,
    },
    "tables": {
        # target, weight, wscaled (int32), written straight from the projections' CSR matrices
        "synapse tables (3 x int32)": 3 * I32,
        # when projections interleave in source order, the rows are gathered: an int64 index
        # (repeat, arange and their sum) and gathered copies of the three tables
        "row gather (3 x int64 index, 3 x int32 copies)": 3 * I64 + 3 * I32,
        # a projection's counting sort into the tables (destination core and position, int64)
        "counting-sort temporaries (2 x int64)": 2 * I64,
    },
}
#: The peak phase: rows, packets and neurons are counted in it too.
COMPILE_PEAK_PHASE = "tables"
COMPILE_BYTES_PER_SYNAPSE: dict[str, int] = COMPILE_PHASES[COMPILE_PEAK_PHASE]
#: Bytes per synapse row (one per source, destination core and projection) and per packet.
COMPILE_BYTES_PER_ROW: dict[str, int] = {
    "row tables (row_ptr int64, 9 int32/uint8 columns)": I64 + 8 * I32 + I8,
    "row and packet temporaries (firsts, sources, cores, keys)": 6 * I64,
    "packet tables and routes (7 int32 columns)": 7 * I32,
}
#: Bytes per neuron (parameters int64 x 9 with their per-population copies, core and routing arrays).
COMPILE_BYTES_PER_NEURON: dict[str, int] = {
    "neuron parameters (9 int64) and their per-population parts": 2 * 9 * I64,
    "core assignment, packing order, traffic and placement arrays": 6 * I64,
}


@dataclass
class Estimate:
    """Bytes a stage will allocate, by part."""

    what: str
    parts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return int(sum(self.parts.values()))

    def largest(self, k: int = 3) -> str:
        items = sorted(self.parts.items(), key=lambda kv: -kv[1])[:k]
        return ", ".join(f"{name} {format_bytes(b)}" for name, b in items if b > 0)


def format_bytes(n: float) -> str:
    """``1.5 GiB``-style size."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def _parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (no limit) reads as None


def _cgroup_anon(stat_file: str, key: str) -> int | None:
    """Non-reclaimable usage (anonymous memory) from a cgroup's memory.stat; page cache does not count."""
    try:
        for line in Path(stat_file).read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key and value.strip().isdigit():
                return int(value)
    except OSError:
        return None
    return None


def _cgroup_room() -> int | None:
    """The cgroup's memory limit less its anonymous usage (v2, then v1), or None without a limit."""
    for base, limit_f, stat_key, usage_f in (
            ("/sys/fs/cgroup", "memory.max", "anon", "memory.current"),
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes", "rss", "memory.usage_in_bytes")):
        limit = _read_int(f"{base}/{limit_f}")
        if limit is not None and limit < 1 << 60:  # v1 writes a huge number for "no limit"
            used = _cgroup_anon(f"{base}/memory.stat", stat_key)
            return max(0, limit - (used if used is not None else (_read_int(f"{base}/{usage_f}") or 0)))
    return None


def _mem_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory() -> tuple[float, str]:
    """(bytes, where the figure comes from): the default ``memory_limit``; ``inf`` when nothing is known."""
    found: list[tuple[float, str]] = []
    env = os.environ.get("NEUROCORE_MEMORY_LIMIT")
    if env:
        try:
            found.append((_parse_size(env), "NEUROCORE_MEMORY_LIMIT"))
        except ValueError:
            raise ResourceError(f"NEUROCORE_MEMORY_LIMIT={env!r} is not a size; give bytes or e.g. '8G'") from None
    room = _cgroup_room()
    if room is not None:
        found.append((room, "the cgroup's memory limit less its anonymous memory"))
    avail = _mem_available()
    if avail is not None:
        found.append((avail, "MemAvailable in /proc/meminfo"))
    return min(found) if found else (math.inf, "no limit known")


#: A run that needs at most this many bytes is not checked against the system's free memory
#: (reading the cgroup and /proc/meminfo costs more than such a run); ``memory_limit=`` and
#: ``NEUROCORE_MEMORY_LIMIT`` still apply to it.
SMALL_REQUEST = 16 << 20


def check_memory(est: Estimate, memory_limit: float | None, advice: str) -> None:
    """Raise :class:`ResourceError` when ``est`` exceeds ``memory_limit`` (None: :func:`available_memory`)."""
    if memory_limit is None:
        if est.total <= SMALL_REQUEST and not os.environ.get("NEUROCORE_MEMORY_LIMIT"):
            return
        limit, source = available_memory()
    else:
        if not isinstance(memory_limit, (int, float)) or isinstance(memory_limit, bool) or not memory_limit > 0:
            raise ResourceError(f"memory_limit must be a positive number of bytes (or float('inf')), got "
                                f"{memory_limit!r}")
        limit, source = float(memory_limit), "memory_limit="
    if est.total > limit:
        raise ResourceError(f"{est.what} would need about {format_bytes(est.total)} ({est.largest()}); the memory "
                            f"limit is {format_bytes(limit)} ({source}): {advice}")


def _rows_bound(graph, n_cores: int) -> int:
    """Synapse rows, an upper bound: at most one per synapse, and per projection at most one per
    (source, destination core), with the target population on at most min(n_dst, n_cores) cores
    (pieces can be much smaller than a core's neuron limit, so the neuron count gives no bound)."""
    rows = 0
    for proj in graph.projections.values():
        n_dst, n_src = proj.weights.shape
        rows += min(proj.n_synapses, n_src * max(1, min(n_dst, n_cores)))
    return rows


def compile_estimate(n_synapses: int, n_neurons: int, n_populations: int, n_rows: int | None = None) -> Estimate:
    """Peak bytes :func:`neurocore.compile` allocates for a network of these sizes.

    The peak is the largest of :data:`COMPILE_PHASES` (building the synapse tables, where
    the synapse lists, their concatenation, the sort and the new tables are alive together),
    plus the rows, packets and neurons.

    ``n_rows`` (synapse rows; default: one per synapse, the upper bound) comes from
    :func:`_rows_bound` when a graph is at hand. The graph itself is not counted: it
    already exists.
    """
    rows = n_synapses if n_rows is None else n_rows
    est = Estimate(f"compiling {n_synapses:,} synapses, {n_neurons:,} neurons in {n_populations:,} populations")
    phase = max(COMPILE_PHASES, key=lambda k: sum(COMPILE_PHASES[k].values()))
    for name, b in COMPILE_PHASES[phase].items():
        est.parts[name] = b * n_synapses
    for name, b in COMPILE_BYTES_PER_ROW.items():
        est.parts[name] = b * rows
    for name, b in COMPILE_BYTES_PER_NEURON.items():
        est.parts[name] = b * n_neurons
    est.parts["per-population records"] = 4096 * n_populations
    return est


COMPILE_ADVICE = ("compile fewer synapses at a time (split the network into parts and compile each), prune or "
                  "sparsify the weights, run on a machine with more memory, or pass a larger memory_limit=")


def check_compile(graph, chip, memory_limit: float | None = None) -> Estimate:
    """The compile estimate of ``graph`` on ``chip``; :class:`ResourceError` if it exceeds ``memory_limit``."""
    n_syn = sum(p.n_synapses for p in graph.projections.values())
    pops = graph.populations
    est = compile_estimate(n_syn, sum(p.n for p in pops), len(pops), _rows_bound(graph, chip.n_cores))
    check_memory(est, memory_limit, COMPILE_ADVICE)
    return est


def run_estimate(batch: int, n_steps: int, n_channels: int, n_neurons: int, n_cores: int, n_probe: dict[str, int],
                 n_delay_slots: int = 2, n_threads: int = 1, n_features: int | None = None,
                 encoding: str | None = None, input_itemsize: int = 4, record_core_steps: bool = False,
                 n_timings: int = 2, block: int = 1, n_links: int = 4) -> Estimate:
    """Bytes :meth:`neurocore.Simulator.run` allocates for one call.

    Parameters
    ----------
    batch, n_steps : int
        Samples and timesteps of the request.
    n_channels, n_neurons, n_cores : int
        The Program's input channels, neurons and used cores.
    n_probe : dict
        Probed neurons per variable (``"u"``, ``"v"``, ``"spikes"``).
    n_delay_slots, n_threads, block, n_links : int
        The kernel's working set: per thread one block of ``block`` samples, each with an
        accumulator ring of ``n_delay_slots x n_neurons`` int64 words, state and link counters.
    n_features, encoding : optional
        A codec's float features per sample and its encoding; None for integer inputs.
    input_itemsize : int
        Bytes per value of integer inputs as given (a non-int32 array is copied to int32).
    record_core_steps : bool
        ``run(..., record="core_steps")``: every core's 7 int32 counters every step are kept.
        Otherwise only their totals per sample and core, and ``n_timings`` chip-time sums.
    """
    B, T, C, N, K = int(batch), int(n_steps), int(n_channels), int(n_neurons), max(int(n_cores), 1)
    est = Estimate(f"a run of {B:,} sample(s) x {T:,} steps ({C:,} input channels, {N:,} neurons)")
    steps = B * T
    if encoding is not None:  # codec: float samples -> (B, T, C) int32 channel values
        per_value = {"direct": I32 + I8, "rate": 2 * F64 + I32, "poisson": F64 + I8 + I32}.get(encoding, 2 * F64)
        est.parts["encoded inputs"] = steps * C * per_value + 3 * B * (n_features or C) * F64
        input_itemsize = I32
    # range check masks (3 bool temporaries) and the int32 copy the kernel reads
    est.parts["input range check"] = steps * C * 3 * I8
    est.parts["int32 input copy"] = steps * C * I32 if input_itemsize != I32 else 0
    est.parts["probes"] = steps * (n_probe.get("u", 0) * I64 + n_probe.get("v", 0) * I64   # u, v probed in int64
                                   + n_probe.get("spikes", 0) * I8)
    from neurocore.sim import CORE_STEP_KEYS  # one int32 column per per-core counter

    n_keys = len(CORE_STEP_KEYS)
    est.parts["per-step core counters (record='core_steps')"] = steps * K * n_keys * I32 if record_core_steps else 0
    est.parts["busiest link per step"] = steps * I32
    est.parts["core totals and chip-time sums"] = B * (K * n_keys * I64 + max(int(n_timings), 1) * 2 * F64)
    est.parts["final state and spike counts"] = B * N * (2 * I64 + I32)
    nb = max(int(block), 1)
    est.parts["kernel state"] = int(n_threads) * (
        nb * N * ((n_delay_slots + 2) * I64 + 3 * I32)               # accumulators, u, v, flags, refractory, spikes
        + nb * (2 * int(n_links) * I32 + 2 * C * I32 + K * n_keys * I32)   # link, input and core counters
        + (N + C) * (I64 + I32))                                     # per-source sample masks and list
    return est


RUN_ADVICE = ("run fewer steps, split the batch into chunks (results do not depend on the batch), probe fewer "
              "populations or variables, or pass a larger memory_limit=")

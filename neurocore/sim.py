"""Run: Simulator(program).run(inputs, n_steps) -> RunResult.

Validates and coerces the inputs, allocates the outputs, and hands the whole
batch to one kernel call (``neurocore.kernels._sim``): no Python per timestep.
"""
from __future__ import annotations

import functools
import os
import weakref
from typing import NamedTuple
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from neurocore.chip.spec import signed_range
from neurocore.errors import BitWidthError, BuildError, FileFormatError, SimulationError
from neurocore.mapping.program import Program
from neurocore.mapping.replicate import pack_inputs, sample_view
from neurocore.mapping.units import SYNAPSE_UNITS, default_synapse_unit

__all__ = ["Simulator", "RunResult", "BACKENDS", "PROBE_VARIABLES", "CORE_STEP_KEYS", "RECORD_OPTIONS", "check_labels",
           "kernel_tables", "load_kernel"]

#: ``RunResult.core_steps`` keys, each (batch, n_steps, n_cores_used) int32: the kernel's
#: per-core counter table (``CORE_COUNTER_NAMES``), one named column each.
CORE_STEP_KEYS = ("synops", "updates_active", "spikes", "packets_out", "packets_in", "synops_sparse", "synops_conv")

#: Variables a probe can record: state at the end of each step (v after reset).
PROBE_VARIABLES = ("u", "v", "spikes")


def load_kernel():
    """The compiled simulation kernel, or a :class:`BuildError` that says how to build it."""
    try:
        from neurocore.kernels import _sim
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BuildError("neurocore's compiled kernels are missing (neurocore.kernels._sim): install the package "
                         "with `pip install .`, or build in place with `python setup.py build_ext --inplace`"
                         f" ({exc})") from exc
    return _sim


def _pad(a: NDArray) -> NDArray:
    """Kernel arrays must have at least one element so their first address exists."""
    return np.ascontiguousarray(a) if a.size else np.zeros(1, a.dtype)


def _narrowest(values: NDArray, kinds) -> np.dtype:
    """The first dtype of ``kinds`` that holds every value."""
    lo, hi = (int(values.min()), int(values.max())) if values.size else (0, 0)
    for k in kinds:
        if np.iinfo(k).min <= lo and hi <= np.iinfo(k).max:
            return np.dtype(k)
    raise SimulationError(f"values in [{lo}, {hi}] fit none of {kinds}")  # pragma: no cover - compile bounds them


def kernel_tables(program: Program, wide_packets: bool = False) -> dict:
    """The Program's arrays in the dtypes and layout the kernel reads.

    Weights are the chip's mantissas in the narrowest of int8 / int16 (``weight``, with
    dense-window copies of rows with gaps appended, see :func:`row_windows`); each row
    carries ``row_mul = 2**(act_shift + weight_exp)``, applied at accumulate. Targets are
    uint16 when every neuron index fits, else int32. Rows are merged per (source, delay,
    shift) (:func:`merged_rows`); packets are compact unless ``wide_packets`` (or they do
    not fit, see :func:`packet_tables`): results are identical either way.
    """
    a, chip = program.arrays, program.chip
    unity = 1 << chip.decay_bits
    n_chan = program.n_inputs
    graded = np.zeros(n_chan, np.uint8)
    for im in program.inputs.values():
        graded[im.offset: im.offset + im.n] = im.graded
    i32, i64 = np.int32, np.int64
    tb = {
        "N": program.n_neurons, "C": n_chan, "D": program.n_delay_slots, "n_cores": program.n_cores_used,
        "n_links": chip.mesh_x * chip.mesh_y * 4, "mesh_x": chip.mesh_x, "decay_bits": chip.decay_bits,
        "u_bits": chip.u_bits, "v_bits": chip.v_bits, "u_wrap": chip.u_overflow == "wrap",
        "v_wrap": chip.v_overflow == "wrap",
        "decay_u": (unity - (a["du"] + 1)).astype(i32), "decay_v": (unity - a["dv"]).astype(i32),
        "vth": a["vth"].astype(i64) << chip.vth_shift, "bias": a["bias_mant"].astype(i64) << a["bias_exp"],
        "reset": -a["reset"].astype(i32), "refractory": a["refractory"].astype(i32),
        "u0": a["u0"].astype(i64), "v0": a["v0"].astype(i64),
        "chan_graded": graded,
    }
    core = a["neuron_core"]
    starts = np.flatnonzero(np.diff(core)) + 1 if core.size else np.zeros(0, np.int64)
    tb["run_start"] = np.concatenate([[0], starts, [core.size]]).astype(i64)
    tb["run_core"] = _pad(core[tb["run_start"][:-1]].astype(i32)) if core.size else np.zeros(1, i32)
    tb["n_runs"] = int(tb["run_start"].size - 1)
    # one neuron-update call per population; bit 0: its decays, threshold, reset and refractory
    # period are single values, bit 1: its bias is; the update then broadcasts them
    pops = sorted(program.populations.values(), key=lambda pm: pm.offset)
    tb["seg_start"] = np.array([pm.offset for pm in pops] + [program.n_neurons], i64)
    tb["seg_uni"] = np.array([_uniform_bits(tb, pm.offset, pm.n) for pm in pops] or [0], np.uint8)
    tb["n_segs"] = len(pops)
    for k in ("vth", "bias"):  # int32 copies for narrow runs (narrow_ok proves they fit)
        tb[k + "32"] = tb[k].astype(i32) if _fits32(tb[k]) else np.zeros_like(tb[k], i32)
    w = a["weight"].astype(_narrowest(a["weight"], (np.int8, np.int16)))
    n_src = program.n_neurons + n_chan
    rows = merged_rows(a, n_src, w)
    tb.update(row_windows(rows["row_ptr"], rows["target"], rows["weight"], dense_ok=rows["dense_ok"]))
    tb["weight"] = tb.pop("wdense")
    if tb["weight"].shape[0] >= 2**31:
        raise SimulationError(f"{tb['weight'].shape[0]:,} stored weights exceed the kernel's 2**31 limit; "
                              "split the network over several Programs")
    for k in ("row_ptr", "src_row_ptr"):
        tb[k] = _narrow(k, rows[k], i32)
    tb["src_pk_ptr"] = _narrow("src_pk_ptr", a["src_pk_ptr"], i32)
    # targets of scatter rows only (window rows need none); a scatter row's row_span is their offset
    n_rows = rows["row_ptr"].shape[0] - 1
    scatter = tb["row_start"][:n_rows] < 0
    nnz = np.diff(rows["row_ptr"])
    keep = np.repeat(scatter, nnz)
    tb["target"] = _pad(rows["target"][keep].astype(np.uint16 if program.n_neurons <= 1 << 16 else i32))
    if n_rows:
        tb["row_span"][:n_rows][scatter] = (np.cumsum(nnz * scatter) - nnz * scatter)[scatter]
    tb.update(window_groups(tb["row_start"][:n_rows], rows["row_delay"], rows["row_shift"], tb["row_span"][:n_rows]))
    tb.update(stored_weights(tb, rows["row_ptr"], scatter))
    tb["row_shift"] = _narrow("row_shift", rows["row_shift"], np.int8)
    tb["row_delay"] = _narrow("row_delay", rows["row_delay"], np.int16)
    chan_core = np.asarray(a.get("chan_core", np.full(n_chan, -1)), np.int64)
    tb["src_core"] = _pad(np.concatenate([a["neuron_core"].astype(np.int64), chan_core]).astype(i32))
    tb.update(packet_tables(program, a, n_src, wide=wide_packets))
    tb.update(packet_classes(tb, n_src))
    tb.update({k: _narrow(k, v, i32) for k, v in source_totals(a, n_src).items()})
    return {k: (_pad(v) if isinstance(v, np.ndarray) else v) for k, v in tb.items()}


def stored_weights(tb: dict, row_ptr: NDArray, scatter: NDArray) -> dict:
    """The weights the kernel stores, row after row: a window row its window, a scatter row its
    mantissas, a scatter row whose mantissas are all equal only one (``row_group`` -2).

    Returns ``weight``, ``row_wptr`` (each row's first stored weight) and ``row_group``.
    """
    n_rows = row_ptr.shape[0] - 1
    nnz = np.diff(row_ptr).astype(np.int64)
    w, wptr = tb["weight"], tb["row_wptr"][:n_rows].astype(np.int64)
    group = tb["row_group"].copy()
    const = scatter & (nnz > 0)
    if n_rows and const.any():
        syn_row = np.repeat(np.arange(n_rows), nnz)
        first = w[wptr[syn_row]] if syn_row.size else w[:0]
        differs = np.zeros(n_rows, bool)
        np.logical_or.at(differs, syn_row, w[wptr[syn_row] + np.arange(syn_row.size) - row_ptr[syn_row]] != first)
        const &= ~differs
    group[:n_rows][const] = -2
    length = np.where(const, 1, np.where(scatter, nnz, tb["row_span"][:n_rows].astype(np.int64)))
    new_ptr = np.concatenate([[0], np.cumsum(length)])
    src = np.repeat(wptr - new_ptr[:-1], length) + np.arange(int(new_ptr[-1]))
    return {"weight": _pad(w[src]), "row_wptr": _pad(_narrow("row_wptr", new_ptr[:-1], np.int32)),
            "row_group": group}


def packet_classes(tb: dict, n_sources: int, max_share: float = 0.25) -> dict:
    """Classes of sources whose packets are alike: the same destination cores, synapses and units
    in the same order, from the same core and tile (a dense layer's sources, most of a conv
    layer's). The kernel counts how many sources of a class fire per step and sample, then
    adds the class's packets times those counts, instead of every source's packets. Used only
    when there are at most ``max_share`` as many classes as sources with packets (else every
    source counts alone: ``src_class`` -1). Returns ``src_class``, ``cls_src`` (each class's
    first source) and ``n_classes``.
    """
    ptr = tb["src_pk_ptr"].astype(np.int64)
    npk = np.diff(ptr)[:n_sources]
    wide = bool(tb["pk_wide"])
    cols = ([tb["pk_core"], tb["pk_nnz"], tb["pk_nnz_sparse"], tb["pk_nnz_conv"]] if wide
            else [tb["pk_core16"], tb["pk_nnz16"], tb["pk_unit"]])
    n_pk = int(ptr[n_sources]) if n_sources else 0
    per_pk = np.stack([c[:n_pk].astype(np.int64) for c in cols], 1) if n_pk else np.zeros((0, len(cols)), np.int64)
    has = np.flatnonzero(npk > 0)
    keys = {}
    src_class = np.full(max(n_sources, 1), -1, np.int32)
    for k in has:
        sig = (int(tb["src_core"][k]), int(tb["src_tile"][k]), per_pk[ptr[k]: ptr[k + 1]].tobytes())
        src_class[k] = keys.setdefault(sig, len(keys))
    if len(keys) > max_share * has.size:
        src_class[:] = -1
        keys = {}
    cls_src = np.zeros(max(len(keys), 1), np.int32)
    if keys:
        first = np.unique(src_class[: n_sources][src_class[: n_sources] >= 0], return_index=True)[1]
        cls_src[:] = np.flatnonzero(src_class[: n_sources] >= 0)[first]
    return {"src_class": src_class, "cls_src": cls_src, "n_classes": len(keys)}


def _row_sources(a: dict, n_sources: int) -> NDArray:
    """The source (neuron, then input channel) of each of the Program's synapse rows."""
    pk_src = np.repeat(np.arange(n_sources), np.diff(a["src_pk_ptr"]))
    pk_of_row = np.repeat(np.arange(a["pk_core"].size), np.diff(a["pk_row_ptr"]))
    row_src = np.zeros(a["row_ptr"].shape[0] - 1, np.int64)
    row_src[a["pk_rows"]] = pk_src[pk_of_row]
    return row_src


def merged_rows(a: dict, n_sources: int, weight: NDArray) -> dict:
    """The kernel's synapse rows: all of one source's rows with the same delay and shift as one row.

    A source that reaches several cores has one Program row (and packet) per core; the
    kernel reads one merged row per (source, delay, shift), targets in increasing order,
    so a spike costs one row visit however many cores it reaches, and a dense layer's
    row is one window over the whole layer. Adding the same (target, weight) pairs in
    another order gives the same integers. Returns ``row_ptr``, ``target``, ``weight``,
    ``row_delay``, ``row_shift``, ``src_row_ptr`` (rows of each source, prefix sums) and
    ``dense_ok`` (False for a row with a repeated target: it cannot be one dense window).
    """
    nnz = np.diff(a["row_ptr"]).astype(np.int64)
    R = nnz.shape[0]
    row_src = _row_sources(a, n_sources)
    delay, shift = a["row_delay"].astype(np.int64), a["row_shift"].astype(np.int64)
    key = np.lexsort((shift, delay, row_src))
    ks = np.stack([row_src, delay, shift])[:, key]
    first = np.ones(R, bool)
    if R:
        first[1:] = np.any(ks[:, 1:] != ks[:, :-1], axis=0)
    new_of_row = np.empty(R, np.int64)
    new_of_row[key] = np.cumsum(first) - 1
    M = int(first.sum())
    syn_new = new_of_row[np.repeat(np.arange(R), nnz)]
    target = a["target"].astype(np.int64)
    order = np.lexsort((target, syn_new))
    tgt, row_of = target[order], syn_new[order]
    dense_ok = np.ones(M, bool)
    same = (tgt[1:] == tgt[:-1]) & (row_of[1:] == row_of[:-1])
    dense_ok[row_of[1:][same]] = False
    m_src = ks[0][first]
    return {"row_ptr": np.concatenate([[0], np.cumsum(np.bincount(syn_new, minlength=M))]).astype(np.int64),
            "target": tgt, "weight": weight[order], "row_delay": ks[1][first], "row_shift": ks[2][first],
            "src_row_ptr": np.concatenate([[0], np.cumsum(np.bincount(m_src, minlength=n_sources))]),
            "dense_ok": dense_ok}


def _per_owner(owner: NDArray, value: NDArray, n: int, what: str) -> NDArray:
    """One value per owner (-1 where it owns none); a :class:`SimulationError` when its entries disagree."""
    out = np.full(n, -1, np.int64)
    out[owner] = value
    if np.any(out[owner] != value):
        bad = int(owner[np.flatnonzero(out[owner] != value)[0]])
        raise SimulationError(f"the packets of {what} {bad} disagree on its tile; the Program's packet tables are "
                              "inconsistent: re-compile it")
    return out


def packet_tables(program: Program, a: dict, n_sources: int, wide: bool = False) -> dict:
    """Per packet what the kernel counts: its destination core slot and its synapses, by unit.

    Compact (``pk_wide`` 0): ``pk_core16`` and ``pk_nnz16`` uint16, ``pk_unit`` uint8 (1: all its
    synapses in the sparse unit, 2: all in the conv unit, 0: neither), when every packet fits
    that; else wide (``pk_wide`` 1): ``pk_core``, ``pk_nnz``, ``pk_nnz_sparse``, ``pk_nnz_conv``
    int32. The tiles are per source (``src_tile``, -1 for a host input) and per core slot
    (``core_tile``): every packet of a source leaves the same tile, every packet to a core
    arrives at the same one.
    """
    i32 = np.int32
    nnz = np.diff(a["row_ptr"]).astype(np.int64)
    n_pk = a["pk_core"].size
    pk_of_row = np.repeat(np.arange(n_pk), np.diff(a["pk_row_ptr"]))
    pk_nnz = np.bincount(pk_of_row, weights=nnz[a["pk_rows"]], minlength=n_pk).astype(np.int64)
    unit = np.array([SYNAPSE_UNITS.index(st.get("synapse_unit", default_synapse_unit(st)))
                     for st in program.projections] or [0], np.int64)
    row_unit = unit[a["row_proj"]][a["pk_rows"]] if a["row_proj"].size else np.zeros(0, np.int64)
    by_unit = [np.bincount(pk_of_row, weights=nnz[a["pk_rows"]] * (row_unit == u), minlength=n_pk).astype(np.int64)
               for u in (1, 2)]
    pk_core = a["pk_core"].astype(np.int64)
    pk_src = np.repeat(np.arange(n_sources), np.diff(a["src_pk_ptr"]))
    out = {"src_tile": _pad(_per_owner(pk_src, a["pk_src_tile"].astype(np.int64), n_sources, "source").astype(i32)),
           "core_tile": _pad(_per_owner(pk_core, a["pk_dst_tile"].astype(np.int64), program.n_cores_used,
                                        "core slot").astype(i32))}
    pure = all(np.all((x == 0) | (x == pk_nnz)) for x in by_unit) and not np.any((by_unit[0] > 0) & (by_unit[1] > 0))
    compact = not wide and pure and (n_pk == 0 or (int(pk_core.max()) < 1 << 16 and int(pk_nnz.max()) < 1 << 16))
    one = {t: np.zeros(1, t) for t in (np.uint16, np.uint8, i32)}
    if compact:
        pk_unit = np.where(by_unit[0] > 0, 1, np.where(by_unit[1] > 0, 2, 0)).astype(np.uint8)
        out.update(pk_wide=0, pk_core16=_pad(pk_core.astype(np.uint16)), pk_nnz16=_pad(pk_nnz.astype(np.uint16)),
                   pk_unit=_pad(pk_unit), pk_core=one[i32], pk_nnz=one[i32], pk_nnz_sparse=one[i32],
                   pk_nnz_conv=one[i32])
    else:
        out.update(pk_wide=1, pk_core16=one[np.uint16], pk_nnz16=one[np.uint16], pk_unit=one[np.uint8],
                   pk_core=_pad(pk_core.astype(i32)), pk_nnz=_pad(_narrow("pk_nnz", pk_nnz, i32)),
                   pk_nnz_sparse=_pad(by_unit[0].astype(i32)), pk_nnz_conv=_pad(by_unit[1].astype(i32)))
    return out


def _narrow(key: str, values: NDArray, dtype) -> NDArray:
    """``values`` in the kernel's narrow ``dtype``, or a :class:`SimulationError` naming the table."""
    v = np.asarray(values)
    info = np.iinfo(dtype)
    if v.size and (int(v.min()) < info.min or int(v.max()) > info.max):
        raise SimulationError(f"kernel table {key!r} holds values in [{int(v.min())}, {int(v.max())}], beyond "
                              f"its {np.dtype(dtype)} storage: split the network over several Programs")
    return v.astype(dtype)


def source_totals(a: dict, n_sources: int) -> dict:
    """Per source, what one firing (or one carried value) delivers: synapses (``src_syn``),
    memory words, packets, intra-tile packets and hops (E-W, N-S, inter-chip) of its packets."""
    pk_src = np.repeat(np.arange(n_sources), np.diff(a["src_pk_ptr"]))
    nnz = np.diff(a["row_ptr"]).astype(np.int64)
    row_src = _row_sources(a, n_sources)
    moving = (a["pk_src_tile"] != a["pk_dst_tile"]) & (a["pk_src_tile"] >= 0)
    intra = (a["pk_src_tile"] == a["pk_dst_tile"]) & (a["pk_src_tile"] >= 0)

    def per_source(owner, weights):
        return _pad(np.bincount(owner, weights=weights, minlength=n_sources).astype(np.int64))

    return {"src_syn": per_source(row_src, nnz), "src_words": per_source(row_src, a["row_words"]),
            "src_pk": per_source(pk_src, None), "src_intra": per_source(pk_src, intra),
            "src_hops_ew": per_source(pk_src, a["pk_hops_ew"] * moving),
            "src_hops_ns": per_source(pk_src, a["pk_hops_ns"] * moving),
            "src_hops_chip": per_source(pk_src, a["pk_hops_chip"] * moving)}


def window_groups(row_start: NDArray, row_delay: NDArray, row_shift: NDArray, row_span: NDArray) -> dict:
    """Group the dense-window rows by (first target, span, delay, shift).

    The kernel sums a group's spiking rows per sample, a chunk of targets at a time in
    registers, and adds each sum into the accumulators once. Returns ``row_group`` (-1
    for scatter rows), ``n_groups`` and per group ``g_start``, ``g_span``, ``g_delay``,
    ``g_shift`` and ``g_off`` (G + 1 prefix sums of the rows per group).
    """
    R = row_start.shape[0]
    win = np.flatnonzero(row_start >= 0)
    key = np.stack([row_start[win], row_span[win], row_delay[win], row_shift[win]], axis=1).astype(np.int64)
    uniq, inv, counts = (np.unique(key, axis=0, return_inverse=True, return_counts=True) if win.size
                         else (np.zeros((0, 4), np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)))
    group = np.full(max(R, 1), -1, np.int32)
    group[win] = inv.reshape(-1)
    i32 = np.int32
    return {"row_group": group, "n_groups": int(uniq.shape[0]),
            "g_start": _pad(uniq[:, 0].astype(i32)), "g_span": _pad(uniq[:, 1].astype(i32)),
            "g_delay": _pad(uniq[:, 2].astype(i32)), "g_shift": _pad(uniq[:, 3].astype(i32)),
            "g_off": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)}


def _uniform_bits(tb: dict, off: int, n: int) -> int:
    """Bit 0: the population's decays, threshold, reset and refractory period are single values; bit 1: its bias."""
    def same(key):
        return bool(np.all(tb[key][off: off + n] == tb[key][off]))
    return int(all(same(k) for k in ("decay_u", "decay_v", "vth", "reset", "refractory"))) | (int(same("bias")) << 1)


def _fits32(arr: NDArray) -> bool:
    return arr.size == 0 or int(np.abs(arr).max()) < 2**31


#: Kernel arrays that hold synapses and routes (counted by :func:`table_bytes`).
SYNAPSE_TABLES = ("weight", "target", "row_ptr", "row_shift", "row_delay", "row_start", "row_wptr", "row_span",
                  "row_group", "g_start", "g_span", "g_delay", "g_shift", "g_off", "src_row_ptr", "src_pk_ptr",
                  "src_core", "src_tile", "core_tile", "src_class", "cls_src", "pk_core16", "pk_nnz16", "pk_unit", "pk_core", "pk_nnz",
                  "pk_nnz_sparse", "pk_nnz_conv", "src_syn", "src_words", "src_pk", "src_intra", "src_hops_ew",
                  "src_hops_ns", "src_hops_chip")


def table_bytes(tables: dict) -> int:
    """Bytes of the kernel's synapse and route tables (weights, targets, rows, packets)."""
    return int(sum(tables[k].nbytes for k in SYNAPSE_TABLES))


def block_size(tables: dict, wide: bool, batch: int, n_threads: int, cache_bytes: int | None = None) -> int:
    """Samples one kernel block advances in lockstep: as many as fit half the L2 cache (1 to 64).

    A block's working set per sample is its accumulators (delay slots x N words), u, v,
    flags, refractory counters, spike list and link counters; a multiple of 16 from 16 on
    (the per-sample counters add 16 lanes at a time). Fewer samples per block when the
    batch would otherwise leave threads idle, and as many blocks for every thread where
    the batch allows. Results do not depend on the block size.
    """
    if cache_bytes is None:
        cache_bytes = _l2_bytes()
    word = 8 if wide else 4
    N = max(int(tables["N"]), 1)
    per_sample = (int(tables["D"]) + 2) * N * word + 12 * N + 8 * int(tables["n_links"]) + 64  # int32 flags, refr, spikes
    nb = max(1, min(64, (cache_bytes // 2) // per_sample))
    if nb >= 16:  # whole 16-lane groups of the per-sample counters (nc_lanes_add)
        nb -= nb % 16
    nb = max(1, min(nb, -(-batch // n_threads)))
    blocks = -(-batch // nb)
    if n_threads > 1 and blocks % n_threads and blocks < 8 * n_threads:  # few blocks: as many per thread
        nb = -(-batch // (blocks + (-blocks % n_threads)))
    return int(nb)


@functools.lru_cache(maxsize=1)
def _l2_bytes() -> int:
    """Bytes of one core's L2 cache (sysconf, else Linux's sysfs), 1 MiB when unknown."""
    try:
        n = int(os.sysconf("SC_LEVEL2_CACHE_SIZE"))
    except (AttributeError, ValueError, OSError):
        n = 0
    if n <= 0:
        try:
            with open("/sys/devices/system/cpu/cpu0/cache/index2/size") as f:
                txt = f.read().strip().upper()
            n = int(txt[:-1]) * {"K": 1 << 10, "M": 1 << 20}[txt[-1]] if txt[-1] in "KM" else int(txt)
        except (OSError, ValueError, KeyError, IndexError):
            n = 0
    return n if n > 0 else 1 << 20


#: What ``Simulator.run(..., record=)`` can keep beyond the default.
RECORD_OPTIONS = ("core_steps",)


def _record_options(record) -> bool:
    """True when ``record`` asks for the full per-step per-core table."""
    names = (record,) if isinstance(record, str) else record
    if not isinstance(names, (tuple, list)) or any(n not in RECORD_OPTIONS for n in names):
        raise SimulationError(f"record={record!r}; give a name or a tuple of names from {RECORD_OPTIONS}")
    return "core_steps" in names


class _Kept(NamedTuple):
    """What a run keeps beyond the default: the full per-step per-core table, and the chip-time models."""

    core_steps: bool
    timings: tuple


def _timings(chip_time) -> tuple:
    """The chip-time models of a run: ``chip_time`` (one or several CoreTiming) or the registered defaults."""
    from neurocore.steptime import CoreTiming, default_timings

    if chip_time is None:
        return default_timings()
    many = (chip_time,) if isinstance(chip_time, CoreTiming) else tuple(chip_time)
    for t in many:
        if not isinstance(t, CoreTiming):
            raise SimulationError(f"chip_time= takes CoreTiming models (nc.energy.core_timing('loihi')), got "
                                  f"{type(t).__name__}")
    return tuple({t.key: t for t in many}.values())


def _stop_args(program: Program, stop, n_samples) -> tuple[int, int, int, int]:
    """The kernel's stop parameters ``(margin, min_steps, first neuron, n)``; margin -1: no rule."""
    from neurocore.anytime import StopRule

    if stop is None:
        return (-1, 0, 0, 1)
    if not isinstance(stop, StopRule):
        raise SimulationError(f"stop must be a neurocore.StopRule (e.g. nc.StopRule(margin=3)), got "
                              f"{type(stop).__name__}")
    if n_samples is not None or (program.meta.get("replicas") or {}).get("k", 1) > 1:
        raise SimulationError("stop= (early stopping) needs one sample per chip run; this Program holds "
                              f"{program.meta['replicas']['k']} replicas: compile it without replicas=")
    _, off, n = stop.readout(program)
    return (stop.margin, stop.min_steps, off, n)


def concat_results(parts: list[RunResult]) -> RunResult:
    """One RunResult from runs of consecutive chunks of a batch (same Program and n_steps)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]

    def cat(arrays):
        arrays = list(arrays)
        return None if arrays[0] is None else np.concatenate(arrays, axis=0)

    return RunResult(
        program=first.program, n_steps=first.n_steps,
        counters={k: cat(r.counters[k] for r in parts) for k in first.counters},
        spike_counts={k: cat(r.spike_counts[k] for r in parts) for k in first.spike_counts},
        probes={p: {v: cat(r.probes[p][v] for r in parts) for v in d} for p, d in first.probes.items()},
        core_steps={k: cat(r.core_steps[k] for r in parts) for k in first.core_steps},
        core_totals={k: cat(r.core_totals[k] for r in parts) for k in first.core_totals},
        chip_time={k: cat(r.chip_time[k] for r in parts) for k in first.chip_time},
        busiest_link=cat(r.busiest_link for r in parts),
        link_packets=None if first.link_packets is None else sum(r.link_packets for r in parts),
        final_state={k: cat(r.final_state[k] for r in parts) for k in first.final_state},
        meta=dict(first.meta, **({"samples": sum(r.meta["samples"] for r in parts)} if "samples" in first.meta else {})),
        predictions=None if first.predictions is None else cat(r.predictions for r in parts),
        backend=first.backend,
    )


def bound_parts(program: Program) -> tuple[NDArray[np.float64], sp.csr_matrix]:
    """The two parts of :func:`accumulator_bound` that do not depend on the inputs.

    Returns ``(from_neurons, from_inputs)``: per neuron, the sum of |w << shift| over rows
    whose source is a neuron (a spike carries 1), and an (N, C) sparse matrix of the same
    sums per input channel (to be multiplied by each channel's largest |value|).
    """
    a = program.arrays
    N, C = program.n_neurons, program.n_inputs
    nnz = np.diff(a["row_ptr"])
    src = np.repeat(a["row_src"].astype(np.int64), nnz) if nnz.size else np.zeros(0, np.int64)
    w = np.abs(a["wscaled"].astype(np.float64))
    tgt = a["target"].astype(np.int64)
    neuron_src = src < N
    from_neurons = np.bincount(tgt[neuron_src], weights=w[neuron_src], minlength=N)
    from_inputs = sp.csr_matrix((w[~neuron_src], (tgt[~neuron_src], src[~neuron_src] - N)), shape=(N, C))
    return from_neurons, from_inputs


def accumulator_bound(program: Program, input_max: NDArray | None = None, parts=None) -> int:
    """Largest |input| any neuron can receive in one step, in u units.

    Each row reaches a given accumulation slot at most once per step (its source fires
    or carries a value at most once per step, and the row has one delay), so the bound is
    the sum over rows of |w << shift| times the largest value its source carries: 1 for a
    spike, ``input_max[c]`` for input channel c (default: the largest graded value).
    Below 2**31 the kernel accumulates exactly in int32, which is faster.
    """
    from_neurons, from_inputs = parts if parts is not None else bound_parts(program)
    if input_max is None:
        input_max = np.full(program.n_inputs, max(1, 1 << max(program.chip.graded_bits - 1, 0)), np.int64)
    total = from_neurons + from_inputs @ np.asarray(input_max, np.float64)
    return int(total.max()) if total.size else 0


def narrow_ok(program: Program, tables: dict, input_max: NDArray | None = None, parts=None) -> bool:
    """True when the kernel may keep accumulators, u and v in int32 words, exactly.

    Every intermediate of a step must then stay below 2**31 in magnitude:
    ``decay(u) + a`` (|decay(u)| <= 2**(u_bits-1), |a| <= :func:`accumulator_bound`),
    ``decay(v) + u + bias``, ``v - vth``, and the exact 32-bit decay needs
    ``decay_bits <= 15``. Otherwise the kernel runs in int64 words. Results are
    identical either way; int32 is only faster.
    """
    chip = program.chip
    if chip.decay_bits > 15 or chip.u_bits > 30 or chip.v_bits > 30:
        return False
    lim = 2**31 - 1
    hu, hv = 1 << (chip.u_bits - 1), 1 << (chip.v_bits - 1)
    bias = int(np.abs(tables["bias"]).max()) if program.n_neurons else 0
    vth = int(np.abs(tables["vth"]).max()) if program.n_neurons else 0
    return (accumulator_bound(program, input_max, parts) + 2 * hu < lim and hv + hu + bias < lim
            and hv + vth < lim)


#: A row whose targets span at most this many times its synapse count is stored as a dense
#: window: one 16-lane vector add covers 16 targets, a scatter add one, so a window up to
#: about 8x its synapses is faster (and costs at most 8 bytes per synapse instead of 3).
WINDOW_MAX_FILL = 8.0


def row_windows(row_ptr: NDArray, target: NDArray, weight: NDArray, max_fill: float = WINDOW_MAX_FILL,
                dense_ok: NDArray | None = None) -> dict:
    """Dense windows for the kernel's index-free row add.

    A row whose targets span at most ``max_fill`` times its synapse count is also
    stored as a dense window from its first target, zeros in the gaps, so a spike adds
    it with a contiguous (vectorised) loop instead of a scatter. Adding zeros changes
    nothing; the counters still count the row's real synapses. Contiguous rows point
    into ``weight`` itself; only rows with gaps get a copy.

    Returns ``row_start`` (first target, or -1 for scatter rows), ``row_wptr`` (offset
    of the window in ``wdense``), ``row_span`` and ``wdense`` (``weight`` followed by the
    windows of rows with gaps, in ``weight``'s dtype).
    """
    nnz = np.diff(row_ptr)
    n_rows = nnz.shape[0]
    first = np.full(n_rows, -1, np.int64)
    span = np.zeros(n_rows, np.int64)
    has = nnz > 0
    first[has] = target[row_ptr[:-1][has]]
    span[has] = target[row_ptr[1:][has] - 1] - first[has] + 1
    fast = has & (span <= max_fill * nnz)
    if dense_ok is not None:  # a row with a repeated target stays a scatter row
        fast &= dense_ok
    gap = fast & (span > nnz)
    wptr = row_ptr[:-1].astype(np.int64).copy()
    off = np.zeros(n_rows, np.int64)
    off[gap] = np.cumsum(span[gap]) - span[gap]
    wptr[gap] = weight.shape[0] + off[gap]
    extra = np.zeros(int(span[gap].sum()), weight.dtype)
    syn_row = np.repeat(np.arange(n_rows), nnz)
    in_gap = gap[syn_row]
    extra[off[syn_row[in_gap]] + target[in_gap] - first[syn_row[in_gap]]] = weight[in_gap]
    return {"row_start": _pad(np.where(fast, first, -1).astype(np.int32)), "row_wptr": _pad(wptr),
            "row_span": _pad(span.astype(np.int32)),
            "wdense": _pad(np.concatenate([weight, extra]) if extra.size else np.ascontiguousarray(weight))}


def _probes_from_keys(arrays: dict[str, NDArray], names: list | None) -> dict[str, dict[str, NDArray]]:
    """Probes from ``<i>/<variable>`` keys and the header's ``probe_names`` (files from before
    ``probe_names``: ``<population>/<variable>`` keys, split at the last ``/``)."""
    probes: dict[str, dict] = {}
    for key, v in arrays.items():
        pop, _, var = key.rpartition("/")
        if names is not None:
            if not isinstance(names, list) or not pop.isdigit() or int(pop) >= len(names):
                raise FileFormatError(f"probe array 'probes/{key}' has no entry in the header's probe_names")
            pop = str(names[int(pop)])
        probes.setdefault(pop, {})[var] = v
    return probes


def check_labels(labels, batch: int, predictions: NDArray) -> NDArray:
    """Labels as a (batch,) array comparable with ``predictions``, or a :class:`SimulationError`.

    Accepted: shape ``(batch,)`` or ``(batch, 1)``. For integer class predictions the
    labels must be integers (an integer-valued float array is accepted; NaN, inf, fractions,
    strings and booleans are not); for string class labels, strings. A regression's
    predictions (floats) have no accuracy.
    """
    y = np.asarray(labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise SimulationError(f"labels have shape {y.shape}; give one label per sample, shape ({batch},) or "
                              f"({batch}, 1)")
    if y.shape[0] != batch:
        raise SimulationError(f"labels have {y.shape[0]} entries for a batch of {batch}")
    kind = predictions.dtype.kind
    if kind == "f":
        raise SimulationError("this program's codec regresses (float predictions); accuracy needs class "
                              "predictions: compare result.predictions with the targets yourself")
    if kind in "USO":
        if y.dtype.kind not in "USO":
            raise SimulationError(f"the classes are strings ({predictions[:3].tolist()} ...); labels have dtype "
                                  f"{y.dtype}: give the class labels themselves")
        return y.astype(str) if kind != "O" else y
    if y.dtype.kind in "iu":
        return y
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise SimulationError(f"label {i} is {float(y[i])!r}; labels must be integer class indices "
                                  f"({int(bad.sum())} of {batch} are NaN, inf or fractional)")
        return y.astype(np.int64)
    raise SimulationError(f"labels have dtype {y.dtype}; give integer class indices (the predictions are "
                          f"{predictions.dtype})")


@dataclass
class RunResult:
    """What a run produced, per inference (sample) of the batch.

    Attributes
    ----------
    counters : dict[str, (batch,) int64]
        Exact operation counts per sample (see ``COUNTER_NAMES``): timesteps, synops,
        synops_binary, synops_graded, syn_mem_words_read, neuron_updates_active,
        neuron_updates_idle, spikes, packets, intra_tile_packets, hops_ew, hops_ns,
        hops_interchip, input_packets, overflow_u, overflow_v; for a converted Program also
        inputs_saturated (input values its codec saturated, see ``neurocore.convert.encode``).
    spike_counts : dict[str, (batch, n) int32]
        Spikes per neuron of each population over the run.
    probes : dict[str, dict[str, (batch, n_steps, n) array]]
        Recorded variables, state at the end of each step.
    core_steps : dict[str, (batch, n_steps, n_cores_used) int32]
        Only with ``run(..., record="core_steps")``, else empty: per core per step
        (``CORE_STEP_KEYS``): ``synops``, ``updates_active``, ``spikes``
        (spikes of the core's neurons), ``packets_out`` (packets its neurons, and input
        channels placed on it, send), ``packets_in`` (packets it receives, input packets
        included), ``synops_sparse`` and ``synops_conv`` (synops through rows of the
        sparse and conv synapse units; the dense unit has the rest). Views of one
        (batch, n_steps, n_cores_used, len(CORE_STEP_KEYS)) table.
    busiest_link : (batch, n_steps) int32
        Packets on the most loaded mesh link in each step.
    link_packets : (n_links,) int64
        Packets per directed link (4 per tile: +x, -x, +y, -y), summed over the batch.
    final_state : dict[str, (batch, N) int64]
        u and v of every neuron after the last step.
    core_totals : dict[str, (batch, n_cores_used) int64]
        ``core_steps`` summed over the steps, always kept (``CORE_STEP_KEYS``).
    chip_time : dict[str, (batch, 2) float64]
        Chip-time sums (s) the kernel accumulated per sample for each
        :class:`~neurocore.steptime.CoreTiming` of the run (``run(..., chip_time=)``; by
        default the shipped chip profiles'), keyed by ``CoreTiming.key``: the steps where
        the model's first form was the slower, and the rest. ``estimate()`` reads them.
    """

    program: Program
    n_steps: int
    counters: dict[str, NDArray[np.int64]]
    spike_counts: dict[str, NDArray[np.int32]]
    probes: dict[str, dict[str, NDArray]]
    core_steps: dict[str, NDArray[np.int32]]
    busiest_link: NDArray[np.int32]
    link_packets: NDArray[np.int64]
    final_state: dict[str, NDArray[np.int64]]
    meta: dict = field(default_factory=dict)
    #: Decoded output per sample (class index or value) when the Program has a codec, else None.
    predictions: NDArray | None = None
    #: Learned weights per plastic projection, (batch, n_dst, n_src) int64 (learning runs only).
    weights: dict[str, NDArray[np.int64]] = field(default_factory=dict)
    #: Tags per plastic projection: {"tag_1": ..., "tag_2": ...}, each (batch, n_dst, n_src).
    tags: dict[str, dict[str, NDArray[np.int64]]] = field(default_factory=dict)
    core_totals: dict[str, NDArray[np.int64]] = field(default_factory=dict)
    chip_time: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    #: The model of execution that produced it (:data:`BACKENDS`). A ``"float"`` result has
    #: ``predictions`` and ``spike_counts`` only: ``counters``, ``core_steps``, ``probes``
    #: and ``final_state`` are empty, ``busiest_link`` and ``link_packets`` are None.
    backend: str = "kernel"

    def __post_init__(self) -> None:
        if not self.core_totals and self.core_steps:  # results built from a full table (learning, reference)
            self.core_totals = {k: np.asarray(v, np.int64).sum(axis=1) for k, v in self.core_steps.items()}

    @property
    def batch_size(self) -> int:
        if self.busiest_link is not None:
            return int(self.busiest_link.shape[0])
        for arr in (self.predictions, *self.spike_counts.values()):
            if arr is not None:
                return int(np.shape(arr)[0])
        return 0

    @property
    def has_counters(self) -> bool:
        """True when the result holds the chip's counters (every backend except ``"float"``)."""
        return self.backend != "float"

    def require_counters(self, what: str) -> None:
        """Raise a :class:`SimulationError` naming ``what`` when this result has no chip counters."""
        if not self.has_counters:
            raise SimulationError(f"{what} needs the chip's counters; this RunResult comes from backend='float' "
                                  "(the converter's float twin models no chip): run nc.Simulator(program) "
                                  "(backend='kernel') or backend='reference' for counters")

    @property
    def steps(self) -> NDArray[np.int64]:
        """Steps each sample ran, (batch,) int64: ``n_steps`` unless an early-stop rule stopped it sooner."""
        if "timesteps" not in self.counters:  # the float backend keeps no counters and never stops early
            return np.full(self.batch_size, self.n_steps, np.int64)
        return np.asarray(self.counters["timesteps"], np.int64)

    def accuracy(self, labels) -> float:
        """Fraction of samples whose decoded prediction equals ``labels`` (needs a converted Program)."""
        if self.predictions is None:
            raise SimulationError("this run has no predictions: the Program carries no codec (convert a model with "
                                  "nc.convert, or decode result.spike_counts yourself)")
        y = check_labels(labels, len(self.predictions), np.asarray(self.predictions))
        return float(np.mean(np.asarray(self.predictions) == y))

    def validate(self, where: str = "result") -> RunResult:
        """Check every array against the Program and ``n_steps`` (and the Program itself); returns ``self``.

        Run by :meth:`load`. Raises ``FileFormatError`` naming the field (see :mod:`neurocore.validate`).
        """
        from neurocore.validate import validate_result

        self.require_counters("RunResult.validate")
        validate_result(self, where)
        return self

    def save(self, path):
        """Write the result, with its Program, to ``path`` (versioned ``.npz``, written atomically).

        Probes are stored by position (``probes/<i>/<variable>``, the header lists the
        population names), so any population name survives, ``/`` included.
        """
        from neurocore._io import write_npz
        from neurocore.mapping.io import program_parts

        self.require_counters("RunResult.save")
        prog_head, prog_arrays = program_parts(self.program)
        arrays = {f"program/{k}": v for k, v in prog_arrays.items()}
        arrays.update({f"counters/{k}": v for k, v in self.counters.items()})
        arrays.update({f"spike_counts/{k}": v for k, v in self.spike_counts.items()})
        probe_names = list(self.probes)
        arrays.update({f"probes/{i}/{var}": v for i, pop in enumerate(probe_names)
                       for var, v in self.probes[pop].items()})
        arrays.update({f"core_steps/{k}": v for k, v in self.core_steps.items()})
        arrays.update({f"core_totals/{k}": v for k, v in self.core_totals.items()})
        chip_keys = list(self.chip_time)
        arrays.update({f"chip_time/{i}": self.chip_time[k] for i, k in enumerate(chip_keys)})
        arrays.update({f"final_state/{k}": v for k, v in self.final_state.items()})
        arrays["busiest_link"], arrays["link_packets"] = self.busiest_link, self.link_packets
        if self.predictions is not None:
            arrays["predictions"] = np.asarray(self.predictions)
        meta = {k: v for k, v in self.meta.items() if isinstance(v, (int, float, str, bool, type(None)))}
        return write_npz(path, "result", 1, {"n_steps": self.n_steps, "meta": meta, "program": prog_head,
                                             "probe_names": probe_names, "chip_time_keys": chip_keys,
                                             "backend": self.backend}, arrays)

    @staticmethod
    def load(path) -> RunResult:
        """Read a result written by :meth:`save` and :meth:`validate` it; raises FileFormatError on a bad file."""
        from neurocore._io import read_npz
        from neurocore.mapping.io import program_from_parts

        head, arrays = read_npz(path, "result", 1)
        groups: dict[str, dict] = {}
        for key, v in arrays.items():
            top, _, rest = key.partition("/")
            groups.setdefault(top, {})[rest] = v
        try:
            probes = _probes_from_keys(groups.get("probes", {}), head.get("probe_names"))
            program = program_from_parts(head["program"], groups["program"], str(path))
            n_steps = head["n_steps"]
            counters, core_steps, final = groups["counters"], groups.get("core_steps", {}), groups["final_state"]
            chip_keys = head.get("chip_time_keys", [])
            chip_time = {str(chip_keys[int(i)]): v for i, v in groups.get("chip_time", {}).items()
                         if i.isdigit() and int(i) < len(chip_keys)}
            from neurocore.learning_sim import learned_from_state

            weights, tags = learned_from_state(program, final)
            backend = head.get("backend", "kernel")   # files from before backends: the kernel's
            if backend not in ("kernel", "reference"):
                raise FileFormatError(f"'{path}': result header says backend {backend!r}; results with chip "
                                      "counters come from 'kernel' or 'reference'")
            result = RunResult(program=program, n_steps=n_steps,
                               counters=counters, spike_counts=groups.get("spike_counts", {}), probes=probes,
                               core_steps=core_steps, busiest_link=arrays["busiest_link"],
                               link_packets=arrays["link_packets"], final_state=final,
                               meta=dict(head.get("meta", {})), predictions=arrays.get("predictions"),
                               weights=weights, tags=tags, core_totals=groups.get("core_totals", {}),
                               chip_time=chip_time, backend=backend)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, FileFormatError):
                raise
            raise FileFormatError(f"'{path}': result file lacks or garbles {type(exc).__name__}: {exc}") from None
        return result.validate(f"'{path}'")

    def totals(self) -> dict[str, int]:
        """Counters summed over the batch."""
        return {k: int(v.sum()) for k, v in self.counters.items()}

    def summary(self) -> str:
        tot = self.totals()
        lines = [f"RunResult: batch {self.batch_size}, {self.n_steps} steps, {self.program.n_cores_used} cores"]
        lines += [f"  {k:<22} {v:>16,}  ({v / self.batch_size:,.1f} per inference)" for k, v in tot.items()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary().splitlines()[0]


def _check_steps(n_steps) -> int:
    if not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool) or n_steps < 1:
        raise SimulationError(f"n_steps must be a positive int, got {n_steps!r}")
    return int(n_steps)


def _thread_count(n_threads) -> int:
    """``n_threads``, else ``NEUROCORE_NUM_THREADS``, else the CPU count; a positive int or a SimulationError."""
    if n_threads is None:
        env = os.environ.get("NEUROCORE_NUM_THREADS", "")
        if env and not env.strip().isdigit():
            raise SimulationError(f"NEUROCORE_NUM_THREADS={env!r} is not a positive integer; set it to a thread "
                                  "count or unset it")
        n_threads = int(env) if env else (os.cpu_count() or 1)
    if not isinstance(n_threads, (int, np.integer)) or n_threads < 1:
        raise SimulationError(f"n_threads must be a positive int, got {n_threads!r}")
    return int(n_threads)


def _counter_order(counters: dict) -> list[str]:
    """The counter names in the kernel's order (``COUNTER_NAMES``) when it is built, else as given."""
    try:
        names = load_kernel().COUNTER_NAMES
    except BuildError:  # pragma: no cover - the reference backend runs without the compiled kernel
        return list(counters)
    return [k for k in names if k in counters] + [k for k in counters if k not in names]


def _float_twin(program: Program):
    """The converter's float SNN carried by ``program`` (``program.float_snn`` or ``meta["float_snn"]``), or None."""
    twin = getattr(program, "float_snn", None)
    return twin if twin is not None else program.meta.get("float_snn")


def _probe_columns(pidx: dict, var: str) -> NDArray[np.int32]:
    """Neuron indices a probe of ``var`` records, population after population."""
    parts = [np.arange(off, off + n, dtype=np.int32) for _, off, n in pidx[var]]
    return np.concatenate(parts) if parts else np.zeros(0, np.int32)


def _split_probes(pidx: dict, columns: dict[str, NDArray]) -> dict[str, dict[str, NDArray]]:
    """``{population: {variable: (B, T, n)}}`` from per-variable (B, T, probed neurons) arrays."""
    out: dict[str, dict[str, NDArray]] = {}
    for var, arr in columns.items():
        col = 0
        for pop, _, n in pidx[var]:
            out.setdefault(pop, {})[var] = arr[:, :, col: col + n]
            col += n
    return out


#: Models of execution a :class:`Simulator` can run a Program on (``Simulator(program, backend=...)``).
#: Each gives a :class:`RunResult`; ``kernel`` and ``reference`` give equal ones, field for field.
BACKENDS = {
    "kernel": "the compiled Cython kernel (default): fast, exact, every counter",
    "reference": "the NumPy twin of the kernel running the Program's tables "
                 "(neurocore.kernels.reference_tables): exact and slow; same RunResult as the kernel",
    "float": "the converter's unquantized float SNN (nc.convert Programs only): spike counts and predictions; "
             "no chip counters, core steps, links, probes or state",
}


class Simulator:
    """Runs a compiled :class:`~neurocore.mapping.Program` on batches of inputs.

    Parameters
    ----------
    program : Program
        From :func:`neurocore.compile` (or :meth:`Program.load`).
    backend : {"kernel", "reference", "float"}
        The model of execution (see :data:`BACKENDS`): one Program, several models, one
        :class:`RunResult` type. ``"reference"`` runs the same integer arithmetic in NumPy
        (bit-identical RunResult, for checking and debugging); ``"float"`` runs the float
        twin ``nc.convert`` keeps, so ``RunResult.backend == "float"`` results carry
        predictions and spike counts but no chip counters (:meth:`RunResult.require_counters`).
        ``run`` takes the same arguments on every backend: ``reference`` ignores ``n_threads``,
        ``block`` and ``memory_limit``; ``float`` also takes no ``probes``, ``learning`` or
        ``initial_state``; only ``kernel`` takes ``stop``.

    If the Program carries a codec (``program.codec``, set by ``nc.convert``), ``run`` takes
    the ANN's float samples, shape (batch, features...): the codec encodes them into per-step
    channel values and ``RunResult.predictions`` holds the decoded outputs. A Program compiled
    with ``replicas=k`` takes one replica's channels per sample: sample i runs on replica
    i % k in chip run i // k, so the result has ceil(B / k) rows of counters and
    ``meta["samples"] = B`` (see :mod:`neurocore.mapping.replicate`).
    """

    def __init__(self, program: Program, backend: str = "kernel") -> None:
        if not isinstance(program, Program):
            raise SimulationError(f"Simulator needs a Program from nc.compile(graph, chip), got "
                                  f"{type(program).__name__}")
        if not isinstance(backend, str) or backend not in BACKENDS:
            raise SimulationError(f"backend={backend!r} is not a model of execution; choose one of "
                                  f"{sorted(BACKENDS)}")
        # the kernel does no bounds checks: check the tables once, then run on private copies
        program.validate()
        self.program = program
        self.backend = backend
        _SETUP[backend](self)

    def _setup_kernel(self) -> None:
        self._kernel = load_kernel()
        self._tables = kernel_tables(self.program)
        self._ktables = self._kernel.Tables(self._tables)
        self._bound_parts = bound_parts(self.program)

    def _setup_reference(self) -> None:
        from neurocore.learning_sim import has_plasticity

        if has_plasticity(self.program):
            raise SimulationError("backend='reference' runs Programs without plastic projections; this one learns: "
                                  "use backend='kernel' (neurocore.kernels.learning_reference is its NumPy twin)")

    def _setup_float(self) -> None:
        self._float = _float_twin(self.program)
        if self._float is None:
            raise SimulationError("backend='float' runs the float twin nc.convert() keeps with the graph; this "
                                  "Program has none (a hand-built graph, or a Program read from a file): use "
                                  "backend='kernel' or 'reference'")

    def _channel_range(self, x: NDArray) -> tuple[NDArray, NDArray]:
        """Per channel min and max of the inputs ``x`` (batch, steps, channels), one pass in the kernel
        when ``x`` is C-contiguous int32 (else NumPy); within a run the answer is kept for the same
        array (a weak reference: the inputs are not held after the run)."""
        last = getattr(self, "_last_range", None)
        if last is not None and last[0]() is x:
            return last[1], last[2]
        kernel = getattr(self, "_kernel", None)
        if x.dtype == np.int32 and x.flags.c_contiguous and kernel is not None:
            cmin, cmax = kernel.channel_range(x, min(os.cpu_count() or 1, 8))
        else:
            flat = x.reshape(-1, x.shape[2])
            cmin, cmax = flat.min(axis=0), flat.max(axis=0)
        self._last_range = (weakref.ref(x), cmin, cmax)
        return cmin, cmax

    def _check_inputs(self, inputs, n_steps) -> NDArray[np.int32]:
        p = self.program
        if not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool) or n_steps < 1:
            raise SimulationError(f"n_steps must be a positive int, got {n_steps!r}")
        x = np.asarray(inputs)
        if x.ndim != 3:
            raise SimulationError(f"inputs must have shape (batch, n_steps, channels) = (B, {n_steps}, "
                                  f"{p.n_inputs}); got shape {x.shape} (for one sample use inputs[None])")
        if x.shape[1] != n_steps or x.shape[2] != p.n_inputs:
            raise SimulationError(f"inputs have shape {x.shape}; expected (batch, {n_steps}, {p.n_inputs}): "
                                  f"one value per step (n_steps={n_steps}) per input channel "
                                  f"({', '.join(f'{i.name}: {i.n}' for i in p.inputs.values()) or 'none'})")
        if x.shape[0] < 1:
            raise SimulationError("inputs hold an empty batch; give at least one sample")
        if x.dtype.kind == "b":
            x = x.astype(np.int32)
        if x.dtype.kind not in "iu":
            raise SimulationError(f"inputs must be integers (spikes 0/1 or graded values), got dtype {x.dtype}; "
                                  "encode float data first (rate or direct encoding)")
        gb = p.chip.graded_bits
        lo, hi = signed_range(gb) if gb else (0, 1)
        lo, hi = min(lo, 0), max(hi, 1)  # a spike (0/1) is always allowed
        what = (f"a spike (0/1) or a {gb}-bit signed graded value [{lo}, {hi}]" if gb
                else "a spike (0 or 1): this chip takes no graded inputs (graded_bits=0)")
        if x.size:
            cmin, cmax = self._channel_range(x)
        for im in p.inputs.values():
            sl = slice(im.offset, im.offset + im.n)
            if im.n == 0 or not x.size or (cmin[sl].min() >= lo and cmax[sl].max() <= hi):
                continue
            xs = x[:, :, sl]
            bad = (xs < lo) | (xs > hi)
            if bad.any():
                b, t, c = (int(i[0]) for i in np.nonzero(bad))
                raise BitWidthError(f"input '{im.name}' channel {c} at sample {b}, step {t} is {int(xs[b, t, c])}; "
                                    f"each value must be {what} (chip '{p.chip.name}')")
        return np.ascontiguousarray(x, dtype=np.int32)

    def _probe_index(self, probes) -> dict[str, list[tuple[str, int, int]]]:
        out: dict[str, list] = {v: [] for v in PROBE_VARIABLES}
        for pop, variables in (probes or {}).items():
            if pop not in self.program.populations:
                raise SimulationError(f"probe of unknown population {pop!r}; populations are "
                                      f"{list(self.program.populations)}")
            if isinstance(variables, str):
                variables = [variables]
            for var in variables:
                if var not in PROBE_VARIABLES:
                    raise SimulationError(f"probe of unknown variable {var!r} on population {pop!r}; "
                                          f"choose from {PROBE_VARIABLES}")
                pm = self.program.populations[pop]
                out[var].append((pop, pm.offset, pm.n))
        return out

    def _check_memory(self, inputs, n_steps: int, pidx: dict, n_threads: int, memory_limit,
                      kept: _Kept, block) -> None:
        """Refuse, before any input is scanned, a run whose arrays would exceed ``memory_limit``."""
        from neurocore.resources import RUN_ADVICE, check_memory, run_estimate

        p = self.program
        codec = p.codec
        shape = np.shape(inputs) if hasattr(inputs, "shape") else np.asarray(inputs).shape
        single = codec is not None and len(shape) == len(codec.input_shape)  # one sample, as the codec allows
        batch = int(shape[0]) if len(shape) and not single else 1
        itemsize = np.asarray(inputs).dtype.itemsize if hasattr(inputs, "dtype") else 8
        threads = min(n_threads, max(batch, 1))
        tables = getattr(self, "_tables", None)  # the kernel's; the reference backend has none
        if isinstance(block, (int, np.integer)) and 1 <= block <= load_kernel().MAX_BLOCK:
            blk = int(block)
        else:
            blk = block_size(tables, True, max(batch, 1), threads) if tables is not None else 1
        est = run_estimate(batch, n_steps, p.n_inputs, p.n_neurons, p.n_cores_used,
                           {v: sum(n for _, _, n in idx) for v, idx in pidx.items()}, p.n_delay_slots,
                           threads, n_features=codec.n_channels if codec is not None else None,
                           encoding=codec.encoding if codec is not None else None, input_itemsize=itemsize,
                           record_core_steps=kept.core_steps, n_timings=len(kept.timings),
                           block=blk, n_links=tables["n_links"] if tables is not None
                           else p.chip.mesh_x * p.chip.mesh_y * 4)
        check_memory(est, memory_limit, RUN_ADVICE)

    def run(self, inputs, n_steps: int, probes: dict[str, list[str]] | None = None,
            n_threads: int | None = None, seed: int = 0, learning=True, initial_state=None,
            block: int | None = None, memory_limit: float | None = None, stop=None,
            record: str | tuple[str, ...] = (), chip_time=None) -> RunResult:
        """Simulate every sample of ``inputs`` for ``n_steps`` steps.

        Parameters
        ----------
        inputs : (batch, n_steps, channels) int array
            Per step per input channel a spike (0/1) or a graded value (a signed
            ``graded_bits`` integer, 16 bits on Loihi). A value of 1 counts as a binary spike
            (``synops_binary``) unless the input was declared ``graded=True``; every other
            non-zero value is graded (``synops_graded``). Channels are the graph's inputs in
            the order added.
        n_steps : int
            Algorithmic timesteps to run (>= 1).
        probes : dict, optional
            ``{"population": ["u", "v", "spikes"]}``: record these each step.
        n_threads : int, optional
            OpenMP threads across the batch (default: ``NEUROCORE_NUM_THREADS`` or the CPU
            count). Results do not depend on it.
        seed : int
            Seed of a stochastic input encoding (Poisson), when the Program has a codec.
        memory_limit : float, optional
            Bytes this run may allocate (default: :func:`neurocore.resources.available_memory`).
            A larger request raises :class:`ResourceError` before any work, naming the size.
        learning, initial_state : bool or dict, RunResult, optional
            Plastic Programs only (:mod:`neurocore.learning_sim`): False (or ``{projection: False}``)
            freezes weights; continue from the end of an earlier learning run.

        block : int, optional
            Samples the kernel advances in lockstep, 1 to 64 (default :func:`block_size`:
            from the L2 cache size). A block reads each synapse row once per step for all
            its samples. Results do not depend on it.
        stop : neurocore.StopRule, optional
            Early stop per sample (anytime inference, see :mod:`neurocore.anytime`): after
            each step the kernel checks the rule on the read-out's spike counts; a stopped
            sample costs no further work, its counters, final state and prediction are
            those of a run of exactly ``result.steps[i]`` steps, and its probes are zero
            after that step.
        record : str or tuple of str, optional
            Extra per-step data to keep (:data:`RECORD_OPTIONS`): ``"core_steps"`` keeps every
            core's counters every step (``RunResult.core_steps``, batch x n_steps x cores x 7
            int32: large for long batched runs). By default only their totals per core
            (``RunResult.core_totals``) and the chip-time sums are kept.
        chip_time : CoreTiming or sequence of them, optional
            Chip-time models (:class:`neurocore.steptime.CoreTiming`, from
            ``nc.energy.core_timing(profile)``) whose per-step slowest-core work the kernel
            sums per sample (``RunResult.chip_time``). Default: every shipped chip profile's.

        Converted Programs take float samples and replicated ones pack samples: see the class
        docstring.

        Returns a :class:`RunResult`.
        """
        T = _check_steps(n_steps)
        if stop is not None and self.backend != "kernel":
            raise SimulationError(f"stop= (early stopping) runs on backend='kernel', not {self.backend!r}")
        if self.backend == "float":
            return self._run_float(inputs, T, probes, seed, learning, initial_state)
        from neurocore.learning_sim import has_plasticity

        p = self.program
        plastic = has_plasticity(p)
        # plastic programs probe projections too; run_learning checks their probes
        pidx = {v: [] for v in PROBE_VARIABLES} if plastic else self._probe_index(probes)
        n_threads = _thread_count(n_threads)
        kept = _Kept(_record_options(record), _timings(chip_time))
        self._check_memory(inputs, T, pidx, n_threads, memory_limit, kept, block)
        self._last_range = None  # the inputs' channel range: computed once per run, never kept from another
        x, n_samples = self._encode(inputs, T, seed)
        if plastic:  # plastic projections run on the learning kernel, one sample at a time
            return _run_plastic(self, x, T, probes, stop, learning, initial_state)
        if initial_state is not None or learning is not True:
            raise SimulationError("learning= and initial_state= apply to Programs with plastic projections; "
                                  "this Program has none")
        stop_args = _stop_args(p, stop, n_samples)
        result = _RUNNERS[self.backend](self, x, T, pidx, n_threads, block, stop_args, kept)
        return self._decode(result, inputs, n_samples, stop, stop_args)

    def _encode(self, inputs, T: int, seed: int) -> tuple[NDArray[np.int32], int | None]:
        """Codec-encode float samples, pack replicas and check the channel values: the kernel's (B, T, C) int32
        and, for a replicated Program, the number of samples (else None)."""
        p = self.program
        codec = p.codec
        if codec is not None:
            inputs = codec.encode(inputs, T, seed=seed)
        reps = p.meta.get("replicas") or {}
        n_samples = None
        if reps.get("k", 1) > 1:  # sample i on replica i % k of chip run i // k
            n_samples = int(np.asarray(inputs).shape[0]) if np.asarray(inputs).ndim == 3 else None
            inputs = pack_inputs(inputs, reps)
        if p.n_inputs == 0 and np.asarray(inputs).size == 0 and np.asarray(inputs).ndim == 3:
            x = np.zeros((np.asarray(inputs).shape[0], T, 0), np.int32)
            self._check_inputs(x, T)
            return x, n_samples
        return self._check_inputs(inputs, T), n_samples

    def _decode(self, result: RunResult, raw_inputs, n_samples: int | None, stop, stop_args) -> RunResult:
        """Add replica facts, the early-stop counters and what the Program's codec reads from the run
        (predictions, saturated inputs)."""
        p = self.program
        codec = p.codec
        if n_samples is not None:
            result.meta.update(samples=n_samples, replicas=p.meta["replicas"]["k"])
        if stop is not None:  # the check runs after every step from min_steps on, reading the read-out's counters
            checks = np.maximum(result.steps - stop.min_steps + 1, 0)
            result.counters["stop_checks"] = checks
            result.counters["stop_counter_reads"] = checks * stop_args[3]
            result.meta.update(stop=repr(stop), stop_checker=stop.checker)
        if codec is None:
            return result
        if stop is not None:
            from neurocore.anytime import check_stopped_after_latency, decode_at_steps

            check_stopped_after_latency(codec, result.steps, stop)
            pm = p.populations[codec.output]
            result.predictions = decode_at_steps(codec, result.spike_counts[codec.output],
                                                 result.final_state["v"][:, pm.offset: pm.offset + pm.n], result.steps)
        elif n_samples is None:
            result.predictions = codec.decode(result)
            result.counters["inputs_saturated"] = codec.saturated(raw_inputs)
        else:  # replicas: counters have one row per chip run, not per sample
            result.predictions = codec.decode_arrays(*sample_view(result, codec.output), result.n_steps)
            result.meta["inputs_saturated"] = int(codec.saturated(raw_inputs).sum())
        return result

    def _check_block(self, block) -> None:
        if block is not None and (not isinstance(block, (int, np.integer)) or isinstance(block, bool)
                                  or not 1 <= block <= self._kernel.MAX_BLOCK):
            raise SimulationError(f"block must be an int from 1 to {self._kernel.MAX_BLOCK} (samples advanced in "
                                  f"lockstep), got {block!r}")

    def _kernel_outputs(self, B: int, T: int, pidx: dict, n_threads: int, stop_args: tuple, kept: _Kept) -> dict:
        """The arrays the kernel fills, zeroed (probe index arrays included), and the stop rule's parameters."""
        p, kernel = self.program, self._kernel
        N, K, n_core_keys = p.n_neurons, p.n_cores_used, len(kernel.CORE_COUNTER_NAMES)
        keep_steps, timings = kept
        pu, pv, ps = (_probe_columns(pidx, v) for v in ("u", "v", "spikes"))
        return {
            "counters": np.zeros((B, len(kernel.COUNTER_NAMES)), np.int64),
            "spike_counts": np.zeros((B, max(N, 1)), np.int32),
            "core": np.zeros((B, T, max(K, 1), n_core_keys), np.int32) if keep_steps else None,
            "core_totals": np.zeros((B, max(K, 1), n_core_keys), np.int64),
            "n_timing": len(timings),
            "timing_w": (np.stack([t.weights() for t in timings]) if timings else np.zeros((1, 2, 10))),
            "core_neurons": _pad(np.asarray(p.neurons_per_core_used, np.float64)),
            "chip_time": np.zeros((B, max(len(timings), 1), 2), np.float64),
            "busiest_link": np.zeros((B, T), np.int32),
            "link_total": np.zeros((n_threads, self._tables["n_links"]), np.int64),
            "u": np.zeros((B, N), np.int64), "v": np.zeros((B, N), np.int64),
            "probe_u_idx": _pad(pu), "probe_v_idx": _pad(pv), "probe_s_idx": _pad(ps),
            "n_probe_u": pu.size, "n_probe_v": pv.size, "n_probe_s": ps.size,
            "probe_u": np.zeros((B, T, max(pu.size, 1)), np.int64),
            "probe_v": np.zeros((B, T, max(pv.size, 1)), np.int64),
            "probe_s": np.zeros((B, T, max(ps.size, 1)), np.uint8),
            "steps": np.zeros(B, np.int64), "stop": stop_args,
        }

    def _run_kernel(self, x: NDArray[np.int32], T: int, pidx: dict, n_threads: int, block,
                    stop_args: tuple, kept: _Kept) -> RunResult:
        """One kernel call over the batch; the outputs wrapped in a RunResult."""
        self._check_block(block)
        p, kernel = self.program, self._kernel
        B = x.shape[0]
        n_threads = int(min(n_threads, B))
        out = self._kernel_outputs(B, T, pidx, n_threads, stop_args, kept)
        K = p.n_cores_used
        xin = x if x.shape[2] else np.zeros((B, T, 1), np.int32)  # the kernel takes &x[b, 0, 0]
        # the largest |value| per channel in this batch decides whether 32-bit words are exact
        if x.shape[2]:
            cmin, cmax = self._channel_range(x)
            in_max = np.maximum(cmax.astype(np.int64), -cmin.astype(np.int64))
        else:
            in_max = np.zeros(0, np.int64)
        narrow = narrow_ok(p, self._tables, in_max, self._bound_parts)
        if block is None:
            block = block_size(self._tables, not narrow, B, n_threads)
        n_threads = int(min(n_threads, -(-B // block)))
        out["link_total"] = out["link_total"][:n_threads]
        kernel.run(self._ktables, xin, T, out, n_threads, int(block), not narrow)
        return RunResult(
            program=p, n_steps=T,
            counters={name: out["counters"][:, i].copy() for i, name in enumerate(kernel.COUNTER_NAMES)},
            spike_counts={name: out["spike_counts"][:, pm.offset: pm.offset + pm.n]
                          for name, pm in p.populations.items()},
            probes=_split_probes(pidx, {"u": out["probe_u"], "v": out["probe_v"], "spikes": out["probe_s"]}),
            core_steps=({name: out["core"][:, :, :K, i] for i, name in enumerate(kernel.CORE_COUNTER_NAMES)}
                        if kept.core_steps else {}),
            busiest_link=out["busiest_link"], link_packets=out["link_total"].sum(axis=0),
            final_state={"u": out["u"], "v": out["v"]},
            core_totals={name: out["core_totals"][:, :K, i] for i, name in enumerate(kernel.CORE_COUNTER_NAMES)},
            chip_time={t.key: out["chip_time"][:, i] for i, t in enumerate(kept.timings)},
        )

    def _run_reference(self, x: NDArray[np.int32], T: int, pidx: dict, n_threads: int, block,
                       stop_args: tuple, kept: _Kept) -> RunResult:
        """The NumPy twin on the Program's tables, in the kernel's RunResult layout and dtypes (no early stop:
        ``run`` refuses ``stop=`` here)."""
        from neurocore.kernels.reference_tables import simulate_program

        p = self.program
        probed = {v: _probe_columns(pidx, v) for v in PROBE_VARIABLES}
        ref = simulate_program(p, x, T, record=bool(probed["u"].size or probed["v"].size))
        spikes = ref["spikes"]
        columns = {"u": ref["u_steps"][:, :, probed["u"]] if probed["u"].size else None,
                   "v": ref["v_steps"][:, :, probed["v"]] if probed["v"].size else None,
                   "spikes": spikes[:, :, probed["spikes"]].astype(np.uint8)}
        counts = spikes.sum(axis=1, dtype=np.int32)
        core_steps = {k: np.asarray(v, np.int32) for k, v in ref["core_steps"].items()}
        chip_time = _chip_time_of(core_steps, p, kept.timings, np.asarray(ref["counters"]["timesteps"]))
        return RunResult(
            program=p, n_steps=T,
            counters={k: np.asarray(ref["counters"][k], np.int64) for k in _counter_order(ref["counters"])},
            spike_counts={name: counts[:, pm.offset: pm.offset + pm.n] for name, pm in p.populations.items()},
            probes=_split_probes(pidx, {k: v for k, v in columns.items() if v is not None}),
            core_steps=core_steps if kept.core_steps else {},
            core_totals={k: v.sum(axis=1, dtype=np.int64) for k, v in core_steps.items()}, chip_time=chip_time,
            busiest_link=np.asarray(ref["busiest_link"], np.int32),
            link_packets=np.asarray(ref["link_packets"], np.int64),
            final_state={"u": ref["u"], "v": ref["v"]}, backend="reference",
        )

    def _run_float(self, inputs, T: int, probes, seed: int, learning, initial_state) -> RunResult:
        """The float twin's run as a RunResult: spike counts and predictions; no chip counters."""
        if probes:
            raise SimulationError("backend='float' records no probes (its state is float, per layer); probe the "
                                  "integer run with backend='kernel' or 'reference'")
        if initial_state is not None or learning is not True:
            raise SimulationError("learning= and initial_state= apply to plastic Programs on backend='kernel'")
        fr = self._float.run(inputs, T, seed=seed)
        return RunResult(program=self.program, n_steps=T, counters={}, spike_counts=dict(fr.spike_counts),
                         probes={}, core_steps={}, busiest_link=None, link_packets=None, final_state={},
                         predictions=fr.predictions, backend="float")


def _run_plastic(sim: Simulator, x, T: int, probes, stop, learning, initial_state) -> RunResult:
    """A Program with plastic projections: the learning kernel, one sample at a time (no early stop)."""
    from neurocore.learning_sim import run_learning

    if stop is not None:
        raise SimulationError("stop= (early stopping) is not available for Programs with plastic projections")
    return run_learning(sim, x, T, probes, learning=learning, initial_state=initial_state)


def _chip_time_of(core_steps: dict, program: Program, timings: tuple, timesteps: NDArray) -> dict:
    """The kernel's chip-time sums computed in NumPy from the full per-step table (:func:`steptime.evaluate`)."""
    from neurocore.steptime import evaluate

    neurons = np.asarray(program.neurons_per_core_used, np.float64)
    return {t.key: evaluate(core_steps, neurons, t, timesteps) for t in timings}


_SETUP = {"kernel": Simulator._setup_kernel, "reference": Simulator._setup_reference,
          "float": Simulator._setup_float}
_RUNNERS = {"kernel": Simulator._run_kernel, "reference": Simulator._run_reference}

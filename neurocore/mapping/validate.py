"""Program.validate(): every documented field of a Program checked against the others and the chip.

The kernel runs without bounds checks, so a Program read from a file (or built or
edited in memory) must be checked before it runs: this module checks every array
listed in :class:`~neurocore.mapping.program.Program`'s docstring for its dtype
kind, its shape and its value range, and the tables for consistency (each synapse's
row lies on its target's core, each row is delivered by exactly one packet of its
own source, routes match the placement, ...). It checks the documented meaning of
the fields only, not how the compiler happens to build them, so it holds whatever
partitioner or placer made the Program.

A failure raises :class:`~neurocore.errors.FileFormatError` naming the field.
"""
from __future__ import annotations

import numpy as np

from neurocore.chip.spec import ChipSpec, signed_range, unsigned_range
from neurocore.errors import FileFormatError
from neurocore.mapping.units import SYNAPSE_UNITS

__all__ = ["validate_program", "NEURON_FIELDS", "ROW_FIELDS", "PACKET_FIELDS"]

#: Per-neuron arrays (N,).
NEURON_FIELDS = ("du", "dv", "vth", "bias_mant", "bias_exp", "refractory", "reset", "u0", "v0", "neuron_core")
#: Per-row arrays (R,).
ROW_FIELDS = ("row_shift", "row_delay", "row_core", "row_words", "row_proj", "row_src", "row_shared")
#: Per-packet arrays (P,).
PACKET_FIELDS = ("pk_core", "pk_src_tile", "pk_dst_tile", "pk_hops_ew", "pk_hops_ns", "pk_hops_chip")
#: Per-synapse arrays (S,).
SYNAPSE_FIELDS = ("target", "weight", "wscaled")
#: Optional arrays: checked when present.
OPTIONAL_FIELDS = ("row_start", "core_syn_bits", "chan_core")

#: Flag arrays that may be stored in one byte; every other array is int32 or int64.
SMALL_INT_FIELDS = ("row_shared",)

#: Largest board mesh a Program may use: the kernel allocates 4 link counters per tile per thread.
MAX_TILES = 1 << 20


class _Checker:
    """Raises FileFormatError with ``where`` and the field name in front of each message."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, field: str, msg: str):
        raise FileFormatError(f"{self.where}: program field '{field}' {msg}")

    def array(self, arrays: dict, name: str, length: int | None, kind: str = "iu") -> np.ndarray:
        """``arrays[name]`` as a 1-D integer array of ``length`` entries (None: any length)."""
        if name not in arrays:
            self.fail(name, "is missing")
        a = arrays[name]
        if not isinstance(a, np.ndarray):
            self.fail(name, f"must be a NumPy array, got {type(a).__name__}")
        if a.dtype.kind not in kind:
            self.fail(name, f"has dtype {a.dtype}; an integer array is expected")
        if a.ndim != 1:
            self.fail(name, f"has shape {a.shape}; a 1-D array is expected")
        if length is not None and a.shape[0] != length:
            self.fail(name, f"has {a.shape[0]} entries; {length} are expected")
        if name not in SMALL_INT_FIELDS and (a.dtype.kind != "i" or a.dtype.itemsize < 4):
            self.fail(name, f"has dtype {a.dtype}; int32 or int64 is expected")
        if name in SMALL_INT_FIELDS and a.dtype.itemsize > 1 and a.dtype.kind == "u":
            self.fail(name, f"has dtype {a.dtype}; uint8 or a signed integer is expected")
        return a

    def within(self, name: str, a: np.ndarray, lo: int, hi: int, what: str = "") -> None:
        """Every entry of ``a`` in [lo, hi]."""
        if a.size == 0:
            return
        amin, amax = int(a.min()), int(a.max())
        if amin < lo or amax > hi:
            bad = amin if amin < lo else amax
            i = int(np.flatnonzero((a < lo) | (a > hi))[0])
            self.fail(name, f"[{i}] = {bad} is outside [{lo}, {hi}]" + (f" ({what})" if what else ""))

    def pointer(self, name: str, a: np.ndarray, total: int) -> None:
        """A CSR pointer: starts at 0, never decreases, ends at ``total``."""
        if a.shape[0] < 1 or int(a[0]) != 0:
            self.fail(name, "must start at 0")
        if int(a[-1]) != total:
            self.fail(name, f"ends at {int(a[-1])}; it must end at {total} (the length of what it indexes)")
        if a.shape[0] > 1 and np.any(np.diff(a.astype(np.int64)) < 0):
            i = int(np.flatnonzero(np.diff(a.astype(np.int64)) < 0)[0])
            self.fail(name, f"decreases at entry {i + 1}; a pointer array never decreases")


def _neuron_ranges(chip: ChipSpec) -> dict[str, tuple[int, int, str]]:
    """Ranges of the per-neuron parameters on ``chip`` (as the compiler checks them)."""
    hu, hv = 1 << (chip.u_bits - 1), 1 << (chip.v_bits - 1)
    return {
        "du": (*unsigned_range(chip.decay_bits), f"{chip.decay_bits}-bit unsigned decay"),
        "dv": (*unsigned_range(chip.decay_bits), f"{chip.decay_bits}-bit unsigned decay"),
        "vth": (*unsigned_range(chip.vth_bits), f"{chip.vth_bits}-bit unsigned threshold mantissa"),
        "bias_mant": (*signed_range(chip.bias_mant_bits), f"{chip.bias_mant_bits}-bit signed"),
        "bias_exp": (*unsigned_range(chip.bias_exp_bits), f"{chip.bias_exp_bits}-bit unsigned"),
        "refractory": (*unsigned_range(chip.refractory_bits), f"{chip.refractory_bits}-bit unsigned"),
        "reset": (0, 1, "0 reset to zero, 1 subtract"),
        "u0": (-hu, hu, f"{chip.u_bits}-bit u"),
        "v0": (-hv, hv, f"{chip.v_bits}-bit v"),
    }


def _check_chip(c: _Checker, chip) -> None:
    if not isinstance(chip, ChipSpec):
        c.fail("chip", f"must be a ChipSpec, got {type(chip).__name__}")
    n_tiles = chip.mesh_x * chip.mesh_y
    if n_tiles > MAX_TILES:
        c.fail("chip", f"describes a board of {n_tiles:,} tiles; at most {MAX_TILES:,} are supported")


def _check_maps(c: _Checker, program, N: int, C: int, K: int, neuron_core: np.ndarray) -> None:
    """Populations tile [0, N) in order; their pieces and orders place each neuron on its core."""
    for key, pm in program.populations.items():
        if getattr(pm, "name", None) != key:
            c.fail(f"populations['{key}']", "holds a map of another name")
    for key, im in program.inputs.items():
        if getattr(im, "name", None) != key:
            c.fail(f"inputs['{key}']", "holds a map of another name")
    pops = sorted(program.populations.values(), key=lambda pm: (pm.offset, pm.name))
    off = 0
    for pm in pops:
        f = f"populations['{pm.name}']"
        if pm.offset != off or pm.n < 1:
            c.fail(f, f"covers neurons [{pm.offset}, {pm.offset + pm.n}); the populations must tile [0, {N}) "
                      f"in order (next free neuron {off}, at least one neuron each)")
        if not isinstance(pm.n, int) or pm.offset + pm.n > N:
            c.fail(f, f"covers neurons [{pm.offset}, {pm.offset + pm.n}); the neuron arrays have {N}")
        off += pm.n
        pos = np.arange(pm.n) if pm.order is None else np.asarray(pm.order)
        if pm.order is not None:
            if pos.dtype.kind not in "iu" or pos.shape != (pm.n,) or not np.array_equal(np.sort(pos), np.arange(pm.n)):
                c.fail(f"order.{pm.name}", f"must be a permutation of 0 .. {pm.n - 1}")
        covered = np.zeros(pm.n, np.int64)
        for i, piece in enumerate(pm.pieces):
            if len(piece) != 3:
                c.fail(f, f"piece {i} = {piece!r}; a piece is (core slot, start, stop)")
            slot, lo, hi = (int(v) for v in piece)
            if not (0 <= slot < K and 0 <= lo < hi <= pm.n):
                c.fail(f, f"piece {i} = {tuple(piece)} is outside (slot < {K}, 0 <= start < stop <= {pm.n})")
            covered[lo:hi] += 1
            if np.any(neuron_core[pm.offset + pos[lo:hi]] != slot):
                c.fail("neuron_core", f"disagrees with piece {i} of population '{pm.name}' (core slot {slot})")
        if np.any(covered != 1):
            c.fail(f, f"pieces cover positions {int(np.sum(covered > 0))} of {pm.n} exactly once at most; "
                      "every neuron must be in exactly one piece")
    if off != N:
        c.fail("populations", f"cover {off} neurons; the neuron arrays have {N}")
    off = 0
    for im in sorted(program.inputs.values(), key=lambda im: (im.offset, im.name)):
        if im.offset != off or im.n < 1:
            c.fail(f"inputs['{im.name}']", f"covers channels [{im.offset}, {im.offset + im.n}); the inputs must "
                                           f"tile [0, {C}) in order")
        off += im.n
    if off != C:
        c.fail("inputs", f"cover {off} channels; the source tables have {C}")


def _check_neurons(c: _Checker, a: dict, chip: ChipSpec, N: int, K: int) -> None:
    for name, (lo, hi, what) in _neuron_ranges(chip).items():
        c.within(name, c.array(a, name, N), lo, hi, what)
    if not chip.supports_decay:
        if np.any(a["du"] != (1 << chip.decay_bits) - 1) or np.any(a["dv"] != 0):
            c.fail("du", f"chip '{chip.name}' has no multiplicative decay (du must be max, dv 0)")
    c.within("neuron_core", c.array(a, "neuron_core", N), 0, K - 1, f"{K} core slots used")


def _check_synapses(c: _Checker, program, a: dict, N: int, S_src: int, K: int) -> tuple[int, np.ndarray]:
    """Rows and synapses; returns (R, the row of each synapse)."""
    chip = program.chip
    row_ptr = c.array(a, "row_ptr", None)
    if row_ptr.shape[0] < 1:
        c.fail("row_ptr", "is empty; it has one entry more than there are rows")
    R = row_ptr.shape[0] - 1
    target = c.array(a, "target", None)
    S = target.shape[0]
    c.pointer("row_ptr", row_ptr, S)
    for name in SYNAPSE_FIELDS:
        c.array(a, name, S)
    for name in ROW_FIELDS:
        c.array(a, name, R)
    c.within("target", target, 0, N - 1, f"{N} neurons")
    n_proj = len(program.projections)
    c.within("row_proj", a["row_proj"], 0, n_proj - 1, f"{n_proj} projections")
    plastic = np.array([bool(st.get("learning")) for st in program.projections] + [False], bool)
    syn_plastic = plastic[np.repeat(a["row_proj"].astype(np.int64), np.diff(row_ptr.astype(np.int64)))]
    c.within("weight", a["weight"][~syn_plastic], *chip.weight_range, f"{chip.weight_bits}-bit signed mantissa")
    c.within("weight", a["weight"][syn_plastic], -256, 255, "a plastic synapse's 9-bit learning-engine weight")
    c.within("row_src", a["row_src"], 0, S_src - 1, f"{S_src} sources (neurons, then input channels)")
    c.within("row_core", a["row_core"], 0, K - 1, f"{K} core slots used")
    c.within("row_shared", a["row_shared"], 0, 1)
    c.within("row_delay", a["row_delay"], 0, chip.max_delay, f"chip '{chip.name}' max_delay")
    c.within("row_shift", a["row_shift"], max(0, chip.act_shift + chip.weight_exp_min),
             chip.act_shift + chip.weight_exp_max, "act_shift + weight_exp")
    c.within("wscaled", a["wscaled"], -(2**31) + 1, 2**31 - 1, "weight << row_shift must fit 32 bits")
    nnz = np.diff(row_ptr.astype(np.int64))
    syn_row = np.repeat(np.arange(R), nnz)
    shift = a["row_shift"].astype(np.int64)[syn_row]
    if not np.array_equal(a["weight"].astype(np.int64) << shift, a["wscaled"].astype(np.int64)):
        i = int(np.flatnonzero((a["weight"].astype(np.int64) << shift) != a["wscaled"])[0])
        c.fail("wscaled", f"[{i}] = {int(a['wscaled'][i])} is not weight << row_shift = "
                          f"{int(a['weight'][i]) << int(shift[i])}")
    if S and np.any(a["row_core"][syn_row] != a["neuron_core"][target]):
        i = int(np.flatnonzero(a["row_core"][syn_row] != a["neuron_core"][target])[0])
        c.fail("target", f"[{i}] = neuron {int(target[i])} lies on core slot {int(a['neuron_core'][target[i]])}, "
                         f"not on its row's core {int(a['row_core'][syn_row[i]])}")
    if S > 1 and np.any((syn_row[1:] == syn_row[:-1]) & (target[1:].astype(np.int64) <= target[:-1])):
        i = int(np.flatnonzero((syn_row[1:] == syn_row[:-1]) & (target[1:].astype(np.int64) <= target[:-1]))[0])
        c.fail("target", f"[{i + 1}] = {int(target[i + 1])} follows {int(target[i])} in row {int(syn_row[i])}; "
                         "targets rise strictly within a row")
    from_neuron = a["row_src"] < N
    if np.any(from_neuron & (a["row_delay"] < 1)):
        c.fail("row_delay", "is 0 on a row from a neuron; a spike takes at least one step")
    _check_row_words(c, a, chip, nnz)
    for j, p in enumerate(program.projections):
        rows = a["row_proj"] == j
        for key, arr, expect in (("delay", "row_delay", lambda d: d), ("weight_exp", "row_shift",
                                                                       lambda e: chip.act_shift + e)):
            if isinstance(p, dict) and key in p and np.any(a[arr][rows] != expect(int(p[key]))):
                c.fail(arr, f"disagrees with projection {j} ('{p.get('name')}') {key} = {p[key]}")
    return R, syn_row


def _check_row_words(c: _Checker, a: dict, chip: ChipSpec, nnz: np.ndarray) -> None:
    """row_words: header + entries rounded up to words (shared rows: header + the weights read)."""
    entry = np.where(a["row_shared"].astype(bool), chip.weight_bits, chip.synapse_bits)
    words = -(-(chip.syn_row_header_bits + nnz * entry) // chip.syn_word_bits)
    if not np.array_equal(words, a["row_words"].astype(np.int64)):
        i = int(np.flatnonzero(words != a["row_words"])[0])
        c.fail("row_words", f"[{i}] = {int(a['row_words'][i])}; a row of {int(nnz[i])} synapses on chip "
                            f"'{chip.name}' occupies {int(words[i])} words")
    if "row_start" in a:
        c.within("row_start", c.array(a, "row_start", nnz.shape[0]), -1, max(0, a["du"].shape[0] - 1))


def _check_packets(c: _Checker, program, a: dict, N: int, S_src: int, K: int, R: int) -> None:
    chip = program.chip
    src_pk_ptr = c.array(a, "src_pk_ptr", S_src + 1)
    P = c.array(a, "pk_core", None).shape[0]
    c.pointer("src_pk_ptr", src_pk_ptr, P)
    for name in PACKET_FIELDS:
        c.array(a, name, P)
    pk_row_ptr = c.array(a, "pk_row_ptr", P + 1)
    pk_rows = c.array(a, "pk_rows", None)
    c.pointer("pk_row_ptr", pk_row_ptr, pk_rows.shape[0])
    c.within("pk_core", a["pk_core"], 0, K - 1, f"{K} core slots used")
    c.within("pk_rows", pk_rows, 0, R - 1, f"{R} rows")
    if pk_rows.shape[0] != R or np.bincount(pk_rows, minlength=R).max(initial=1) != 1:
        c.fail("pk_rows", "must list every row exactly once (each row is delivered by one packet)")
    pk_src = np.repeat(np.arange(S_src), np.diff(src_pk_ptr.astype(np.int64)))
    row_pk = np.empty(R, np.int64)
    row_pk[pk_rows] = np.repeat(np.arange(P), np.diff(pk_row_ptr.astype(np.int64)))
    if R and np.any(pk_src[row_pk] != a["row_src"]):
        c.fail("pk_rows", "puts a row in a packet of another source (row_src disagrees)")
    if R and np.any(a["pk_core"][row_pk] != a["row_core"]):
        c.fail("pk_rows", "puts a row in a packet to another core (row_core disagrees)")
    chan_core = None
    if "chan_core" in a:
        chan_core = c.array(a, "chan_core", S_src - N)
        c.within("chan_core", chan_core, -1, K - 1, f"-1 (injected by the host) or one of {K} core slots")
        if chan_core.size and np.isin(chan_core[chan_core >= 0], a["neuron_core"]).any():
            c.fail("chan_core", "sends input channels from a core slot that holds neurons; input cores hold none")
    _check_routes(c, a, chip, program.core_ids, N, pk_src, chan_core)


def _check_routes(c: _Checker, a: dict, chip: ChipSpec, core_ids, N: int, pk_src: np.ndarray,
                  chan_core: np.ndarray | None) -> None:
    """Tiles and hops of every packet: those of the placement ``core_ids`` with XY routing.

    A packet from a neuron, or from an input channel placed on a core (``chan_core >= 0``),
    leaves its core's tile; one the host injects has source tile -1 and no hops."""
    cid = np.asarray(core_ids)
    tile_of_slot = chip.tile_of(cid)
    dst = tile_of_slot[a["pk_core"]]
    slot = np.full(pk_src.shape, -1, np.int64)
    is_neuron = pk_src < N
    slot[is_neuron] = a["neuron_core"][pk_src[is_neuron]]
    if chan_core is not None:
        slot[~is_neuron] = chan_core.astype(np.int64)[pk_src[~is_neuron] - N]
    from_neuron = slot >= 0
    src = np.where(from_neuron, tile_of_slot[np.maximum(slot, 0)], -1)
    ew, ns, chip_hops = chip.tile_hops(src, dst)
    expect = {"pk_src_tile": src, "pk_dst_tile": dst,
              "pk_hops_ew": np.where(from_neuron, ew, 0),
              "pk_hops_ns": np.where(from_neuron, ns, 0),
              "pk_hops_chip": np.where(from_neuron, chip_hops, 0)}
    for name, e in expect.items():
        if not np.array_equal(a[name].astype(np.int64), e):
            i = int(np.flatnonzero(a[name] != e)[0])
            c.fail(name, f"[{i}] = {int(a[name][i])} disagrees with the placement (core_ids) and XY routing, "
                         f"which give {int(e[i])}")


def _check_limits(c: _Checker, program, a: dict, K: int) -> None:
    """Per-core use within the chip's limits (the network fits the chip it names)."""
    chip = program.chip
    if "core_syn_bits" in a:
        bits = c.array(a, "core_syn_bits", None)
        chan = a.get("chan_core")
        n_in = int(np.unique(chan[chan >= 0]).size) if chan is not None else 0
        if bits.shape[0] not in (K, K - n_in):  # input cores (appended slots) may be left out: they hold none
            c.fail("core_syn_bits", f"has {bits.shape[0]} entries; {K - n_in} (the neuron core slots) expected")
        c.within("core_syn_bits", bits, 0, chip.syn_mem_bits_per_core, f"chip '{chip.name}' synapse memory per core")
    use = program.core_usage()
    lim = {"neurons": chip.neurons_per_core, "axons_in": chip.axons_in_per_core,
           "axons_out": chip.axons_out_per_core, "synapse_bits": chip.syn_mem_bits_per_core}
    for k, v in use.items():
        if v.size and int(v.max()) > lim[k]:
            c.fail({"neurons": "neuron_core", "axons_in": "row_core", "axons_out": "pk_core",
                    "synapse_bits": "core_syn_bits"}[k],
                   f"puts {int(v.max())} {k} on core slot {int(v.argmax())}; chip '{chip.name}' allows {lim[k]}")


#: Per-projection statistics (``Program.layer_stats``) and what each must be.
_STAT_TYPES = {"name": str, "src": str, "dst": str, "kind": str, "n_src": int, "n_dst": int, "synapses": int,
               "dense_macs": int, "weight_bits": int, "weight_exp": int, "delay": int, "recurrent": bool}


def _check_projections(c: _Checker, program) -> None:
    """``projections`` (the layer statistics energy and reports read) agree with the tables and maps."""
    if not isinstance(program.projections, list):
        c.fail("projections", f"must be a list of dicts, got {type(program.projections).__name__}")
    counts = np.bincount(program.arrays["row_proj"].astype(np.int64), weights=np.diff(program.arrays["row_ptr"]),
                         minlength=len(program.projections))
    size = {**{k: m.n for k, m in program.inputs.items()}, **{k: m.n for k, m in program.populations.items()}}
    for j, p in enumerate(program.projections):
        if not isinstance(p, dict):
            c.fail("projections", f"[{j}] must be a dict, got {type(p).__name__}")
        f = f"projections[{j}]"
        for key, typ in _STAT_TYPES.items():
            v = p.get(key)
            if not isinstance(v, typ) or (typ is int and (isinstance(v, bool) or (v < 0 and key != "weight_exp"))):
                c.fail(f, f"{key} = {v!r}; {'a count >= 0' if typ is int else 'a ' + typ.__name__} is expected")
        if "n_weights" in p and (not isinstance(p["n_weights"], int) or isinstance(p["n_weights"], bool)
                                 or p["n_weights"] < 0):
            c.fail(f, f"n_weights = {p['n_weights']!r}; a count >= 0 is expected")
        if "synapse_unit" in p and p["synapse_unit"] not in SYNAPSE_UNITS:
            c.fail(f, f"synapse_unit = {p['synapse_unit']!r}; choose one of {SYNAPSE_UNITS}")
        expect = {"n_src": size.get(p["src"]), "n_dst": program.populations[p["dst"]].n
                  if p["dst"] in program.populations else None, "synapses": int(counts[j]),
                  "weight_bits": program.chip.weight_bits}
        for key, e in expect.items():
            if p[key] != e:
                c.fail(f, f"('{p['name']}') {key} = {p[key]}; the Program gives {e}")


def _check_codec(c: _Checker, program, C: int) -> None:
    """A converter's codec (``program.codec``) must match the Program it decodes."""
    codec = getattr(program, "codec", None)
    if codec is None:
        return
    f = "meta.codec"
    reps = program.meta.get("replicas")
    if isinstance(reps, dict) and isinstance(reps.get("channels_per_replica"), (int, np.integer)):
        C = int(reps["channels_per_replica"])       # a replicated program: the codec encodes one copy's inputs
    out = getattr(codec, "output", None)
    if out not in program.populations:
        c.fail(f, f"names output population {out!r}, which the Program does not have")
    num = (lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
           and np.isfinite(v))
    checks = {
        "n_out": lambda v: v == program.populations[out].n,
        "n_channels": lambda v: v == C,
        "in_scale": lambda v: num(v) and v > 0,
        "gain": lambda v: isinstance(v, (int, np.integer)) and v >= 1,
        "graded_bits": lambda v: isinstance(v, (int, np.integer)) and 0 <= v <= program.chip.graded_bits,
        "latency": lambda v: isinstance(v, (int, np.integer)) and v >= 0,
        "theta_out": num, "unit": lambda v: num(v) and v != 0, "v_init": num,
        "out_scale": lambda v: num(v) and v != 0,
        "decoding": lambda v: v in ("count", "membrane"), "task": lambda v: v in ("classify", "regress"),
    }
    for key, ok in checks.items():
        try:
            val = getattr(codec, key)
            good = bool(ok(val))
        except (AttributeError, TypeError, ValueError, OverflowError):
            val, good = "?", False
        if not good:
            c.fail(f, f"has {key} = {val!r}, which does not fit this Program")
    classes = getattr(codec, "classes", None)
    if classes is not None and codec.task == "classify" and (not isinstance(classes, (list, tuple))
                                or len(classes) != max(program.populations[out].n, 2)):
        c.fail(f, f"lists {len(classes) if isinstance(classes, (list, tuple)) else classes!r} classes for "
                  f"{program.populations[out].n} outputs")


def validate_program(program, where: str = "program") -> None:
    """Check every documented field of ``program`` (see :class:`~neurocore.mapping.program.Program`).

    Parameters
    ----------
    program : Program
    where : str
        Prefix of the error messages (a file name, or ``"program"``).

    Raises
    ------
    FileFormatError
        Naming the first field found wrong: a missing array, a wrong dtype or shape, an
        index out of range, a value outside the chip's widths, tables that disagree with
        each other, the placement or the chip's per-core limits.
    """
    c = _Checker(where)
    try:
        _validate(c, program)
    except FileFormatError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        # a field of a type no check expected (a string where a number belongs, ...)
        raise FileFormatError(f"{where}: program is inconsistent ({type(exc).__name__}: {exc})") from None


def _validate(c: _Checker, program) -> None:
    _check_chip(c, program.chip)
    for name, typ in (("arrays", dict), ("populations", dict), ("inputs", dict), ("projections", list),
                      ("meta", dict)):
        if not isinstance(getattr(program, name), typ):
            c.fail(name, f"must be a {typ.__name__}, got {type(getattr(program, name)).__name__}")
    if not isinstance(program.arrays, dict):
        c.fail("arrays", f"must be a dict of arrays, got {type(program.arrays).__name__}")
    a = program.arrays
    cid = np.asarray(program.core_ids)
    if cid.dtype.kind != "i" or cid.dtype.itemsize < 4 or cid.ndim != 1 or cid.shape[0] < 1:
        c.fail("core_ids", f"must be a non-empty 1-D integer array, got dtype {cid.dtype} shape {cid.shape}")
    K = cid.shape[0]
    c.within("core_ids", cid, 0, program.chip.n_cores - 1, f"chip '{program.chip.name}' has "
                                                          f"{program.chip.n_cores} cores")
    if np.unique(cid).size != K:
        c.fail("core_ids", "places two core slots on the same physical core")
    N = c.array(a, "du", None).shape[0]
    if N < 1:
        c.fail("du", "is empty; a Program has at least one neuron")
    _check_neurons(c, a, program.chip, N, K)
    src_pk_ptr = c.array(a, "src_pk_ptr", None)
    S_src = src_pk_ptr.shape[0] - 1
    if S_src < N:
        c.fail("src_pk_ptr", f"has {S_src + 1} entries; it needs one per source (N = {N} neurons + input "
                             "channels) plus one")
    _check_maps(c, program, N, S_src - N, K, a["neuron_core"])
    R, _ = _check_synapses(c, program, a, N, S_src, K)
    _check_packets(c, program, a, N, S_src, K, R)
    _check_projections(c, program)
    _check_limits(c, program, a, K)
    _check_codec(c, program, S_src - N)

"""ChipSpec: the hardware a program is compiled for.

A ``ChipSpec`` is plain data: the mesh of cores, the per-core limits, the bit
width of every state variable and parameter, and what happens at the edge of
each width. Change a field with :func:`dataclasses.replace` to ask "what if".
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neurocore.errors import BitWidthError

__all__ = ["ChipSpec", "OVERFLOW_RULES", "signed_range", "unsigned_range", "check_range"]

#: What a state register does at the edge of its width.
OVERFLOW_RULES = ("wrap", "saturate")


def signed_range(bits: int) -> tuple[int, int]:
    """Inclusive range of a two's-complement ``bits``-bit integer."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def unsigned_range(bits: int) -> tuple[int, int]:
    """Inclusive range of an unsigned ``bits``-bit integer."""
    return 0, (1 << bits) - 1


def check_range(name: str, value, lo: int, hi: int, where: str = "", hint: str = "") -> None:
    """Raise :class:`BitWidthError` if any element of ``value`` lies outside ``[lo, hi]``.

    ``value`` may be a scalar or an array; NaN, inf and non-integers are refused too.
    """
    arr = np.asarray(value)
    loc = f" in {where}" if where else ""
    if arr.size == 0:
        return
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise BitWidthError(f"{name}{loc} contains NaN or inf; it must be an integer in [{lo}, {hi}]")
        if not np.all(arr == np.round(arr)):
            raise BitWidthError(f"{name}{loc} must be integer-valued (got non-integers); quantize it first")
    elif arr.dtype.kind not in "iub":
        raise BitWidthError(f"{name}{loc} must be an integer, got dtype {arr.dtype}")
    amin, amax = arr.min(), arr.max()
    if amin < lo or amax > hi:
        bad = amin if amin < lo else amax
        msg = f"{name}{loc} = {int(bad)} is outside its range [{lo}, {hi}]"
        raise BitWidthError(msg + (f": {hint}" if hint else ""))


@dataclass(frozen=True)
class ChipSpec:
    """A neuromorphic chip (or a board of identical chips).

    Geometry
    --------
    tiles_x, tiles_y : int
        Tiles on one chip's mesh. Spikes between tiles travel by XY
        (dimension-order) routing, one hop per tile boundary crossed.
    cores_per_tile : int
        Cores sharing one router; a spike between two cores of one tile makes no hop.
    chips_x, chips_y : int
        Chips on a board (1 x 1 = a single chip).
    chip_link_cost : float
        Placement cost of one chip-to-chip link crossing, in on-chip hops (default 4.0):
        the placer minimises ``hops + chip_link_cost * chip crossings`` per packet, so a
        higher value keeps traffic on one chip at the price of longer on-chip paths.
        ``compile(..., interchip_cost=)`` overrides it for one compile.

    Per-core limits
    ---------------
    neurons_per_core : int
        Neurons (compartments) one core holds.
    axons_in_per_core : int
        Input axons: distinct presynaptic sources (neuron or input channel, per delay) a core can receive.
    axons_out_per_core : int
        Output routes: distinct (neuron, destination core) pairs a core can send to.
    syn_mem_bits_per_core : int
        Synapse memory in bits.
    syn_word_bits, syn_row_header_bits : int
        Synapse memory is read in words of ``syn_word_bits``; each input axon's
        row carries ``syn_row_header_bits`` of header and is rounded up to whole words.

    Bit widths (all signed unless said)
    -----------------------------------
    weight_bits : signed weight mantissa (8 on Loihi).
    weight_exp_min, weight_exp_max : range of the per-table weight exponent.
    u_bits, v_bits : current and voltage registers.
    decay_bits : unsigned du and dv, on a ``2**decay_bits`` scale.
    vth_bits : unsigned threshold mantissa, applied as ``vth << vth_shift``.
    act_shift : synaptic input enters the current as ``a << act_shift``.
    bias_mant_bits, bias_exp_bits : bias = mantissa (signed) << exponent (unsigned).
    refractory_bits : unsigned refractory period in steps.
    graded_bits : signed graded value carried by an input channel per step (0: the chip
        takes spikes only, as TrueNorth does).
    max_delay : longest synaptic delay in steps.
    supports_decay : False for chips whose neurons have no multiplicative leak (TrueNorth).
    learning_engine : True for chips with on-chip synaptic plasticity (Loihi's learning engine);
        ``g.connect(..., learning=rule)`` compiles only for them.

    Synapse rules (TrueNorth; the defaults leave other chips unrestricted)
    -----------------------------------------------------------------------
    axon_types : int
        0 = any weight per synapse. ``T > 0``: every input axon of a core has one of ``T``
        types, and the weight of synapse (axon a, neuron n) is the neuron's value for that
        type, ``s_n[type(a)]``: a neuron takes at most ``T`` distinct weights on its core, and
        an axon whose targets need different types occupies one axon per type (the compiler
        assigns them, :mod:`neurocore.mapping.axontypes`).
    single_target : bool
        True: a neuron's spikes reach exactly one axon on one core; ``compile`` inserts
        splitter (relay) neurons for larger fan-out (:mod:`neurocore.mapping.splitters`).

    Overflow
    --------
    u_overflow, v_overflow : "wrap" or "saturate", applied identically by the
        kernel and the NumPy reference; every event is counted.
    """

    name: str = "custom"
    tiles_x: int = 8
    tiles_y: int = 4
    cores_per_tile: int = 4
    chips_x: int = 1
    chips_y: int = 1
    neurons_per_core: int = 1024
    axons_in_per_core: int = 4096
    axons_out_per_core: int = 4096
    syn_mem_bits_per_core: int = 16384 * 64
    syn_word_bits: int = 64
    syn_row_header_bits: int = 10
    weight_bits: int = 8
    weight_exp_min: int = -8
    weight_exp_max: int = 7
    u_bits: int = 24
    v_bits: int = 24
    decay_bits: int = 12
    vth_bits: int = 17
    vth_shift: int = 6
    act_shift: int = 6
    bias_mant_bits: int = 13
    bias_exp_bits: int = 3
    refractory_bits: int = 6
    graded_bits: int = 16
    max_delay: int = 62
    supports_decay: bool = True
    learning_engine: bool = True
    u_overflow: str = "wrap"
    v_overflow: str = "saturate"
    chip_link_cost: float = 4.0
    axon_types: int = 0
    single_target: bool = False

    def __post_init__(self) -> None:
        ints = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.type == "int"}
        for k, val in ints.items():
            if not isinstance(val, int) or isinstance(val, bool):
                raise BitWidthError(f"ChipSpec.{k} must be an int, got {val!r}")
        positive = ("tiles_x", "tiles_y", "cores_per_tile", "chips_x", "chips_y", "neurons_per_core",
                    "axons_in_per_core", "axons_out_per_core", "syn_mem_bits_per_core", "syn_word_bits")
        for k in positive:
            if ints[k] < 1:
                raise BitWidthError(f"ChipSpec.{k} must be >= 1, got {ints[k]}")
        for k, (lo, hi) in {"weight_bits": (1, 16), "u_bits": (2, 32), "v_bits": (2, 32),
                            "decay_bits": (1, 16), "vth_bits": (1, 24), "vth_shift": (0, 16),
                            "act_shift": (0, 16), "bias_mant_bits": (1, 24), "bias_exp_bits": (0, 4),
                            "refractory_bits": (0, 16), "graded_bits": (0, 24), "max_delay": (1, 255),
                            "syn_row_header_bits": (0, 1024), "axon_types": (0, 64)}.items():
            if not lo <= ints[k] <= hi:
                raise BitWidthError(f"ChipSpec.{k} = {ints[k]} is outside the supported range [{lo}, {hi}]")
        if self.weight_exp_min > self.weight_exp_max or not -16 <= self.weight_exp_min <= self.weight_exp_max <= 16:
            raise BitWidthError(f"ChipSpec weight exponent range [{self.weight_exp_min}, {self.weight_exp_max}] "
                                "must be ordered and within [-16, 16]")
        c = self.chip_link_cost
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) or c < 0:
            raise BitWidthError(f"ChipSpec.chip_link_cost must be a finite number >= 0 (on-chip hops per chip "
                                f"crossing), got {c!r}")
        if not isinstance(self.single_target, bool):
            raise BitWidthError(f"ChipSpec.single_target must be True or False, got {self.single_target!r}")
        for k in ("u_overflow", "v_overflow"):
            if getattr(self, k) not in OVERFLOW_RULES:
                raise BitWidthError(f"ChipSpec.{k} = {getattr(self, k)!r}; choose one of {OVERFLOW_RULES}")

    # ---- derived geometry -------------------------------------------------
    @property
    def cores_per_chip(self) -> int:
        return self.tiles_x * self.tiles_y * self.cores_per_tile

    @property
    def n_chips(self) -> int:
        return self.chips_x * self.chips_y

    @property
    def n_cores(self) -> int:
        """Cores on the whole board."""
        return self.cores_per_chip * self.n_chips

    @property
    def mesh_x(self) -> int:
        """Tiles along x across the whole board."""
        return self.tiles_x * self.chips_x

    @property
    def mesh_y(self) -> int:
        return self.tiles_y * self.chips_y

    def core_xy(self, core):
        """(x, y) of a core's tile on the board-wide tile mesh (ints, or arrays for an array of cores).

        Cores are numbered tile by tile, row-major over the board's tile grid.
        """
        return self.tile_xy(self.tile_of(core))

    # Geometry of the board, in one place: cores are numbered tile by tile (``cores_per_tile``
    # per tile), tiles row-major over the board's ``mesh_x x mesh_y`` tile mesh, and each chip
    # is a ``tiles_x x tiles_y`` block of that mesh, chips numbered row-major over
    # ``chips_x x chips_y``. Each method takes a scalar or an array and answers in kind.
    def tile_of(self, core):
        """Tile index of each physical core."""
        if isinstance(core, (int, np.integer)):
            return int(core) // self.cores_per_tile
        return np.asarray(core, np.int64) // self.cores_per_tile

    def tile_xy(self, tile):
        """(x, y) on the board's tile mesh of each tile index."""
        t = int(tile) if isinstance(tile, (int, np.integer)) else np.asarray(tile, np.int64)
        return t % self.mesh_x, t // self.mesh_x

    def tile_grid(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(x, y) of every tile of the board, indexed by tile."""
        return self.tile_xy(np.arange(self.mesh_x * self.mesh_y, dtype=np.int64))

    def chip_xy_of_tile(self, tile):
        """(x, y) of the chip holding each tile, on the ``chips_x x chips_y`` board."""
        x, y = self.tile_xy(tile)
        return x // self.tiles_x, y // self.tiles_y

    def chip_of(self, core):
        """Chip index (row-major over the board) of each physical core."""
        cx, cy = self.chip_xy_of_tile(self.tile_of(core))
        return cy * self.chips_x + cx

    def chips_used(self, cores) -> int:
        """Distinct chips a placement touches (``cores``: physical core of every used slot)."""
        cores = np.asarray(cores, np.int64)
        return int(np.unique(self.chip_of(cores)).size) if cores.size else 0

    def tile_hops(self, src_tile, dst_tile):
        """XY-routing hops between tiles: (east-west, north-south, chip-to-chip), element-wise.

        A route crosses ``|dx|`` horizontal and ``|dy|`` vertical links; of those, the
        chip-to-chip hops are the chip-boundary crossings, ``|dcx| + |dcy|`` in chip coordinates.
        """
        sx, sy = self.tile_xy(src_tile)
        dx, dy = self.tile_xy(dst_tile)
        ew, ns = abs(sx - dx), abs(sy - dy)
        chip = abs(sx // self.tiles_x - dx // self.tiles_x) + abs(sy // self.tiles_y - dy // self.tiles_y)
        return ew, ns, chip

    @property
    def index_bits(self) -> int:
        """Bits to name a neuron within a core (the target field of a synapse entry)."""
        return max(1, math.ceil(math.log2(self.neurons_per_core)))

    @property
    def synapse_bits(self) -> int:
        """Bits one sparse synapse entry takes: weight mantissa + target index."""
        return self.weight_bits + self.index_bits

    # ---- ranges ------------------------------------------------------------
    @property
    def weight_range(self) -> tuple[int, int]:
        return signed_range(self.weight_bits)

    @property
    def u_range(self) -> tuple[int, int]:
        """Range of u: wrap gives (-2**(b-1), 2**(b-1)] as Lava does; saturate gives +-(2**(b-1) - 1)."""
        h = 1 << (self.u_bits - 1)
        return (-h + 1, h) if self.u_overflow == "wrap" else (-h + 1, h - 1)

    @property
    def v_range(self) -> tuple[int, int]:
        h = 1 << (self.v_bits - 1)
        return (-h + 1, h) if self.v_overflow == "wrap" else (-h + 1, h - 1)

    def describe(self) -> str:
        """One paragraph a person can read."""
        return (f"{self.name}: {self.n_chips} chip(s) x {self.tiles_x}x{self.tiles_y} tiles x "
                f"{self.cores_per_tile} cores = {self.n_cores} cores; per core {self.neurons_per_core} neurons, "
                f"{self.axons_in_per_core} input axons, {self.axons_out_per_core} output axons, "
                f"{self.syn_mem_bits_per_core // 8192} KiB synapse memory; {self.weight_bits}-bit weights, "
                f"{self.u_bits}/{self.v_bits}-bit u/v ({self.u_overflow}/{self.v_overflow})")

"""Program: a graph mapped onto a chip. Plain data: arrays and small records."""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurocore.chip.spec import ChipSpec

__all__ = ["InputMap", "LayerStats", "MappingInfo", "PopulationMap", "Program"]


@dataclass(frozen=True)
class PopulationMap:
    """Where a population's neurons live: global neuron indices ``offset .. offset + n``."""

    name: str
    offset: int
    n: int
    neuron_type: str
    #: (core slot, start, stop): positions ``start .. stop`` of ``order`` (population indices if no order)
    pieces: tuple[tuple[int, int, int], ...]
    #: packing order, position -> neuron index within the population; None = identity
    order: NDArray[np.int64] | None = None

    def piece_neurons(self, i: int) -> NDArray[np.int64]:
        """Population indices of the neurons of piece ``i``."""
        _, lo, hi = self.pieces[i]
        return np.arange(lo, hi) if self.order is None else np.asarray(self.order[lo:hi])


@dataclass(frozen=True)
class InputMap:
    """An input node's channels: global channel indices ``offset .. offset + n``."""

    name: str
    offset: int
    n: int
    graded: bool


class _ReadAsDict:
    """Read-only ``obj["key"]`` / ``obj.get(key)`` access for code written against the dict form."""

    def to_dict(self) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def __getitem__(self, key: str):
        return self.to_dict()[key]

    def get(self, key: str, default=None):
        return self.to_dict().get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.to_dict()

    def keys(self):
        return self.to_dict().keys()


def _split_known(cls, d: dict) -> dict:
    """``d`` as keyword arguments of dataclass ``cls``: known fields as they are, the rest in ``extra``."""
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    kw = {k: v for k, v in d.items() if k in names}
    kw["extra"] = {k: v for k, v in d.items() if k not in names}
    return kw


def _drop_none(cls, obj) -> dict:
    out = {f.name: getattr(obj, f.name) for f in dataclasses.fields(cls) if f.name != "extra"}
    return {**{k: v for k, v in out.items() if v is not None}, **obj.extra}


@dataclass(frozen=True)
class LayerStats(_ReadAsDict):
    """One projection as compiled: what the energy report, the dense baselines and NeuroBench read.

    ``to_dict()`` is the dict form (``Program.layer_stats``, saved in Program files); optional
    fields that do not apply are None there and left out of the dict.
    """

    name: str
    src: str
    dst: str
    #: "dense", "conv2d", "sparse", ... (:attr:`neurocore.graph.nodes.Projection.kind`)
    kind: str
    n_src: int
    n_dst: int
    #: stored synapses (nonzero weights)
    synapses: int
    #: multiply-accumulates of the dense layer this projection computes, per evaluation
    dense_macs: int
    #: signed weight-mantissa width, bits
    weight_bits: int
    #: weight exponent (weights act as ``mantissa << (act_shift + weight_exp)``)
    weight_exp: int
    #: synaptic delay, steps
    delay: int
    #: the projection lies on a cycle of the graph (evaluated every step by a dense baseline)
    recurrent: bool
    #: synapse unit pricing its synaptic ops (:mod:`neurocore.mapping.units`); None: the default for its kind
    synapse_unit: str | None = None
    #: the learning rule (:meth:`neurocore.LearningRule.to_dict`) of a plastic projection
    learning: dict | None = None
    #: distinct stored weights of a conv kernel (kernel_shape product)
    n_weights: int | None = None
    #: conv2d geometry (as the converter recorded it)
    kernel_shape: Any = None
    in_shape: Any = None
    out_shape: Any = None
    stride: Any = None
    padding: Any = None
    dilation: Any = None
    groups: Any = None
    #: "shared" or "expanded" conv weight storage
    storage: str | None = None
    #: any other entry of the dict form, kept as it is
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> LayerStats:
        return cls(**_split_known(cls, d))

    def to_dict(self) -> dict:
        return _drop_none(LayerStats, self)


@dataclass
class MappingInfo(_ReadAsDict):
    """How compile placed the network: method, choices, chips used and estimated hops per step.

    Hops are per step for the placement traffic (``traffic``: every neuron fires once, synapses
    reached, or measured rates), against in-order placement.
    """

    method: str
    seed: int
    #: cost of a chip-to-chip hop relative to an on-chip hop in the placement objective
    interchip_cost: float
    est_hops: float
    est_hops_chip: float
    est_hops_in_order: float
    est_hops_chip_in_order: float
    conv_storage: str = "expanded"
    packing: str = "stream"
    inputs_on: str = "host"
    traffic: str = "all-fire"
    #: chips the placement touches (:meth:`neurocore.chip.ChipSpec.chips_used`)
    n_chips_used: int | None = None
    #: a proven lower bound on cores (:mod:`neurocore.mapping.bound`) and the resource that sets it
    core_bound: int | None = None
    bound_binding: str | None = None
    #: splitter neurons added (single-target chips)
    splitters: int | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> MappingInfo:
        return cls(**_split_known(cls, d))

    def to_dict(self) -> dict:
        return _drop_none(MappingInfo, self)


#: ``program.meta`` keys that became typed fields: key -> (field, how the old dict form reads it).
_MOVED_META = {
    "codec": ("codec", lambda p: p.codec),
    "mapping": ("mapping", lambda p: None if p.mapping is None else p.mapping.to_dict()),
    "est_hops": ("mapping", lambda p: None if p.mapping is None else p.mapping.est_hops),
}


class ProgramMeta(dict):
    """``Program.meta``: free-form entries, plus deprecated reads of the keys that became fields.

    ``meta["codec"]``, ``meta["mapping"]`` and ``meta["est_hops"]`` still read (a copy, for
    ``mapping``) with a ``DeprecationWarning`` naming the field: ``program.codec``,
    ``program.mapping``.
    """

    def __init__(self, owner: Program, entries: dict) -> None:
        super().__init__(entries)
        self._owner = owner

    def _moved(self, key: str):
        fld, read = _MOVED_META[key]
        warnings.warn(f"program.meta[{key!r}] is deprecated: read program.{fld}", DeprecationWarning, stacklevel=3)
        return read(self._owner)

    def __getitem__(self, key):
        if key in _MOVED_META and not dict.__contains__(self, key):
            value = self._moved(key)
            if value is None:
                raise KeyError(key)
            return value
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        if key in _MOVED_META and not dict.__contains__(self, key):
            value = self._moved(key)
            return default if value is None else value
        return dict.get(self, key, default)

    def __contains__(self, key) -> bool:
        if key in _MOVED_META and not dict.__contains__(self, key):
            return _MOVED_META[key][1](self._owner) is not None
        return dict.__contains__(self, key)

    def __setitem__(self, key, value) -> None:
        if key in ("codec", "mapping"):
            warnings.warn(f"program.meta[{key!r}] = ... is deprecated: set program.{key}", DeprecationWarning,
                          stacklevel=2)
            object.__setattr__(self._owner, key, _typed(key, value))
            return
        dict.__setitem__(self, key, value)


def _typed(key: str, value):
    if key == "mapping" and isinstance(value, dict):
        return MappingInfo.from_dict(value)
    return value


@dataclass
class Program:
    """A compiled network: per-core neuron parameters, synapse tables and routes.

    Neurons are numbered globally (population by population); sources are the
    neurons followed by the input channels. Arrays:

    Neurons (N): ``du``, ``dv`` (unsigned decay_bits), ``vth`` (mantissa),
    ``bias_mant``, ``bias_exp``, ``refractory``, ``reset`` (0 zero, 1 subtract),
    ``u0``, ``v0``, ``neuron_core`` (core slot).

    Synapse rows (R), one per (source, destination core, projection):
    ``row_ptr`` (R+1) into ``target`` (global neuron index), ``weight`` (signed
    mantissa), and per row ``row_shift`` (act_shift + weight_exp), ``row_delay``,
    ``row_core``, ``row_words`` (synapse-memory words the row occupies and a
    delivery reads), ``row_proj`` (projection index).

    Packets (P), one per (source, destination core): ``src_pk_ptr`` (S+1),
    ``pk_core``, ``pk_row_ptr`` (P+1) into ``pk_rows``.

    Rows also carry ``row_shared`` (1: a shared-kernel conv row, whose ``row_words`` count
    only the weights a delivery reads). ``core_syn_bits`` (K) is the synapse memory of each
    core slot under the storage model of :mod:`neurocore.mapping.partition`.

    Cores: ``core_ids`` maps each used core slot to its physical core on the board. A slot
    may hold pieces of several populations (small consecutive layers, or with balanced
    packing a neuron-heavy and a memory-heavy layer side by side); a population has at most
    one piece per slot.

    Typed fields: ``codec`` (the converter's input codec and output decoding, used by
    :meth:`neurocore.Simulator.run`; None for a hand-built graph), ``mapping``
    (:class:`MappingInfo`: placement method, seed, traffic, conv storage, packing, chips used,
    ``core_bound``, estimated hops per step against in-order placement) and ``layers``
    (:class:`LayerStats` per projection; ``projections`` is their dict form, as saved).
    ``meta`` holds the rest (the conversion report, splitters, replicas); its old
    ``meta["codec"]`` / ``meta["mapping"]`` entries read with a ``DeprecationWarning``.
    """

    chip: ChipSpec
    populations: dict[str, PopulationMap]
    inputs: dict[str, InputMap]
    projections: list[dict]
    arrays: dict[str, NDArray]
    core_ids: NDArray[np.int32]
    meta: dict = field(default_factory=dict)
    #: the Graph the program runs when compile rewrote it (splitter neurons on a single-target
    #: chip, :mod:`neurocore.mapping.splitters`); None otherwise. Not saved with the program.
    graph: object = None
    #: the converter's codec (:class:`neurocore.convert.Codec`): input encoding, output decoding
    codec: Any = None
    #: how the network was placed (None for a Program assembled by hand)
    mapping: MappingInfo | None = None

    def __post_init__(self) -> None:
        entries = dict(self.meta)
        # entries of the dict era (old files, hand-made meta) become the typed fields
        codec, mapping = entries.pop("codec", None), entries.pop("mapping", None)
        entries.pop("est_hops", None)
        if self.codec is None:
            self.codec = codec
        if self.mapping is None and mapping is not None:
            self.mapping = _typed("mapping", mapping)
        self.meta = ProgramMeta(self, entries)

    @property
    def layers(self) -> tuple[LayerStats, ...]:
        """Per projection, its compiled statistics (typed; ``layer_stats`` is the dict form)."""
        return tuple(LayerStats.from_dict(p) for p in self.projections)

    # ---- sizes ---------------------------------------------------------------
    @property
    def n_neurons(self) -> int:
        return int(self.arrays["du"].shape[0])

    @property
    def n_inputs(self) -> int:
        return sum(i.n for i in self.inputs.values())

    @property
    def n_cores_used(self) -> int:
        return int(self.core_ids.shape[0])

    @property
    def n_delay_slots(self) -> int:
        d = self.arrays["row_delay"]
        return int(d.max()) + 1 if d.size else 1

    @property
    def neurons_per_core_used(self) -> NDArray[np.int64]:
        return np.bincount(self.arrays["neuron_core"], minlength=self.n_cores_used)

    @property
    def layer_stats(self) -> list[dict]:
        """Per projection: name, n_src, n_dst, synapses, dense_macs, weight_bits, recurrent."""
        return [dict(p) for p in self.projections]

    # ---- resources -------------------------------------------------------------
    def core_usage(self) -> dict[str, NDArray[np.int64]]:
        """Per used core: neurons, input axons (rows), output axons (packets sent), synapse bits."""
        a, k = self.arrays, self.n_cores_used
        pk_src_core = np.full(a["pk_core"].shape, -1, np.int64)
        src_of_pk = np.repeat(np.arange(a["src_pk_ptr"].shape[0] - 1), np.diff(a["src_pk_ptr"]))
        is_neuron = src_of_pk < self.n_neurons
        pk_src_core[is_neuron] = a["neuron_core"][src_of_pk[is_neuron]]
        return {
            "neurons": np.bincount(a["neuron_core"], minlength=k),
            "axons_in": np.bincount(a["row_core"], weights=a.get("row_axons"), minlength=k).astype(np.int64),
            "axons_out": np.bincount(pk_src_core[is_neuron], minlength=k),
            "synapse_bits": (np.asarray(a["core_syn_bits"], np.int64) if "core_syn_bits" in a else
                             np.bincount(a["row_core"], weights=a["row_words"], minlength=k).astype(np.int64)
                             * self.chip.syn_word_bits),
        }

    def summary(self) -> str:
        """Cores used; per-core use of neurons, axons and synapse memory; estimated hops."""
        c, use = self.chip, self.core_usage()
        lim = {"neurons": c.neurons_per_core, "axons_in": c.axons_in_per_core,
               "axons_out": c.axons_out_per_core, "synapse_bits": c.syn_mem_bits_per_core}
        m = {} if self.mapping is None else self.mapping.to_dict()
        chips = f" on {m['n_chips_used']} of {c.n_chips} chips" if c.n_chips > 1 and "n_chips_used" in m else ""
        lines = [(f"Program on {c.name}: {self.n_cores_used} of {c.n_cores} cores{chips}, {self.n_neurons} neurons, "
                  f"{self.arrays['target'].shape[0]} synapses, {self.arrays['pk_core'].shape[0]} routes")]
        if "core_bound" in m:
            b = m["core_bound"]
            lines.append(f"  cores {self.n_cores_used} vs lower bound {b} ({self.n_cores_used / b:.2f}x; the bound is "
                         f"set by {m.get('bound_binding', '?')})")
        spl = self.meta.get("splitters")
        if spl:
            lines.append(f"  splitter neurons {spl['n_splitters']:,} on {spl['splitter_cores']} cores (one target per "
                         f"neuron; {spl.get('rounds', 1)} round(s)), {sum(spl['added_delay'].values())} "
                         "projection(s) one step later")
        lines.append(f"  {'per core':<13} {'max':>9}   {'limit':<9} {'mean':>11}")
        for k, v in use.items():
            if v.size:
                lines.append(f"  {k:<13} {int(v.max()):>9} / {lim[k]:<9} {v.mean():>11.1f}"
                             f"  ({100 * v.max() / lim[k]:5.1f}% of a core at most)")
        if m:
            def pct(a, b):
                return f"{100 * (1 - a / b):+.1f}%" if b else "n/a"
            lines.append(f"  placement {m['method']} (seed {m['seed']}, traffic {m.get('traffic', 'all-fire')}, "
                         f"{m.get('conv_storage', 'expanded')} conv storage, {m.get('packing', 'stream')} packing)")
            lines.append(f"  estimated hops per step: {m['est_hops']:,.0f} (in-order {m['est_hops_in_order']:,.0f}, "
                         f"cut {pct(m['est_hops'], m['est_hops_in_order'])})")
            if c.n_chips > 1:
                lines.append(f"  estimated inter-chip hops per step: {m['est_hops_chip']:,.0f} "
                             f"(in-order {m['est_hops_chip_in_order']:,.0f})")
        lines.append(self._table_line())
        return "\n".join(lines)

    # ---- checks --------------------------------------------------------------------
    def validate(self, where: str = "program") -> Program:
        """Check every documented field against the others and the chip; returns ``self``.

        Run by :meth:`load` and by :class:`~neurocore.Simulator` before the kernel sees the
        tables (the kernel does no bounds checks). Call it after editing ``arrays`` by hand.
        Raises ``FileFormatError`` naming the field (see :mod:`neurocore.mapping.validate`).
        """
        from neurocore.mapping.validate import validate_program

        validate_program(self, where)
        return self

    def _table_line(self) -> str:
        """Simulator memory: bytes of the kernel's synapse and route tables per stored synapse."""
        from neurocore.sim import kernel_tables, table_bytes

        tb = kernel_tables(self)
        n_syn = int(self.arrays["target"].shape[0])
        nbytes = table_bytes(tb)
        per = f"{nbytes / n_syn:.2f} bytes per synapse" if n_syn else "no synapses"
        return (f"  simulator tables: {nbytes:,} bytes, {per} ({tb['weight'].dtype} weights, "
                f"{tb['target'].dtype} targets)")

    # ---- files ---------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the Program to ``path`` (versioned, checksummed ``.npz``); see :meth:`load`."""
        from neurocore.mapping.io import save_program

        return save_program(self, path)

    @classmethod
    def load(cls, path) -> Program:
        """Read a Program written by :meth:`save` and :meth:`validate` it; raises ``FileFormatError``
        naming the file and the field on a bad file."""
        from neurocore.mapping.io import load_program

        return load_program(path)

    def __repr__(self) -> str:
        return self.summary().splitlines()[0]

"""Program: a graph mapped onto a chip. Plain data: arrays and small records."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from neurocore.chip.spec import ChipSpec

__all__ = ["InputMap", "PopulationMap", "Program"]


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

    ``meta["mapping"]``: placement method, seed, traffic, conv storage, packing, chips used,
    ``core_bound`` (a proven lower bound on cores, :mod:`neurocore.mapping.bound`) and
    ``bound_binding`` (the resource that sets it), and the
    estimated hops per step (``est_hops``, ``est_hops_chip``) against in-order placement
    (``est_hops_in_order``, ``est_hops_chip_in_order``).
    """

    chip: ChipSpec
    populations: dict[str, PopulationMap]
    inputs: dict[str, InputMap]
    projections: list[dict]
    arrays: dict[str, NDArray]
    core_ids: NDArray[np.int32]
    meta: dict = field(default_factory=dict)

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
            "axons_in": np.bincount(a["row_core"], minlength=k),
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
        m = self.meta.get("mapping", {})
        chips = f" on {m['n_chips_used']} of {c.n_chips} chips" if c.n_chips > 1 and "n_chips_used" in m else ""
        lines = [(f"Program on {c.name}: {self.n_cores_used} of {c.n_cores} cores{chips}, {self.n_neurons} neurons, "
                  f"{self.arrays['target'].shape[0]} synapses, {self.arrays['pk_core'].shape[0]} routes")]
        if "core_bound" in m:
            b = m["core_bound"]
            lines.append(f"  cores {self.n_cores_used} vs lower bound {b} ({self.n_cores_used / b:.2f}x; the bound is "
                         f"set by {m.get('bound_binding', '?')})")
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
        elif "est_hops" in self.meta:
            lines.append(f"  estimated hops per all-fire step: {self.meta['est_hops']}")
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

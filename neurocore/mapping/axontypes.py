"""Axon types: serve every synapse weight from a few per-neuron values (TrueNorth).

On a chip with ``axon_types = T > 0`` (TrueNorth: T = 4, Merolla et al., Science
345:668, 2014, supplementary S1) the crossbar of a core is binary: synapse (axon a,
neuron n) is present or not, and its weight is ``s_n[type(a)]``, one signed value per
neuron per axon type, the type being a property of the axon shared by every neuron of
the core. So

* a neuron can take at most ``T`` distinct weights on its core (``AxonTypeError``
  otherwise, naming the neuron and the synapse that brings the first value too many);
* each neuron's values are given slots by a fixed rule: positive values, largest first,
  in slots 0, 1, ...; negative values, most negative first, in slots T-1, T-2, ...
  (a neuron with the ternary weights {-s, 0, +s} of Esser et al., PNAS 113:11441, 2016
  uses slot 0 for +s and slot T-1 for -s);
* a synapse's type is the slot of its weight in its target neuron's table, and one
  logical input row (a source reaching a core) occupies one physical axon per distinct
  type among its synapses: an axon is duplicated onto two axons when its targets need
  different types. ``row_axons`` counts them; the input-axon limit applies to their sum.

The colouring rule is the same on every core and never changes a weight, so it never
changes results; it is the compiler's check that the weights can be typed, and its
axon count (what the rows cost on the chip).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neurocore.chip.spec import ChipSpec
from neurocore.errors import AxonTypeError

__all__ = ["AxonTyping", "assign_axon_types"]


@dataclass(frozen=True)
class AxonTyping:
    """The types of one compiled program.

    Attributes
    ----------
    syn_type : (n_syn,) int8
        Axon type of each synapse entry (0 .. T-1).
    row_axons : (R,) int32
        Physical axons each row occupies (distinct types among its synapses).
    neuron_values : (N, T) int32
        ``s_n[t]``: the scaled weight (``w << shift``) neuron n takes from an axon of type t (0 if unused).
    """

    syn_type: NDArray[np.int8]
    row_axons: NDArray[np.int32]
    neuron_values: NDArray[np.int32]


def assign_axon_types(arr: dict, n_neurons: int, chip: ChipSpec,
                      name_of: Callable[[int], str] | None = None) -> AxonTyping:
    """Type every synapse of ``arr`` (the tables of :func:`~neurocore.mapping.tables.build_tables`).

    Parameters
    ----------
    arr : dict
        ``row_ptr``, ``target``, ``wscaled``, ``row_src`` of the program.
    n_neurons : int
    chip : ChipSpec
        ``chip.axon_types`` = T > 0.
    name_of : callable, optional
        Source index -> readable name (``"layer[3]"``), for the error message.

    Raises
    ------
    AxonTypeError
        A neuron takes more than T distinct weights: names the neuron, its count, and the
        synapse (source, weight) bringing the first value beyond T.
    """
    T = chip.axon_types
    name_of = name_of or (lambda i: f"source {i}")
    tgt = arr["target"].astype(np.int64)
    val = arr["wscaled"].astype(np.int64)
    nnz = np.diff(arr["row_ptr"])
    row_of = np.repeat(np.arange(nnz.shape[0]), nnz)
    # distinct (neuron, value) pairs; rank each value within its neuron (positives from slot 0 up,
    # negatives from slot T-1 down)
    pos = val > 0
    mag_key = np.where(pos, -val, val)                       # larger |w| first within each sign
    order = np.lexsort((mag_key, ~pos, tgt))
    t_s, v_s, p_s = tgt[order], val[order], pos[order]
    new = np.ones(t_s.shape[0], bool)
    new[1:] = (t_s[1:] != t_s[:-1]) | (v_s[1:] != v_s[:-1])
    uniq = np.flatnonzero(new)
    ut, uv, up = t_s[uniq], v_s[uniq], p_s[uniq]
    first_of_neuron = np.ones(ut.shape[0], bool)
    first_of_neuron[1:] = ut[1:] != ut[:-1]
    grp = np.cumsum(first_of_neuron) - 1
    start = np.flatnonzero(first_of_neuron)
    rank = np.arange(ut.shape[0]) - start[grp]
    n_distinct = np.bincount(ut, minlength=n_neurons)
    if ut.size and n_distinct.max() > T:
        _refuse(int(np.argmax(n_distinct > T)), n_distinct, ut, uv, tgt, val, row_of, arr, T, name_of)
    n_pos = np.bincount(ut[up], minlength=n_neurons)
    slot = np.where(up, rank, T - 1 - (rank - n_pos[ut]))
    values = np.zeros((n_neurons, T), np.int32)
    values[ut, slot] = uv
    syn_slot = np.empty(tgt.shape[0], np.int8)
    syn_slot[order] = np.repeat(slot, np.diff(np.append(uniq, t_s.shape[0]))).astype(np.int8)
    row_axons = np.zeros(nnz.shape[0], np.int32)
    if tgt.size:
        key = np.unique(row_of * T + syn_slot)
        row_axons = np.bincount(key // T, minlength=nnz.shape[0]).astype(np.int32)
    return AxonTyping(syn_slot, row_axons, values)


def _refuse(n: int, n_distinct, ut, uv, tgt, val, row_of, arr, T: int, name_of) -> None:
    vals = uv[ut == n]
    extra = int(vals[T])
    k = int(np.flatnonzero((tgt == n) & (val == extra))[0])
    src = int(arr["row_src"][row_of[k]])
    shown = ", ".join(str(int(x)) for x in vals[:8]) + (", ..." if vals.size > 8 else "")
    raise AxonTypeError(
        f"neuron {name_of(n)} takes {int(n_distinct[n])} distinct weights on its core ({shown}), but an axon has "
        f"one of {T} types and a neuron one weight per type: the synapse from {name_of(src)} with weight {extra} "
        f"cannot be typed. Quantize each neuron's weights to at most {T} values (nc.convert(..., chip=...) does "
        "for this chip), or use a chip with axon_types=0")

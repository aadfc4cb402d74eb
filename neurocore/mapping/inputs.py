"""Where external inputs enter the chip: injected by the host, or sent from cores of their own.

``inputs_on="host"`` (the default): the host (or an embedded CPU) writes each input
value straight into the destination core; the packet is counted (``input_packets``)
but makes no hops and loads no link. ``inputs_on="cores"``: every input node gets
``ceil(n / neurons_per_core)`` cores of its own (the lowest-numbered physical cores
no neuron uses, taken in order), as SANA-FE maps input neurons; its packets then leave
that core like spikes, make hops, load links, and the sending core's generation time
counts them. Input cores hold no neurons and no synapses.
"""
from __future__ import annotations

import math

import numpy as np

from neurocore.chip.spec import ChipSpec
from neurocore.errors import MappingError

__all__ = ["INPUT_PLACEMENTS", "place_inputs"]

INPUT_PLACEMENTS = ("host", "cores")


def place_inputs(inputs: dict, chip: ChipSpec, core_ids: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Core slots for the input channels.

    Parameters
    ----------
    inputs : dict of name -> InputMap
        The Program's inputs (``offset``, ``n``), channels numbered in order.
    chip : ChipSpec
    core_ids : (K,) int array
        Physical core of each neuron core slot.
    mode : {"host", "cores"}

    Returns
    -------
    core_ids : (K + K_in,) int32
        ``core_ids`` with the input cores appended as new slots.
    chan_core : (C,) int32
        Core slot each channel is sent from; -1 when the host injects it.

    Raises
    ------
    MappingError
        Unknown mode, or not enough free cores for the inputs.
    """
    n_chan = sum(im.n for im in inputs.values())
    chan_core = np.full(n_chan, -1, np.int32)
    if mode == "host":
        return np.asarray(core_ids, np.int32), chan_core
    if mode != "cores":
        raise MappingError(f"inputs_on = {mode!r}; choose one of {INPUT_PLACEMENTS}")
    need = sum(math.ceil(im.n / chip.neurons_per_core) for im in inputs.values())
    free = np.setdiff1d(np.arange(chip.n_cores), np.asarray(core_ids, np.int64))
    if need > free.size:
        raise MappingError(f"inputs_on='cores' needs {need} free cores for {n_chan} input channels "
                           f"({chip.neurons_per_core} per core); chip '{chip.name}' has {free.size} left: use "
                           "inputs_on='host', a larger board, or fewer neurons per input")
    slot, taken = len(core_ids), []
    for im in inputs.values():
        for first in range(0, im.n, chip.neurons_per_core):
            last = min(im.n, first + chip.neurons_per_core)
            chan_core[im.offset + first: im.offset + last] = slot
            taken.append(int(free[len(taken)]))
            slot += 1
    return np.concatenate([np.asarray(core_ids, np.int64), np.asarray(taken, np.int64)]).astype(np.int32), chan_core

"""compile(graph, chip) -> Program: check ranges, partition, place, build tables and routes."""
from __future__ import annotations

import numpy as np

from neurocore.chip.presets import loihi
from neurocore.chip.spec import ChipSpec, check_range, signed_range, unsigned_range
from neurocore.errors import BitWidthError, GraphError, MappingError
from neurocore.graph.graph import Graph
from neurocore.graph.nodes import Input
from neurocore.mapping.partition import partition
from neurocore.mapping.place import place_in_order
from neurocore.mapping.program import InputMap, PopulationMap, Program
from neurocore.mapping.tables import build_tables

__all__ = ["compile"]

_NEURON_KEYS = ("du", "dv", "vth", "bias_mant", "bias_exp", "refractory", "reset", "u0", "v0")


def _neuron_ranges(chip: ChipSpec) -> dict[str, tuple[int, int, str]]:
    return {
        "du": (*unsigned_range(chip.decay_bits), f"{chip.decay_bits}-bit unsigned"),
        "dv": (*unsigned_range(chip.decay_bits), f"{chip.decay_bits}-bit unsigned"),
        "vth": (*unsigned_range(chip.vth_bits), f"{chip.vth_bits}-bit unsigned"),
        "bias_mant": (*signed_range(chip.bias_mant_bits), f"{chip.bias_mant_bits}-bit signed"),
        "bias_exp": (*unsigned_range(chip.bias_exp_bits), f"{chip.bias_exp_bits}-bit unsigned"),
        "refractory": (*unsigned_range(chip.refractory_bits), f"{chip.refractory_bits}-bit unsigned"),
        "u0": (*chip.u_range, f"{chip.u_bits}-bit u"),
        "v0": (*chip.v_range, f"{chip.v_bits}-bit v"),
    }


def compile(graph: Graph, chip: ChipSpec | None = None) -> Program:  # noqa: A001 - the stage's name
    """Map ``graph`` onto ``chip`` (default :func:`neurocore.chip.loihi`).

    Raises
    ------
    BitWidthError
        A neuron parameter, weight, exponent or delay lies outside the chip's widths.
    MappingError
        The network does not fit: names the layer, the limit, the need and the budget.
    """
    chip = chip or loihi()
    if not isinstance(graph, Graph):
        raise GraphError(f"compile() takes a neurocore Graph, got {type(graph).__name__}; convert models "
                         "with nc.convert() first")
    pops = graph.populations
    if not pops:
        raise GraphError("the graph has no population to map; add one with g.population(n, neuron)")

    # ---- neurons ------------------------------------------------------------------
    ranges = _neuron_ranges(chip)
    params = {k: [] for k in _NEURON_KEYS}
    pop_offset, off = {}, 0
    for pop in pops:
        low = pop.neuron.lowered(pop.n, chip.decay_bits)
        for k, (lo, hi, what) in ranges.items():
            if k in low:
                check_range(f"{type(pop.neuron).__name__}.{k}", low[k], lo, hi, where=f"population '{pop.name}'",
                            hint=f"{what} on chip '{chip.name}'")
        if not chip.supports_decay and (np.any(low["du"] != (1 << chip.decay_bits) - 1) or np.any(low["dv"] != 0)):
            raise MappingError(f"population '{pop.name}': chip '{chip.name}' has no multiplicative decay; "
                               "use IF neurons (or CubaLIF with du=max, dv=0)")
        for k in _NEURON_KEYS:
            params[k].append(low[k])
        pop_offset[pop.name] = off
        off += pop.n
    n_neurons = off
    arr = {k: np.concatenate(v) for k, v in params.items()}

    src_offset, inputs, coff = {}, {}, 0
    for node in graph.inputs:
        inputs[node.name] = InputMap(node.name, coff, node.n, node.graded)
        src_offset[node.name] = n_neurons + coff
        coff += node.n
    src_offset.update(pop_offset)
    n_sources = n_neurons + coff

    # ---- projections --------------------------------------------------------------
    wlo, whi = chip.weight_range
    recurrent = graph.recurrent_projections()
    srcs, dsts, ws, pidx, shifts, delays, stats = [], [], [], [], [], [], []
    for j, proj in enumerate(graph.projections.values()):
        where = f"projection '{proj.name}'"
        check_range("weight", proj.weights.data, wlo, whi, where=where,
                    hint=f"{chip.weight_bits}-bit signed mantissa on chip '{chip.name}'; divide the weights "
                         "and raise weight_exp, or use more weight_bits")
        if not chip.weight_exp_min <= proj.weight_exp <= chip.weight_exp_max:
            raise BitWidthError(f"{where}: weight_exp = {proj.weight_exp} is outside its range "
                                f"[{chip.weight_exp_min}, {chip.weight_exp_max}] on chip '{chip.name}'")
        shift = chip.act_shift + proj.weight_exp
        if shift < 0:
            raise BitWidthError(f"{where}: weight_exp = {proj.weight_exp} would shift weights right past the "
                                f"chip's act_shift ({chip.act_shift}); use weight_exp >= {-chip.act_shift}")
        if proj.weights.nnz and int(np.abs(proj.weights.data).max()) << shift >= 1 << 31:
            raise BitWidthError(f"{where}: weights << {shift} exceed 32 bits; lower weight_exp")
        if not 0 <= proj.delay <= chip.max_delay:
            raise BitWidthError(f"{where}: delay = {proj.delay} is outside [0, {chip.max_delay}] "
                                f"(chip '{chip.name}' max_delay)")
        coo = proj.weights.tocoo()
        srcs.append(coo.col.astype(np.int64) + src_offset[proj.src])
        dsts.append(coo.row.astype(np.int64) + pop_offset[proj.dst])
        ws.append(coo.data)
        pidx.append(np.full(coo.nnz, j, np.int64))
        shifts.append(shift)
        delays.append(proj.delay)
        n_src, n_dst = proj.weights.shape[1], proj.weights.shape[0]
        stats.append({"name": proj.name, "src": proj.src, "dst": proj.dst, "kind": proj.kind, "n_src": n_src,
                      "n_dst": n_dst, "synapses": proj.n_synapses,
                      "dense_macs": int(proj.meta.get("dense_macs", n_src * n_dst if proj.kind == "dense"
                                                      else proj.n_synapses)),
                      "weight_bits": chip.weight_bits, "weight_exp": proj.weight_exp, "delay": proj.delay,
                      "recurrent": proj.name in recurrent})

    # ---- partition and place --------------------------------------------------------
    pieces = partition(graph, chip)
    order = [(p.name, lo, hi) for p in pops for (lo, hi) in pieces[p.name]]
    core_ids = place_in_order(len(order), chip, [p.name for p in pops])
    neuron_core = np.empty(n_neurons, np.int32)
    pop_pieces: dict[str, list] = {p.name: [] for p in pops}
    for slot, (name, lo, hi) in enumerate(order):
        neuron_core[pop_offset[name] + lo: pop_offset[name] + hi] = slot
        pop_pieces[name].append((slot, lo, hi))

    cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
    tables = build_tables(cat(srcs, np.int64), cat(dsts, np.int64), cat(ws, np.int64), cat(pidx, np.int64),
                          np.asarray(shifts, np.int64), np.asarray(delays, np.int64), neuron_core, n_sources,
                          chip, core_ids)
    arr.update(tables)
    arr["neuron_core"] = neuron_core

    program = Program(
        chip=chip,
        populations={p.name: PopulationMap(p.name, pop_offset[p.name], p.n, type(p.neuron).__name__,
                                           tuple(pop_pieces[p.name])) for p in pops},
        inputs=inputs, projections=stats, arrays=arr, core_ids=core_ids, meta=dict(graph.meta),
    )
    _check_out_axons(program)
    return program


def _check_out_axons(program: Program) -> None:
    chip = program.chip
    use = program.core_usage()
    over = np.flatnonzero(use["axons_out"] > chip.axons_out_per_core)
    if over.size:
        slot = int(over[0])
        name = next(p.name for p in program.populations.values() if any(s == slot for s, _, _ in p.pieces))
        raise MappingError(f"layer '{name}' piece on core slot {slot} needs {int(use['axons_out'][slot]):,} output "
                           f"axons (routes to other cores); a core has {chip.axons_out_per_core:,}: reduce fan-out "
                           "or use a chip with more output axons")

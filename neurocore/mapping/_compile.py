"""compile(graph, chip) -> Program: check ranges, partition, place, build tables and routes."""
from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from neurocore.chip.presets import loihi
from neurocore.chip.spec import ChipSpec, check_range, signed_range, unsigned_range

from neurocore.errors import BitWidthError, GraphError, MappingError, SingleTargetError
from neurocore.graph.graph import Graph
from neurocore.mapping.axontypes import assign_axon_types
from neurocore.mapping.bound import CoreBound, core_bound
from neurocore.mapping.partition import is_shared, kernel_channel_bits, partition, piece_binding
from neurocore.mapping.inputs import place_inputs
from neurocore.mapping.place import place
from neurocore.mapping.replicate import compile_replicas
from neurocore.mapping.program import InputMap, MappingInfo, PopulationMap, Program
from neurocore.mapping.tables import build_routes, build_tables_csr, packet_sources
from neurocore.progress import stage_bar
from neurocore.resources import check_compile
from neurocore.mapping.units import synapse_unit_of

__all__ = ["compile"]

#: Networks of at least this many synapses show a compile progress bar by default.
PROGRESS_MIN_SYNAPSES = 1_000_000

_NEURON_KEYS = ("du", "dv", "vth", "bias_mant", "bias_exp", "refractory", "reset", "u0", "v0")


def _neuron_ranges(chip: ChipSpec) -> dict[str, tuple[int, int, str]]:
    return {
        "du": (*unsigned_range(chip.decay_bits), f"{chip.decay_bits}-bit unsigned"),
        "dv": (*unsigned_range(chip.decay_bits), f"{chip.decay_bits}-bit unsigned"),
        "vth": (*unsigned_range(chip.vth_bits), f"{chip.vth_bits}-bit unsigned"),
        "bias_mant": (*signed_range(chip.bias_mant_bits), f"{chip.bias_mant_bits}-bit signed"),
        "bias_exp": (*unsigned_range(chip.bias_exp_bits), f"{chip.bias_exp_bits}-bit unsigned"),
        "refractory": (*unsigned_range(chip.refractory_bits), f"{chip.refractory_bits}-bit unsigned"),
        # initial state: any value a register of that width holds in either convention
        # (two's complement [-2**(b-1), 2**(b-1)-1] or Lava's wrapped (-2**(b-1), 2**(b-1)])
        "u0": (-(1 << (chip.u_bits - 1)), 1 << (chip.u_bits - 1), f"{chip.u_bits}-bit u"),
        "v0": (-(1 << (chip.v_bits - 1)), 1 << (chip.v_bits - 1), f"{chip.v_bits}-bit v"),
    }


def compile(graph: Graph, chip: ChipSpec | None = None, *, conv_storage: str = "expanded",
            placement: str = "anneal", seed: int = 0, traffic=None, interchip_cost: float | None = None,
            packing: str = "auto", inputs_on: str = "host", replicas: int | str = 1,
            memory_limit: float | None = None, progress: bool | None = None) -> Program:
    """Map ``graph`` onto ``chip`` (default :func:`neurocore.chip.loihi`).

    Parameters
    ----------
    graph : Graph
    chip : ChipSpec, optional
        A chip, or a board of chips (``chips_x * chips_y > 1``): a network that does not fit
        one chip spreads over the board; inter-chip hops are counted separately.
    conv_storage : {"expanded", "shared"}
        How conv2d weights are stored: one entry per synapse, or one kernel copy per core
        (see :mod:`neurocore.mapping.partition` for the memory model). Never changes results.
    placement : {"in_order", "greedy", "anneal"}
        How pieces are placed on the mesh (see :mod:`neurocore.mapping.place`).
    seed : int
        Seed of the annealer; the same seed gives the same Program.
    traffic : None, "synapses", RunResult or dict
        Edge weights for placement: None = every neuron fires once per step; "synapses" =
        synapses each packet reaches; a RunResult (its spike counts) or ``{population:
        spikes per step}`` = measured rates.
    interchip_cost : float, optional
        Cost of a chip-to-chip hop relative to an on-chip hop, in the placement objective
        (default: the chip's ``chip_link_cost``).
    packing : {"auto", "stream", "balanced"}
        How populations are cut into cores (see :func:`neurocore.mapping.partition.partition`):
        "stream" keeps each core to consecutive layers in graph order; "balanced" also lets a
        core mix a neuron-heavy and a memory-heavy layer; "auto" keeps whichever uses fewer
        cores (the stream cut on a tie). Never changes results.
    inputs_on : {"host", "cores"}
        Where external inputs enter (see :mod:`neurocore.mapping.inputs`): written into
        their destination cores by the host (no hops), or sent from cores of their own
        (hops and links counted, as SANA-FE maps input neurons). Never changes results.
    replicas : int or "fill"
        Place this many copies of the network on the chip (``"fill"``: as many as fit),
        each run on a different sample; see :mod:`neurocore.mapping.replicate`.
    memory_limit : float, optional
        Bytes compile may allocate (default: the cgroup limit or MemAvailable, see
        :mod:`neurocore.resources`); a larger estimate raises :class:`ResourceError` before any work.
    progress : bool, optional
        Show a progress bar over the compile stages on stderr (needs tqdm; default: for
        networks of a million synapses or more).

    Raises
    ------
    BitWidthError
        A neuron parameter, weight, exponent or delay lies outside the chip's widths.
    MappingError
        The network does not fit: names the layer, the limit, the need and the budget.
    AxonTypeError
        (chips with ``axon_types``) a neuron takes more distinct weights on its core than
        there are axon types: names the neuron and the synapse.
    SingleTargetError
        (chips with ``single_target``) splitter insertion did not reach one target per neuron.

    Notes
    -----
    On a ``single_target`` chip (TrueNorth) the graph is first rewritten with splitter
    neurons (:mod:`neurocore.mapping.splitters`); the Program runs that transformed graph,
    kept as ``program.graph``, with ``meta["splitters"]`` saying what was added.
    """
    chip = chip or loihi()
    if not isinstance(graph, Graph):
        raise GraphError(f"compile() takes a neurocore Graph, got {type(graph).__name__}; convert models "
                         "with nc.convert() first")
    opts = dict(conv_storage=conv_storage, placement=placement, seed=seed, traffic=traffic,
                interchip_cost=interchip_cost, packing=packing, inputs_on=inputs_on)
    if replicas != 1:
        return compile_replicas(compile, graph, chip, replicas, **opts)
    if chip.single_target:
        return _compile_single_target(graph, chip, opts)
    return _compile_one(graph, chip, memory_limit=memory_limit, progress=progress, **opts)


@dataclasses.dataclass
class _Sources:
    """Global numbering: neurons population by population, then input channels."""

    pop_offset: dict[str, int]
    src_offset: dict[str, int]
    inputs: dict[str, InputMap]
    n_neurons: int
    n_sources: int


def _compile_one(graph: Graph, chip: ChipSpec, *, conv_storage: str, placement: str, seed: int, traffic,
                 interchip_cost: float | None, packing: str, inputs_on: str, memory_limit: float | None,
                 progress: bool | None) -> Program:
    """compile() of one copy of ``graph`` on a multi-target chip: the pipeline steps in order."""
    pops = graph.populations
    if not pops:
        raise GraphError("the graph has no population to map; add one with g.population(n, neuron)")
    n_syn = sum(proj.n_synapses for proj in graph.projections.values())
    check_compile(graph, chip, memory_limit)  # refuse at once what would not fit in memory
    bar = stage_bar(["ranges", "partition", "tables", "placement", "routes"], "compiling",
                    n_syn >= PROGRESS_MIN_SYNAPSES if progress is None else progress)
    try:
        arr, pop_offset = _lower_neurons(pops, chip)
        src = _number_sources(graph, chip, pop_offset)
        bound = core_bound(graph, chip, conv_storage)  # a network that cannot fit is refused before costly steps
        if bound.cores > chip.n_cores:
            _bound_too_big(graph, bound, chip, conv_storage)
        table_in, stats = _projections(graph, chip, conv_storage, src)
        bar.next()
        parts, pop_pieces = _partition(graph, chip, conv_storage, packing, bound)
        bar.next()
        _tables(arr, table_in, parts, graph, chip, conv_storage, src)
        bar.next()
        core_ids, info = _place(arr, graph, chip, parts, pop_pieces, src, placement, seed, traffic, interchip_cost,
                                inputs_on)
        bar.next()
        arr.update(build_routes(arr, arr["neuron_core"], core_ids, chip, arr["chan_core"]))
    finally:
        bar.close()
    info.update(conv_storage=conv_storage, packing=parts.packing, inputs_on=inputs_on, traffic=_traffic_name(traffic),
                n_chips_used=chip.chips_used(core_ids), core_bound=bound.cores, bound_binding=bound.binding)
    meta = dict(graph.meta)
    codec = meta.pop("codec", None)
    program = Program(
        chip=chip,
        populations={p.name: PopulationMap(p.name, pop_offset[p.name], p.n, type(p.neuron).__name__,
                                           tuple(pop_pieces[p.name]), order=parts.orders[p.name])
                     for p in pops},
        inputs=src.inputs, projections=stats, arrays=arr, core_ids=core_ids, meta=meta,
        codec=codec, mapping=MappingInfo.from_dict(info),
    )
    _check_limits(program)
    return program


def _lower_neurons(pops, chip: ChipSpec) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Per-neuron kernel parameters of every population, range-checked; and each population's offset."""
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
    arr = {k: np.concatenate(v) for k, v in params.items()}
    arr.update(_adaptive_thresholds(pops, chip))
    return arr, pop_offset


def _number_sources(graph: Graph, chip: ChipSpec, pop_offset: dict[str, int]) -> _Sources:
    """Input channels numbered after the neurons; graded inputs refused on a spikes-only chip."""
    n_neurons = sum(p.n for p in graph.populations)
    src_offset, inputs, coff = {}, {}, 0
    for node in graph.inputs:
        if node.graded and chip.graded_bits == 0:
            raise MappingError(f"input '{node.name}' is declared graded, but chip '{chip.name}' takes spikes only "
                               "(graded_bits=0): feed spikes (rate coding), or use a chip with graded inputs")
        inputs[node.name] = InputMap(node.name, coff, node.n, node.graded)
        src_offset[node.name] = n_neurons + coff
        coff += node.n
    src_offset.update(pop_offset)
    return _Sources(pop_offset, src_offset, inputs, n_neurons, n_neurons + coff)


def _check_projection(proj, chip: ChipSpec) -> int:
    """Refuse a projection the chip cannot hold; returns its row shift (act_shift + weight_exp)."""
    where = f"projection '{proj.name}'"
    wlo, whi = chip.weight_range
    if proj.learning is not None and not chip.learning_engine:
        raise MappingError(f"{where} learns (rule {proj.learning.name}: dw='{proj.learning.dw}'), but chip "
                           f"'{chip.name}' has no learning engine; use a chip with learning_engine=True "
                           "(nc.chip.loihi()) or drop learning=")
    plastic_lo, plastic_hi = (-256, 255) if proj.learning is not None else (wlo, whi)
    check_range("weight", proj.weights.data, plastic_lo, plastic_hi, where=where,
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
    return shift


#: conv2d geometry a projection's meta may carry, copied into its layer statistics.
_CONV_KEYS = ("kernel_shape", "in_shape", "out_shape", "stride", "padding", "dilation", "groups")


def _layer_stats(proj, chip: ChipSpec, shared: bool, recurrent: bool) -> dict:
    """The dict form of :class:`~neurocore.mapping.program.LayerStats` for one projection."""
    n_src, n_dst = proj.weights.shape[1], proj.weights.shape[0]
    st = {"name": proj.name, "src": proj.src, "dst": proj.dst, "kind": proj.kind, "n_src": n_src,
          "n_dst": n_dst, "synapses": proj.n_synapses,
          "dense_macs": int(proj.meta.get("dense_macs", n_src * n_dst if proj.kind == "dense" else proj.n_synapses)),
          "weight_bits": chip.weight_bits, "weight_exp": proj.weight_exp, "delay": proj.delay,
          "recurrent": recurrent}
    if proj.learning is not None:
        st["learning"] = proj.learning.to_dict()
    if proj.kind == "conv2d" and "kernel_shape" in proj.meta:
        st["n_weights"] = int(np.prod(proj.meta["kernel_shape"]))
        st.update({k: proj.meta[k] for k in _CONV_KEYS if k in proj.meta})
        st["storage"] = "shared" if shared else "expanded"
    st["synapse_unit"] = synapse_unit_of(proj, st)
    return st


def _projections(graph: Graph, chip: ChipSpec, conv_storage: str, src: _Sources) -> tuple[list, list[dict]]:
    """Each projection checked: the table builder's input and the layer statistics."""
    recurrent = graph.recurrent_projections()
    table_in, stats = [], []
    for proj in graph.projections.values():
        shift = _check_projection(proj, chip)
        shared = is_shared(proj, conv_storage)
        table_in.append((proj.weights, src.src_offset[proj.src], src.pop_offset[proj.dst], shift, proj.delay, shared))
        stats.append(_layer_stats(proj, chip, shared, proj.name in recurrent))
    return table_in, stats


def _partition(graph: Graph, chip: ChipSpec, conv_storage: str, packing: str, bound: CoreBound):
    """Cut populations into core slots; refuse a cut that needs more cores than the chip has."""
    parts = partition(graph, chip, conv_storage, packing, bound=bound.cores)
    if graph.meta.get("splitters", {}).get("relays"):
        from neurocore.mapping.splitters import align_relays

        parts = align_relays(parts, graph, chip, conv_storage, packing, bound.cores)
    pop_pieces = {p.name: parts.pieces(p.name) for p in graph.populations}
    if parts.n_cores > chip.n_cores:
        _too_many_cores(graph, pop_pieces, parts.n_cores, bound, chip, conv_storage,
                        piece_binding(graph, chip, parts, conv_storage))
    return parts, pop_pieces


def _tables(arr: dict, table_in: list, parts, graph: Graph, chip: ChipSpec, conv_storage: str,
            src: _Sources) -> None:
    """Synapse rows and packets (and axon types) into ``arr``, with per-core synapse memory."""
    neuron_core = parts.neuron_core().astype(np.int32)
    arr.update(build_tables_csr(table_in, neuron_core, src.n_sources, chip))
    if chip.axon_types:
        _type_axons(arr, graph, chip, src.pop_offset, src.src_offset, src.n_neurons, parts.n_cores)
    arr["neuron_core"] = neuron_core
    arr["core_syn_bits"] = _core_syn_bits(arr, graph, chip, parts.n_cores, conv_storage, src.pop_offset)


def _place(arr: dict, graph: Graph, chip: ChipSpec, parts, pop_pieces: dict, src: _Sources, placement: str,
           seed: int, traffic, interchip_cost: float | None, inputs_on: str) -> tuple[np.ndarray, dict]:
    """Physical core of every slot (and input channels' cores, ``arr["chan_core"]``) and the placement report."""
    W = traffic_matrix(arr, src.n_neurons, parts.n_cores, _rates(traffic, graph, src.pop_offset, src.n_neurons))
    link_cost = chip.chip_link_cost if interchip_cost is None else float(interchip_cost)
    names = [f"{p.name}: {len(pop_pieces[p.name])}" for p in graph.populations]
    core_ids, info = place(W, chip, placement, seed=seed, interchip_cost=link_cost, names=names)
    core_ids, arr["chan_core"] = place_inputs(src.inputs, chip, core_ids, inputs_on)
    return core_ids, info


def _adaptive_thresholds(pops, chip: ChipSpec) -> dict[str, np.ndarray]:
    """theta_inc, theta_decay, theta0 per neuron when some population has an adaptive threshold."""
    lows = [p.neuron.lowered(p.n, chip.decay_bits) for p in pops]
    if not any("theta_inc" in low for low in lows):
        return {}
    out = {}
    for k, hi in (("theta_inc", (1 << chip.vth_bits) - 1), ("theta_decay", (1 << chip.decay_bits) - 1),
                  ("theta0", (1 << chip.vth_bits) - 1)):
        vals = [low.get(k, np.zeros(p.n, np.int64)) for p, low in zip(pops, lows)]
        for p, v in zip(pops, vals):
            check_range(f"AdaptiveLIF.{k}", v, 0, hi, where=f"population '{p.name}'", hint=f"on chip '{chip.name}'")
        out[k] = np.concatenate(vals).astype(np.int64)
    return out


def _traffic_name(traffic) -> str:
    if traffic is None or isinstance(traffic, str):
        return traffic or "all-fire"
    return "rates"


def _rates(traffic, graph: Graph, pop_offset: dict, n_neurons: int):
    """Per-neuron packet weight: None (each neuron fires once), "synapses", or measured rates."""
    if traffic is None or traffic == "all-fire":
        return None
    if isinstance(traffic, str):
        if traffic != "synapses":
            raise MappingError(f"traffic = {traffic!r}; give 'all-fire', 'synapses', a RunResult, or a dict "
                               "{population: spikes per step per neuron}")
        return "synapses"
    rates = np.ones(n_neurons, float)
    counts = getattr(traffic, "spike_counts", None)
    if counts is not None:  # a RunResult: spikes per neuron per step, averaged over the batch
        steps = max(1, int(traffic.n_steps)) * max(1, int(traffic.batch_size))
        items = {k: np.asarray(v).sum(axis=0) / steps for k, v in counts.items()}
    elif isinstance(traffic, dict):
        items = traffic
    else:
        raise MappingError(f"traffic must be None, 'synapses', a RunResult or a dict of rates, got "
                           f"{type(traffic).__name__}")
    for name, r in items.items():
        if name not in pop_offset:
            raise MappingError(f"traffic names population {name!r}, which is not in the graph; populations are "
                               f"{list(pop_offset)}")
        n = graph[name].n
        r = np.broadcast_to(np.asarray(r, float), (n,))
        if not np.all(np.isfinite(r)) or np.any(r < 0):
            raise MappingError(f"traffic rates of population '{name}' must be finite and >= 0")
        rates[pop_offset[name]: pop_offset[name] + n] = r
    return rates


def traffic_matrix(arr: dict, n_neurons: int, n_slots: int, rates) -> sp.csr_matrix:
    """(K, K) packets per step between core slots (neuron sources only; inputs are injected)."""
    pk_src = packet_sources(arr)
    keep = pk_src < n_neurons
    a = arr["neuron_core"][pk_src[keep]].astype(np.int64)
    b = arr["pk_core"][keep].astype(np.int64)
    if isinstance(rates, str):  # synapses reached by each packet
        nnz = np.diff(arr["row_ptr"])
        per_pk = np.add.reduceat(nnz, arr["pk_row_ptr"][:-1]) if nnz.size else np.zeros(0, np.int64)
        wt = per_pk[keep].astype(float)
    elif rates is None:
        wt = np.ones(a.shape[0])
    else:
        wt = rates[pk_src[keep]]
    return sp.csr_matrix((wt, (a, b)), shape=(n_slots, n_slots))


def _core_syn_bits(arr: dict, graph: Graph, chip: ChipSpec, n_slots: int, conv_storage: str,
                   pop_offset: dict) -> np.ndarray:
    """Synapse-memory bits per core slot under the storage model of :mod:`.partition`."""
    shared_row = arr["row_shared"].astype(bool)
    rc = arr["row_core"].astype(np.int64)
    bits = np.bincount(rc[~shared_row], weights=arr["row_words"][~shared_row], minlength=n_slots) * chip.syn_word_bits
    bits = bits + np.bincount(rc[shared_row], minlength=n_slots) * chip.syn_row_header_bits
    has_shared = np.zeros(arr["neuron_core"].shape[0], bool)
    for j, proj in enumerate(graph.projections.values()):
        if not is_shared(proj, conv_storage):
            continue
        o, ho, wo = proj.meta["out_shape"]
        off, n = pop_offset[proj.dst], proj.weights.shape[0]
        has_shared[off: off + n] = True
        oc = np.arange(n) // (int(ho) * int(wo))
        key = np.unique(arr["neuron_core"][off: off + n].astype(np.int64) * int(o) + oc)
        bits = bits + np.bincount(key // int(o), minlength=n_slots) * kernel_channel_bits(proj, chip)
    bits = bits + np.bincount(arr["neuron_core"][has_shared], minlength=n_slots) * chip.index_bits
    return bits.astype(np.int64)


def _fixes(graph: Graph, chip: ChipSpec, conv_storage: str, binding: set[str]) -> str:
    """The options that apply to this network: a bigger board, fewer weight bits, shared conv storage."""
    fix = [f"use a board with more chips (ChipSpec chips_x, chips_y; '{chip.name}' has {chip.n_chips})"]
    if "synapse memory bits" in binding:
        fix.append(f"lower weight_bits (now {chip.weight_bits}; synapse memory binds)")
    if conv_storage == "expanded" and any(p.kind == "conv2d" and "kernel_shape" in p.meta
                                          for p in graph.projections.values()):
        fix.append("use conv_storage='shared' for the convolutions")
    return ", ".join(fix) + ", or shrink the network"


def _bound_too_big(graph: Graph, bound: CoreBound, chip: ChipSpec, conv_storage: str) -> None:
    binding = {la.binding for la in bound.layers} | {bound.binding}
    raise MappingError(f"the network needs {bound.cores:,} cores at least (a proven lower bound, set by "
                       f"{bound.binding}; per layer: {bound.per_layer()}); chip '{chip.name}' has "
                       f"{chip.n_cores:,} cores: {_fixes(graph, chip, conv_storage, binding)}")


def _too_many_cores(graph: Graph, pop_pieces: dict, total: int, bound: CoreBound, chip: ChipSpec,
                    conv_storage: str, binds: dict) -> None:
    counts = sorted(((len(pop_pieces[la.name]), la) for la in bound.layers), key=lambda t: -t[0])[:4]
    biggest = ", ".join(f"'{la.name}' {c:,} cores (binding: {binds[la.name][0]}, "
                        f"{100 * binds[la.name][1]:.0f}% of a core at most; bound {max(la.cores):,.1f})"
                        for c, la in counts)
    binding = {binds[la.name][0] for _, la in counts} | {bound.binding}
    raise MappingError(f"may fit: best found {total:,} cores, bound {bound.cores:,} (set by {bound.binding}); "
                       f"chip '{chip.name}' has {chip.n_cores:,}. Largest layers: {biggest}. "
                       f"{_fixes(graph, chip, conv_storage, binding)}")


def _check_limits(program: Program) -> None:
    """Every core within every limit (the partitioner guarantees it; this guards the accounting)."""
    chip = program.chip
    use = program.core_usage()
    limits = {"neurons": chip.neurons_per_core, "axons_in": chip.axons_in_per_core,
              "axons_out": chip.axons_out_per_core, "synapse_bits": chip.syn_mem_bits_per_core}
    for key, lim in limits.items():
        over = np.flatnonzero(use[key] > lim)
        if over.size:
            slot = int(over[0])
            name = next(p.name for p in program.populations.values() if any(s == slot for s, _, _ in p.pieces))
            raise MappingError(f"layer '{name}' piece on core slot {slot} needs {int(use[key][slot]):,} {key}; a "
                               f"core has {lim:,}: report this as a partitioner bug")


def _source_namer(src_offset: dict):
    names = sorted((off, name) for name, off in src_offset.items())

    def name_of(i: int) -> str:
        base, nm = max((b, nm) for b, nm in names if b <= i)
        return f"'{nm}'[{i - base}]"
    return name_of


def _type_axons(arr: dict, graph: Graph, chip: ChipSpec, pop_offset: dict, src_offset: dict, n_neurons: int,
                n_slots: int) -> None:
    """Axon types (:mod:`.axontypes`): per-synapse type, physical axons per row, per-neuron values."""
    typing = assign_axon_types(arr, n_neurons, chip, _source_namer(src_offset))
    arr["syn_type"], arr["row_axons"], arr["neuron_values"] = typing.syn_type, typing.row_axons, typing.neuron_values
    use = np.bincount(arr["row_core"], weights=typing.row_axons, minlength=n_slots).astype(np.int64)
    if use.size and use.max() > chip.axons_in_per_core:
        slot = int(np.argmax(use))
        rows = np.flatnonzero(arr["row_core"] == slot)
        dst = list(graph.projections.values())[int(arr["row_proj"][rows[0]])].dst
        raise MappingError(f"core slot {slot} (layer '{dst}') needs {int(use[slot])} input axons once each source "
                           f"takes one axon per axon type its targets need ({rows.size} sources); a core has "
                           f"{chip.axons_in_per_core}. Fewer distinct weights per neuron (ternary +-s) halve the "
                           "duplication; or lower the layer's fan-in")


def _multi_target(program: Program) -> np.ndarray:
    """Physical targets (axons) of every neuron: sum over its rows of the row's axons."""
    a = program.arrays
    per_row = a["row_axons"] if "row_axons" in a else np.ones(a["row_src"].shape[0], np.int32)
    return np.bincount(a["row_src"], weights=per_row, minlength=program.n_neurons)[:program.n_neurons]


def _compile_single_target(graph: Graph, chip: ChipSpec, kw: dict, rounds: int = 4) -> Program:
    """Compile with splitter neurons until every neuron has one target (see :mod:`.splitters`)."""
    from neurocore.mapping.splitters import SPLITTER_SUFFIX, graph_synapse_types, insert_splitters

    base = dataclasses.replace(chip, single_target=False)
    types = graph_synapse_types(graph, chip) if chip.axon_types else \
        {p.name: np.zeros(p.n_synapses, np.int64) for p in graph.projections.values()}
    # the first partition only locates the destination neurons; rows are not yet split by type
    program = compile(graph, dataclasses.replace(base, axon_types=0), **kw)
    for done in range(1, rounds + 1):
        core = program.arrays["neuron_core"]
        core_of = {n: core[program.populations[n].offset: program.populations[n].offset + graph[n].n]
                   for n in graph.nodes if n in program.populations}
        g, _info = insert_splitters(graph, chip, core_of, types)
        program = compile(g, base, **kw)
        targets = _multi_target(program)
        bad = np.flatnonzero(targets > 1)
        if not bad.size:
            break
    if bad.size:
        n = int(bad[0])
        pm = next(p for p in program.populations.values() if p.offset <= n < p.offset + p.n)
        raise SingleTargetError(f"neuron '{pm.name}'[{n - pm.offset}] still reaches {int(targets[n])} axons after "
                                f"{rounds} rounds of splitter insertion on chip '{chip.name}' (its relays were cut "
                                "across cores); a neuron there must have one target. Report this network")
    program.chip = chip
    program.graph = g
    spl = g.meta.get("splitters", {"relays": {}, "n_splitters": 0, "added_delay": {}, "latency_shift": {},
                                   "shifted": []})
    relay_pops = [program.populations[r + SPLITTER_SUFFIX] for r in spl["relays"]]
    cores = {s for pm in relay_pops for s, _, _ in pm.pieces}
    program.meta["splitters"] = dict(spl, splitter_cores=len(cores), rounds=done)
    program.mapping.splitters = spl["n_splitters"]
    return program

"""Run a compiled neurocore Program in SANA-FE (the optional ``sanafe`` package) for a cross-check.

``run_sanafe(program, inputs, n_steps)`` builds the same network in SANA-FE's bundled
Loihi architecture (``sanafe.load_loihi()``), maps every neuron and input channel to
the physical core neurocore placed it on, feeds the same input spikes and returns
SANA-FE's spikes, energy breakdown and simulated time. ``estimate(result,
"loihi-sanafe")`` of the neurocore run must then give the same figures (see
``tests/energy/test_sanafe.py`` and ``bench/energy_validation.py``).

What the translation assumes (each is checked, not silently bent):

* the chip is SANA-FE's Loihi mesh: 8 x 4 tiles of 4 cores. neurocore numbers tiles
  row-major (``tile = y * 8 + x``), SANA-FE column-major (``x * 4 + y``, arch.cpp); the
  bridge maps by (x, y), so hops are the same;
* neurons are ``IF`` or ``CubaLIF`` with ``du = 4095`` (no current memory), no bias, no
  refractory period, zero initial state: SANA-FE's ``leaky_integrate_fire`` with
  ``leak_decay = (4096 - dv) / 4096``, threshold ``vth`` and hard (``reset="zero"``) or
  soft (``"subtract"``) reset. SANA-FE keeps v in units of 1/64 (its 6-bit shift) and
  neurocore in units of 1 with weights scaled by ``2**(6 + weight_exp)``, so SANA-FE's
  weight is ``w * 2**weight_exp``;
* input values are spikes (0/1) and every input reaches its neurons with delay 1 like
  neuron spikes do in SANA-FE (an input neuron fires in step t, its targets integrate
  in step t + 1). neurocore projections from inputs must therefore have ``delay=1``;
* the synapse unit of each projection (``dense``, ``sparse``, ``conv``, see
  :mod:`neurocore.mapping.units`) becomes the destination group's SANA-FE synapse unit,
  so each destination population may receive one unit only.

Anything else raises :class:`~neurocore.errors.SimulationError` naming the reason.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurocore.errors import SimulationError

__all__ = ["SanafeRun", "run_sanafe"]

_UNIT_HW = {"dense": "loihi_dense_synapse", "sparse": "loihi_sparse_synapse", "conv": "loihi_conv_synapse"}


@dataclass(frozen=True)
class SanafeRun:
    """What SANA-FE reported for one sample.

    Attributes
    ----------
    spikes : dict of population -> (n_steps, n) bool
        Spikes of each population per step, in neurocore's step numbering.
    energy_J : dict
        SANA-FE's ``energy`` dict: ``total``, ``synapse``, ``dendrite``, ``soma``, ``network``.
    sim_time_s : float
        SANA-FE's simulated chip time for the run.
    messages : int
        Messages SANA-FE sent (``packets_sent``), input neurons' included.
    """

    spikes: dict[str, np.ndarray]
    energy_J: dict[str, float]
    sim_time_s: float
    messages: int


def _sanafe():
    try:
        import sanafe
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SimulationError("the SANA-FE cross-check needs the optional 'sanafe' package: pip install sanafe") from exc
    return sanafe


def _core_index(program, core_id: int) -> int:
    """SANA-FE core index of neurocore physical core ``core_id`` (same tile x, y and core offset)."""
    chip = program.chip
    x, y = chip.core_xy(int(core_id))
    off = int(core_id) % chip.cores_per_tile
    return (x * 4 + y) * 4 + off


def _check(program) -> None:
    chip = program.chip
    if (chip.mesh_x, chip.mesh_y, chip.cores_per_tile) != (8, 4, 4):
        raise SimulationError(f"chip '{chip.name}' is a {chip.mesh_x}x{chip.mesh_y} mesh of {chip.cores_per_tile}-core "
                              "tiles; SANA-FE's Loihi is 8x4 tiles of 4 cores")
    a = program.arrays
    if np.any(a["du"] != (1 << chip.decay_bits) - 1) or np.any(a["bias_mant"] != 0) or np.any(a["refractory"] != 0) \
            or np.any(a["u0"] != 0) or np.any(a["v0"] != 0):
        raise SimulationError("run_sanafe takes IF/CubaLIF neurons with du=max, no bias, no refractory period and zero "
                              "initial state")
    for st in program.projections:
        if st["delay"] != 1:
            raise SimulationError(f"projection '{st['name']}' has delay {st['delay']}; SANA-FE delivers every message "
                                  "one step later: use delay=1")


def _groups(sanafe, net, program) -> dict:
    units: dict[str, str] = {}
    for st in program.projections:
        unit = st.get("synapse_unit", "dense")
        if units.setdefault(st["dst"], unit) != unit:
            raise SimulationError(f"population '{st['dst']}' receives both {units[st['dst']]} and {unit} synapses; "
                                  "SANA-FE gives a destination group one synapse unit")
    a = program.arrays
    groups = {}
    for name, pm in program.populations.items():
        sl = slice(pm.offset, pm.offset + pm.n)
        dv, vth, reset = a["dv"][sl], a["vth"][sl], a["reset"][sl]
        if len(set(dv)) != 1 or len(set(vth)) != 1 or len(set(reset)) != 1:
            raise SimulationError(f"population '{name}': run_sanafe needs one dv, vth and reset per population")
        attrs = {"threshold": float(vth[0]), "leak_decay": (4096 - float(dv[0])) / 4096, "reset": 0.0,
                 "reset_mode": "soft" if int(reset[0]) == 1 else "hard"}
        groups[name] = net.create_neuron_group(name, pm.n, model_attributes=attrs, soma_hw_name="loihi_lif",
                                               default_synapse_hw_name=_UNIT_HW[units.get(name, "dense")],
                                               log_spikes=True)
    for name, im in program.inputs.items():
        groups[name] = net.create_neuron_group(name, im.n, log_spikes=False)
    return groups


def run_sanafe(program, inputs: np.ndarray, n_steps: int, timing: str = "simple") -> SanafeRun:
    """Simulate one sample of ``program`` in SANA-FE's Loihi model.

    Parameters
    ----------
    program : Program
        Compiled with ``inputs_on="cores"`` (input neurons on cores of their own, as in
        SANA-FE) or ``"host"`` (then input neuron k sits on its first destination core).
    inputs : (n_steps, channels) int array of 0/1
    n_steps : int
    timing : {"simple", "detailed"}
        SANA-FE's timing model.

    Returns
    -------
    SanafeRun
    """
    sanafe = _sanafe()
    _check(program)
    x = np.asarray(inputs)
    if x.shape != (n_steps, program.n_inputs) or not np.isin(x, (0, 1)).all():
        raise SimulationError(f"inputs must be 0/1 spikes of shape ({n_steps}, {program.n_inputs}), got {x.shape}")
    a = program.arrays
    chan_core = np.asarray(a.get("chan_core", np.full(program.n_inputs, -1)))
    first_dst = _first_destination(program)
    where, used = {}, {}
    for c in range(program.n_inputs):   # input channel -> (SANA-FE core, its input soma unit)
        slot = int(chan_core[c]) if chan_core[c] >= 0 else first_dst[c]
        core = _core_index(program, program.core_ids[slot])
        where[c] = (core, used.get(core, 0))
        used[core] = where[c][1] + 1
    arch = _arch(sanafe, max(used.values(), default=1))
    cores = arch.cores()
    net = sanafe.Network()
    groups = _groups(sanafe, net, program)
    for name, pm in program.populations.items():
        for i in range(pm.n):
            slot = int(a["neuron_core"][pm.offset + i])
            groups[name].neurons[i].map_to_core(cores[_core_index(program, program.core_ids[slot])])
    for name, im in program.inputs.items():
        for i in range(im.n):
            core, k = where[im.offset + i]
            n = groups[name].neurons[i]
            n.set_attributes(soma_hw_name=f"loihi_inputs[{k}]",
                             model_attributes={"spikes": [bool(v) for v in x[:, im.offset + i]]})
            n.map_to_core(cores[core])
    _connect(program, groups)
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    res = chip.sim(n_steps, timing_model=timing, processing_threads=1, spike_trace=True)
    return SanafeRun(spikes=_spikes(program, res["spike_trace"], n_steps), energy_J=dict(res["energy"]),
                     sim_time_s=float(res["sim_time"]), messages=int(res["packets_sent"]))


def _arch(sanafe, n_units: int):
    """SANA-FE's bundled loihi.yaml, with only as many ``loihi_inputs`` soma units per core as the
    program needs (SANA-FE declares 1024; building 128 x 1024 of them takes seconds and
    changes no figure: every input unit is priced 0 and only the ones used are touched)."""
    import pathlib
    import tempfile

    src = pathlib.Path(sanafe.__file__).parent / "examples" / "loihi.yaml"
    text = src.read_text(encoding="utf-8")
    key = "loihi_inputs[0..1023]"
    if key not in text:
        raise SimulationError(f"{src} does not declare {key}; run_sanafe expects SANA-FE 2.2.9's Loihi file")
    n = max(1, min(1024, int(n_units)))
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "loihi.yaml"
        path.write_text(text.replace(key, f"loihi_inputs[0..{n - 1}]"), encoding="utf-8")
        return sanafe.load_arch(str(path))


def _first_destination(program) -> dict[int, int]:
    """Host-injected channel -> the core slot of its first packet (where SANA-FE would hold it)."""
    a = program.arrays
    out = {}
    for c in range(program.n_inputs):
        s = program.n_neurons + c
        lo, hi = a["src_pk_ptr"][s], a["src_pk_ptr"][s + 1]
        out[c] = int(a["pk_core"][lo]) if hi > lo else 0
    return out


def _connect(program, groups) -> None:
    a = program.arrays
    N = program.n_neurons
    src_name = {}
    for n, pm in program.populations.items():
        src_name.update({pm.offset + i: (n, i) for i in range(pm.n)})
    for n, im in program.inputs.items():
        src_name.update({N + im.offset + i: (n, i) for i in range(im.n)})
    dst_name = {}
    for n, pm in program.populations.items():
        dst_name.update({pm.offset + i: (n, i) for i in range(pm.n)})
    nnz = np.diff(a["row_ptr"])
    row_of_syn = np.repeat(np.arange(nnz.size), nnz)
    scale = 2.0 ** (a["row_shift"].astype(np.float64) - 6)
    for k in range(a["target"].shape[0]):
        r = row_of_syn[k]
        sg, si = src_name[int(a["row_src"][r])]
        dg, di = dst_name[int(a["target"][k])]
        groups[sg].neurons[si].connect_to_neuron(groups[dg].neurons[di], {"weight": float(a["weight"][k]) * scale[r]})


def _spikes(program, trace, n_steps: int) -> dict[str, np.ndarray]:
    """Spikes per population and step from SANA-FE's trace (one list of fired neurons per step)."""
    out = {n: np.zeros((n_steps, pm.n), bool) for n, pm in program.populations.items()}
    for t, fired in enumerate(trace):
        for addr in fired:
            if addr.group_name in out:
                out[addr.group_name][t, addr.neuron_offset] = True
    return out

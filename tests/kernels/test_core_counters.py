"""Per-core per-step counters (RunResult.core_steps, core_totals, chip_time) and inputs placed on cores:
kernel == reference, and by hand."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

import neurocore as nc
from neurocore.errors import MappingError
from neurocore.kernels import reference as ref
from neurocore.sim import CORE_STEP_KEYS
from neurocore.steptime import TERMS, CoreTiming, default_timings, evaluate

from .strategies import networks


_seconds = st.lists(st.sampled_from([0.0, 1e-9, 3.5e-9, 0.1, 7.0, 1 / 3]), min_size=len(TERMS), max_size=len(TERMS))


@given(networks(), st.sampled_from(["host", "cores"]), st.lists(st.sampled_from([None, "dense", "sparse", "conv"]),
                                                                 min_size=5, max_size=5), _seconds, _seconds)
def test_core_steps_and_input_cores_match_reference(net, inputs_on, units, first, second):
    chip, g, x, T = net
    for proj, unit in zip(g.projections.values(), units):
        if unit is not None:
            proj.meta["synapse_unit"] = unit
    try:
        program = nc.compile(g, chip, inputs_on=inputs_on)
    except MappingError:
        assume(False)
    timings = (CoreTiming("drawn", tuple(first), tuple(second)),) + default_timings()
    r = nc.Simulator(program).run(x, n_steps=T, n_threads=2, record="core_steps", chip_time=timings)
    want = ref.simulate(g, chip, x, T)
    counted = ref.count(program, x, want["spikes"], want["active"])
    for k, v in counted["counters"].items():
        assert_array_equal(r.counters[k], v, err_msg=k)
    assert set(r.core_steps) == set(CORE_STEP_KEYS)
    for k, v in counted["core_steps"].items():
        assert_array_equal(r.core_steps[k], v, err_msg=f"core_steps[{k!r}]")
    assert_array_equal(r.busiest_link, counted["busiest_link"])
    assert_array_equal(r.link_packets, counted["link_packets"])
    for k, v in counted["core_steps"].items():
        assert_array_equal(r.core_totals[k], v.sum(axis=1), err_msg=f"core_totals[{k!r}]")
    # the kernel's chip-time sums equal the NumPy arithmetic on the reference's table, bit for bit
    assert set(r.chip_time) == {t.key for t in timings}
    for t in timings:
        want_t = evaluate(counted["core_steps"], program.neurons_per_core_used, t, counted["counters"]["timesteps"])
        assert_array_equal(r.chip_time[t.key], want_t, err_msg=t.name)
    # without record=, the same sums and totals, and no per-step table
    compact = nc.Simulator(program).run(x, n_steps=T, n_threads=1, chip_time=timings, block=1)
    assert compact.core_steps == {}
    for k in CORE_STEP_KEYS:
        assert_array_equal(compact.core_totals[k], r.core_totals[k])
    for key in r.chip_time:
        assert_array_equal(compact.chip_time[key], r.chip_time[key])


def _two_tile_net():
    """2 inputs -> a (2 neurons) -> b (1 neuron); 2 neurons per core, 1 core per tile, tiles in a row."""
    chip = nc.chip.ChipSpec(name="row", tiles_x=6, tiles_y=1, cores_per_tile=1, neurons_per_core=2)
    g = nc.Graph()
    x = g.input(2, name="x")
    a = g.population(2, nc.IF(vth=0, reset="zero"), name="a")
    b = g.population(1, nc.IF(vth=1000), name="b")
    g.connect(x, a, weights=[[1, 0], [0, 1]], delay=0, kind="dense")
    g.connect(a, b, weights=[[1, 1]], kind="sparse")
    return chip, g


def test_input_cores_by_hand():
    chip, g = _two_tile_net()
    p = nc.compile(g, chip, placement="in_order", inputs_on="cores")
    # a on core 0, b on core 1, the two input channels on the first free core (2)
    assert list(p.core_ids) == [0, 1, 2]
    assert list(p.arrays["chan_core"]) == [2, 2]
    x = np.zeros((1, 3, 2), np.int32)
    x[0, 0] = [1, 1]          # step 0: both inputs spike -> a spikes (vth 0) in step 0
    x[0, 2] = [1, 0]
    r = nc.Simulator(p).run(x, n_steps=3, record="core_steps")
    c = r.totals()
    # input packets: one per (channel value, destination core): 2 at step 0 + 1 at step 2, each 2 hops (tile 2 -> 0)
    assert c["input_packets"] == 3
    # a's spikes (2 at step 0, 1 at step 2) each send 1 packet, 1 hop (tile 0 -> 1)
    assert c["packets"] == 3
    assert c["hops_ew"] == 3 * 2 + 3 * 1
    cs = {k: v[0] for k, v in r.core_steps.items()}
    assert_array_equal(cs["packets_out"][:, 2], [2, 0, 1])        # the input core sends
    assert_array_equal(cs["packets_out"][:, 0], [2, 0, 1])        # a sends
    assert_array_equal(cs["packets_in"][:, 0], [2, 0, 1])         # a receives the inputs
    assert_array_equal(cs["packets_in"][:, 1], [2, 0, 1])         # b receives a's packets
    assert_array_equal(cs["spikes"][:, 0], [2, 0, 1])
    # x -> a is dense (dense unit), a -> b is sparse (sparse unit)
    assert_array_equal(cs["synops_sparse"][:, 1], [2, 0, 1])
    assert cs["synops_sparse"][:, 0].sum() == 0 and cs["synops_conv"].sum() == 0
    host = nc.Simulator(nc.compile(g, chip, placement="in_order")).run(x, n_steps=3, record="core_steps")
    assert host.totals()["hops_ew"] == 3 and host.program.n_cores_used == 2
    assert host.core_steps["packets_out"][0].sum() == 3           # only a's packets: the host sends the inputs
    for name in r.spike_counts:
        assert_array_equal(host.spike_counts[name], r.spike_counts[name])


def test_synapse_unit_override_is_checked():
    chip, g = _two_tile_net()
    g.projections["a.weight" if "a.weight" in g.projections else next(iter(g.projections))].meta["synapse_unit"] = "fast"
    with pytest.raises(MappingError, match="synapse_unit"):
        nc.compile(g, chip)


def test_inputs_on_is_checked():
    chip, g = _two_tile_net()
    with pytest.raises(MappingError, match="inputs_on"):
        nc.compile(g, chip, inputs_on="cpu")
    small = nc.chip.ChipSpec(name="tiny", tiles_x=2, tiles_y=1, cores_per_tile=1, neurons_per_core=2)
    with pytest.raises(MappingError, match="free cores"):
        nc.compile(g, small, inputs_on="cores")

"""Batch, continuation, freezing, partitioning, boards, files and export of learning runs."""
import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import neurocore as nc
from neurocore.errors import SimulationError


def stdp_net(mode="chip", n=12, m=6, three=False, seed=0):
    rng = np.random.default_rng(seed)
    g = nc.Graph()
    x = g.input(n, name="x")
    post = g.population(m, nc.CubaLIF(du=2048, dv=1024, vth=40), name="post")
    if three:
        rule = nc.learning.rstdp(learning_rate=1, A_plus=2, A_minus=-2, mode=mode, rng_seed=3)
        r = g.input(m, graded=True, name="reward")
        g.connect(r, post, weights=nc.one_to_one(m), delay=1, reward=True)
    else:
        rule = nc.learning.stdp(mode=mode, rng_seed=5, t_epoch=2, tau_plus=8, tau_minus=8)
    g.connect(x, post, weights=rng.integers(0, 120, (m, n)), learning=rule, name="syn")
    return g


def inputs(g, B=3, T=80, seed=1):
    rng = np.random.default_rng(seed)
    x = (rng.random((B, T, g.n_inputs)) < 0.2).astype(np.int32)
    if "reward" in g.nodes:
        x[:, :, 12:] = rng.integers(-20, 30, (B, T, g.nodes["reward"].n))
    return x


@pytest.mark.parametrize("mode", ["chip", "lava"])
@pytest.mark.parametrize("three", [False, True])
def test_batch_entries_learn_independently(mode, three):
    g = stdp_net(mode, three=three)
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    x = inputs(g)
    full = sim.run(x, n_steps=80)
    head = sim.run(x[:2], n_steps=80)
    assert_array_equal(full.weights["syn"][:2], head.weights["syn"])
    assert not np.array_equal(full.weights["syn"][0], full.weights["syn"][1])  # different inputs, own weights
    if mode == "lava":  # Lava's random numbers are the same for every sample: each alone equals the batch
        for b in range(3):
            assert_array_equal(sim.run(x[b:b + 1], n_steps=80).weights["syn"][0], full.weights["syn"][b])
    assert (full.weights["syn"] != g.projections["syn"].weights.toarray()[None]).any()


@pytest.mark.parametrize("mode", ["chip", "lava"])
def test_continuation_equals_one_run(mode):
    g = stdp_net(mode)
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    x = inputs(g, B=2, T=90)
    whole = sim.run(x, n_steps=90, probes={"post": ["spikes"]})
    a = sim.run(x[:, :37], n_steps=37)
    b = sim.run(x[:, 37:], n_steps=53, initial_state=a, probes={"post": ["spikes"]})
    assert_array_equal(b.weights["syn"], whole.weights["syn"])
    assert_array_equal(b.probes["post"]["spikes"], whole.probes["post"]["spikes"][:, 37:])
    assert_array_equal(b.final_state["v"], whole.final_state["v"])


def test_learning_false_freezes():
    g = stdp_net()
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    x = inputs(g)
    frozen = sim.run(x, n_steps=80, learning=False)
    w0 = g.projections["syn"].weights.toarray()
    assert_array_equal(frozen.weights["syn"], np.broadcast_to((w0 >> 1) << 1, (3, 6, 12)))
    assert frozen.counters["learning_updates"].sum() == 0
    same = sim.run(x, n_steps=80, learning={"syn": False})
    assert_array_equal(same.weights["syn"], frozen.weights["syn"])
    learnt = sim.run(x, n_steps=80)
    assert (learnt.counters["learning_epochs"] == 40).all()
    assert (learnt.counters["learning_updates"] == 40 * 72).all()
    assert (learnt.counters["trace_updates"] == 40 * 2 * (2 * 12 + 3 * 6)).all()
    with pytest.raises(SimulationError, match="not plastic"):
        sim.run(x, n_steps=80, learning={"nope": False})
    with pytest.raises(SimulationError, match="True, False"):
        sim.run(x, n_steps=80, learning="off")


def test_partitioned_and_board_equal_unpartitioned():
    g = stdp_net(n=20, m=10)
    x = inputs(g, B=2, T=60)
    big = nc.Simulator(nc.compile(g, nc.chip.loihi())).run(x, n_steps=60, probes={"post": ["spikes"]})
    small = dataclasses.replace(nc.chip.loihi(), neurons_per_core=3, tiles_x=2, tiles_y=2, chips_x=2, chips_y=2)
    prog = nc.compile(g, small)
    assert prog.n_cores_used >= 4 and len(prog.populations["post"].pieces) >= 4
    split = nc.Simulator(prog).run(x, n_steps=60, probes={"post": ["spikes"]})
    assert_array_equal(split.weights["syn"], big.weights["syn"])
    assert_array_equal(split.probes["post"]["spikes"], big.probes["post"]["spikes"])
    # one input packet per destination core: more cores, more packets, the same learning
    assert split.counters["input_packets"].sum() > big.counters["input_packets"].sum() > 0
    assert_array_equal(split.counters["synops"], big.counters["synops"])


def test_save_load_and_continue(tmp_path):
    g = stdp_net(three=True)
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    x = inputs(g, B=2)
    a = sim.run(x, n_steps=80)
    path = a.save(tmp_path / "learned.npz")
    back = nc.RunResult.load(path)
    assert_array_equal(back.weights["syn"], a.weights["syn"])
    assert_array_equal(back.tags["syn"]["tag_1"], a.tags["syn"]["tag_1"])
    c1 = sim.run(x, n_steps=80, initial_state=a)
    c2 = nc.Simulator(back.program).run(x, n_steps=80, initial_state=back)
    assert_array_equal(c1.weights["syn"], c2.weights["syn"])
    with pytest.raises(SimulationError, match="earlier learning run"):
        sim.run(x, n_steps=80, initial_state=object())
    with pytest.raises(SimulationError, match="does not match"):
        sim.run(x[:1], n_steps=80, initial_state=a)


def test_graph_file_and_learned_graph(tmp_path):
    g = stdp_net(three=True)
    g2 = nc.Graph.load(g.save(tmp_path / "g.npz"))
    assert g2.projections["syn"].learning == g.projections["syn"].learning
    assert g2.projections["syn"].n_synapses == 72
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    x = inputs(g, B=2)
    r = sim.run(x, n_steps=80)
    same = nc.Simulator(nc.compile(g2, nc.chip.loihi())).run(x, n_steps=80)
    assert_array_equal(same.weights["syn"], r.weights["syn"])
    lg = nc.learned_graph(g, r, sample=1)
    assert_array_equal(lg.projections["syn"].weights.toarray(), r.weights["syn"][1])
    assert lg.projections["syn"].learning is not None
    fixed = nc.learned_graph(g, r, sample=0, keep_learning=False)
    assert fixed.projections["syn"].learning is None
    with pytest.raises(SimulationError, match="outside the batch"):
        nc.learned_graph(g, r, sample=5)


def test_learning_arguments_need_a_plastic_program():
    g = nc.Graph()
    x = g.input(2)
    p = g.population(2, nc.CubaLIF(du=0, dv=0, vth=5))
    g.connect(x, p, weights=np.eye(2, dtype=int))
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    with pytest.raises(SimulationError, match="plastic"):
        sim.run(np.zeros((1, 3, 2), np.int32), n_steps=3, learning=False)


def test_learning_energy_priced_from_davies_table2():
    g = stdp_net()
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    x = inputs(g, B=2)
    r = sim.run(x, n_steps=80)
    rep = nc.energy.estimate(r, chip="loihi", baseline=None)
    term = next(t for t in rep.terms if t.kind == "learning")
    assert term.entry == "synop_learning_update" and term.value == 120
    assert term.count_per_inference == 40 * 72
    assert np.isclose(rep.breakdown_J["learning"], 40 * 72 * 120e-12)
    assert np.isclose(rep.latency_breakdown_s["learning"], 40 * 72 * 6.1e-9)  # one core holds the 72 synapses
    frozen = nc.energy.estimate(sim.run(x, n_steps=80, learning=False), chip="loihi", baseline=None)
    assert frozen.breakdown_J["learning"] == 0


def test_adaptive_threshold_rises_decays_and_is_exported():
    g = nc.Graph()
    x = g.input(4, graded=True, name="x")
    p = g.population(2, nc.AdaptiveLIF(du=4095, dv=0, vth=10, theta_inc=7, theta_decay=1024), name="p")
    g.connect(x, p, weights=np.eye(2, 4, dtype=int) * 100, delay=0)
    q = g.population(2, nc.CubaLIF(du=4095, dv=4095, vth=1), name="q")
    g.connect(p, q, weights=np.eye(2, dtype=int), learning=nc.learning.stdp(), name="syn")
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    T = 12
    xin = np.zeros((1, T, 4), np.int32)
    xin[0, :6, 0] = 30  # neuron 0 driven for 6 steps
    r = sim.run(xin, n_steps=T, probes={"p": ["v", "spikes"]})
    th = r.final_state["learn/theta"][0]
    s = r.probes["p"]["spikes"][0, :, 0]
    # replay theta: spike at v > (10 + theta) << 6, then theta <- trunc(theta * 3072 / 4096) + 7 * spike
    theta, want = 0, []
    for t in range(T):
        want.append(theta)
        theta = (theta * 3072) // 4096 + 7 * int(s[t])
    assert s.sum() > 1 and th[0] == theta and th[1] == 0
    lg = nc.learned_graph(g, r)
    assert_array_equal(lg.nodes["p"].neuron.theta0, th[:2])
    with pytest.raises(nc.BitWidthError, match="theta_inc"):
        nc.AdaptiveLIF(du=0, dv=0, vth=1, theta_inc=-1)

"""TrueNorth mapped as TrueNorth: axon types per core, one target per neuron (splitters)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import neurocore as nc
from neurocore.errors import AxonTypeError, BitWidthError, SingleTargetError
from neurocore.kernels import reference as ref
from neurocore.mapping.axontypes import assign_axon_types
from neurocore.mapping._compile import _multi_target
from neurocore.mapping.splitters import SPLITTER_SUFFIX

TN = nc.chip.truenorth()


def _core(rows: list[list[tuple[int, int]]]) -> dict:
    """Tables of one core: rows[i] = [(target neuron, weight), ...] of source i."""
    nnz = [len(r) for r in rows]
    return {"row_ptr": np.r_[0, np.cumsum(nnz)], "target": np.array([t for r in rows for t, _ in r]),
            "wscaled": np.array([w for r in rows for _, w in r]), "row_src": np.arange(len(rows))}


def test_typing_serves_every_weight_and_duplicates_mixed_axons():
    # source 0 reaches neuron 0 with +3 and neuron 1 with -2: two types, so two axons;
    # source 1 reaches both with their positive value: one axon; neuron 2 uses four values
    arr = _core([[(0, 3), (1, -2)], [(0, 3), (1, 5)], [(2, 7)], [(2, 1)], [(2, -1)], [(2, -9)], [(1, -2)]])
    t = assign_axon_types(arr, 3, TN)
    assert_array_equal(t.neuron_values[np.asarray(arr["target"]), t.syn_type], arr["wscaled"])
    assert_array_equal(t.row_axons, [2, 1, 1, 1, 1, 1, 1])
    assert_array_equal(t.neuron_values[2], [7, 1, -1, -9])      # positives from slot 0, negatives from slot 3
    assert_array_equal(t.neuron_values[0], [3, 0, 0, 0])
    assert_array_equal(t.neuron_values[1], [5, 0, 0, -2])


def test_typing_refuses_a_fifth_value_naming_neuron_and_synapse():
    g = nc.Graph()
    x = g.input(5, name="x")
    g.connect(x, g.population(2, nc.IF(vth=3), name="p"), [[0, 1, 0, 0, 0], [1, 2, 3, 4, -5]])
    with pytest.raises(AxonTypeError, match=r"neuron 'p'\[1\] takes 5 distinct weights.*synapse from 'x'\[4\] "
                                            r"with weight -5 cannot be typed"):
        nc.compile(g, TN)
    ok = nc.Graph()  # four values are served (and another chip takes five)
    ok.connect(ok.input(5, name="x"), ok.population(1, nc.IF(vth=3), name="p"), [[1, 2, 3, -4, 0]])
    assert nc.compile(ok, TN).arrays["neuron_values"].tolist() == [[3, 2, 1, -4]]
    assert "neuron_values" not in nc.compile(g, nc.chip.loihi()).arrays


def test_chipspec_rules_are_checked_and_off_by_default():
    assert (TN.axon_types, TN.single_target) == (4, True)
    assert (nc.chip.loihi().axon_types, nc.chip.loihi().single_target) == (0, False)
    with pytest.raises(BitWidthError, match="axon_types"):
        nc.chip.ChipSpec(axon_types=-1)
    with pytest.raises(BitWidthError, match="single_target"):
        nc.chip.ChipSpec(single_target="yes")


def _fanout(rng, delay_b=1):
    """x -> a (ternary-ish) -> b, c, d: a fans out to three populations and several types."""
    g = nc.Graph()
    x = g.input(20, name="x")
    a = g.population(40, nc.IF(vth=2), name="a")
    g.connect(x, a, (rng.random((40, 20)) < 0.3) * rng.choice([-2, 3], (40, 20)), name="a.weight")
    for name, n, d in (("b", 30, delay_b), ("c", 20, 3), ("d", 300, 2)):
        p = g.population(n, nc.IF(vth=3), name=name)
        g.connect(a, p, (rng.random((n, 40)) < 0.3) * rng.choice([-1, 2], (n, 40)), delay=d, name=f"{name}.weight")
    return g


def test_splitters_give_every_neuron_one_target(rng):
    g = _fanout(rng)
    p = nc.compile(g, TN)
    spl = p.meta["splitters"]
    assert spl["n_splitters"] == p.populations["a" + SPLITTER_SUFFIX].n > g["a"].n
    assert set(spl["relays"]) == {"a"} and spl["splitter_cores"] >= 1
    assert _multi_target(p).max() <= 1                                     # one axon per neuron, relays included
    assert p.core_usage()["axons_out"].max() <= TN.axons_out_per_core
    # delays >= 2 absorb the relay's step; delay 1 cannot: that path arrives one step later
    assert spl["added_delay"] == {"a.weight": 0, "b.weight": 1, "c.weight": 0, "d.weight": 0}
    assert spl["latency_shift"]["b"] == 1 and spl["latency_shift"]["c"] == 0
    assert p.graph.projections["c.weight"].delay == 2 and p.graph.projections["b.weight"].delay == 1
    assert "splitters" not in nc.compile(g, nc.chip.loihi()).meta          # other chips unaffected


def test_compiled_truenorth_equals_reference_of_the_transformed_graph(rng):
    g = _fanout(rng)
    p = nc.compile(g, TN)
    x = (rng.random((2, 25, 20)) < 0.4).astype(np.int32)
    r = nc.Simulator(p).run(x, 25, probes={n: ["v", "spikes"] for n in p.populations})
    want = ref.simulate(p.graph, TN, x, 25)
    for pm in p.populations.values():
        sl = slice(pm.offset, pm.offset + pm.n)
        assert_array_equal(r.probes[pm.name]["spikes"], want["spikes"][:, :, sl], err_msg=pm.name)
        assert_array_equal(r.probes[pm.name]["v"], want["v"][:, :, sl], err_msg=pm.name)
    # the original network's function: exact where delays absorbed the relay, one step late where not
    orig = ref.simulate(g, TN, x, 25)
    offs = {n: sum(q.n for q in g.populations[:i]) for i, n in enumerate(q.name for q in g.populations)}
    for name, lag in (("c", 0), ("d", 0), ("b", 1)):
        o = orig["spikes"][:, :, offs[name]: offs[name] + g[name].n]
        got = r.probes[name]["spikes"]
        assert_array_equal(got[:, lag:], o[:, :25 - lag], err_msg=name)
    assert r.spike_counts["a" + SPLITTER_SUFFIX].sum() > 0                  # relays fire, and are counted


def test_a_source_needing_more_relays_than_a_core_is_refused():
    g = nc.Graph()
    a = g.population(1, nc.IF(vth=1), name="hub")
    g.connect(a, g.population(300, nc.IF(vth=1), name="many"), np.ones((300, 1), np.int64))  # two cores ...
    assert nc.compile(g, TN).meta["splitters"]["n_splitters"] == 2          # ... two relays
    tn_small = dataclasses.replace(TN, neurons_per_core=4)
    g2 = nc.Graph()
    hub = g2.population(1, nc.IF(vth=1), name="hub")
    g2.connect(hub, g2.population(20, nc.IF(vth=1), name="fan"), np.ones((20, 1), np.int64))
    with pytest.raises(SingleTargetError, match=r"neuron 'hub'\[0\] needs 6 splitter neurons, more than one "
                                                r"core holds \(4\)"):
        nc.compile(g2, tn_small)


def test_converted_network_is_ternary_per_neuron():
    pytest.importorskip("sklearn")
    from neurocore.demo import digits_split, train_digits_mlp

    Xtr, Xte, ytr, yte = digits_split()
    mlp = train_digits_mlp(Xtr[:300], ytr[:300], hidden=(32,))
    g = nc.convert(mlp, calibration=Xtr[:200], chip=TN, encoding="rate")
    for proj in g.projections.values():
        w = proj.weights
        for i in range(w.shape[0]):
            vals = np.unique(np.abs(w.data[w.indptr[i]: w.indptr[i + 1]]))
            assert vals.size <= 1, (proj.name, i, vals)                       # {-s, 0, +s} per neuron
    p = nc.compile(g, TN)
    assert p.meta["splitters"]["n_splitters"] > 0
    r = nc.Simulator(p).run(Xte[:100], 24)
    assert r.accuracy(yte[:100]) > 0.8
    lo = nc.convert(mlp, calibration=Xtr[:200], chip=nc.chip.loihi())        # other chips keep full weights
    assert max(np.unique(np.abs(w.weights.data)).size for w in lo.projections.values()) > 4


def test_summary_and_save_load_of_a_split_program(rng, tmp_path):
    p = nc.compile(_fanout(rng), TN)
    assert "splitter neurons" in p.summary() and "one step later" in p.summary()
    q = nc.Program.load(p.save(tmp_path / "tn.npz"))
    assert q.chip == TN and q.meta["splitters"]["n_splitters"] == p.meta["splitters"]["n_splitters"]
    assert_array_equal(q.arrays["syn_type"], p.arrays["syn_type"])

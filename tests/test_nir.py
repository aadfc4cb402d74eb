"""NIR interchange: exact round trips, float import against an Euler simulation, errors."""
import numpy as np
import pytest

nir = pytest.importorskip("nir")

import neurocore as nc
from neurocore.errors import ConversionError, FileFormatError
from neurocore.nir import from_nir, load_nir, save_nir, to_nir

CHIP = nc.chip.loihi()


def _run(g, x, probes):
    return nc.Simulator(nc.compile(g, CHIP)).run(x, n_steps=x.shape[1], probes=probes)


def _assert_identical(g1, g2, x, probes):
    r1, r2 = _run(g1, x, probes), _run(g2, x, probes)
    assert r1.counters.keys() == r2.counters.keys()
    for k in r1.counters:
        np.testing.assert_array_equal(r1.counters[k], r2.counters[k], err_msg=k)
    for pop, d in r1.probes.items():
        for var, v in d.items():
            np.testing.assert_array_equal(v, r2.probes[pop][var], err_msg=f"{pop}.{var}")
    assert r1.counters["spikes"].sum() > 0
    return r1


def _roundtrip(g, tmp_path, name):
    path = save_nir(g, tmp_path / f"{name}.nir", dt=1e-3)
    g2 = load_nir(path)
    assert list(g2.nodes) == list(g.nodes) and list(g2.projections) == list(g.projections)
    for p in g.projections.values():
        q = g2.projections[p.name]
        assert (p.weights != q.weights).nnz == 0 and (p.weight_exp, p.delay, p.kind) == (q.weight_exp, q.delay, q.kind)
    return g2


def test_roundtrip_if_mlp(tmp_path):
    rng = np.random.default_rng(0)
    g = nc.Graph()
    x = g.input(20)
    h = g.dense(x, rng.integers(-50, 80, (30, 20)), nc.IF(vth=100, bias_mant=5, bias_exp=2), name="h")
    g.dense(h, rng.integers(-60, 60, (5, 30)), nc.IF(vth=np.arange(80, 85), v0=3), weight_exp=1, name="o")
    g.meta["note"] = "kept"
    n = to_nir(g)
    assert type(n.nodes["h"]).__name__ == "IF" and type(n.nodes["h.weight"]).__name__ == "Affine"
    np.testing.assert_array_equal(n.nodes["h.weight"].weight, g.projections["h.weight"].weights.toarray() * 64)
    np.testing.assert_array_equal(n.nodes["o"].v_threshold, np.arange(80, 85) * 64)
    g2 = _roundtrip(g, tmp_path, "mlp")
    assert g2.meta["note"] == "kept"
    inp = (rng.random((3, 40, 20)) < 0.3).astype(np.int32)
    _assert_identical(g, g2, inp, {"h": ["v", "spikes"], "o": ["u", "v"]})


def test_roundtrip_cubalif_recurrent_with_delays(tmp_path):
    rng = np.random.default_rng(1)
    g = nc.Graph()
    x = g.input(10)
    p = g.population(40, nc.CubaLIF(du=410, dv=205, vth=80, bias_mant=30, bias_exp=3, refractory=2,
                                     reset="subtract", v0=rng.integers(0, 4000, 40)), name="exc")
    q = g.population(10, nc.CubaLIF(du=4095, dv=0, vth=200, bias_mant=7), name="ro")   # dv = 0: LI -> IF in NIR
    g.connect(x, p, rng.integers(-20, 60, (40, 10)), delay=0)
    g.connect(p, p, rng.integers(-30, 30, (40, 40)) * (rng.random((40, 40)) < 0.2), delay=3)
    g.connect(p, q, rng.integers(-10, 30, (10, 40)), delay=2, weight_exp=-2)
    n = to_nir(g, dt=1e-3)
    types = {k: type(v).__name__ for k, v in n.nodes.items()}
    assert types["exc"] == "CubaLIF" and types["ro.syn"] == "LI" and types["ro"] == "IF"
    assert types["exc->exc#4.delay"] == "Delay"
    assert np.allclose(n.nodes["exc->exc#4.delay"].delay, 2e-3)                  # (d - 1) * dt
    assert np.allclose(n.nodes["exc"].tau_syn, 1e-3 * 4096 / 411)
    assert np.allclose(n.nodes["exc"].tau_mem, 1e-3 * 4096 / 205)
    assert np.allclose(n.nodes["exc"].v_leak * 205 / 4096, 30 * 8)               # bias per step = dt/tau_mem * v_leak
    g2 = _roundtrip(g, tmp_path, "rec")
    inp = (rng.random((2, 100, 10)) < 0.2).astype(np.int32)
    _assert_identical(g, g2, inp, {"exc": ["u", "v", "spikes"], "ro": ["u", "v"]})


def test_roundtrip_conv_pool(tmp_path):
    rng = np.random.default_rng(2)
    g = nc.Graph()
    x = g.input(2 * 8 * 8, shape=(2, 8, 8))
    c = g.conv2d(x, rng.integers(-20, 40, (4, 2, 3, 3)), nc.IF(vth=150), padding=1, name="conv")
    pl = g.sumpool2d(c, 2, nc.IF(vth=60), name="pool")
    c2 = g.conv2d(pl, rng.integers(-20, 40, (4, 2, 3, 3)), nc.IF(vth=150), groups=2, stride=2, name="gconv")
    g.dense(c2, rng.integers(-20, 40, (3, 4)), nc.IF(vth=100), name="out")
    n = to_nir(g)
    types = {k: type(v).__name__ for k, v in n.nodes.items()}
    assert types["conv.weight"] == "Conv2d" and types["pool.weight"] == "SumPool2d"
    assert types["pool.weight.scale"] == "Scale" and types["out.weight.flatten"] == "Flatten"
    assert n.nodes["conv.weight"].weight.shape == (4, 2, 3, 3)
    g2 = _roundtrip(g, tmp_path, "conv")
    assert g2.projections["pool.weight"].meta["pool"] is True
    inp = (rng.random((2, 30, 128)) < 0.3).astype(np.int32)
    _assert_identical(g, g2, inp, {"conv": ["v"], "pool": ["v"], "out": ["v", "spikes"]})


# ---- float import -----------------------------------------------------------------------------
DT, T, N_IN, N = 1e-3, 300, 20, 16


def _euler(kind, p, W, b, x):
    """Forward Euler at DT of NIR's dynamics, the convention from_nir documents: the input
    x[t] (a spike = a current of 1 over its step) reaches the neuron one step later, v uses the
    updated synaptic current, spike when v > v_threshold, then v = 0."""
    batch = x.shape[0]
    v, i = np.zeros((batch, N)), np.zeros((batch, N))
    count = np.zeros((batch, N), int)
    for t in range(x.shape[1]):
        wx = x[:, t - 1] @ W.T if t else np.zeros((batch, N))
        if kind == "IF":
            v = v + DT * p["r"] * (wx + b)
        elif kind == "LIF":
            v = v + DT / p["tau"] * (p["v_leak"] - v + p["r"] * (wx + b))
        else:  # CubaLIF; the Affine bias as a steady current through the synapse (folded, as documented)
            i = i + DT / p["tau_syn"] * (p["w_in"] * wx - i)
            v = v + DT / p["tau_mem"] * (p["v_leak"] + p["r"] * p["w_in"] * b - v + p["r"] * i)
        s = v > p["v_threshold"]
        count += s
        v[s] = 0.0
    return count


@pytest.mark.parametrize("kind", ["IF", "LIF", "CubaLIF"])
def test_float_import_tracks_euler(kind):
    rng = np.random.default_rng(3)
    W, b = rng.normal(0.4, 0.6, (N, N_IN)), rng.normal(0.05, 0.05, N)
    params = {
        "IF": {"r": np.full(N, 1 / DT), "v_threshold": np.full(N, 2.0)},
        "LIF": {"tau": np.full(N, 0.02), "r": np.full(N, 20.0), "v_leak": np.full(N, 0.1), "v_threshold": np.full(N, 1.0)},
        "CubaLIF": {"tau_syn": np.full(N, 0.005), "tau_mem": np.full(N, 0.02), "r": np.full(N, 20.0), "v_leak": np.zeros(N),
                        "v_threshold": np.full(N, 1.0), "w_in": np.full(N, 5.0)},
    }[kind]
    graph = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([N_IN])}),
                                "fc": nir.Affine(weight=W, bias=b), "neu": getattr(nir, kind)(**params),
                                "out": nir.Output(output_type={"output": np.array([N])})},
                         edges=[("in", "fc"), ("fc", "neu"), ("neu", "out")])
    g = from_nir(graph, dt=DT)
    neuron = g.nodes["neu"].neuron
    assert 2 ** 11 < int(neuron.vth) < 2 ** 13                                  # ~12 bits of threshold
    assert neuron.reset == "zero"
    x = (rng.random((4, T, N_IN)) < 0.1).astype(np.int32)
    got = _run(g, x, {"neu": ["spikes"]}).probes["neu"]["spikes"].sum(1)
    want = _euler(kind, params, W, b, x)
    assert want.mean() > 50                                                     # a real firing regime
    # Tolerance: the chip's rounding (8-bit weights: <= 0.4 % of the largest weight per synapse;
    # 12-bit threshold; decay 4096*dt/tau = 204.8 -> 205, i.e. 0.1 %; trunc0 of the decay, <= 1 v unit
    # of 2**18 per step) moves v by well under 1 % of the threshold, so a spike can slip by a step:
    # a few spikes per neuron out of ~80-300, and the totals agree within 1 %.
    assert abs(int(got.sum()) - int(want.sum())) <= 0.01 * want.sum()
    assert np.abs(got - want).max() <= 4


def test_float_import_conv_pool_scale_flatten_delay():
    rng = np.random.default_rng(4)
    k = rng.normal(0, 1, (3, 1, 3, 3))
    graph = nir.NIRGraph(nodes={
        "in": nir.Input(input_type={"input": np.array([1, 6, 6])}),
        "conv": nir.Conv2d(input_shape=(6, 6), weight=k, stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(3)),
        "if1": nir.IF(r=np.full((3, 6, 6), 1 / DT), v_threshold=np.full((3, 6, 6), 1.5)),
        "pool": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "scale": nir.Scale(scale=np.full((3, 3, 3), 2.0)),
        "flat": nir.Flatten(input_type={"input": np.array([3, 3, 3])}, start_dim=0),
        "delay": nir.Delay(delay=np.full(27, 2e-3)),
        "fc": nir.Linear(weight=rng.normal(0, 1, (5, 27))),
        "lif": nir.LIF(tau=np.full(5, 0.01), r=np.full(5, 10.0), v_leak=np.zeros(5), v_threshold=np.full(5, 1.0)),
        "out": nir.Output(output_type={"output": np.array([5])})},
        edges=[("in", "conv"), ("conv", "if1"), ("if1", "pool"), ("pool", "scale"), ("scale", "flat"),
               ("flat", "delay"), ("delay", "fc"), ("fc", "lif"), ("lif", "out")], type_check=False)
    g = from_nir(graph, dt=DT)
    p1 = g.projections["in->conv->if1"] if "in->conv->if1" in g.projections else next(
        p for p in g.projections.values() if p.dst == "if1")
    p2 = next(p for p in g.projections.values() if p.dst == "lif")
    assert p2.delay == 3                                                        # 1 step + round(2 ms / dt)
    # dequantized weights = float weights x the documented gain (s * dt * r), to 8-bit precision
    from neurocore.graph.layers import conv2d_matrix
    m, _ = conv2d_matrix(k, (1, 6, 6), 1, 1)
    s = g.meta["nir_import"]["v_scale"]["if1"]
    deq = p1.weights.toarray() * 2.0 ** (6 + p1.weight_exp)
    ref = m.toarray() * s * DT * (1 / DT)
    assert np.abs(deq - ref).max() <= 0.5 * 2.0 ** (6 + p1.weight_exp)
    assert p2.weights.shape == (5, 3 * 6 * 6)                                   # pool, scale, flatten composed
    # a path that is one Conv2d becomes a conv2d projection with its geometry; a composed one stays sparse
    assert p1.kind == "conv2d" and p1.conv is not None
    assert (p1.conv.kernel_shape, p1.conv.in_shape, p1.conv.out_shape) == ((3, 1, 3, 3), (1, 6, 6), (3, 6, 6))
    assert (p1.conv.stride, p1.conv.padding, p1.conv.groups, p1.conv.pool) == ((1, 1), (1, 1), 1, False)
    assert p2.kind == "sparse" and p2.conv is None
    assert "Conv2d" in {type(n).__name__ for n in to_nir(g).nodes.values()}   # and exports as a Conv2d again
    r = _run(g, (rng.random((2, 40, 36)) < 0.3).astype(np.int32), {"lif": ["v"]})
    assert r.counters["spikes"].sum() > 0


def test_stripped_metadata_imports_the_float_dynamics():
    """A to_nir export read without its neurocore metadata behaves like the original."""
    rng = np.random.default_rng(5)
    g = nc.Graph()
    x = g.input(20)
    g.dense(x, rng.integers(0, 80, (10, 20)), nc.CubaLIF(du=1000, dv=300, vth=200, bias_mant=20, bias_exp=2),
            name="h")
    n = to_nir(g)
    for node in n.nodes.values():
        node.metadata = {}
    n.metadata = {}
    g2 = from_nir(n, dt=1e-3)
    xs = (rng.random((2, 200, 20)) < 0.3).astype(np.int32)
    a = _run(g, xs, {}).counters["spikes"]
    b = _run(g2, xs, {}).counters["spikes"]
    assert np.all(np.abs(a - b) <= 0.02 * a)


# ---- errors -----------------------------------------------------------------------------------
def test_unsupported_node_names_it():
    graph = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([3])}),
                                "thr": nir.Threshold(threshold=np.ones(3)),
                                "out": nir.Output(output_type={"output": np.array([3])})},
                         edges=[("in", "thr"), ("thr", "out")])
    with pytest.raises(ConversionError, match=r"'thr'.*Threshold"):
        from_nir(graph)


def test_corrupt_and_missing_files(tmp_path):
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 20)
    with pytest.raises(FileFormatError, match="bad.nir"):
        load_nir(bad)
    g = nc.Graph()
    x = g.input(3)
    g.dense(x, np.ones((2, 3), int), nc.IF(vth=1))
    good = save_nir(g, tmp_path / "good.nir")
    trunc = tmp_path / "trunc.nir"
    trunc.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FileFormatError):
        load_nir(trunc)
    with pytest.raises(FileFormatError, match="no such"):
        load_nir(tmp_path / "missing.nir")

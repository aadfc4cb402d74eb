"""Checks of the batch table's helpers (``compare.py --batch``): the peers reproduce neurocore, the counts add up.

Not timings (those are ``compare.py``'s): each dense peer, built from the same integers,
must give neurocore's spike counts exactly, the events per streamed synapse must count
neurocore's ``synops`` exactly, and a missing peer venv must give a skipped row, not an error.
Run: ``pytest bench/test_batch_rows.py`` (about 15 s; needs torch and scikit-learn).
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import batch_rows  # noqa: E402
import machine_limits  # noqa: E402
import numpy_steps  # noqa: E402
import peer_rows  # noqa: E402
import torch_steps  # noqa: E402
import workloads  # noqa: E402

import neurocore as nc  # noqa: E402


@pytest.fixture(scope="module")
def cnn():
    wl = workloads.digits_cnn(n_steps=12, batch=5)
    sim = nc.Simulator(nc.compile(wl.graph, wl.chip))
    return wl, sim, sim.run(wl.info["samples"], wl.n_steps)


def test_torch_graph_equals_neurocore_on_the_cnn(cnn):
    wl, _, r = cnn
    tg = torch_steps.TorchGraph(wl.graph, wl.chip, wl.inputs)
    assert tg.layers[0]["conv"] is not None  # the first layer runs as a convolution
    got = tg.run(wl.n_steps, count=True)
    assert r.totals()["spikes"] > 0 and r.totals()["overflow_v"] == 0
    for k, c in got.items():
        np.testing.assert_array_equal(c, r.spike_counts[k], err_msg=k)
    for k, c in numpy_steps.run_graph_batch(wl.graph, wl.chip, wl.inputs, wl.n_steps).items():
        np.testing.assert_array_equal(c, r.spike_counts[k], err_msg=f"numpy {k}")


def test_torch_graph_equals_torch_ff_and_neurocore_on_ff():
    wl = workloads.ff(n_steps=40, batch=3)
    r = nc.Simulator(nc.compile(wl.graph, wl.chip)).run(wl.inputs, wl.n_steps)
    a = torch_steps.TorchGraph(wl.graph, wl.chip, wl.inputs).run(wl.n_steps, count=True)
    b = torch_steps.TorchFF(wl, wl.inputs).run(wl.n_steps, count=True)
    for k in a:
        np.testing.assert_array_equal(a[k], r.spike_counts[k])
        np.testing.assert_array_equal(b[k], r.spike_counts[k])


def test_snntorch_reset_twin_is_snntorch_leaky_forward():
    """The twin against a literal transcription of snnTorch 1.0's ``Leaky.forward`` (beta 1, subtract,
    reset_delay=False): reset = mem > th; mem += in - reset*th; spk = mem > th; mem -= (spk - reset)*th."""
    wl = workloads.ff(n_steps=60, batch=2)
    twin = numpy_steps.run_ff_batch(wl, wl.n_steps, snntorch_reset=True)
    plain = numpy_steps.run_ff_batch(wl, wl.n_steps)
    Ws = [layer["wt"].astype(np.int64) for layer in wl.layers]
    th = [int(wl.neurons[layer["dst"]]["vth"]) for layer in wl.layers]
    x = wl.inputs.astype(np.int64)
    mem = [np.zeros((2, W.shape[1]), np.int64) for W in Ws]
    spk = [np.zeros((2, W.shape[1]), np.int64) for W in Ws]
    counts = [np.zeros((2, W.shape[1]), np.int64) for W in Ws]
    for t in range(wl.n_steps):
        for i in (2, 1, 0):
            src = (x[:, t - 1] if t else np.zeros_like(x[:, 0])) if i == 0 else spk[i - 1]
            reset = (mem[i] > th[i]).astype(np.int64)
            mem[i] = mem[i] + src @ Ws[i] - reset * th[i]
            spk[i] = (mem[i] > th[i]).astype(np.int64)
            mem[i] = mem[i] - (spk[i] - reset) * th[i]
            counts[i] += spk[i]
    for k, c in zip(twin, counts):
        np.testing.assert_array_equal(twin[k], c, err_msg=k)
    assert any((twin[k] != plain[k]).any() for k in twin)  # the rules do differ on this input


def test_torch_graph_refuses_other_dynamics():
    g = nc.Graph()
    x = g.input(4)
    p = g.population(3, nc.CubaLIF(du=100, dv=100, vth=10))
    g.connect(x, p, weights=np.ones((3, 4), np.int64))
    with pytest.raises(ValueError, match="IF neurons"):
        torch_steps.TorchGraph(g, nc.chip.loihi(), np.zeros((1, 2, 4), np.int32))


def test_events_per_streamed_synapse_counts_synops(cnn):
    wl, sim, r = cnn
    k, events, streamed = machine_limits.events_per_streamed_synapse(
        sim, wl.graph, wl.info["samples"], wl.inputs, wl.n_steps, 2, wl.out_degree)
    assert events == r.totals()["synops"]
    assert 1.0 <= k <= 2.0 and streamed <= events  # a block of 2 serves at most 2 events per streamed synapse
    k1, _, s1 = machine_limits.events_per_streamed_synapse(
        sim, wl.graph, wl.info["samples"], wl.inputs, wl.n_steps, 1, wl.out_degree)
    assert k1 == 1.0 and s1 == events


def test_missing_peer_venv_gives_a_skipped_row(tmp_path):
    wl = workloads.ff(n_steps=5, batch=2)
    case = batch_rows.Case("ff", wl, None, wl.inputs, wl.inputs, 5)
    fns, facts = batch_rows._start_peers(case, peer_rows.TOOLS, 1, str(tmp_path))
    assert fns == {}
    assert all("skipped" in facts[t] and "no " + t + " venv" in facts[t]["skipped"] for t in peer_rows.TOOLS)
    assert "skipped" in batch_rows.peer_table([{"net": "ff", "batch": 2, "peers": facts, "cuda": "no CUDA device"}])

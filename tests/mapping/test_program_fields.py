"""Program's typed stage boundary: codec, mapping and layers are fields, not meta entries.

``tests/data/programs/mlp_6_8_3_format1.npz`` was written by the dict-era code (main at
d7bcaee, where codec and mapping lived in ``program.meta``) from the network built in
:func:`_net`; ``mlp_main_d7bcaee_run16.npz`` holds that code's 16-step run of it.
"""
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import neurocore as nc
from neurocore.convert.encode import Codec
from neurocore.mapping import LayerStats, MappingInfo

DATA = Path(__file__).parent.parent / "data" / "programs"


def _net():
    rng = np.random.default_rng(0)
    layers = [{"type": "dense", "weight": rng.normal(size=(8, 6)), "bias": np.zeros(8)}, {"type": "relu"},
              {"type": "dense", "weight": rng.normal(size=(3, 8)), "bias": np.zeros(3)}]
    g = nc.convert(layers, calibration=rng.random((50, 6)))
    return g, rng.random((4, 6))


@pytest.fixture(scope="module")
def net():
    return _net()


def test_compile_fills_the_typed_fields(net):
    g, _ = net
    p = nc.compile(g)
    assert p.codec is g.meta["codec"] and isinstance(p.codec, Codec)
    assert isinstance(p.mapping, MappingInfo)
    assert (p.mapping.method, p.mapping.n_chips_used, p.mapping.core_bound) == ("anneal", 1, 1)
    assert [ls.name for ls in p.layers] == list(g.projections)
    first = p.layers[0]
    assert isinstance(first, LayerStats)
    assert (first.n_src, first.n_dst, first.dense_macs, first.recurrent) == (6, 8, 48, False)
    assert first.weight_bits == p.chip.weight_bits
    # the dict form is what it was: Program.layer_stats and the saved projections
    assert [ls.to_dict() for ls in p.layers] == p.layer_stats
    # meta no longer carries what became fields
    assert not {"codec", "mapping", "est_hops"} & set(dict(p.meta))


def test_old_meta_reads_warn_and_answer(net):
    p = nc.compile(net[0])
    with pytest.warns(DeprecationWarning, match=r"program.meta\['codec'\] is deprecated: read program.codec"):
        assert p.meta["codec"] is p.codec
    with pytest.warns(DeprecationWarning, match="read program.mapping"):
        assert p.meta["mapping"] == p.mapping.to_dict()
    with pytest.warns(DeprecationWarning, match="read program.mapping"):
        assert p.meta.get("est_hops") == p.mapping.est_hops
    with pytest.warns(DeprecationWarning, match="set program.codec"):
        p.meta["codec"] = None
    assert p.codec is None and "codec" not in p.meta
    with pytest.warns(DeprecationWarning):
        assert p.meta.get("codec", "none") == "none"
    with warnings.catch_warnings():  # other entries read as before, silently
        warnings.simplefilter("error")
        assert p.meta["conversion_report"] is net[0].meta["conversion_report"]


def test_a_dict_era_file_still_loads_and_runs_the_same():
    p = nc.Program.load(DATA / "mlp_6_8_3_format1.npz")
    assert isinstance(p.codec, Codec) and p.codec.n_out == 3
    assert p.mapping.n_chips_used == 1 and p.mapping.method == "anneal"
    _, x = _net()
    r = nc.Simulator(p).run(x, n_steps=16)
    with np.load(DATA / "mlp_main_d7bcaee_run16.npz") as want:
        for pop in ("dense0", "dense2"):
            np.testing.assert_array_equal(r.spike_counts[pop], want[pop])
        np.testing.assert_array_equal(np.asarray(r.predictions), want["predictions"])


def test_files_keep_format_1_and_round_trip(net, tmp_path):
    p = nc.compile(net[0])
    p.save(tmp_path / "p.npz")
    q = nc.Program.load(tmp_path / "p.npz")
    assert q.mapping == p.mapping and q.codec.to_dict() == p.codec.to_dict()
    assert [ls.to_dict() for ls in q.layers] == [ls.to_dict() for ls in p.layers]
    # the header still holds codec and mapping under meta, so dict-era readers read new files
    from neurocore._io import read_npz

    head, _ = read_npz(tmp_path / "p.npz", "program", 1)
    assert head["meta"]["mapping"]["n_chips_used"] == 1 and head["meta"]["codec"]["__type__"] == p.codec.__class__.__name__


def test_copies_keep_the_fields(net):
    import dataclasses

    p = nc.compile(net[0])
    for q in (pickle.loads(pickle.dumps(p)), dataclasses.replace(p)):
        assert q.mapping == p.mapping and q.codec is not None
        with pytest.warns(DeprecationWarning):
            assert q.meta["mapping"]["method"] == "anneal"


def test_layer_stats_keep_unknown_entries_and_read_as_dicts():
    d = {"name": "a", "src": "i", "dst": "a", "kind": "conv2d", "n_src": 4, "n_dst": 2, "synapses": 6,
         "dense_macs": 8, "weight_bits": 8, "weight_exp": 0, "delay": 1, "recurrent": False,
         "kernel_shape": [2, 1, 2, 2], "future_key": 7}
    ls = LayerStats.from_dict(d)
    assert ls.kernel_shape == [2, 1, 2, 2] and ls.extra == {"future_key": 7} and ls.to_dict() == d
    assert ls["n_src"] == 4 and ls.get("n_weights") is None and "storage" not in ls

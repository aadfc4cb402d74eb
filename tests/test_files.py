"""Files you can share: load = validate, header-covering checksum, atomic writes, trust policy.

One test per defect of issue 9 (crafted Program/RunResult files, non-atomic saves,
probe names with '/', pickles run on load, header edits not detected), each failing
before the change and passing after.
"""
from __future__ import annotations

import errno
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import neurocore as nc
from neurocore import _io
from neurocore._io import _digest
from neurocore.errors import FileFormatError, OutputError


def _graph():
    g = nc.Graph()
    x = g.input(5, name="x")
    p = g.population(4, nc.CubaLIF(du=410, dv=205, vth=80), name="p")
    g.connect(x, p, np.full((4, 5), 10))
    return g


def _edit(src, dst, rehash=True, **arrays_or_header):
    """Copy a saved file with arrays replaced (``a.row_core=...``) or header entries edited (``h=fn``)."""
    z = dict(np.load(src))
    h = json.loads(z.pop("__header__").tobytes())
    for k, v in arrays_or_header.items():
        if k == "h":
            v(h)
        else:
            z[k.replace("__", ".")] = v(z[k.replace("__", ".")])
    if rehash:
        h["sha256"] = _digest(z, h)
    np.savez_compressed(dst, __header__=np.frombuffer(json.dumps(h).encode(), np.uint8), **z)
    return dst


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "neurocore.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, **kw)


# ---- defect 1: crafted Program / RunResult files ------------------------------------------------------------
@pytest.mark.parametrize("field, value", [("a__row_core", 2**30), ("a__row_delay", 10**7), ("a__target", 99),
                                          ("a__row_ptr", 9999), ("a__neuron_core", 5)])
def test_crafted_program_is_refused_naming_the_field(tmp_path, field, value):
    nc.compile(_graph()).save(tmp_path / "p.npz")
    _edit(tmp_path / "p.npz", tmp_path / "evil.npz", **{field: lambda a: np.full_like(a, value)})
    with pytest.raises(FileFormatError, match=f"'{field[3:]}'"):
        nc.Program.load(tmp_path / "evil.npz")


def test_crafted_program_through_the_cli_exits_1_not_segfault(tmp_path):
    nc.compile(_graph()).save(tmp_path / "p.npz")
    _edit(tmp_path / "p.npz", tmp_path / "evil.npz", a__row_core=lambda a: np.full_like(a, 2**30))
    np.save(tmp_path / "spk.npy", np.ones((3, 4, 5), np.int32))
    r = cli("run", tmp_path / "evil.npz", "--inputs", tmp_path / "spk.npy", "--steps", 4, "-o", tmp_path / "out.npz")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "FileFormatError" in r.stderr and "row_core" in r.stderr
    assert not (tmp_path / "out.npz").exists()


def test_program_edited_in_memory_is_validated_by_the_simulator():
    prog = nc.compile(_graph())
    prog.arrays["row_delay"] = np.full_like(prog.arrays["row_delay"], 10**7)
    with pytest.raises(FileFormatError, match="row_delay"):
        nc.Simulator(prog)
    with pytest.raises(FileFormatError, match="row_delay"):
        prog.validate()


def test_crafted_result_file_is_refused(tmp_path):
    prog = nc.compile(_graph())
    nc.Simulator(prog).run(np.ones((2, 4, 5), np.int32), 4).save(tmp_path / "r.npz")
    _edit(tmp_path / "r.npz", tmp_path / "evil.npz", **{"program/a__row_core": lambda a: np.full_like(a, 2**30)})
    with pytest.raises(FileFormatError, match="row_core"):
        nc.RunResult.load(tmp_path / "evil.npz")
    _edit(tmp_path / "r.npz", tmp_path / "evil2.npz", **{"counters/spikes": lambda a: a + 1})
    with pytest.raises(FileFormatError, match="counters/spikes"):
        nc.RunResult.load(tmp_path / "evil2.npz")


def test_validated_objects_round_trip(tmp_path):
    g = _graph()
    assert g.validate() is g
    prog = nc.compile(g)
    r = nc.Simulator(prog).run(np.ones((2, 4, 5), np.int32), 4, probes={"p": ["v"]})
    assert r.validate() is r and prog.validate() is prog
    r.save(tmp_path / "r.npz")
    np.testing.assert_array_equal(nc.RunResult.load(tmp_path / "r.npz").probes["p"]["v"], r.probes["p"]["v"])


# ---- defect 9: the checksum covers the header; crafted CSR arrays ---------------------------------------
def test_header_edit_is_detected_by_the_checksum(tmp_path):
    _graph().save(tmp_path / "g.npz")

    def vth_to_1(h):
        h["nodes"][1]["neuron"]["vth"] = 1

    _edit(tmp_path / "g.npz", tmp_path / "edited.npz", rehash=False, h=vth_to_1)
    with pytest.raises(FileFormatError, match="checksum mismatch, the header or the arrays"):
        nc.Graph.load(tmp_path / "edited.npz")


def test_legacy_file_with_array_only_checksum_still_loads(tmp_path):
    _graph().save(tmp_path / "g.npz")

    def legacy(h):
        del h["checksum_covers"]

    z = dict(np.load(tmp_path / "g.npz"))
    h = json.loads(z.pop("__header__").tobytes())
    legacy(h)
    h["sha256"] = _digest(z)  # what files written before this change carry
    np.savez_compressed(tmp_path / "old.npz", __header__=np.frombuffer(json.dumps(h).encode(), np.uint8), **z)
    assert nc.Graph.load(tmp_path / "old.npz").n_neurons == 4


def test_graph_with_out_of_range_csr_indices_is_refused(tmp_path):
    _graph().save(tmp_path / "g.npz")
    _edit(tmp_path / "g.npz", tmp_path / "evil.npz", p0_indices=lambda a: np.full_like(a, 999))
    with pytest.raises(FileFormatError, match="weights.indices holds 999"):
        nc.Graph.load(tmp_path / "evil.npz")


def test_graph_header_delay_edit_is_refused_or_caught_at_compile(tmp_path):
    _graph().save(tmp_path / "g.npz")

    def delay(h):
        h["projections"][0]["delay"] = -3

    _edit(tmp_path / "g.npz", tmp_path / "d.npz", h=delay)
    with pytest.raises(FileFormatError, match="delay"):
        nc.Graph.load(tmp_path / "d.npz")


# ---- neurocore check -----------------------------------------------------------------------------------
def test_check_command(tmp_path):
    g = _graph()
    g.save(tmp_path / "g.npz")
    nc.compile(g).save(tmp_path / "p.npz")
    _edit(tmp_path / "p.npz", tmp_path / "evil.npz", a__row_delay=lambda a: np.full_like(a, 10**7))
    for f in ("g.npz", "p.npz"):
        r = cli("check", tmp_path / f)
        assert r.returncode == 0 and "valid" in r.stdout, r.stderr
    r = cli("check", tmp_path / "evil.npz")
    assert r.returncode == 1 and "row_delay" in r.stderr and len(r.stderr.strip().splitlines()) == 1


# ---- defect 4: probe names with '/' ------------------------------------------------------------------------
def test_probe_names_with_slashes_survive_save_load(tmp_path):
    g = nc.Graph()
    x = g.input(3, name="x")
    a = g.population(2, nc.IF(vth=3), name="/0/Gemm_output_0")
    b = g.population(2, nc.IF(vth=3), name="order.x/y")
    g.connect(x, a, np.ones((2, 3), int))
    g.connect(a, b, np.ones((2, 2), int))
    r = nc.Simulator(nc.compile(g)).run(np.ones((1, 6, 3), np.int32), 6,
                                        probes={"/0/Gemm_output_0": ["v", "spikes"], "order.x/y": ["u"]})
    r.save(tmp_path / "r.npz")
    back = nc.RunResult.load(tmp_path / "r.npz")
    assert {k: sorted(v) for k, v in back.probes.items()} == {"/0/Gemm_output_0": ["spikes", "v"], "order.x/y": ["u"]}
    np.testing.assert_array_equal(back.probes["order.x/y"]["u"], r.probes["order.x/y"]["u"])


def test_onnx_layer_names_are_readable_and_unique():
    from neurocore.convert.onnx import _readable_names, readable_name
    from neurocore.convert._ir import Op

    assert readable_name("/0/Gemm_output_0") == "0.Gemm"
    assert readable_name("/features/conv1/Conv_output_0") == "features.conv1.Conv"
    ops = [Op("input", "input", [], {}, "input"), Op("/a/Relu_output_0", "relu", ["input"], {}, "Relu"),
           Op("a/Relu", "relu", ["/a/Relu_output_0"], {}, "Relu")]
    names = [op.name for op in _readable_names(ops)]
    assert names == ["input", "a.Relu", "a.Relu_2"] and ops[2].inputs == ["a.Relu"]


def test_onnx_converted_populations_have_no_slash():
    torch = pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    import io
    import warnings

    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 6),), f, dynamo=False)
    model = onnx.load_from_string(f.getvalue())
    assert any("/" in n.output[0] for n in model.graph.node)  # the exporter's names
    g = nc.convert(model, calibration=np.random.default_rng(0).random((20, 6)))
    names = [p.name for p in g.populations]
    assert all("/" not in n for n in names) and len(set(names)) == len(names), names


# ---- defect 2: atomic writes; output paths checked early ------------------------------------------------------
def test_full_disk_keeps_the_old_file(tmp_path, monkeypatch):
    prog = nc.compile(_graph())
    prog.save(tmp_path / "p.npz")
    before = (tmp_path / "p.npz").read_bytes()
    real_write = _io._write_bytes

    def full(f, data):
        real_write(f, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_io, "_write_bytes", full)
    g2 = nc.Graph()
    x = g2.input(60)
    p = g2.population(60, nc.IF(vth=5))
    g2.connect(x, p, np.random.default_rng(0).integers(-100, 100, (60, 60)))
    with pytest.raises(OutputError, match="disk is full.*unchanged"):
        nc.compile(g2).save(tmp_path / "p.npz")
    assert (tmp_path / "p.npz").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["p.npz"]  # no temporary file left behind
    assert nc.Program.load(tmp_path / "p.npz").n_neurons == 4


def test_save_refuses_bad_paths_with_output_error(tmp_path):
    g = _graph()
    with pytest.raises(OutputError, match="does not exist"):
        g.save(tmp_path / "no" / "dir" / "g.npz")
    with pytest.raises(OutputError, match="is a directory"):
        g.save(tmp_path)
    assert isinstance(OutputError("x"), OSError)


def test_cli_checks_output_paths_before_work(tmp_path):
    g = _graph()
    g.save(tmp_path / "g.npz")
    r = cli("compile", tmp_path / "g.npz", "-o", tmp_path / "no" / "dir" / "p.npz")
    assert r.returncode == 1 and "OutputError" in r.stderr and "does not exist" in r.stderr
    assert "compiled in" not in r.stdout  # refused before the work
    r = cli("compile", tmp_path / "g.npz", "-o", tmp_path)
    assert r.returncode == 1 and "is a directory" in r.stderr
    prog = nc.compile(g)
    nc.Simulator(prog).run(np.ones((1, 4, 5), np.int32), 4).save(tmp_path / "r.npz")
    (tmp_path / "afile").write_text("x")
    r = cli("report", tmp_path / "r.npz", "--json", tmp_path / "left.json", "--plot", tmp_path / "afile")
    assert r.returncode == 1 and "existing file" in r.stderr
    assert not (tmp_path / "left.json").exists()  # nothing written before the refusal


def test_atomic_write_failure_leaves_no_partial_file(tmp_path, monkeypatch):
    def boom(f, data):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(_io, "_write_bytes", boom)
    with pytest.raises(OutputError, match="I/O error"):
        _io.atomic_write(tmp_path / "new.json", "{}")
    assert os.listdir(tmp_path) == []


def test_save_nir_is_atomic(tmp_path, monkeypatch):
    pytest.importorskip("nir")
    from neurocore.nir import save_nir

    g = nc.Graph()
    x = g.input(3)
    p = g.population(2, nc.IF(vth=5))
    g.connect(x, p, np.ones((2, 3), int))
    save_nir(g, tmp_path / "g.nir")
    before = (tmp_path / "g.nir").read_bytes()
    import nir

    def broken(path, graph):
        open(path, "wb").write(b"partial")
        raise RuntimeError("Can't write data (file write failed: errno = 28, No space left on device)")

    monkeypatch.setattr(nir, "write", broken)
    with pytest.raises(OutputError):
        save_nir(g, tmp_path / "g.nir")
    assert (tmp_path / "g.nir").read_bytes() == before and os.listdir(tmp_path) == ["g.nir"]


# ---- defect 8: pickles only with trust ---------------------------------------------------------------------
class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ.get('NEUROCORE_PWNED', '/nonexistent/x')}",))


def test_pickle_is_refused_without_trust(tmp_path):
    from neurocore.convert.files import load_model

    marker = tmp_path / "PWNED"
    os.environ["NEUROCORE_PWNED"] = str(marker)
    try:
        (tmp_path / "evil.pkl").write_bytes(pickle.dumps(_Evil()))
    finally:
        del os.environ["NEUROCORE_PWNED"]
    with pytest.raises(nc.ConversionError, match="run arbitrary code.*--trust"):
        load_model(tmp_path / "evil.pkl")
    assert not marker.exists()
    np.save(tmp_path / "cal.npy", np.zeros((4, 3)))
    r = cli("convert", tmp_path / "evil.pkl", "--calibration", tmp_path / "cal.npy", "-o", tmp_path / "g.npz")
    assert r.returncode == 1 and "--trust" in r.stderr and not marker.exists()
    assert "--trust" in cli("convert", "--help").stdout


def test_torch_state_dict_loads_without_trust_whole_module_does_not(tmp_path):
    torch = pytest.importorskip("torch")
    from neurocore.convert.files import load_model

    def make():
        return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))

    net = make()
    torch.save(net.state_dict(), tmp_path / "sd.pt")
    torch.save(net, tmp_path / "whole.pt")
    back = load_model(tmp_path / "sd.pt", arch=make)
    assert torch.equal(back[0].weight, net[0].weight)
    with pytest.raises(nc.ConversionError, match="state dict.*--arch"):
        load_model(tmp_path / "sd.pt")
    with pytest.raises(nc.ConversionError, match="pickled Python object.*--trust"):
        load_model(tmp_path / "whole.pt")
    assert isinstance(load_model(tmp_path / "whole.pt", trust=True), torch.nn.Module)


def test_nir_file_with_nan_weights_is_refused_naming_the_node(tmp_path):
    nir = pytest.importorskip("nir")
    from neurocore.nir import load_nir

    w = np.ones((2, 3))
    w[0, 1] = np.nan
    graph = nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([3])),
                                "a": nir.Affine(weight=w, bias=np.zeros(2)),
                                "lif": nir.IF(r=np.ones(2), v_threshold=np.ones(2)),
                                "out": nir.Output(output_type=np.array([2]))},
                         edges=[("in", "a"), ("a", "lif"), ("lif", "out")], type_check=False)
    nir.write(tmp_path / "nan.nir", graph)
    with pytest.raises(FileFormatError, match="node 'a' field 'weight' holds 1 NaN"):
        load_nir(tmp_path / "nan.nir")


def test_single_bit_flips_raise_file_format_error_or_load_unchanged(tmp_path):
    """Issue 9 saw NotImplementedError / RuntimeError escape for flips in the zip directory."""
    prog = nc.compile(_graph())
    prog.save(tmp_path / "p.npz")
    data = bytearray((tmp_path / "p.npz").read_bytes())
    rng = np.random.default_rng(0)
    outcomes = {"FileFormatError": 0, "unchanged": 0}
    for k in range(300):
        flipped = bytearray(data)
        # half the flips in the last 400 bytes: the zip central directory, where the odd errors came from
        pos = int(rng.integers(len(data))) if k % 2 else len(data) - 1 - int(rng.integers(min(400, len(data))))
        flipped[pos] ^= 1 << int(rng.integers(8))
        (tmp_path / "f.npz").write_bytes(bytes(flipped))
        try:
            back = nc.Program.load(tmp_path / "f.npz")
        except FileFormatError:
            outcomes["FileFormatError"] += 1
            continue
        assert all(np.array_equal(back.arrays[key], v) for key, v in prog.arrays.items())
        outcomes["unchanged"] += 1
    assert outcomes["FileFormatError"] > 100, outcomes


def test_codec_that_does_not_fit_its_program_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    layers = [{"type": "dense", "weight": rng.normal(size=(8, 6)), "bias": np.zeros(8)}, {"type": "relu"},
              {"type": "dense", "weight": rng.normal(size=(3, 8)), "bias": np.zeros(3)}]
    prog = nc.compile(nc.convert(layers, calibration=rng.random((50, 6))))
    prog.save(tmp_path / "p.npz")
    assert nc.Program.load(tmp_path / "p.npz").codec.n_out == 3

    def bad_output(h):
        h["meta"]["codec"]["data"]["output"] = "nowhere"

    def bad_scale(h):
        h["meta"]["codec"]["data"]["in_scale"] = -1.0

    for i, edit in enumerate((bad_output, bad_scale)):
        _edit(tmp_path / "p.npz", tmp_path / f"c{i}.npz", h=edit)
        with pytest.raises(FileFormatError, match="meta.codec"):
            nc.Program.load(tmp_path / f"c{i}.npz")

"""Run inside the Lava venv (Python 3.10, lava-nc 0.10.0): simulate a LIF/Dense network with
Lava's bit-accurate models and write its spec (neurocore.lava.lava_spec) and traces.

Usage:
  python lava_run.py OUT_DIR network          # a seeded Lava network -> OUT_DIR/net.json, net.npz
  python lava_run.py OUT_DIR spec SPEC.json   # a spec (neurocore.lava.graph_spec) -> OUT_DIR/spec.npz
The npz holds x (T, n_in) and per LIF <name>_spikes, <name>_u, <name>_v (T, n), state at the
end of each step. neurocore.lava is loaded without neurocore's compiled kernels (built for
another Python).
"""
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
pkg = types.ModuleType("neurocore")
pkg.__path__ = [str(ROOT / "neurocore")]
sys.modules["neurocore"] = pkg
spec_ = importlib.util.spec_from_file_location("neurocore.lava", ROOT / "neurocore" / "lava.py")
nclava = importlib.util.module_from_spec(spec_)
spec_.loader.exec_module(nclava)

from lava.magma.core.run_conditions import RunSteps  # noqa: E402
from lava.magma.core.run_configs import Loihi2SimCfg  # noqa: E402
from lava.proc.dense.process import Dense  # noqa: E402
from lava.proc.io.source import RingBuffer  # noqa: E402
from lava.proc.lif.process import LIF  # noqa: E402
from lava.proc.monitor.process import Monitor  # noqa: E402

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
T = 60


def simulate(lifs, feeds, x):
    """Drive every Dense in feeds from one RingBuffer of x (T, n) and record all LIFs."""
    src = RingBuffer(data=x.T.astype(np.int64))
    for d in feeds:
        src.s_out.connect(d.s_in)
    mons = {}
    for name, p in lifs.items():
        for var in ("s_out", "u", "v"):
            m = Monitor()
            m.probe(getattr(p, var), T)
            mons[(name, var)] = m
    src.run(condition=RunSteps(num_steps=T), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    rec = {}
    for (name, var), m in mons.items():
        data = m.get_data()
        arr = next(iter(next(iter(data.values())).values()))
        rec[f"{name}_{'spikes' if var == 's_out' else var}"] = np.asarray(arr).astype(np.int64)
    src.stop()
    return rec


def to_json(spec):
    conv = lambda v: v.tolist() if isinstance(v, np.ndarray) else v
    return {k: [{kk: conv(vv) for kk, vv in r.items()} for r in rows] for k, rows in spec.items()}


rng = np.random.default_rng(5)
if sys.argv[2] == "network":
    x = (rng.random((T, 12)) < 0.3).astype(np.int64)
    l1 = LIF(shape=(24,), du=410, dv=205, vth=400, bias_mant=rng.integers(-20, 40, 24), bias_exp=2,
             u=0, v=rng.integers(0, 3000, 24), name="l1")
    l2 = LIF(shape=(8,), du=4095, dv=300, vth=300, bias_mant=0, bias_exp=0, name="l2")
    d_in = Dense(weights=rng.integers(-40, 60, (24, 12)), weight_exp=1, name="d_in")
    d_rec = Dense(weights=rng.integers(-60, 60, (24, 24)) * (rng.random((24, 24)) < 0.2), name="d_rec")
    d_out = Dense(weights=rng.integers(-30, 80, (8, 24)), weight_exp=-1, name="d_out")   # exact: truncated weights are even
    d_in.a_out.connect(l1.a_in)
    l1.s_out.connect(d_rec.s_in)
    d_rec.a_out.connect(l1.a_in)
    l1.s_out.connect(d_out.s_in)
    d_out.a_out.connect(l2.a_in)
    spec = nclava.lava_spec([l1, l2, d_in, d_rec, d_out])
    rec = simulate({"l1": l1, "l2": l2}, [d_in], x)
    (out / "net.json").write_text(json.dumps(to_json(spec)))
    np.savez(out / "net.npz", x=x, **rec)
else:
    spec = json.loads(Path(sys.argv[3]).read_text())
    lifs, dense, feeds = nclava.lava_from_spec(spec)
    x = np.load(Path(sys.argv[3]).with_suffix(".npz"))["x"]
    rec = simulate(lifs, [d for ds in feeds.values() for d in ds], x)
    np.savez(out / "spec.npz", x=x, **rec)
import lava  # noqa: E402
print("ok", getattr(lava, "__version__", "0.10.0"))

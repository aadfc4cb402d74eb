"""Run inside the Lava venv (Python 3.10, lava-nc 0.10.0): simulate a LIF/Dense network with
Lava's bit-accurate models and write its spec (neurocore.lava.lava_spec) and traces.

Usage:
  python lava_run.py OUT_DIR network          # a seeded Lava network -> OUT_DIR/net.json, net.npz
  python lava_run.py OUT_DIR spec SPEC.json   # a spec (neurocore.lava.graph_spec) -> OUT_DIR/spec.npz
  python lava_run.py OUT_DIR learning         # a seeded LearningDense network -> OUT_DIR/learn.json, learn.npz
  python lava_run.py OUT_DIR refusals         # lava_spec on networks it must refuse -> OUT_DIR/refusals.json
The npz holds x (T, n_in) and per LIF <name>_spikes, <name>_u, <name>_v (T, n), per
LearningDense <name>_weights (T, M, N), state at the end of each step. neurocore.lava is loaded without neurocore's compiled kernels (built for
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
from lava.magma.core.learning.learning_rule import Loihi2FLearningRule  # noqa: E402
from lava.proc.dense.process import Dense, LearningDense  # noqa: E402
from lava.proc.learning_rules.stdp_learning_rule import STDPLoihi  # noqa: E402
from lava.utils.weightutils import SignMode  # noqa: E402
from lava.proc.io.source import RingBuffer  # noqa: E402
from lava.proc.lif.process import LIF  # noqa: E402
from lava.proc.monitor.process import Monitor  # noqa: E402

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
T = 60


def simulate(lifs, feeds, x, learning=()):
    """Drive every Dense in feeds from one RingBuffer of x (T, n) and record all LIFs and the
    weights of every LearningDense in learning."""
    T = x.shape[0]
    src = RingBuffer(data=x.T.astype(np.int64))
    learning_shape = {d.name: d.weights.shape for d in learning}
    for d in feeds:
        src.s_out.connect(d.s_in)
    mons = {}
    for name, p in lifs.items():
        for var in ("s_out", "u", "v"):
            m = Monitor()
            m.probe(getattr(p, var), T)
            mons[(name, var)] = m
    for d in learning:
        m = Monitor()
        m.probe(d.weights, T)
        mons[(d.name, "weights")] = m
    src.run(condition=RunSteps(num_steps=T), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    rec = {}
    for (name, var), m in mons.items():
        data = m.get_data()
        arr = next(iter(next(iter(data.values())).values()))
        arr = np.asarray(arr).astype(np.int64)
        if var == "weights":
            arr = arr.reshape(T, *learning_shape[name])
        rec[f"{name}_{'spikes' if var == 's_out' else var}"] = arr
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
elif sys.argv[2] == "learning":
    # input -> LearningDense (STDPLoihi) -> LIF l1 -> LearningDense (custom 2-factor rule, epochs of 2) -> LIF l2
    T = 150
    x = (rng.random((T, 10)) < 0.25).astype(np.int64)
    l1 = LIF(shape=(16,), du=300, dv=100, vth=600, bias_mant=rng.integers(0, 12, 16), bias_exp=2, name="l1")
    l2 = LIF(shape=(8,), du=500, dv=200, vth=180, bias_mant=rng.integers(0, 20, 8), bias_exp=3, name="l2")
    stdp = STDPLoihi(learning_rate=1, A_plus=1, A_minus=-2, tau_plus=8, tau_minus=12, t_epoch=1, rng_seed=7)
    custom = Loihi2FLearningRule(dw="2^-2 * y0 * x1 - 3 * 2^-3 * x0 * y1 - 2^-5 * u1 * w",
                                 dd="2^-3 * y0 * x2", x1_impulse=20.5, x1_tau=10, x2_impulse=8, x2_tau=30,
                                 y1_impulse=12.25, y1_tau=6, t_epoch=2, rng_seed=11)
    ld1 = LearningDense(weights=rng.integers(-60, 120, (16, 10)), learning_rule=stdp, name="ld_stdp")
    ld2 = LearningDense(weights=rng.integers(0, 90, (8, 16)), learning_rule=custom, weight_exp=1,
                        sign_mode=SignMode.EXCITATORY, name="ld_custom")
    ld1.a_out.connect(l1.a_in)
    l1.s_out.connect(ld1.s_in_bap)
    l1.s_out.connect(ld2.s_in)
    ld2.a_out.connect(l2.a_in)
    l2.s_out.connect(ld2.s_in_bap)
    spec = nclava.lava_spec([l1, l2, ld1, ld2])
    rec = simulate({"l1": l1, "l2": l2}, [ld1], x, learning=[ld1, ld2])
    (out / "learn.json").write_text(json.dumps(to_json(spec)))
    np.savez(out / "learn.npz", x=x, **rec)
elif sys.argv[2] == "refusals":
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
    from lava.proc.learning_rules.r_stdp_learning_rule import RewardModulatedSTDP

    def net(rule=None, bap=True, **kw):
        post = LIF(shape=(3,), du=100, dv=100, vth=100, name="post")
        ld = LearningDense(weights=np.full((3, 4), 10), name="ld",
                           learning_rule=rule or STDPLoihi(learning_rate=1, A_plus=1, A_minus=-1, tau_plus=5,
                                                           tau_minus=5, rng_seed=1), **kw)
        ld.a_out.connect(post.a_in)
        if bap:
            post.s_out.connect(ld.s_in_bap)
        return [post, ld]

    cases = {
        "rstdp": lambda: net(RewardModulatedSTDP(learning_rate=1, A_plus=1, A_minus=-1, pre_trace_decay_tau=5,
                                                 post_trace_decay_tau=5, pre_trace_kernel_magnitude=16,
                                                 post_trace_kernel_magnitude=16, eligibility_trace_decay_tau=1,
                                                 t_epoch=1, rng_seed=1)),
        "loihi3f": lambda: net(Loihi3FLearningRule(dw="u0 * t * y2", dt="x0 * y1", x1_impulse=16, x1_tau=5,
                                                   rng_seed=1)),
        "graded": lambda: net(num_message_bits=8),
        "tags": lambda: net(tag_1=np.ones((3, 4))),
        "weight_exp": lambda: net(weight_exp=-1),
        "bap": lambda: net(bap=False),
        "quirk": lambda: net(Loihi2FLearningRule(dw="x0 * (-y2)", y2_impulse=4, y2_tau=3, rng_seed=1)),
    }
    msgs = {}
    for k, make in cases.items():
        try:
            sp = nclava.lava_spec(make())
            if k == "quirk":          # Lava accepts the string; neurocore's Graph builder refuses it
                msgs[k] = "spec ok: " + json.dumps(to_json(sp))
            else:
                msgs[k] = "accepted"
        except nclava.LavaBridgeError as exc:
            msgs[k] = f"LavaBridgeError: {exc}"
    (out / "refusals.json").write_text(json.dumps(msgs))
else:
    spec = json.loads(Path(sys.argv[3]).read_text())
    lifs, dense, feeds = nclava.lava_from_spec(spec)
    x = np.load(Path(sys.argv[3]).with_suffix(".npz"))["x"]
    learning = [dense[q["name"]] for q in spec["projections"] if q.get("learning")]
    rec = simulate(lifs, [d for ds in feeds.values() for d in ds], x, learning)
    np.savez(out / "spec.npz", x=x, **rec)
import lava  # noqa: E402
print("ok", getattr(lava, "__version__", "0.10.0"))

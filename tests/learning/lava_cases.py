"""Build neurocore graphs of the Lava learning golden cases (tests/data/lava_learning)."""
from pathlib import Path

import numpy as np

import neurocore as nc

DATA = Path(__file__).parent.parent / "data" / "lava_learning"
CASES = sorted(DATA.glob("case_*.npz"))
SIGN = {1: "mixed", 2: "excitatory", 3: "inhibitory"}


def text(d, key):
    return bytes(d[key]).decode()


def rule_of(d) -> nc.LearningRule:
    imp, tau, df = d["impulses"], d["taus"], d["decay_factor"]
    kw = {}
    for k, tr in enumerate(("x1", "x2", "y1", "y2", "y3")):
        kw[f"{tr}_impulse"], kw[f"{tr}_tau"] = float(imp[k]), float(tau[k])
    factors = [float(x) for x in df]
    three = bool(d["three_factor"])
    if three:  # the R-STDP neuron's own y1 trace
        kw.update(y1_impulse=float(d["neuron_y1_impulse"]), y1_tau=float(d["neuron_y1_tau"]), y2_impulse=0.0,
                  y2_tau=0.0, y3_impulse=0.0, y3_tau=0.0)
        factors[2] = float(d["neuron_y1_decay_factor"])
    return nc.LearningRule(dw=text(d, "rule_dw"), dd=text(d, "rule_dd"), dt=text(d, "rule_dt"),
                           t_epoch=int(d["t_epoch"]), three_factor=three, sign_mode=SIGN[int(d["sign_mode"])],
                           num_weight_bits=int(d["num_weight_bits"]), mode="lava", rng_seed=int(d["rng_seed"]),
                           decay_factors=tuple(factors), **kw)


def case_graph(d):
    """(graph, inputs (1, T, C)) of one golden case."""
    N, M, T = int(d["N_pre"]), int(d["M_post"]), int(d["T"])
    g = nc.Graph()
    chans = []
    if int(d["pre_source"]) == 0:
        pre = g.input(N, name="pre")
        chans.append(d["pre_spikes"].astype(np.int32))
    else:
        pre = g.population(N, nc.CubaLIF(du=int(d["pre_du"]), dv=int(d["pre_dv"]), vth=int(d["pre_vth"]),
                                         bias_mant=d["pre_bias_mant"], bias_exp=d["pre_bias_exp"],
                                         u0=d["pre_u0"], v0=d["pre_v0"]), name="pre")
    post = g.population(M, nc.CubaLIF(du=int(d["post_du"]), dv=int(d["post_dv"]), vth=int(d["post_vth"]),
                                      bias_mant=d["post_bias_mant"], bias_exp=d["post_bias_exp"],
                                      u0=d["post_u0"], v0=d["post_v0"]), name="post")
    drive = g.input(M, graded=True, name="drive")
    chans.append(d["post_drive"].astype(np.int32))
    g.connect(pre, post, weights=d["weights_init"], weight_exp=int(d["weight_exp"]), learning=rule_of(d),
              name="syn")
    g.connect(drive, post, weights=nc.one_to_one(M), delay=0)
    if int(d["three_factor"]):
        if int(d["reward_mode"]) == 1:  # through a Dense: binarised, one step later
            r = g.input(M, name="reward")
            g.connect(r, post, weights=d["reward_weights"], delay=1, reward=True)
            chans.append((d["reward"] != 0).astype(np.int32))
        else:
            r = g.input(M, graded=True, name="reward")
            g.connect(r, post, weights=nc.one_to_one(M), delay=0, reward=True)
            chans.append(d["reward"].astype(np.int32))
    return g, np.concatenate(chans, axis=1)[None]

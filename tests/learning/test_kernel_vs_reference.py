"""The learning kernel equals its NumPy twin bit for bit on random rules, traces, epochs, widths and networks."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

import neurocore as nc
from neurocore.learning_sim import run_learning

FACTORS = ["x0", "y0", "x1", "x2", "y1", "y2", "y3", "w", "d", "t", "(x1 - {c})", "({c} - y2)", "(w + {c})",
           "sgn(w - {c})", "sgn(t + {c})", "sgn(d)"]
ALL_PROBES = ["weights", "tag_1", "tag_2", "x", "tx", "y", "ty"]


@st.composite
def rule_strings(draw, k):
    terms = []
    for _ in range(draw(st.integers(1, 4))):
        sign = draw(st.sampled_from(["+", "-"]))
        scale = draw(st.sampled_from(["", "2^-{e} * ", "{m} * ", "{m} * 2^-{e} * ", "2^{p} * "])).format(
            m=draw(st.integers(1, 7)), e=draw(st.integers(1, 7)), p=draw(st.integers(0, 3)))
        dep = draw(st.sampled_from(["x0", "y0", f"u{k}"]))
        facs = [draw(st.sampled_from(FACTORS)).format(c=draw(st.integers(0, 60)))
                for _ in range(draw(st.integers(0, 3)))]
        terms.append(f"{sign} {scale}" + " * ".join([dep] + facs))
    return " ".join(terms)


@st.composite
def rules(draw):
    k = draw(st.integers(0, 3))
    dw = draw(rule_strings(k))
    dd = draw(st.one_of(st.just(""), rule_strings(k)))
    dt = draw(st.one_of(st.just(""), rule_strings(k)))
    kw = {}
    for tr in ("x1", "x2", "y1", "y2", "y3"):
        kw[f"{tr}_impulse"] = draw(st.integers(0, 40 * 256)) / 256
        kw[f"{tr}_tau"] = float(draw(st.sampled_from([0, 1, 2, 3, 5, 10, 25, 2**60])))
    return nc.LearningRule(dw=dw, dd=dd, dt=dt, t_epoch=draw(st.integers(1, 4)),
                           three_factor=draw(st.booleans()),
                           sign_mode=draw(st.sampled_from(["mixed", "excitatory", "inhibitory"])),
                           num_weight_bits=draw(st.integers(1, 8)), mode=draw(st.sampled_from(["lava", "chip"])),
                           rng_seed=draw(st.integers(0, 1000)), **kw)


@st.composite
def networks(draw):
    rule = draw(rules())
    n, m = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    T, B = draw(st.integers(5, 40)), draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lo, hi = {"mixed": (-256, 255), "excitatory": (0, 255), "inhibitory": (-255, 0)}[rule.sign_mode]
    g = nc.Graph()
    chans = []
    if draw(st.booleans()):
        pre = g.input(n, name="pre")
        chans.append((rng.random((B, T, n)) < draw(st.floats(0.05, 0.6))).astype(np.int32))
    else:
        pre = g.population(n, nc.CubaLIF(du=int(rng.integers(0, 4096)), dv=int(rng.integers(0, 4096)),
                                         vth=int(rng.integers(1, 200)), bias_mant=rng.integers(0, 3000, n)),
                           name="pre")
    pk = dict(du=int(rng.integers(0, 4096)), dv=int(rng.integers(0, 4096)), vth=int(rng.integers(1, 300)))
    if draw(st.booleans()):  # adaptive threshold (Diehl & Cook)
        neuron = nc.AdaptiveLIF(**pk, theta_inc=int(rng.integers(0, 200)), theta_decay=int(rng.integers(0, 4096)),
                                theta0=rng.integers(0, 50, m))
    else:
        neuron = nc.CubaLIF(**pk)
    post = g.population(m, neuron, name="post")
    drive = g.input(m, graded=True, name="drive")
    chans.append((rng.integers(0, 400, (B, T, m)) * (rng.random((B, T, m)) < 0.3)).astype(np.int32))
    g.connect(pre, post, weights=rng.integers(lo, hi + 1, (m, n)), weight_exp=draw(st.integers(-2, 2)),
              learning=rule, name="syn", delay=draw(st.integers(1, 3)))
    g.connect(drive, post, weights=nc.one_to_one(m), delay=0)
    if rule.three_factor:
        r = g.input(m, graded=True, name="reward")
        g.connect(r, post, weights=nc.one_to_one(m), delay=draw(st.integers(0, 2)), reward=True)
        chans.append(rng.integers(-40, 40, (B, T, m)).astype(np.int32))
    return g, np.concatenate(chans, axis=2), T


@settings(max_examples=60)
@given(networks(), st.integers(0, 12))
def test_kernel_equals_reference(net, split):
    g, x, T = net
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    probes = {"syn": ALL_PROBES, "post": ["u", "v", "spikes"]}
    if 0 < split < T:  # continue from an earlier run (step counter, slots, traces all carried)
        first = run_learning(sim, x[:, :split], split, None)
        x, T = x[:, split:], T - split
    else:
        first = None
    a = run_learning(sim, x, T, probes, backend="kernel", initial_state=first)
    b = run_learning(sim, x, T, probes, backend="reference", initial_state=first)
    for var in ALL_PROBES:
        assert_array_equal(a.probes["syn"][var], b.probes["syn"][var], err_msg=var)
    for var in ("u", "v", "spikes"):
        assert_array_equal(a.probes["post"][var], b.probes["post"][var], err_msg=var)
    for k in a.counters:
        assert_array_equal(a.counters[k], b.counters[k], err_msg=k)
    for k in a.final_state:
        assert_array_equal(a.final_state[k], b.final_state[k], err_msg=k)

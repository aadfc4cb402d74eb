"""Benchmark workloads for the simulator: each builder returns a :class:`Workload`.

Two workloads, both rebuilt deterministically from fixed seeds (and, for the batch table,
a third: :func:`digits_cnn`, the converted digits CNN):

* ``ff``   -- a converted-ANN-like feed-forward net 784-512-512-10 of IF neurons,
  1000 steps, batch 1, driven by a fixed Bernoulli(0.2) input raster (seed 1234).
  Same shape, input statistics and weight law as Benchmark B of
  ``shared/reference/perf_anchors.md`` (Brian2 anchor: 1.03e8 synaptic events/run).
* ``cuba`` -- the CUBA network of Vogels & Abbott 2005 / Brette et al. 2007, as in
  Brian2's ``examples/CUBA.py`` (4000 LIF, 3200 exc / 800 inh, p = 0.02), mapped onto
  Loihi fixed point (``CubaLIF``), 10,000 steps of 0.1 ms = 1 s of biological time.
  The derivation of every integer is in :func:`cuba` and ``bench/README.md``.

Each :class:`Workload` also carries float32 twins of the same network (transposed
``(n_src, n_dst)`` weight matrices, thresholds, decays) that the NumPy comparison
steps in ``bench/numpy_steps.py`` run.

Run ``python bench/workloads.py`` to print both descriptions and the measured firing rates.
"""
from __future__ import annotations

import functools
import itertools
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

try:
    import neurocore as nc
except ImportError:  # run from a checkout without installing: use the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import neurocore as nc

__all__ = ["CUBA", "FF_GAINS", "WORKLOADS", "Workload", "cuba", "digits_cnn", "ff"]

#: Per-layer gains of the FF weights (as in the Brian2 anchor, ``ff_common.py``).
FF_GAINS = (1.0, 1.6, 1.6)


@dataclass
class Workload:
    """One benchmark case: what to run and how to count its work.

    Attributes
    ----------
    name : str
    description : str
        One paragraph, units stated.
    graph : nc.Graph
    chip : ChipSpec
    inputs : (1, n_steps, n_channels) int32
    n_steps : int
    layers : list of dict
        Float32 twin per projection, in simulation order: ``src``, ``dst`` (population
        names or "input"), ``wt`` (n_src, n_dst) float32 dense weights in v-units per spike.
    neurons : dict[str, dict]
        Float32 twin per population: ``n``, ``vth``, ``decay_u``, ``decay_v`` (multipliers),
        ``bias``, ``refractory`` (steps), ``reset`` ("zero" / "subtract"), ``v0``.
    out_degree : dict[str, (n,) int64]
        Non-zero synapses leaving each source neuron/channel, per source node: a synaptic
        event is one spike through one synapse.
    info : dict
        Derived parameters (for the report).
    """

    name: str
    description: str
    graph: nc.Graph
    chip: object
    inputs: np.ndarray
    n_steps: int
    layers: list = field(default_factory=list)
    neurons: dict = field(default_factory=dict)
    out_degree: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def truncated(self, n_steps: int) -> Workload:
        """The same network on the first ``n_steps`` steps (for the slow NumPy twin)."""
        w = Workload(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        w.n_steps = int(n_steps)
        w.inputs = np.ascontiguousarray(self.inputs[:, :n_steps])
        return w

    def as_tuple(self):
        """``(graph, chip, inputs, n_steps)``."""
        return self.graph, self.chip, self.inputs, self.n_steps


# ---------------------------------------------------------------------------------------
# (a) feed-forward 784-512-512-10
# ---------------------------------------------------------------------------------------
def _quantize_layer(w: np.ndarray, bits: int = 8) -> tuple[np.ndarray, int]:
    """Float weights (threshold 1.0) -> integer mantissas and threshold mantissa.

    The largest |w| maps onto the largest mantissa (127 for 8 bits); the float
    threshold 1.0 maps onto ``vth = round(scale)`` with the same scale, so the
    weight exponent stays 0 (the threshold absorbs the per-layer scale: Loihi's
    17-bit vth has room, vth ~ 800 here). Weights that would round to 0 are
    rounded away from zero to +-1, so every dense row keeps all its synapses
    (the events then equal spikes x fan-out, as in the Brian2 and NumPy twins).
    """
    qmax = (1 << (bits - 1)) - 1
    scale = qmax / float(np.abs(w).max())
    m = np.round(w * scale)
    m = np.where(m == 0, np.where(w >= 0, 1.0, -1.0), m)
    return m.astype(np.int64), round(scale)


def ff(n_steps: int = 1000, rate: float = 0.2, seed: int = 1234, sizes=(784, 512, 512, 10),
       gains=FF_GAINS, batch: int = 1) -> Workload:
    """Feed-forward ``784-512-512-10`` of IF neurons (reset by subtraction), ``batch`` samples.

    Weights ``N(0, 1/sqrt(fan_in)) * gain`` (seed ``seed + 1``, per-layer gains
    ``FF_GAINS``), quantized per layer to 8-bit mantissas by :func:`_quantize_layer`;
    inputs a Bernoulli(``rate``) raster (seed ``seed``), shape (batch, n_steps, 784); sample 0
    is the same raster whatever ``batch``. Every projection has delay 1, so each layer adds one
    step of latency.
    """
    rng_in = np.random.default_rng(seed)
    raster = (rng_in.random((batch, n_steps, sizes[0])) < rate).astype(np.int32)
    rng_w = np.random.default_rng(seed + 1)
    chip = nc.chip.loihi()
    g = nc.Graph()
    src = g.input(sizes[0], name="input")
    layers, neurons, degree = [], {}, {"input": np.full(sizes[0], sizes[1], np.int64)}
    src_name = "input"
    for li, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        w = rng_w.standard_normal((n_out, n_in)) / math.sqrt(n_in) * gains[li]
        m, vth = _quantize_layer(w, chip.weight_bits)
        name = f"h{li + 1}" if li < len(sizes) - 2 else "out"
        pop = g.population(n_out, nc.IF(vth=vth), name=name)
        g.connect(src, pop, weights=m, weight_exp=0, delay=1)
        layers.append({"src": src_name, "dst": name, "wt": np.ascontiguousarray(m.T, np.float32)})
        neurons[name] = {"n": n_out, "vth": float(vth), "decay_u": 0.0, "decay_v": 1.0, "bias": 0.0,
                         "refractory": 0, "reset": "subtract", "v0": np.zeros(n_out, np.float32)}
        degree[name] = np.full(n_out, sizes[li + 2] if li + 2 < len(sizes) else 0, np.int64)
        src, src_name = pop, name
    desc = (f"FF {'-'.join(map(str, sizes))} IF neurons (reset by subtraction), {n_steps} steps, batch {batch}; "
            f"input Bernoulli({rate}) raster (seed {seed}); weights N(0, 1/sqrt(fan_in))*gain, gains {gains}, "
            "quantized per layer to 8-bit mantissas with weight_exp 0 and vth = 127/max|w| "
            f"(vth = {[int(nn['vth']) for nn in neurons.values()]})")
    return Workload("ff", desc, g, chip, raster, n_steps, layers, neurons, degree,
                    {"sizes": sizes, "gains": gains, "rate": rate})


# ---------------------------------------------------------------------------------------
# (b) CUBA (Vogels & Abbott 2005; Brette et al. 2007; Brian2 examples/CUBA.py)
# ---------------------------------------------------------------------------------------
#: The Brian2 example's parameters (ms, mV).
CUBA = {"N": 4000, "Ne": 3200, "p": 0.02, "taum": 20.0, "taue": 5.0, "taui": 10.0, "Vt": -50.0, "Vr": -60.0, "El": -49.0,
            "we": 60 * 0.27 / 10, "wi": -20 * 4.5 / 10, "refractory": 5.0, "dt": 0.1}

#: v-units per mV (2**18): threshold 10 mV -> 2.6e6 of Loihi's +-8.4e6 (24-bit) v range,
#: leaving room for v down to Vr - 22 mV before saturation (counted as overflow_v).
CUBA_SCALE = float(1 << 18)


def _mant_exp(x: float, bits: int, exp_lo: int, exp_hi: int, shift: int = 0) -> tuple[int, int]:
    """Best ``(m, e)`` with ``m << (shift + e) ~= x``, ``|m| < 2**(bits-1)``: the smallest ``e`` that fits."""
    qmax = (1 << (bits - 1)) - 1
    for e in range(exp_lo, exp_hi + 1):
        m = round(x / 2.0 ** (shift + e))
        if abs(m) <= qmax:
            return int(m), e
    raise ValueError(f"{x} does not fit {bits}-bit mantissas with exponents {exp_lo}..{exp_hi}")


def cuba(n_steps: int = 10_000, seed: int = 1, tau_syn: str = "taue") -> Workload:
    """The CUBA benchmark network in Loihi fixed point (``CubaLIF``, reset to zero).

    Derivation (dt = 0.1 ms, S = ``CUBA_SCALE`` v-units per mV, x = v - Vr so that
    Loihi's reset-to-zero is Brian2's reset to Vr):

    * ``dx/dt = (ge + gi - x + (El - Vr)) / taum``; Euler over dt gives per step
      ``x <- x (1 - dt/taum) + (dt/taum)(ge + gi) + (dt/taum)(El - Vr)``, so
      ``dv = round(4096 dt/taum) = 20``, Loihi's ``u`` is ``(dt/taum)(ge + gi) S``,
      and ``bias = (dt/taum)(El - Vr) S = 0.055 mV S`` (bias_mant, bias_exp).
    * One synaptic time constant per neuron (Loihi has one ``du`` per compartment;
      two compartments per neuron are not modelled): ``tau_syn = taue = 5 ms``,
      ``du = round(4096 dt/taue) = 82``. The inhibitory weight is scaled by
      ``taui/taue = 2`` so each inhibitory spike injects the same total charge
      (integral of its current) as in the model; only its time course is faster.
      ``tau_syn="taui"`` instead uses 10 ms for both (excitatory weight x taue/taui).
    * A spike adds ``w`` mV to g, i.e. ``(dt/taum) w S`` to u: mantissa and exponent
      with ``m << (6 + weight_exp)``; ``vth = round((Vt - Vr) S / 64)``.
    * Refractory 5 ms = 50 steps; ``v0 = uniform[0, Vt - Vr) S`` (seed ``seed``).
    * Connectivity: every (pre, post) pair independently with p = 0.02, autapses
      allowed (as Brian2's ``connect(p=...)``), seed ``seed``. Exc and inh neurons are
      two populations so that each projection has its own weight exponent.
    """
    c = CUBA
    dt, S = c["dt"], CUBA_SCALE
    # The unmodified Loihi preset: the compiler's partition search picks the piece sizes
    # (synapse memory and output routes bind; see neurocore.mapping.partition).
    chip = nc.chip.loihi()
    unity = 1 << chip.decay_bits
    tau = {"taue": c["taue"], "taui": c["taui"]}[tau_syn]
    du = round(unity * dt / tau)
    dv = round(unity * dt / c["taum"])
    k = dt / c["taum"]  # g (mV) -> u (mV per step)
    w_exc = c["we"] * c["taue"] / tau
    w_inh = c["wi"] * c["taui"] / tau
    shift = chip.act_shift
    me, ee = _mant_exp(k * w_exc * S, chip.weight_bits, chip.weight_exp_min, chip.weight_exp_max, shift)
    mi, ei = _mant_exp(k * w_inh * S, chip.weight_bits, chip.weight_exp_min, chip.weight_exp_max, shift)
    bm, be = _mant_exp(k * (c["El"] - c["Vr"]) * S, chip.bias_mant_bits, 0, (1 << chip.bias_exp_bits) - 1)
    vth = round((c["Vt"] - c["Vr"]) * S / (1 << chip.vth_shift))
    refr = round(c["refractory"] / dt)
    rng = np.random.default_rng(seed)
    Ne, Ni = c["Ne"], c["N"] - c["Ne"]
    v0 = np.floor(rng.random(c["N"]) * (c["Vt"] - c["Vr"]) * S).astype(np.int64)

    def conn(n_dst, n_src):
        mask = rng.random((n_dst, n_src), dtype=np.float32) < c["p"]
        return sp.csr_matrix(mask.astype(np.int8))

    g = nc.Graph()
    pops = {}
    for name, n, sl in (("exc", Ne, slice(0, Ne)), ("inh", Ni, slice(Ne, c["N"]))):
        pops[name] = g.population(n, nc.CubaLIF(du=du, dv=dv, vth=vth, bias_mant=bm, bias_exp=be,
                                                 refractory=refr, u0=0, v0=v0[sl]), name=name)
    layers, degree = [], {"exc": np.zeros(Ne, np.int64), "inh": np.zeros(Ni, np.int64)}
    wt_full = {}
    for sname, m, e in (("exc", me, ee), ("inh", mi, ei)):
        for dname in ("exc", "inh"):
            mask = conn(pops[dname].n, pops[sname].n)
            g.connect(pops[sname], pops[dname], weights=mask * m, weight_exp=e, delay=1)
            degree[sname] += np.diff(mask.tocsc().indptr)
            wt_full[(sname, dname)] = mask.T.toarray().astype(np.float32) * float(m * 2.0 ** (shift + e))
    for sname in ("exc", "inh"):
        # one (n_src, N) float32 block per source population: targets exc then inh, as the graph numbers them
        layers.append({"src": sname, "dst": "all",
                       "wt": np.ascontiguousarray(np.hstack([wt_full[(sname, "exc")], wt_full[(sname, "inh")]]))})
    neurons = {"all": {"n": c["N"], "vth": float(vth << chip.vth_shift), "decay_u": (unity - (du + 1)) / unity,
                       "decay_v": (unity - dv) / unity, "bias": float(bm << be), "refractory": refr,
                       "reset": "zero", "v0": v0.astype(np.float32)}}
    info = {"S": S, "du": du, "dv": dv, "vth": vth, "bias_mant": bm, "bias_exp": be, "w_exc": (me, ee), "w_inh": (mi, ei),
                "refractory": refr, "tau_syn_ms": tau,
                "tau_u_eff_ms": -dt / math.log((unity - (du + 1)) / unity),
                "tau_v_eff_ms": -dt / math.log((unity - dv) / unity),
                "exc_mV": me * 2.0 ** (shift + ee) / (k * S) * tau / c["taue"],
                "inh_mV": mi * 2.0 ** (shift + ei) / (k * S) * tau / c["taui"],
                "bias_mV": (bm << be) / (k * S), "n_synapses": int(sum(d.sum() for d in degree.values()))}
    desc = (f"CUBA (Vogels & Abbott 2005, Brian2 examples/CUBA.py): {c['N']} CubaLIF ({Ne} exc / {Ni} inh), "
            f"p={c['p']}, {n_steps} steps of {dt} ms ({n_steps * dt / 1000:g} s); Loihi fixed point with "
            f"the loihi() preset, S=2^18 v-units/mV: du={du} (one tau_syn={tau:g} ms), dv={dv}, vth={vth}, bias={bm}<<{be}, "
            f"w_exc={me}<<(6{ee:+d}), w_inh={mi}<<(6{ei:+d}), refractory={refr} steps; seed {seed}")
    return Workload("cuba", desc, g, chip, np.zeros((1, n_steps, 0), np.int32), n_steps, layers,
                    neurons, degree, info)


# ---------------------------------------------------------------------------------------
# (c) the converted digits CNN (scikit-learn's 8 x 8 digits, nc.convert)
# ---------------------------------------------------------------------------------------
#: Steps of the digits CNN runs: the converter examples' longest read-out (4, 8, 16, 32 steps).
CNN_STEPS = 32


@functools.lru_cache(maxsize=2)
def _digits_snn(seed: int = 0, epochs: int = 15):
    """Train the digits CNN (seeded, one thread, a few seconds), convert it for Loihi; cached per process.

    The network is the converter tests' and ``examples/convert_torch_cnn.py``'s shape:
    conv(1->8, 3x3, pad 1)-BN-ReLU-avgpool 2, conv(8->16, 3x3, pad 1)-BN-ReLU-avgpool 2,
    flatten, dropout 0.1, linear(64->10); Adam (lr 5e-3) on cross-entropy, batches of 64,
    ``epochs`` epochs on the 70 % training split of ``sklearn.datasets.load_digits``
    (stratified, ``random_state=0``; pixels / 16). ``nc.convert`` (direct encoding, count
    decoding, reset by subtraction) calibrates on the first 500 training digits.
    Returns (graph, X_test float32 (n, 1, 8, 8), y_test, ANN test accuracy).
    """
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from torch import nn

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # float reductions depend on the thread count: one thread, one trained net
    try:
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AvgPool2d(2),
                            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2),
                            nn.Flatten(), nn.Dropout(0.1), nn.Linear(16 * 2 * 2, 10))
        opt = torch.optim.Adam(net.parameters(), 5e-3)
        xt, yt = torch.tensor(Xtr), torch.tensor(ytr)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            net.train()
            perm = torch.randperm(len(xt), generator=gen)
            for i in range(0, len(xt), 64):
                idx = perm[i: i + 64]
                opt.zero_grad()
                nn.functional.cross_entropy(net(xt[idx]), yt[idx]).backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            ann = float((net(torch.tensor(Xte)).argmax(1).numpy() == yte).mean())
        graph = nc.convert(net, calibration=Xtr[:500], chip=nc.chip.loihi())
    finally:
        torch.set_num_threads(threads)
    return graph, Xte, yte, ann


def digits_cnn(n_steps: int = CNN_STEPS, batch: int = 32, seed: int = 0) -> Workload:
    """The converted digits CNN (see :func:`_digits_snn`) on the first ``batch`` test digits.

    The graph is ``nc.convert``'s: three IF populations (8 x 8 x 8 after the first conv,
    16 x 4 x 4 after pool+conv, 10 outputs after pool+linear; thresholds ``vth << 6``,
    per-neuron biases and initial potentials), the first projection a 3 x 3 convolution of
    the graded input (delay 0), the others the pooling folded into sparse matrices (delay 1).
    ``inputs`` are the codec's direct encoding, (batch, n_steps, 64) int32 graded values
    (pixel x 128); ``info["samples"]`` the float digits neurocore's ``Simulator.run`` takes
    (it encodes them itself) and ``info["labels"]`` their classes. Test digits repeat
    cyclically when ``batch`` exceeds the 540 of the test split. ``layers`` and ``neurons``
    are empty: the dense peers are built from the graph (``torch_steps.TorchGraph``).
    """
    graph, Xte, yte, ann = _digits_snn(seed)
    idx = np.arange(batch) % len(Xte)
    samples, labels = Xte[idx], yte[idx]
    codec = graph.meta["codec"]
    inputs = codec.encode(samples, n_steps)
    degree = {}
    for pr in graph.projections.values():
        degree[pr.src] = degree.get(pr.src, 0) + np.diff(pr.weights.tocsc().indptr).astype(np.int64)
    sizes = [p.n for p in graph.populations]
    desc = (f"digits CNN (sklearn load_digits 8x8; conv8-pool-conv16-pool-linear10, trained {seed=}, ANN test "
            f"accuracy {ann:.1%}) converted by nc.convert for Loihi: IF populations {sizes}, direct encoding "
            f"(graded input x{codec.gain}), {n_steps} steps, batch {batch}")
    return Workload("cnn", desc, graph, nc.chip.loihi(), inputs, n_steps, [], {}, degree,
                    {"samples": samples, "labels": labels, "ann_accuracy": ann, "codec": codec})


WORKLOADS = {"ff": ff, "cuba": cuba}


def synaptic_events(w: Workload, spike_counts: dict[str, np.ndarray]) -> int:
    """Sum over sources of spikes x out-degree; ``spike_counts`` per source node (population or input)."""
    return int(sum(int(np.dot(np.asarray(spike_counts[k]).reshape(-1), w.out_degree[k])) for k in w.out_degree))


def _main() -> None:  # pragma: no cover - a printout
    import time

    for name, build in WORKLOADS.items():
        t0 = time.perf_counter()
        w = build()
        t1 = time.perf_counter()
        print(f"== {name}: built in {t1 - t0:.2f} s\n{w.description}")
        if w.info:
            print("   derived:", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in w.info.items()})
        r = nc.Simulator(nc.compile(w.graph, w.chip)).run(w.inputs, n_steps=w.n_steps, n_threads=1)
        T = w.n_steps
        if name == "ff":
            print(f"   input rate {w.inputs.mean():.3f} per step")
        for pop, cnt in r.spike_counts.items():
            n = cnt.shape[1]
            print(f"   {pop:>4}: {int(cnt.sum()):>9,} spikes, {cnt.sum() / (n * T):.4f} per neuron-step"
                  + (f" = {cnt.sum() / n / (T * CUBA['dt'] / 1000):.2f} Hz" if name == "cuba" else ""))
        tot = r.totals()
        print(f"   synops {tot['synops']:,}  spikes {tot['spikes']:,}  overflow_u {tot['overflow_u']}  "
              f"overflow_v {tot['overflow_v']}")


if __name__ == "__main__":
    _main()


def spikes_by_population(wl: Workload, spikes_tn: np.ndarray) -> dict[str, np.ndarray]:
    """(T, N) spikes of all neurons (population order) -> spike count per neuron of each population."""
    out, off = {}, 0
    for pop in wl.graph.populations:
        out[pop.name] = spikes_tn[:, off: off + pop.n].sum(0)
        off += pop.n
    return out

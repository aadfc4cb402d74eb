"""Run a Program that has plastic projections: the learning kernel and its results.

:class:`~neurocore.Simulator` hands a Program here when it has plastic or reward
projections. The learning kernel (``neurocore.kernels._learn``, NumPy twin
``neurocore.kernels.learning_reference``) runs each sample on the network's own
neuron numbering (partitioning never changes results); routing and memory
counters then come from the Program's tables and the spike trains, as
``reference.count`` derives them for the main kernel.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from neurocore.errors import BuildError, SimulationError
from neurocore.graph.learning import DEPENDENCIES, SIGN_MODES, TARGETS, LearningRule, VARIABLES
from neurocore.mapping.program import Program

__all__ = ["learned_graph", "learning_cores", "learn_tables", "initial_state", "run_learning", "has_plasticity",
           "LEARN_PROBES", "LEARNING_COUNTERS"]

#: What a probe on a plastic projection can record each step (state at the end of the step).
LEARN_PROBES = {"weights": "w", "tag_1": "t", "tag_2": "d", "x": "x", "tx": "tx", "y": "y", "ty": "ty"}
#: Counters a learning run adds (per sample).
LEARNING_COUNTERS = ("learning_updates", "trace_updates", "learning_epochs")


def has_plasticity(program: Program) -> bool:
    return "theta_inc" in program.arrays or any(p.get("learning") or p.get("kind") == "reward"
                                                 for p in program.projections)


def load_learning_kernel():
    try:
        from neurocore.kernels import _learn
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BuildError("neurocore's learning kernel is missing (neurocore.kernels._learn): build it with "
                         f"`python setup.py build_ext --inplace` ({exc})") from exc
    return _learn


def _product_table(rule: LearningRule) -> NDArray[np.int64]:
    rows = []
    for p in rule.products:
        r = [TARGETS.index(p.target), DEPENDENCIES[p.dependency], p.s_mant, p.s_exp + 7, p.shift, len(p.factors)]
        for i in range(3):
            f = p.factors[i] if i < len(p.factors) else None
            r += [VARIABLES[f.var], f.const, int(f.sgn)] if f else [0, 0, 0]
        rows.append(r)
    return np.array(rows, np.int64).reshape(-1, 15)


def _plastic(program: Program, j: int, stats: dict, src_off: dict, dst_off: dict) -> dict:
    rule = LearningRule.from_dict(stats["learning"])
    a = program.arrays
    lava = rule.mode == "lava"
    imps = np.array(rule.impulses)
    taus = np.array(rule.taus)
    if rule.three_factor:  # the learning engine's own y traces: no impulse, tau 65535 (Lava's Loihi3F rule)
        hist_tau = np.array([taus[0], taus[1], 65535.0, 65535.0, 65535.0])
        hist_imp = np.array([imps[0], imps[1], 0.0, 0.0, 0.0])
    else:
        hist_tau, hist_imp = taus, imps
    dfac = np.array([float(np.exp(-1.0 / np.array([[t]], np.float64))[0, 0]) if t else 0.0 for t in hist_tau])
    if rule.decay_factors is not None:
        for k in range(5):
            if not (rule.three_factor and k >= 2):
                dfac[k] = rule.decay_factors[k]
    y1_fac = math.exp(-1.0 / taus[2]) if taus[2] else 0.0
    if rule.three_factor and rule.decay_factors is not None:
        y1_fac = rule.decay_factors[2]
    imp_int = np.floor(hist_imp).astype(np.int64)
    lo, hi = SIGN_MODES[rule.sign_mode]
    grid = 0 if lava else 8 - rule.num_weight_bits + int(rule.sign_mode == "mixed")
    step = 1 << grid
    return {
        "index": j, "name": stats["name"], "rule": rule, "src": src_off[stats["src"]], "n_src": stats["n_src"],
        "dst": dst_off[stats["dst"]], "n_dst": stats["n_dst"], "delay": stats["delay"], "wexp": stats["weight_exp"],
        "mode": 0 if lava else 1, "three_factor": int(rule.three_factor), "t_epoch": rule.t_epoch,
        "decimate": rule.decimate_exponent, "prod": _product_table(rule),
        "imp_int": imp_int, "imp_frac": np.round((hist_imp - imp_int) * 256).astype(np.int64),
        "tau_zero": (hist_tau == 0).astype(np.int64), "dfac": dfac,
        "dint": np.round(dfac * 4096).astype(np.int64),
        "y1_fac": y1_fac, "y1_mag": float(imps[2]), "y1_int": int(round(y1_fac * 4096)),
        "y1_mag_int": int(round(imps[2])), "seed": rule.rng_seed,
        "acc_lo": -32769 if lava else -32768, "t_lo": -257 if lava else -256,
        "wacc_lo": 0 if rule.sign_mode == "excitatory" else (-32769 if lava else -32768),
        "wacc_hi": 0 if rule.sign_mode == "inhibitory" else 32767,
        "w_lo": -((-lo) // step) * step, "w_hi": (hi // step) * step, "wgrid": grid,
        "nwb_shift": 8 - rule.num_weight_bits + int(rule.sign_mode == "mixed"), "sign_mode": rule.sign_mode,
        "learn": 1,
    }


def learn_tables(program: Program) -> dict:
    """The learning kernel's view of ``program``: neurons, static synapses by source, plastic blocks."""
    a, chip = program.arrays, program.chip
    N, C = program.n_neurons, program.n_inputs
    unity = 1 << chip.decay_bits
    pop_off = {k: pm.offset for k, pm in program.populations.items()}
    src_off = dict(pop_off)
    src_off.update({k: N + im.offset for k, im in program.inputs.items()})
    nnz = np.diff(a["row_ptr"])
    row_src = a["row_src"].astype(np.int64) if "row_src" in a else np.repeat(
        np.repeat(np.arange(N + C), np.diff(a["src_pk_ptr"]))[np.repeat(np.arange(a["pk_core"].size),
                                                                        np.diff(a["pk_row_ptr"]))], 1)
    syn_src = np.repeat(row_src, nnz)
    syn_proj = np.repeat(a["row_proj"].astype(np.int64), nnz)
    syn_delay = np.repeat(a["row_delay"].astype(np.int64), nnz)
    plastic, static = [], np.ones(syn_src.size, bool)
    rew = np.zeros(syn_src.size, np.uint8)
    val = a["wscaled"].astype(np.int64).copy()
    for j, st in enumerate(program.projections):
        sel = syn_proj == j
        if st.get("learning"):
            p = _plastic(program, j, st, src_off, pop_off)
            w0 = np.zeros((p["n_dst"], p["n_src"]), np.int64)
            w0[a["target"][sel].astype(np.int64) - p["dst"], syn_src[sel] - p["src"]] = a["weight"][sel]
            p["w0"] = w0
            plastic.append(p)
            static &= ~sel
        elif st.get("kind") == "reward":
            rew[sel] = 1
            val[sel] = a["weight"][sel]
    order = np.argsort(syn_src[static], kind="stable")
    src_s = syn_src[static][order]
    i64 = np.int64
    tb = {
        "N": N, "C": C, "D": max(program.n_delay_slots, 1), "decay_bits": chip.decay_bits, "u_bits": chip.u_bits,
        "v_bits": chip.v_bits, "u_wrap": int(chip.u_overflow == "wrap"), "v_wrap": int(chip.v_overflow == "wrap"),
        "act_shift": chip.act_shift,
        "decay_u": (unity - (a["du"] + 1)).astype(i64), "decay_v": (unity - a["dv"]).astype(i64),
        "vth": a["vth"].astype(i64) << chip.vth_shift, "bias": a["bias_mant"].astype(i64) << a["bias_exp"],
        "reset": a["reset"].astype(i64), "refractory": a["refractory"].astype(i64),
        "u0": a["u0"].astype(i64), "v0": a["v0"].astype(i64),
        "s_ptr": np.searchsorted(src_s, np.arange(N + C + 1)).astype(i64),
        "s_tgt": a["target"].astype(i64)[static][order], "s_w": val[static][order],
        "s_delay": syn_delay[static][order], "s_rew": rew[static][order],
        "plastic": plastic, "vth_shift": chip.vth_shift,
        "theta_inc": a.get("theta_inc", np.zeros(N, i64)).astype(i64),
        "theta_decay": (unity - a.get("theta_decay", np.zeros(N, i64))).astype(i64),
        "theta_cap": ((1 << chip.vth_bits) - 1 - a["vth"]).astype(i64),
        "theta0": a.get("theta0", np.zeros(N, i64)).astype(i64),
    }
    return tb


def initial_state(tb: dict, B: int) -> dict:
    """State before the first step: u0, v0, empty slots, initial weights (truncated once, as Lava does)."""
    N, D = tb["N"], tb["D"]
    st = {"u": np.tile(tb["u0"], (B, 1)), "v": np.tile(tb["v0"], (B, 1)), "refr": np.zeros((B, N), np.int64),
          "acc": np.zeros((B, D, N), np.int64), "racc": np.zeros((B, D, N), np.int64), "step0": 0,
          "theta": np.tile(tb["theta0"], (B, 1))}
    for j, p in enumerate(tb["plastic"]):
        w0 = p["w0"]
        n = p["nwb_shift"]
        w = -((-w0 >> n) << n) if p["sign_mode"] == "inhibitory" else (w0 >> n) << n
        M, Ns = w.shape
        st[f"p{j}.w"] = np.tile(w, (B, 1, 1))
        st[f"p{j}.d"] = np.zeros((B, M, Ns), np.int64)
        st[f"p{j}.t"] = np.zeros((B, M, Ns), np.int64)
        st[f"p{j}.x"] = np.zeros((B, 2, Ns), np.int64)
        st[f"p{j}.tx"] = np.zeros((B, Ns), np.int64)
        st[f"p{j}.y"] = np.zeros((B, 3, M), np.int64)
        st[f"p{j}.ty"] = np.zeros((B, M), np.int64)
        st[f"p{j}.y1n"] = np.zeros((B, M), np.float64)
        st[f"p{j}.sprev"] = np.zeros((B, M), bool)
    return st


def _state_from_result(tb: dict, result, B: int) -> dict:
    fs = getattr(result, "final_state", None)
    if not isinstance(fs, dict) or "learn/step0" not in fs:
        raise SimulationError("initial_state must be the RunResult of an earlier learning run of this Program")
    st = {}
    for k, v in fs.items():
        if k.startswith("learn/"):
            st[k[6:]] = np.array(v)
    st["u"], st["v"] = np.array(fs["u"]), np.array(fs["v"])
    st["step0"] = int(np.asarray(fs["learn/step0"]).ravel()[0])
    ref = initial_state(tb, B)
    for k, v in ref.items():
        if k == "step0":
            continue
        if k not in st or st[k].shape != v.shape:
            raise SimulationError(f"initial_state does not match this Program and batch: state '{k}' has shape "
                                  f"{None if k not in st else st[k].shape}, expected {v.shape}")
        st[k] = st[k].astype(v.dtype)
    return st


def _learning_counters(tb: dict, B: int, step0: int, T: int) -> dict[str, NDArray[np.int64]]:
    out = {k: np.zeros(B, np.int64) for k in LEARNING_COUNTERS}
    for p in tb["plastic"]:
        if not p["learn"]:
            continue
        E = p["t_epoch"]
        epochs = (step0 + T) // E - step0 // E
        out["learning_epochs"] += epochs
        out["learning_updates"] += epochs * p["n_src"] * p["n_dst"]
        out["trace_updates"] += epochs * E * (2 * p["n_src"] + 3 * p["n_dst"])
    return out


def run_learning(sim, x: NDArray, n_steps: int, probes: dict | None, learning=True, initial_state=None,
                 backend: str = "kernel"):
    """Run ``x`` (batch, n_steps, C) int32 through a Program with plastic projections."""
    from neurocore.kernels import learning_reference as lref
    from neurocore.kernels.reference import count
    from neurocore.sim import RunResult

    p = sim.program
    tb = learn_tables(p)
    B, T = x.shape[0], int(n_steps)
    names = {pl["name"]: j for j, pl in enumerate(tb["plastic"])}
    frozen = _frozen(learning, names)
    for pl in tb["plastic"]:
        pl["learn"] = int(pl["name"] not in frozen)
    state = initial_state_fn(tb, B) if initial_state is None else _state_from_result(tb, initial_state, B)
    step0 = state["step0"]
    for pl in tb["plastic"]:
        if pl["mode"] == 0:
            pl["lava_rand"] = lref.lava_random_streams(pl["seed"], step0, step0 + T, pl["t_epoch"])
    pop_probes, learn_probes = _split_probes(p, probes, names)
    record: dict = {names[k]: [LEARN_PROBES[v] for v in vs] for k, vs in learn_probes.items()}
    record["uv"] = any(v in ("u", "v") for vs in pop_probes.values() for v in vs)
    if backend == "reference":
        out = lref.simulate(tb, x, T, state, record)
    else:
        xk = x if x.shape[2] else np.zeros((B, T, 1), np.int32)  # the kernel takes &x[b, 0, 0]
        out = load_learning_kernel().run(tb, np.ascontiguousarray(xk, np.int32), T, state, record)
    state["step0"] = step0 + T
    flags = out["flags"]
    spikes, active = (flags & 2) != 0, (flags & 1) != 0
    cnt = count(p, x, spikes, active)
    counters = dict(cnt["counters"])
    counters["overflow_u"], counters["overflow_v"] = out["ovf"][:, 0].copy(), out["ovf"][:, 1].copy()
    counters.update(_learning_counters(tb, B, step0, T))
    spike_counts = {name: spikes[:, :, pm.offset: pm.offset + pm.n].sum(1).astype(np.int32)
                    for name, pm in p.populations.items()}
    probes_out: dict = {}
    for pop, vars_ in pop_probes.items():
        pm = p.populations[pop]
        for var in vars_:
            if var not in ("u", "v", "spikes"):
                raise SimulationError(f"probe '{pop}': unknown variable {var!r}; choose from u, v, spikes")
            src = spikes.astype(np.uint8) if var == "spikes" else out[var]
            probes_out.setdefault(pop, {})[var] = src[:, :, pm.offset: pm.offset + pm.n]
    for k, vs in learn_probes.items():
        j = names[k]
        for v in vs:
            probes_out.setdefault(k, {})[v] = out[f"rec{j}.{LEARN_PROBES[v]}"]
    final = {"u": state["u"], "v": state["v"], "learn/step0": np.full(B, state["step0"], np.int64)}
    final.update({f"learn/{k}": v for k, v in state.items() if k not in ("u", "v", "step0")})
    result = RunResult(program=p, n_steps=T, counters=counters, spike_counts=spike_counts, probes=probes_out,
                       core_steps={k: np.asarray(v).astype(np.int32) for k, v in cnt["core_steps"].items()},
                       busiest_link=cnt["busiest_link"].astype(np.int32),
                       link_packets=np.asarray(cnt["link_packets"], np.int64), final_state=final)
    result.weights, result.tags = learned_from_state(p, final)
    return result


def learned_from_state(program: Program, final: dict) -> tuple[dict, dict]:
    """(weights, tags) per plastic projection name, read from a learning run's final state."""
    weights, tags = {}, {}
    names = [st["name"] for st in program.projections if st.get("learning")]
    for j, name in enumerate(names):
        if f"learn/p{j}.w" in final:
            weights[name] = np.array(final[f"learn/p{j}.w"])
            tags[name] = {"tag_1": np.array(final[f"learn/p{j}.t"]), "tag_2": np.array(final[f"learn/p{j}.d"])}
    return weights, tags


initial_state_fn = initial_state


def _frozen(learning, names: dict) -> set[str]:
    if learning is True:
        return set()
    if learning is False:
        return set(names)
    if isinstance(learning, dict):
        bad = [k for k in learning if k not in names]
        if bad:
            raise SimulationError(f"learning names {bad}, which are not plastic projections; plastic: {list(names)}")
        return {k for k, on in learning.items() if not on}
    raise SimulationError(f"learning must be True, False or {{projection: bool}}, got {learning!r}")


def _split_probes(p: Program, probes, names: dict):
    pops, learn = {}, {}
    for k, vs in (probes or {}).items():
        vs = [vs] if isinstance(vs, str) else list(vs)
        if k in names:
            bad = [v for v in vs if v not in LEARN_PROBES]
            if bad:
                raise SimulationError(f"probe on plastic projection '{k}': unknown variable(s) {bad}; choose from "
                                      f"{list(LEARN_PROBES)}")
            learn[k] = vs
        elif k in p.populations:
            pops[k] = vs
        else:
            raise SimulationError(f"probe names {k!r}: not a population or a plastic projection of this Program")
    return pops, learn


def learned_graph(graph, result, sample: int = 0, keep_learning: bool = True):
    """A copy of ``graph`` whose plastic projections hold the weights ``result`` learned.

    Parameters
    ----------
    graph : Graph
        The graph the result's Program was compiled from.
    result : RunResult
        A learning run; ``result.weights[name]`` is (batch, n_dst, n_src).
    sample : int
        Which entry of the batch to take.
    keep_learning : bool
        Keep each projection's rule (learning can go on) or make the weights fixed. Fixed weights
        must fit the chip's weight mantissa when compiled.

    Adaptive-threshold populations (:class:`~neurocore.AdaptiveLIF`) take their learned theta as ``theta0``.
    """
    from neurocore.graph.graph import Graph

    if not result.weights:
        raise SimulationError("the result holds no learned weights (it is not a learning run)")
    import dataclasses

    from neurocore.graph.neurons import AdaptiveLIF
    from neurocore.graph.nodes import Population

    g = Graph()
    theta = result.final_state.get("learn/theta")
    for node in graph.nodes.values():
        pm = result.program.populations.get(node.name)
        if isinstance(node, Population) and isinstance(node.neuron, AdaptiveLIF) and theta is not None and pm:
            neuron = dataclasses.replace(node.neuron, theta0=np.array(theta[sample, pm.offset: pm.offset + pm.n]))
            node = Population(node.name, node.n, neuron=neuron, shape=node.shape)
        g.nodes[node.name] = node
    g.meta = dict(graph.meta)
    for proj in graph.projections.values():
        kw = dict(weight_exp=proj.weight_exp, delay=proj.delay, name=proj.name, meta=proj.meta)
        if proj.learning is not None:
            if proj.name not in result.weights:
                raise SimulationError(f"the result has no weights for plastic projection '{proj.name}'")
            w = result.weights[proj.name]
            if not 0 <= sample < w.shape[0]:
                raise SimulationError(f"sample {sample} is outside the batch of {w.shape[0]}")
            if keep_learning:
                g.connect(proj.src, proj.dst, w[sample], learning=proj.learning, **kw)
            else:
                g.connect(proj.src, proj.dst, w[sample], kind="dense", **kw)
        else:
            g.connect(proj.src, proj.dst, proj.weights, kind=proj.kind, reward=proj.kind == "reward", **kw)
    return g


def learning_cores(program: Program) -> int:
    """Core slots holding plastic synapses (their learning engines update in parallel); at least 1."""
    a = program.arrays
    plastic = [j for j, st in enumerate(program.projections) if st.get("learning")]
    cores = np.unique(a["row_core"][np.isin(a["row_proj"], plastic)]) if plastic else np.zeros(0)
    return max(1, int(cores.size))

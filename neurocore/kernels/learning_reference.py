"""NumPy twin of the learning kernel (``_learn.pyx``): the same arithmetic, written plainly.

A network with plastic projections runs per sample, step by step. Per step t
(Lava time ``tau = step0 + t + 1``):

1. inputs of step t are delivered through their synapses (static rows add ``w * x``
   into the slot of step t + delay; a reward row adds into the reward slot instead);
   a plastic projection from an input sees every non-zero value as a spike;
2. every neuron updates (``neurons.h``: Lava's ``PyLifModelBitAcc``) from its slot-t input;
3. spikes go through static rows, and through plastic projections with the weights as they
   stood at the end of step t-1: ``((sum of W[:, spiking]) >> -weight_exp or << weight_exp)
   << act_shift``;
4. each plastic projection books its pre and post spikes (traces, within-epoch spike
   times) and, when ``tau % t_epoch == 0``, runs the learning phase (§8 of the golden
   set's EQUATIONS.md): trace histories, products, accumulator, rounding, saturation.

Random numbers: ``mode="lava"`` reads the per-step arrays made by
:func:`lava_random_streams` (numpy PCG64 with Lava's seeds, one number per population
and step); ``mode="chip"`` draws from :func:`chip_random`, a counter hash keyed by
(seed, projection, sample, step, stream).
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["mix64", "chip_random", "lava_random_streams", "add_impulse", "simulate", "STREAMS"]

M64 = (1 << 64) - 1
#: Chip-mode random streams: decay of trace k (k), impulse at the learning phase (5 + k),
#: impulse of a repeated spike inside an epoch (10 + k), weight and tag rounding (15).
STREAMS = {"decay": 0, "impulse": 5, "mid": 10, "round": 15}


def mix64(z: int) -> int:
    """SplitMix64's finaliser on a Python int (arithmetic modulo 2**64)."""
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def chip_random(seed: int, proj: int, sample: int, tau: int, stream: int) -> int:
    """64 random bits for (seed, projection, sample, Lava step ``tau``, stream)."""
    return mix64((mix64((mix64((mix64(seed) + proj) & M64) + sample) & M64) + tau * 16 + stream) & M64)


def lava_random_streams(rng_seed: int, tau_lo: int, tau_hi: int, t_epoch: int) -> dict[str, NDArray]:
    """Lava's random numbers for steps ``tau_lo+1 .. tau_hi`` (EQUATIONS.md §6).

    Returns arrays indexed by ``tau - tau_lo - 1``: ``x_dec``, ``y_dec`` (float64, draw 2 tau),
    ``x_imp``, ``y_imp`` (int, draw 2 tau), ``y_mid`` (int, draw 2 tau - 1) and ``w`` (float64,
    the ConnVarRandom draw of the epoch ending at that step, 0 elsewhere).
    """
    n_draw = 2 * tau_hi + 1
    out = {}
    for key, seed, kind in (("x_dec", rng_seed, "f"), ("x_imp", rng_seed + 1, "i"), ("y_dec", rng_seed + 2, "f"),
                            ("y_imp", rng_seed + 3, "i")):
        g = np.random.default_rng(seed)
        if kind == "f":
            draws = np.array([g.random(1)[0] for _ in range(n_draw)], np.float64)
        else:
            draws = np.array([g.integers(0, 2**7, size=1, dtype=int)[0] for _ in range(n_draw)], np.int64)
        out[key] = draws
    taus = np.arange(tau_lo + 1, tau_hi + 1)
    res = {k: out[k][2 * taus] for k in ("x_dec", "x_imp", "y_dec", "y_imp")}
    res["y_mid"] = out["y_imp"][2 * taus - 1]
    g = np.random.default_rng(2)
    n_ep = tau_hi // t_epoch
    cw = np.array([g.random(1)[0] for _ in range(n_ep + 1)], np.float64)  # draw 0 is never used
    res["w"] = np.where(taus % t_epoch == 0, cw[np.minimum(taus // t_epoch, n_ep)], 0.0)
    return res


def add_impulse(v: NDArray, r: int, imp_int: int, imp_frac: int) -> NDArray:
    """``clip(v + I + [r < F], 0, 127)``: an impulse with stochastic rounding of its fraction."""
    return np.clip(v + imp_int + int(r < imp_frac), 0, 127)


def _decay(v: NDArray, p: dict, k: int, rng) -> NDArray:
    """One sub-step of decay of trace row k."""
    if p["mode"] == 0:  # lava: float64, floor + [r < fraction]
        prod = p["dfac"][k] * v.astype(np.float64)
        fl = np.floor(prod)
        return (fl + (rng["dec"][k] < prod - fl)).astype(np.int64)
    r = rng["dec"][k] >> 52  # 12 random bits; v >= 0 in chip mode
    return (v * p["dint"][k] + r) >> 12


def _factor(p: dict, f: int, prod: int, xv, yv, x0, y0, W, D, Tg) -> NDArray:
    var, const, sgn = (int(p["prod"][prod, 6 + 3 * f + i]) for i in range(3))
    if var == 0:
        val = x0[None, :].astype(np.int64)
    elif var == 1:
        val = y0[:, None].astype(np.int64)
    elif var in (2, 3):
        val = xv[var - 2]
    elif var in (4, 5, 6):
        val = yv[var - 4]
    else:
        val = (W, D, Tg)[var - 7]
    val = val + const
    if sgn:
        val = np.sign(val)
    wbits = (1, 1, 7, 7, 7, 7, 7, 9, 9, 9)[var]
    return np.clip(val, -(1 << wbits), (1 << wbits) - 1)


def _products(p: dict, hx, hy, tx, ty, x0, y0, u, W, D, Tg) -> list[NDArray]:
    """The three accumulators (dw, dd, dt) after every product, in order."""
    E = p["t_epoch"]
    acc = [W << 7, D << 7, Tg << 7]
    lo = p["acc_lo"]
    M, Ns = W.shape
    for i in range(p["prod"].shape[0]):
        target, dep, s_mant, s_exp, shift, nf = (int(v) for v in p["prod"][i, :6])
        if dep == 0:  # x0: traces at the pre neuron's last spike time
            xv = [np.broadcast_to(hx[tx, r, np.arange(Ns)][None, :], (M, Ns)) for r in range(2)]
            yv = [hy[tx][:, r, :].T for r in range(3)]
            mac = np.broadcast_to(x0[None, :].astype(np.int64), (M, Ns))
        elif dep == 1:  # y0: traces at the post neuron's last spike time
            xv = [hx[ty][:, r, :] for r in range(2)]
            yv = [np.broadcast_to(hy[ty, r, np.arange(M)][:, None], (M, Ns)) for r in range(3)]
            mac = np.broadcast_to(y0[:, None].astype(np.int64), (M, Ns))
        else:  # u: the end of the epoch
            xv = [np.broadcast_to(hx[E, r][None, :], (M, Ns)) for r in range(2)]
            yv = [np.broadcast_to(hy[E, r][:, None], (M, Ns)) for r in range(3)]
            mac = np.full((M, Ns), u, np.int64)
        for f in range(nf):
            mac = mac * _factor(p, f, i, xv, yv, x0, y0, W, D, Tg)
        mac = mac * s_mant
        prod = np.clip((mac >> shift) << s_exp, lo, 32767)
        acc[target] = np.clip(acc[target] + prod, lo, 32767)
    return acc


def _round(acc: NDArray, p: dict, which: int, c) -> NDArray:
    """Stochastic rounding of an accumulator onto its grid (which: 0 w, 1 d, 2 t)."""
    if p["mode"] == 0:
        q = acc.astype(np.float64) / 128.0
        fl = np.floor(q)
        return (fl + (c < q - fl)).astype(np.int64)
    n = p["wgrid"] if which == 0 else 0
    unit = 128 << n
    r = (c >> 32) & (unit - 1)
    return ((acc + r) >> (7 + n)) << n


def _learn(p: dict, st: dict, tau: int, rng: dict, sample: int) -> None:
    """The learning phase of one projection at the end of Lava step ``tau``."""
    E = p["t_epoch"]
    tx, ty = st["tx"], st["ty"]
    x0, y0 = tx > 0, ty > 0
    k = p["decimate"]
    u = int((tau // E) % (1 << k) == 0) if k >= 0 else 0
    nx, ny = 2, 3
    hx = np.zeros((E + 1, 2, tx.size), np.int64)
    hy = np.zeros((E + 1, 3, ty.size), np.int64)
    hx[0], hy[0] = st["x"], st["y"]
    for s in range(1, E + 1):
        for h, rows, off, times in ((hx, nx, 0, tx), (hy, ny, 2, ty)):
            for r in range(rows):
                if p["tau_zero"][off + r] == 0 and not (off and p["three_factor"] and p["mode"] == 1):
                    h[s, r] = _decay(h[s - 1, r], p, off + r, rng)
                elif off and p["three_factor"] and p["mode"] == 1:
                    h[s, r] = h[s - 1, r]
            sel = times == s
            if sel.any() and not (off and p["three_factor"] and p["mode"] == 1):
                for r in range(rows):
                    h[s, r, sel] = add_impulse(h[s, r, sel], rng["imp"][off + r], p["imp_int"][off + r],
                                               p["imp_frac"][off + r])
    st["x"] = hx[E].copy()
    if not p["three_factor"]:
        st["y"] = hy[E].copy()
    W, D, Tg = st["w"], st["d"], st["t"]
    acc = _products(p, hx, hy, tx, ty, x0, y0, u, W, D, Tg)
    c = rng["w"]
    new_w = _round(np.clip(acc[0], p["wacc_lo"], p["wacc_hi"]), p, 0, c)
    st["w"] = np.clip(new_w, p["w_lo"], p["w_hi"])
    st["d"] = np.clip(_round(np.maximum(acc[1], 0), p, 1, c), 0, 255)
    st["t"] = np.clip(_round(acc[2], p, 2, c), p["t_lo"], 255)
    st["tx"][:] = 0
    st["ty"][:] = 0


def _rng(p: dict, tau: int, idx: int, sample: int) -> dict:
    """The random numbers of Lava step ``tau`` for one projection (idx = tau - step0 - 1)."""
    if p["mode"] == 0:
        L = p["lava_rand"]
        dec = [L["x_dec"][idx]] * 2 + [L["y_dec"][idx]] * 3
        imp = [int(L["x_imp"][idx])] * 2 + [int(L["y_imp"][idx])] * 3
        mid = [0, 0] + [int(L["y_mid"][idx])] * 3
        return {"dec": dec, "imp": imp, "mid": mid, "w": float(L["w"][idx])}
    s, j = p["seed"], p["index"]
    cr = (lambda stream: chip_random(s, j, sample, tau, stream))
    return {"dec": [cr(k) for k in range(5)], "imp": [cr(5 + k) >> 56 for k in range(5)],
            "mid": [cr(10 + k) >> 56 for k in range(5)], "w": cr(15)}


def _book(p: dict, st: dict, s_pre, s_post, r_in, tau: int, idx: int, sample: int) -> None:
    """Spike bookkeeping of step ``tau`` (before a learning phase)."""
    E = p["t_epoch"]
    kt = tau % E or E
    rng = _rng(p, tau, idx, sample)
    if p["three_factor"]:  # the post neuron's own trace, from its spikes of the previous step
        if p["mode"] == 0:
            st["y1n"] = np.floor(st["y1n"] * p["y1_fac"] + p["y1_mag"] * st["sprev"].astype(np.float64))
        else:
            st["y1n"] = np.minimum(((st["y1n"].astype(np.int64) * p["y1_int"] + (rng["dec"][2] >> 52)) >> 12)
                                   + p["y1_mag_int"] * st["sprev"].astype(np.int64), 127)
        st["sprev"] = s_post.copy()
    multi = (st["tx"] > 0) & s_pre
    for r in range(2):
        st["x"][r, multi] = add_impulse(st["x"][r, multi], rng["mid"][r], p["imp_int"][r], p["imp_frac"][r])
    st["tx"][s_pre] = kt
    if p["three_factor"]:
        st["y"][0] = st["y1n"].astype(np.int64)
        st["y"][1] = r_in if p["mode"] == 0 else np.clip(r_in, -128, 127)
        st["y"][2] = 0
    else:
        multi = (st["ty"] > 0) & s_post
        for r in range(3):
            st["y"][r, multi] = add_impulse(st["y"][r, multi], rng["mid"][2 + r], p["imp_int"][2 + r],
                                            p["imp_frac"][2 + r])
    st["ty"][s_post] = kt
    if tau % E == 0:
        _learn(p, st, tau, rng, sample)


def _emit(p: dict, W: NDArray, spk: NDArray, act_shift: int) -> NDArray:
    """A plastic projection's output for one step: ``((sum W[:, spk]) shifted by weight_exp) << act_shift``."""
    s = W[:, spk].sum(axis=1)
    e = p["wexp"]
    s = s << e if e >= 0 else s >> -e
    return s << act_shift


def _neurons(tb: dict, u, v, refr, a, theta):
    """One update of every neuron (neurons.h) with threshold ``(vth + theta) << vth_shift``, then
    the adaptive threshold's step. Returns (u, v, refr, spikes, active, ovf_u, ovf_v, theta)."""
    from neurocore.kernels.reference import saturate_bits, trunc_shift, wrap_bits

    lim = (lambda x, bits, wrap: wrap_bits(x, bits) if wrap else saturate_bits(x, bits))
    db = tb["decay_bits"]
    active = (a != 0) | (u != 0) | (v != 0) | (tb["bias"] != 0) | (refr != 0)
    un = trunc_shift(u * tb["decay_u"], db) + a
    u2 = lim(un, tb["u_bits"], tb["u_wrap"])
    held = refr > 0
    vn = trunc_shift(v * tb["decay_v"], db) + u2 + tb["bias"]
    vl = lim(vn, tb["v_bits"], tb["v_wrap"])
    vth = tb["vth"] + (theta << tb["vth_shift"])
    spikes = (vl > vth) & ~held
    vr = np.where(tb["reset"] != 0, vl - vth, 0)
    v2 = np.where(held, v, np.where(spikes, vr, vl))
    refr2 = np.where(held, refr - 1, np.where(spikes, tb["refractory"], 0))
    theta2 = np.minimum(trunc_shift(theta * tb["theta_decay"], db) + tb["theta_inc"] * spikes, tb["theta_cap"])
    return u2, v2, refr2, spikes, active, int((u2 != un).sum()), int(((vl != vn) & ~held).sum()), theta2


def simulate(tb: dict, inputs: NDArray, n_steps: int, state: dict, record: dict | None = None) -> dict:
    """Run every sample of ``inputs`` (batch, n_steps, C) from ``state`` (modified in place).

    ``tb`` is :func:`neurocore.learning_sim.learn_tables`; ``state`` holds per sample ``u``,
    ``v``, ``refr``, ``acc``, ``racc`` (D, N) and per plastic projection j ``p{j}.w`` /
    ``.d`` / ``.t`` (M, Ns), ``.x`` (2, Ns), ``.tx``, ``.y`` (3, M), ``.ty``, ``.y1n``, ``.sprev``,
    and the step counter ``step0``. Returns ``flags`` (batch, T, N) uint8 (active | spike << 1),
    ``ovf`` (batch, 2) and, for each recorded projection, ``rec{j}.<var>`` (batch, T, ...).
    """
    x = np.asarray(inputs, np.int64)
    B, T, N, D = x.shape[0], int(n_steps), tb["N"], tb["D"]
    flags = np.zeros((B, T, N), np.uint8)
    rec_uv = bool((record or {}).get("uv"))
    urec = np.zeros((B, T, N) if rec_uv else (1, 1, 1), np.int64)
    vrec = np.zeros_like(urec)
    ovf = np.zeros((B, 2), np.int64)
    rec = {}
    step0 = int(state["step0"])
    ptr, tgt, w, dly, rew = tb["s_ptr"], tb["s_tgt"], tb["s_w"], tb["s_delay"], tb["s_rew"]
    for b in range(B):
        u, v, refr, theta = state["u"][b], state["v"][b], state["refr"][b], state["theta"][b]
        acc, racc = state["acc"][b], state["racc"][b]
        sts = [{k: state[f"p{j}.{k}"][b] for k in ("w", "d", "t", "x", "tx", "y", "ty", "y1n", "sprev")}
               for j in range(len(tb["plastic"]))]

        def deliver(src, val, t):  # t: global step (accumulation slots continue across runs)
            for k in range(ptr[src], ptr[src + 1]):
                slot = (t + dly[k]) % D
                (racc if rew[k] else acc)[slot, tgt[k]] += w[k] * val

        for t in range(T):
            tau = step0 + t + 1
            tg = step0 + t
            for c in np.flatnonzero(x[b, t]):
                deliver(N + c, x[b, t, c], tg)
            pre = {}
            for j, p in enumerate(tb["plastic"]):
                if p["src"] >= N:
                    spk = x[b, t, p["src"] - N: p["src"] - N + p["n_src"]] != 0
                    pre[j] = spk
                    acc[(tg + p["delay"]) % D, p["dst"]: p["dst"] + p["n_dst"]] += _emit(p, sts[j]["w"], spk,
                                                                                       tb["act_shift"])
            slot = tg % D
            a, r_in = acc[slot].copy(), racc[slot].copy()
            acc[slot], racc[slot] = 0, 0
            u2, v2, refr2, s, act, ou, ov, th2 = _neurons(tb, u, v, refr, a, theta)
            u[:], v[:], refr[:], theta[:] = u2, v2, refr2, th2
            ovf[b] += (ou, ov)
            flags[b, t] = act.astype(np.uint8) | (s.astype(np.uint8) << 1)
            if rec_uv:
                urec[b, t], vrec[b, t] = u, v
            for n in np.flatnonzero(s):
                deliver(n, 1, tg)
            for j, p in enumerate(tb["plastic"]):
                st = sts[j]
                if p["src"] < N:
                    spk = s[p["src"]: p["src"] + p["n_src"]]
                    pre[j] = spk
                    acc[(tg + p["delay"]) % D, p["dst"]: p["dst"] + p["n_dst"]] += _emit(p, st["w"], spk,
                                                                                       tb["act_shift"])
                if p["learn"]:
                    _book(p, st, pre[j], s[p["dst"]: p["dst"] + p["n_dst"]], r_in[p["dst"]: p["dst"] + p["n_dst"]],
                          tau, tau - step0 - 1, b)
                for var in (record or {}).get(j, ()):
                    if var == "uv":
                        continue
                    key = f"rec{j}.{var}"
                    if key not in rec:
                        rec[key] = np.zeros((B, T) + np.shape(st[var]), np.int64)
                    rec[key][b, t] = st[var]
        for j, st in enumerate(sts):
            for k, val in st.items():
                state[f"p{j}.{k}"][b] = val
    return {"flags": flags, "ovf": ovf, "u": urec, "v": vrec, **rec}

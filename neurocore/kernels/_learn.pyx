# cython: language_level=3
"""The learning kernel: networks with plastic projections, one sample at a time, integers
(and, in Lava mode, Lava's float64 trace decay) only. Built with -ffp-contract=off so
that no fused multiply-add changes a float64 result.

The NumPy twin is ``neurocore.kernels.learning_reference`` (the per-step order is
written there); tests require identical results. The neuron update is ``neurons.h``'s
``nc_update64``. No ``>>``, ``//`` or ``%`` is applied to a negative number: floors use
:func:`floor_shift`.
"""
from libc.math cimport floor
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

from neurocore.kernels.fixedpoint cimport nc_trunc_shift, nc_update64

import numpy as np

cdef int64_t ACC_HI = 32767


cdef struct Plastic:
    int64_t src, n_src, dst, n_dst, delay, wexp
    int mode, three, E, decimate, n_prod, learn, wgrid
    int64_t seed, index
    const int64_t* prod        # n_prod x 15
    int64_t imp_int[5]
    int64_t imp_frac[5]
    int64_t tau_zero[5]
    double dfac[5]
    int64_t dint[5]
    double y1_fac, y1_mag
    int64_t y1_int, y1_mag_int
    int64_t acc_lo, t_lo, wacc_lo, wacc_hi, w_lo, w_hi
    # Lava random streams, indexed by tau - step0 - 1
    const double* r_xdec
    const double* r_ydec
    const int64_t* r_ximp
    const int64_t* r_yimp
    const int64_t* r_ymid
    const double* r_w
    # state (B-major blocks)
    int64_t* w
    int64_t* d
    int64_t* t
    int64_t* x
    int64_t* tx
    int64_t* y
    int64_t* ty
    double* y1n
    uint8_t* sprev
    # records (NULL if not recorded)
    int64_t* rec[7]


cdef inline int64_t floor_shift(int64_t x, int k) noexcept nogil:
    """floor(x / 2**k) without shifting a negative number."""
    cdef int64_t q = nc_trunc_shift(x, k)
    if x < 0 and q * (<int64_t>1 << k) != x:
        q -= 1
    return q


cdef inline int64_t clip64(int64_t x, int64_t lo, int64_t hi) noexcept nogil:
    return lo if x < lo else (hi if x > hi else x)


cdef inline uint64_t mix64(uint64_t z) noexcept nogil:
    z = z + <uint64_t>0x9E3779B97F4A7C15ULL
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline uint64_t chip_random(int64_t seed, int64_t proj, int64_t sample, int64_t tau, int stream) noexcept nogil:
    return mix64(mix64(mix64(mix64(<uint64_t>seed) + <uint64_t>proj) + <uint64_t>sample)
                 + <uint64_t>tau * 16 + <uint64_t>stream)


cdef struct Rng:
    double dec_f[5]
    uint64_t dec_i[5]
    int64_t imp[5]
    int64_t mid[5]
    double w_f
    uint64_t w_i


cdef inline void get_rng(const Plastic* p, int64_t tau, int64_t idx, int64_t sample, Rng* r) noexcept nogil:
    cdef int k
    if p.mode == 0:
        for k in range(5):
            r.dec_f[k] = p.r_xdec[idx] if k < 2 else p.r_ydec[idx]
            r.imp[k] = p.r_ximp[idx] if k < 2 else p.r_yimp[idx]
            r.mid[k] = 0 if k < 2 else p.r_ymid[idx]
        r.w_f = p.r_w[idx]
    else:
        for k in range(5):
            r.dec_i[k] = chip_random(p.seed, p.index, sample, tau, k)
            r.imp[k] = <int64_t>(chip_random(p.seed, p.index, sample, tau, 5 + k) >> 56)
            r.mid[k] = <int64_t>(chip_random(p.seed, p.index, sample, tau, 10 + k) >> 56)
        r.w_i = chip_random(p.seed, p.index, sample, tau, 15)


cdef inline int64_t add_impulse(int64_t v, int64_t r, int64_t I, int64_t F) noexcept nogil:
    return clip64(v + I + (1 if r < F else 0), 0, 127)


cdef inline int64_t decay(const Plastic* p, int64_t v, int k, const Rng* r) noexcept nogil:
    cdef double prod, fl
    if p.mode == 0:
        prod = p.dfac[k] * <double>v
        fl = floor(prod)
        return <int64_t>fl + (1 if r.dec_f[k] < prod - fl else 0)
    return (v * p.dint[k] + <int64_t>(r.dec_i[k] >> 52)) >> 12   # v >= 0 in chip mode


cdef inline int64_t round_acc(const Plastic* p, int64_t acc, int n, const Rng* r) noexcept nogil:
    """Stochastic rounding of an accumulator (1 weight LSB = 128) onto the grid 2**n."""
    cdef int64_t fl, rem, unit
    if p.mode == 0:
        fl = floor_shift(acc, 7)
        rem = acc - fl * 128
        return fl + (1 if r.w_f * 128.0 < <double>rem else 0)
    unit = <int64_t>128 << n
    return floor_shift(acc + <int64_t>((r.w_i >> 32) & <uint64_t>(unit - 1)), 7 + n) * (<int64_t>1 << n)


cdef inline int64_t factor_value(const Plastic* p, int64_t var, int64_t cst, int64_t sgn, int64_t i, int64_t j,
                                 const int64_t* hx, const int64_t* hy, int64_t hxi, int64_t hyi,
                                 int64_t x0, int64_t y0, int64_t wv, int64_t dv, int64_t tv) noexcept nogil:
    """One factor at synapse (i, j); hxi / hyi: the history row the x / y traces are read at."""
    cdef int64_t val, bits
    cdef int64_t Ns = p.n_src, M = p.n_dst
    if var == 0:
        val = x0
    elif var == 1:
        val = y0
    elif var <= 3:
        val = hx[(hxi * 2 + (var - 2)) * Ns + j]
    elif var <= 6:
        val = hy[(hyi * 3 + (var - 4)) * M + i]
    elif var == 7:
        val = wv
    elif var == 8:
        val = dv
    else:
        val = tv
    val = val + cst
    if sgn:
        val = (val > 0) - (val < 0)
    bits = 1 if var <= 1 else (7 if var <= 6 else 9)
    return clip64(val, -(<int64_t>1 << bits), (<int64_t>1 << bits) - 1)


cdef void learn(Plastic* p, int64_t b, int64_t tau, const Rng* r, int64_t* hx, int64_t* hy) noexcept nogil:
    """The learning phase at the end of Lava step tau (EQUATIONS.md §8)."""
    cdef int64_t Ns = p.n_src, M = p.n_dst, E = p.E, s, k, j, i, q, f, row
    cdef int64_t* x = p.x + b * 2 * Ns
    cdef int64_t* tx = p.tx + b * Ns
    cdef int64_t* y = p.y + b * 3 * M
    cdef int64_t* ty = p.ty + b * M
    cdef int64_t* W = p.w + b * M * Ns
    cdef int64_t* Dg = p.d + b * M * Ns
    cdef int64_t* Tg = p.t + b * M * Ns
    cdef int64_t acc[3]
    cdef int64_t u = 0, mac, prodv, x0, y0, wv, dv, tv, hxi, hyi, tgt, dep
    cdef bint chip3 = p.three and p.mode == 1
    if p.decimate >= 0:
        u = 1 if (tau // E) % (<int64_t>1 << p.decimate) == 0 else 0
    # trace histories hx (E+1, 2, Ns), hy (E+1, 3, M)
    memset(hx, 0, (E + 1) * 2 * Ns * sizeof(int64_t))
    memset(hy, 0, (E + 1) * 3 * M * sizeof(int64_t))
    memcpy(hx, x, 2 * Ns * sizeof(int64_t))
    memcpy(hy, y, 3 * M * sizeof(int64_t))
    for s in range(1, E + 1):
        for k in range(2):
            if p.tau_zero[k] == 0:
                for j in range(Ns):
                    hx[(s * 2 + k) * Ns + j] = decay(p, hx[((s - 1) * 2 + k) * Ns + j], <int>k, r)
            for j in range(Ns):
                if tx[j] == s:
                    hx[(s * 2 + k) * Ns + j] = add_impulse(hx[(s * 2 + k) * Ns + j], r.imp[k], p.imp_int[k],
                                                           p.imp_frac[k])
        for k in range(3):
            if chip3:
                for i in range(M):
                    hy[(s * 3 + k) * M + i] = hy[((s - 1) * 3 + k) * M + i]
                continue
            if p.tau_zero[2 + k] == 0:
                for i in range(M):
                    hy[(s * 3 + k) * M + i] = decay(p, hy[((s - 1) * 3 + k) * M + i], <int>(2 + k), r)
            for i in range(M):
                if ty[i] == s:
                    hy[(s * 3 + k) * M + i] = add_impulse(hy[(s * 3 + k) * M + i], r.imp[2 + k], p.imp_int[2 + k],
                                                          p.imp_frac[2 + k])
    memcpy(x, hx + E * 2 * Ns, 2 * Ns * sizeof(int64_t))
    if not p.three:
        memcpy(y, hy + E * 3 * M, 3 * M * sizeof(int64_t))
    for i in range(M):
        for j in range(Ns):
            q = i * Ns + j
            wv, dv, tv = W[q], Dg[q], Tg[q]
            x0, y0 = tx[j] > 0, ty[i] > 0
            acc[0], acc[1], acc[2] = wv * 128, dv * 128, tv * 128
            for row in range(p.n_prod):
                tgt, dep = p.prod[row * 15], p.prod[row * 15 + 1]
                if dep == 0:
                    mac, hxi, hyi = x0, tx[j], tx[j]
                elif dep == 1:
                    mac, hxi, hyi = y0, ty[i], ty[i]
                else:
                    mac, hxi, hyi = u, E, E
                for f in range(p.prod[row * 15 + 5]):
                    mac = mac * factor_value(p, p.prod[row * 15 + 6 + 3 * f], p.prod[row * 15 + 7 + 3 * f],
                                             p.prod[row * 15 + 8 + 3 * f], i, j, hx, hy, hxi, hyi, x0, y0,
                                             wv, dv, tv)
                mac = mac * p.prod[row * 15 + 2]
                prodv = clip64(floor_shift(mac, <int>p.prod[row * 15 + 4]) * (<int64_t>1 << p.prod[row * 15 + 3]),
                               p.acc_lo, ACC_HI)
                acc[tgt] = clip64(acc[tgt] + prodv, p.acc_lo, ACC_HI)
            W[q] = clip64(round_acc(p, clip64(acc[0], p.wacc_lo, p.wacc_hi), p.wgrid, r), p.w_lo, p.w_hi)
            Dg[q] = clip64(round_acc(p, acc[1] if acc[1] > 0 else 0, 0, r), 0, 255)
            Tg[q] = clip64(round_acc(p, acc[2], 0, r), p.t_lo, 255)
    memset(tx, 0, Ns * sizeof(int64_t))
    memset(ty, 0, M * sizeof(int64_t))


cdef void book(Plastic* p, int64_t b, const uint8_t* s_pre, const uint8_t* s_post, const int64_t* r_in,
               int64_t tau, int64_t idx, int64_t* hx, int64_t* hy) noexcept nogil:
    """Spike bookkeeping of step tau, then the learning phase if the step closes an epoch."""
    cdef int64_t Ns = p.n_src, M = p.n_dst, j, i, k, kt = tau % p.E
    cdef int64_t* x = p.x + b * 2 * Ns
    cdef int64_t* tx = p.tx + b * Ns
    cdef int64_t* y = p.y + b * 3 * M
    cdef int64_t* ty = p.ty + b * M
    cdef double* y1n = p.y1n + b * M
    cdef uint8_t* sprev = p.sprev + b * M
    cdef Rng r
    cdef int64_t yi
    if kt == 0:
        kt = p.E
    get_rng(p, tau, idx, b, &r)
    if p.three:
        for i in range(M):
            if p.mode == 0:
                y1n[i] = floor(y1n[i] * p.y1_fac + p.y1_mag * <double>sprev[i])
            else:
                yi = ((<int64_t>y1n[i] * p.y1_int + <int64_t>(r.dec_i[2] >> 52)) >> 12) + p.y1_mag_int * sprev[i]
                y1n[i] = <double>(yi if yi < 127 else 127)
            sprev[i] = s_post[i]
    for j in range(Ns):
        if s_pre[j]:
            if tx[j] > 0:
                for k in range(2):
                    x[k * Ns + j] = add_impulse(x[k * Ns + j], r.mid[k], p.imp_int[k], p.imp_frac[k])
            tx[j] = kt
    for i in range(M):
        if p.three:
            y[i] = <int64_t>y1n[i]
            y[M + i] = r_in[i] if p.mode == 0 else clip64(r_in[i], -128, 127)
            y[2 * M + i] = 0
        elif s_post[i] and ty[i] > 0:
            for k in range(3):
                y[k * M + i] = add_impulse(y[k * M + i], r.mid[2 + k], p.imp_int[2 + k], p.imp_frac[2 + k])
        if s_post[i]:
            ty[i] = kt
    if tau % p.E == 0:
        learn(p, b, tau, &r, hx, hy)


cdef void emit(const Plastic* p, int64_t b, const uint8_t* spk, int64_t* acc_slot, int act_shift) noexcept nogil:
    cdef int64_t i, j, s, Ns = p.n_src, M = p.n_dst
    cdef const int64_t* W = p.w + b * M * Ns
    for i in range(M):
        s = 0
        for j in range(Ns):
            if spk[j]:
                s += W[i * Ns + j]
        if p.wexp >= 0:
            s = s * (<int64_t>1 << p.wexp)
        else:
            s = floor_shift(s, <int>(-p.wexp))
        acc_slot[p.dst + i] += s * (<int64_t>1 << act_shift)


cdef struct Net:
    int64_t N, C, D, T, step0
    int decay_bits, u_bits, v_bits, u_wrap, v_wrap, act_shift
    const int32_t* decay_u
    const int32_t* decay_v
    const int64_t* vth
    const int64_t* bias
    const int32_t* reset
    const int32_t* refractory
    const int64_t* s_ptr
    const int64_t* s_tgt
    const int64_t* s_w
    const int64_t* s_delay
    const uint8_t* s_rew
    int64_t n_plastic
    Plastic* pl
    int64_t max_hist
    int vth_shift
    const int64_t* theta_inc
    const int64_t* theta_decay   # 2**decay_bits - theta_decay
    const int64_t* theta_cap


cdef inline void deliver(const Net* net, int64_t src, int64_t val, int64_t t, int64_t* acc,
                         int64_t* racc) noexcept nogil:
    cdef int64_t k, slot
    for k in range(net.s_ptr[src], net.s_ptr[src + 1]):
        slot = (t + net.s_delay[k]) % net.D
        if net.s_rew[k]:
            racc[slot * net.N + net.s_tgt[k]] += net.s_w[k] * val
        else:
            acc[slot * net.N + net.s_tgt[k]] += net.s_w[k] * val


cdef void run_sample(Net* net, int64_t b, const int32_t* xin, int64_t* u, int64_t* v, int64_t* refr64,
                     int64_t* acc, int64_t* racc, uint8_t* flags, int64_t* ovf, int64_t* urec,
                     int64_t* vrec, int64_t* theta) noexcept nogil:
    cdef int64_t N = net.N, C = net.C, D = net.D, T = net.T, t, c, n, j, slot, tau, tg
    cdef int64_t* r_in = <int64_t*>calloc(N + 1, sizeof(int64_t))
    cdef int32_t* refr = <int32_t*>calloc(N + 1, sizeof(int32_t))
    cdef int32_t* flag = <int32_t*>calloc(N + 1, sizeof(int32_t))
    cdef uint8_t* spk = <uint8_t*>calloc(N + 1, 1)
    cdef uint8_t* pre = <uint8_t*>calloc(N + C + 1, 1)
    cdef int64_t* hx = <int64_t*>malloc((net.max_hist + 1) * sizeof(int64_t))
    cdef int64_t* hy = <int64_t*>malloc((net.max_hist + 1) * sizeof(int64_t))
    cdef int64_t* vth = <int64_t*>calloc(N + 1, sizeof(int64_t))
    cdef int64_t th
    cdef Plastic* p
    cdef int64_t ov[2]
    cdef int32_t cu[4]
    cdef const int32_t* xt
    ov[0] = 0
    ov[1] = 0
    for n in range(N):
        refr[n] = <int32_t>refr64[n]
    for t in range(T):
        tau = net.step0 + t + 1
        tg = tau - 1  # global step: accumulation slots continue across runs
        xt = xin + t * C
        for c in range(C):
            pre[N + c] = xt[c] != 0
            if xt[c] != 0:
                deliver(net, N + c, xt[c], tg, acc, racc)
        for j in range(net.n_plastic):
            p = &net.pl[j]
            if p.src >= N:
                emit(p, b, pre + p.src, acc + ((tg + p.delay) % D) * N, net.act_shift)
        slot = tg % D
        memcpy(r_in, racc + slot * N, N * sizeof(int64_t))
        memset(racc + slot * N, 0, N * sizeof(int64_t))
        for n in range(N):  # the adaptive threshold (0 for neurons without one)
            vth[n] = net.vth[n] + theta[n] * (<int64_t>1 << net.vth_shift)
        cu[0] = 0
        cu[1] = 0
        cu[2] = 0
        cu[3] = 0
        nc_update64(N, acc + slot * N, u, v, refr, flag, net.decay_u, net.decay_v, vth, net.bias, net.reset,
                    net.refractory, net.decay_bits, net.u_bits, net.v_bits, net.u_wrap, net.v_wrap, 0, cu)
        ov[0] += cu[2]
        ov[1] += cu[3]
        for n in range(N):
            spk[n] = (flag[n] >> 1) & 1
            th = nc_trunc_shift(theta[n] * net.theta_decay[n], net.decay_bits) + net.theta_inc[n] * spk[n]
            theta[n] = th if th < net.theta_cap[n] else net.theta_cap[n]
            pre[n] = spk[n]
            flags[t * N + n] = <uint8_t>flag[n]
        if urec != NULL:
            memcpy(urec + t * N, u, N * sizeof(int64_t))
            memcpy(vrec + t * N, v, N * sizeof(int64_t))
        for n in range(N):
            if spk[n]:
                deliver(net, n, 1, tg, acc, racc)
        for j in range(net.n_plastic):
            p = &net.pl[j]
            if p.src < N:
                emit(p, b, pre + p.src, acc + ((tg + p.delay) % D) * N, net.act_shift)
            if p.learn:
                book(p, b, pre + p.src, spk + p.dst, r_in + p.dst, tau, t, hx, hy)
            record(p, b, t)
    for n in range(N):
        refr64[n] = refr[n]
    ovf[0] += ov[0]
    ovf[1] += ov[1]
    free(r_in)
    free(refr)
    free(flag)
    free(spk)
    free(pre)
    free(hx)
    free(hy)
    free(vth)


cdef int64_t REC_SIZE(const Plastic* p, int k) noexcept nogil:
    cdef int64_t Ns = p.n_src, M = p.n_dst
    if k < 3:
        return M * Ns
    if k == 3:
        return 2 * Ns
    if k == 4:
        return Ns
    if k == 5:
        return 3 * M
    return M


cdef int64_t* STATE_PTR(const Plastic* p, int k) noexcept nogil:
    if k == 0:
        return p.w
    if k == 1:
        return p.t
    if k == 2:
        return p.d
    if k == 3:
        return p.x
    if k == 4:
        return p.tx
    if k == 5:
        return p.y
    return p.ty


cdef void record(const Plastic* p, int64_t b, int64_t t) noexcept nogil:
    cdef int k
    cdef int64_t sz
    for k in range(7):
        if p.rec[k] != NULL:
            sz = REC_SIZE(p, k)
            memcpy(p.rec[k] + t * sz, STATE_PTR(p, k) + b * sz, sz * sizeof(int64_t))


REC_KEYS = ("w", "t", "d", "x", "tx", "y", "ty")


def run(dict tb, const int32_t[:, :, ::1] inputs, int64_t n_steps, dict state, dict record_req):
    """Run a batch (see ``learning_reference.simulate`` for the arguments and outputs)."""
    cdef int64_t B = inputs.shape[0], N = tb["N"], C = tb["C"], D = tb["D"], T = n_steps, b, j, k, sz
    cdef Net net
    cdef list keep = []
    cdef list plastic = tb["plastic"]
    net.N, net.C, net.D, net.T, net.step0 = N, C, D, T, state["step0"]
    net.decay_bits, net.u_bits, net.v_bits = tb["decay_bits"], tb["u_bits"], tb["v_bits"]
    net.u_wrap, net.v_wrap, net.act_shift = tb["u_wrap"], tb["v_wrap"], tb["act_shift"]

    def arr(a, dt):
        a = np.ascontiguousarray(a, dt)
        if a.size == 0:
            a = np.zeros(1, dt)
        keep.append(a)
        return a

    cdef const int32_t[::1] dcu = arr(tb["decay_u"], np.int32), dcv = arr(tb["decay_v"], np.int32)
    cdef const int64_t[::1] vth = arr(tb["vth"], np.int64), bias = arr(tb["bias"], np.int64)
    cdef const int32_t[::1] reset = arr(-np.asarray(tb["reset"]), np.int32)
    cdef const int32_t[::1] refractory = arr(tb["refractory"], np.int32)
    cdef const int64_t[::1] s_ptr = arr(tb["s_ptr"], np.int64), s_tgt = arr(tb["s_tgt"], np.int64)
    cdef const int64_t[::1] s_w = arr(tb["s_w"], np.int64), s_delay = arr(tb["s_delay"], np.int64)
    cdef const uint8_t[::1] s_rew = arr(tb["s_rew"], np.uint8)
    cdef const int64_t[::1] th_inc = arr(tb["theta_inc"], np.int64), th_dec = arr(tb["theta_decay"], np.int64)
    cdef const int64_t[::1] th_cap = arr(tb["theta_cap"], np.int64)
    net.theta_inc, net.theta_decay, net.theta_cap, net.vth_shift = &th_inc[0], &th_dec[0], &th_cap[0], tb["vth_shift"]
    net.decay_u, net.decay_v, net.vth, net.bias = &dcu[0], &dcv[0], &vth[0], &bias[0]
    net.reset, net.refractory = &reset[0], &refractory[0]
    net.s_ptr, net.s_tgt, net.s_w, net.s_delay, net.s_rew = &s_ptr[0], &s_tgt[0], &s_w[0], &s_delay[0], &s_rew[0]
    net.n_plastic = len(plastic)
    net.pl = <Plastic*>calloc(max(net.n_plastic, 1), sizeof(Plastic))
    net.max_hist = 1
    out = {}
    cdef int64_t[::1] view
    cdef double[::1] fview
    cdef uint8_t[::1] bview
    cdef const int64_t[::1] cview
    cdef const double[::1] cfview
    cdef Plastic* p
    try:
        for j in range(net.n_plastic):
            pd = plastic[j]
            p = &net.pl[j]
            p.src, p.n_src, p.dst, p.n_dst = pd["src"], pd["n_src"], pd["dst"], pd["n_dst"]
            p.delay, p.wexp, p.mode, p.three = pd["delay"], pd["wexp"], pd["mode"], pd["three_factor"]
            p.E, p.decimate, p.learn, p.wgrid = pd["t_epoch"], pd["decimate"], pd["learn"], pd["wgrid"]
            p.seed, p.index = pd["seed"], pd["index"]
            prod = arr(pd["prod"].ravel(), np.int64)
            cview = prod
            p.prod = &cview[0]
            p.n_prod = pd["prod"].shape[0]
            for k in range(5):
                p.imp_int[k], p.imp_frac[k], p.tau_zero[k] = pd["imp_int"][k], pd["imp_frac"][k], pd["tau_zero"][k]
                p.dfac[k], p.dint[k] = pd["dfac"][k], pd["dint"][k]
            p.y1_fac, p.y1_mag, p.y1_int, p.y1_mag_int = pd["y1_fac"], pd["y1_mag"], pd["y1_int"], pd["y1_mag_int"]
            p.acc_lo, p.t_lo, p.wacc_lo, p.wacc_hi = pd["acc_lo"], pd["t_lo"], pd["wacc_lo"], pd["wacc_hi"]
            p.w_lo, p.w_hi = pd["w_lo"], pd["w_hi"]
            if p.mode == 0:
                L = pd["lava_rand"]
                cfview = arr(L["x_dec"], np.float64)
                p.r_xdec = &cfview[0]
                cfview = arr(L["y_dec"], np.float64)
                p.r_ydec = &cfview[0]
                cfview = arr(L["w"], np.float64)
                p.r_w = &cfview[0]
                cview = arr(L["x_imp"], np.int64)
                p.r_ximp = &cview[0]
                cview = arr(L["y_imp"], np.int64)
                p.r_yimp = &cview[0]
                cview = arr(L["y_mid"], np.int64)
                p.r_ymid = &cview[0]
            for key, attr in (("w", 0), ("d", 1), ("t", 2), ("x", 3), ("tx", 4), ("y", 5), ("ty", 6)):
                a = state[f"p{j}.{key}"]
                if not (a.dtype == np.int64 and a.flags.c_contiguous):
                    a = np.ascontiguousarray(a, np.int64)
                    state[f"p{j}.{key}"] = a
                view = a.reshape(-1)
                if attr == 0:
                    p.w = &view[0]
                elif attr == 1:
                    p.d = &view[0]
                elif attr == 2:
                    p.t = &view[0]
                elif attr == 3:
                    p.x = &view[0]
                elif attr == 4:
                    p.tx = &view[0]
                elif attr == 5:
                    p.y = &view[0]
                else:
                    p.ty = &view[0]
            a = np.ascontiguousarray(state[f"p{j}.y1n"], np.float64)
            state[f"p{j}.y1n"] = a
            fview = a.reshape(-1)
            p.y1n = &fview[0]
            a = np.ascontiguousarray(state[f"p{j}.sprev"], np.uint8)
            state[f"p{j}.sprev"] = a
            bview = a.reshape(-1)
            p.sprev = &bview[0]
            for k in range(7):
                p.rec[k] = NULL
            for var in record_req.get(j, ()):
                k = REC_KEYS.index(var)
                shape = state[f"p{j}.{var}"].shape[1:]
                sz = REC_SIZE(p, <int>k)
                out[f"rec{j}.{var}"] = np.zeros((B, T) + shape, np.int64)
            net.max_hist = max(net.max_hist, (p.E + 1) * 3 * max(p.n_src, p.n_dst))
        for key in ("u", "v", "refr", "acc", "racc", "theta"):
            state[key] = np.ascontiguousarray(state[key], np.int64)
        flags = np.zeros((B, T, N), np.uint8)
        ovf = np.zeros((B, 2), np.int64)
        rec_uv = bool(record_req.get("uv"))
        uv_shape = [B, T, N] if rec_uv else [1, 1, 1]
        urec = np.zeros(tuple(uv_shape), np.int64)
        vrec = np.zeros_like(urec)
        _run_batch(&net, inputs, state, flags, ovf, urec, vrec, rec_uv, out, B)
        for j in range(net.n_plastic):
            state[f"p{j}.sprev"] = state[f"p{j}.sprev"].astype(bool)
        out.update(flags=flags, ovf=ovf, u=urec, v=vrec)
        return out
    finally:
        free(net.pl)


cdef _run_batch(Net* net, const int32_t[:, :, ::1] inputs, dict state, flags, ovf, urec, vrec, bint rec_uv,
                dict out, int64_t B):
    cdef int64_t b, j, k, N = net.N, D = net.D, T = net.T
    cdef int64_t[:, ::1] u = state["u"], v = state["v"], refr = state["refr"], theta = state["theta"]
    cdef int64_t[:, :, ::1] acc = state["acc"], racc = state["racc"]
    cdef uint8_t[:, :, ::1] fl = flags
    cdef int64_t[:, ::1] ov = ovf
    cdef int64_t[:, :, ::1] ur = urec, vr = vrec
    cdef int64_t[:, :, ::1] rv
    cdef const int32_t* xin
    cdef int64_t* recbase[64][7]
    cdef int64_t recsz[64][7]
    cdef int64_t zero = 0
    cdef Plastic* p
    if net.n_plastic > 64:
        raise ValueError("at most 64 plastic projections per Program")
    for j in range(net.n_plastic):
        for k in range(7):
            recbase[j][k] = NULL
            key = f"rec{j}.{REC_KEYS[k]}"
            if key in out:
                a = out[key].reshape(B, T, -1)
                rv = a
                recbase[j][k] = &rv[0, 0, 0]
                recsz[j][k] = a.shape[1] * a.shape[2]
    for b in range(B):
        xin = &inputs[b, 0, 0]
        for j in range(net.n_plastic):
            p = &net.pl[j]
            for k in range(7):
                p.rec[k] = recbase[j][k] + b * recsz[j][k] if recbase[j][k] != NULL else NULL
        with nogil:
            run_sample(net, b, xin, &u[b, 0], &v[b, 0], &refr[b, 0], &acc[b, 0, 0], &racc[b, 0, 0], &fl[b, 0, 0],
                       &ov[b, 0], &ur[b, 0, 0] if rec_uv else NULL, &vr[b, 0, 0] if rec_uv else NULL, &theta[b, 0])


/* Fixed-point helpers and the neuron update loop, in C so that `restrict` lets
 * the compiler vectorise the loop (Cython cannot say `restrict`).
 *
 * Everything is defined twice by one macro: for 32-bit words (used when the
 * Simulator has proven every intermediate fits 31 bits) and 64-bit words.
 * The NumPy twin of every function is in reference.py; tests require identical
 * results. No `>>` is ever applied to a negative number: signs are handled with
 * masks, branch-free.
 */
#ifndef NEUROCORE_NEURONS_H
#define NEUROCORE_NEURONS_H
#include <stdint.h>

/* sign(p) * (|p| >> k): division by 2**k rounding toward zero. */
static inline int64_t nc_trunc_shift(int64_t p, int k) {
    int64_t m = -(int64_t)(p < 0);
    return ((((p ^ m) - m) >> k) ^ m) - m;
}

#define NC_DEFINE(W, UW, SUF)                                                              \
/* Wrap into (-2**(bits-1), 2**(bits-1)]: Lava's rule for u (-2**23 becomes +2**23). */   \
static inline W nc_wrap##SUF(W x, int bits) {                                              \
    UW h = (UW)1 << (bits - 1);                                                            \
    return (W)(((UW)x + (h - 1)) & ((h << 1) - 1)) - (W)h + 1;                             \
}                                                                                          \
/* Clip into [-(2**(bits-1) - 1), 2**(bits-1) - 1]: Lava's rule for v. */                  \
static inline W nc_saturate##SUF(W x, int bits) {                                          \
    W h = ((W)1 << (bits - 1)) - 1;                                                        \
    x = x < h ? x : h;                                                                     \
    return x > -h ? x : -h;                                                                \
}                                                                                          \
/* trunc_shift(x * d, k) for 0 <= d <= 2**k. |x| = hi * 2**k + lo, so                      \
 * |x| * d >> k = hi * d + (lo * d >> k) exactly, with no product wider than W. */          \
static inline W nc_decay##SUF(W x, int32_t d, int k) {                                     \
    W m = -(W)(x < 0);                                                                     \
    W ax = (x ^ m) - m;                                                                    \
    W r = (ax >> k) * d + (((ax & (((W)1 << k) - 1)) * d) >> k);                           \
    return (r ^ m) - m;                                                                    \
}                                                                                          \
/* One step of N neurons (Lava's PyLifModelBitAcc, plus refractory hold and reset by      \
 * subtraction; reset[n] is a mask: -1 subtract, 0 to zero). Takes and clears the input slot `acc`; writes flag[n] = active | spike<<1; \
 * adds the u and v overflow events to ovf[0], ovf[1]. Masks select: (a & m) | (b & ~m).    \
 * UW, VW (1 = wrap, 0 = saturate), PS (1 = per-neuron decays, threshold, reset and       \
 * refractory period; 0 = one value for all N, read from index 0) and PB (the same for the \
 * bias) are compile-time constants in each of the 16 variants. */                         \
NC_LOOPS_PB(W, SUF, 0) NC_LOOPS_PB(W, SUF, 1)                                              \
static inline void nc_update##SUF(int64_t N, W *restrict acc, W *restrict u, W *restrict v,  \
        int32_t *restrict refr, uint8_t *restrict flag, const int32_t *restrict dcu,        \
        const int32_t *restrict dcv, const W *restrict vth, const W *restrict bias,          \
        const int32_t *restrict reset, const int32_t *restrict refractory,                   \
        int db, int ub, int vb, int uw, int vw, int uniform, int64_t *restrict ovf) {         \
    /* uniform: bit 0 = decays/threshold/reset/refractory single-valued, bit 1 = bias too */ \
    switch ((uw ? 8 : 0) | (vw ? 4 : 0) | (uniform & 3)) {                                 \
    NC_CASES(SUF, 0, 0, 0) NC_CASES(SUF, 0, 1, 4) NC_CASES(SUF, 1, 0, 8) NC_CASES(SUF, 1, 1, 12) \
    }                                                                                      \
}

#define NC_ARGS N, acc, u, v, refr, flag, dcu, dcv, vth, bias, reset, refractory, db, ub, vb, ovf
#define NC_CASES(SUF, UW, VW, K)                                                           \
    case K + 0: nc_loop##SUF##_##UW##_##VW##_1_1(NC_ARGS); break;                          \
    case K + 1: nc_loop##SUF##_##UW##_##VW##_0_1(NC_ARGS); break;                          \
    case K + 2: nc_loop##SUF##_##UW##_##VW##_1_0(NC_ARGS); break;                          \
    case K + 3: nc_loop##SUF##_##UW##_##VW##_0_0(NC_ARGS); break;
#define NC_LOOPS_PB(W, SUF, PB)                                                            \
    NC_LOOP(W, SUF, 0, 0, 1, PB) NC_LOOP(W, SUF, 0, 1, 1, PB) NC_LOOP(W, SUF, 1, 0, 1, PB)     \
    NC_LOOP(W, SUF, 1, 1, 1, PB) NC_LOOP(W, SUF, 0, 0, 0, PB) NC_LOOP(W, SUF, 0, 1, 0, PB)     \
    NC_LOOP(W, SUF, 1, 0, 0, PB) NC_LOOP(W, SUF, 1, 1, 0, PB)

#define NC_LIMIT(SUF, WRAP, x, bits) ((WRAP) ? nc_wrap##SUF(x, bits) : nc_saturate##SUF(x, bits))

#define NC_LOOP(W, SUF, UW, VW, PS, PB)                                                    \
static inline void nc_loop##SUF##_##UW##_##VW##_##PS##_##PB(int64_t N, W *restrict acc, W *restrict u,    \
        W *restrict v, int32_t *restrict refr, uint8_t *restrict flag,                       \
        const int32_t *restrict dcu, const int32_t *restrict dcv, const W *restrict vth,     \
        const W *restrict bias, const int32_t *restrict reset,                              \
        const int32_t *restrict refractory, int db, int ub, int vb, int64_t *restrict ovf) { \
    int32_t ou = 0, ov = 0;  /* per-call counts, at most N < 2**31 */                     \
    for (int64_t n = 0; n < N; n++) {                                                      \
        W a = acc[n];                                                                      \
        acc[n] = 0;                                                                        \
        W act = ((a | u[n] | v[n] | bias[n * PB] | (W)refr[n]) != 0);                           \
        W un = nc_decay##SUF(u[n], dcu[n * PS], db) + a;                                        \
        W x = NC_LIMIT(SUF, UW, un, ub);                                                   \
        ou += (int32_t)(x != un);                                                          \
        u[n] = x;                                                                          \
        W held = (refr[n] > 0);                                                            \
        W vn = nc_decay##SUF(v[n], dcv[n * PS], db) + x + bias[n * PB];                              \
        x = NC_LIMIT(SUF, VW, vn, vb);                                                     \
        ov += (int32_t)((x != vn) & (held == 0));                                          \
        W vt = vth[n * PS];                                                                \
        W spike = (x > vt) & (held == 0);                                                  \
        W sm = -spike, hm = -held, rm = (W)reset[n * PS];                                    \
        x = ((x - vt) & rm & sm) | (x & ~sm);                                              \
        v[n] = (v[n] & hm) | (x & ~hm);                                                    \
        int32_t h32 = -(int32_t)held, s32 = -(int32_t)spike;                               \
        refr[n] = ((refr[n] - 1) & h32) | (refractory[n * PS] & s32 & ~h32);                    \
        flag[n] = (uint8_t)(act | (spike << 1));                                           \
    }                                                                                      \
    ovf[0] += ou;                                                                          \
    ovf[1] += ov;                                                                          \
}

NC_DEFINE(int32_t, uint32_t, 32)
NC_DEFINE(int64_t, uint64_t, 64)
#undef NC_DEFINE
#undef NC_LOOP
#undef NC_LOOPS_PB
#undef NC_CASES
#undef NC_ARGS
#undef NC_LIMIT

#endif

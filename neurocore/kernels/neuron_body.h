/* One word width of the neuron arithmetic; included by neurons.h with NC_W (the
 * signed word), NC_UW (its unsigned twin) and NC(name) (name plus width suffix)
 * defined. No include guard on purpose. */

/* Wrap into (-2**(bits-1), 2**(bits-1)]: Lava's rule for u (-2**23 becomes +2**23). */
static inline NC_W NC(nc_wrap)(NC_W x, int bits) {
    NC_UW h = (NC_UW)1 << (bits - 1);
    return (NC_W)(((NC_UW)x + (h - 1)) & ((h << 1) - 1)) - (NC_W)(h - 1);
}

/* Clip into [-(2**(bits-1) - 1), 2**(bits-1) - 1]: Lava's rule for v. */
static inline NC_W NC(nc_saturate)(NC_W x, int bits) {
    NC_W h = ((NC_W)1 << (bits - 1)) - 1;
    x = x < h ? x : h;
    return x > -h ? x : -h;
}

/* trunc_shift(x * d, k) for 0 <= d <= 2**k. |x| = hi * 2**k + lo, so
 * |x| * d >> k = hi * d + (lo * d >> k) exactly, with no product wider than the word. */
static inline NC_W NC(nc_decay_int)(NC_W x, int32_t d, int k) {
    NC_W m = -(NC_W)(x < 0);
    NC_W ax = (x ^ m) - m;
    NC_W r = (ax >> k) * d + (((ax & (((NC_W)1 << k) - 1)) * d) >> k);
    return (r ^ m) - m;
}

#if NC_DECAY_FLOAT
/* The same for 32-bit words in one float64 multiplication: x * (d * 2**-k) is exact
 * (|x * d| < 2**31 * 2**15 <= 2**53: narrow runs have decay_bits <= 15) and the C
 * conversion truncates toward zero, as trunc_shift does. `s` is 2**-k. */
static inline NC_W NC(nc_decay_s)(NC_W x, int32_t d, double s) {
    return (NC_W)((double)x * ((double)d * s));
}
#define NC_DECAY(x, d) NC(nc_decay_s)(x, d, sc)
#else
#define NC_DECAY(x, d) NC(nc_decay_int)(x, d, db)
#endif

static inline NC_W NC(nc_decay)(NC_W x, int32_t d, int k) {
#if NC_DECAY_FLOAT
    return NC(nc_decay_s)(x, d, 1.0 / (double)((int64_t)1 << k));
#else
    return NC(nc_decay_int)(x, d, k);
#endif
}

/* One step of N neurons (Lava's PyLifModelBitAcc, plus refractory hold and reset by
 * subtraction; reset[n] is a mask: -1 subtract, 0 to zero). Takes and clears the input
 * slot `acc`; writes flag[n] = active | spike << 1; adds the active updates, spikes, u
 * overflows and v overflows of the call to cnt[0..3] (each at most N < 2**31).
 *
 * UWRAP, VWRAP (1 wrap, 0 saturate), PS (1: per-neuron decays, threshold, reset and
 * refractory period; 0: one value for all N, read from index 0), PB (the same for the
 * bias) and AA (1: the single bias is non-zero, so every update is active) are constants
 * at every call site, so each call compiles to its own loop. */
NC_INLINE void NC(nc_body)(int64_t N, NC_W *restrict acc, NC_W *restrict u, NC_W *restrict v,
        int32_t *restrict refr, int32_t *restrict flag, const int32_t *restrict dcu,
        const int32_t *restrict dcv, const NC_W *restrict vth, const NC_W *restrict bias,
        const int32_t *restrict reset, const int32_t *restrict refractory, int db, int ub, int vb,
        int32_t *restrict cnt, const int UWRAP, const int VWRAP, const int PS, const int PB, const int AA) {
    int32_t na = 0, ns = 0, ou = 0, ov = 0;
    const double sc = 1.0 / (double)((int64_t)1 << db);
    (void)sc;
    for (int64_t n = 0; n < N; n++) {
        NC_W a = acc[n], u0 = u[n], v0 = v[n], b = bias[n * PB], vt = vth[n * PS];
        int32_t r = refr[n];
        acc[n] = 0;
        int32_t act = AA ? 1 : (a | u0 | v0 | b | (NC_W)r) != 0;
        NC_W un = NC_DECAY(u0, dcu[n * PS]) + a;
        NC_W x = UWRAP ? NC(nc_wrap)(un, ub) : NC(nc_saturate)(un, ub);
        u[n] = x;
        int32_t held = r > 0;
        NC_W vn = NC_DECAY(v0, dcv[n * PS]) + x + b;
        NC_W y = VWRAP ? NC(nc_wrap)(vn, vb) : NC(nc_saturate)(vn, vb);
        int32_t spike = (y > vt) & (held ^ 1);
        NC_W rm = (NC_W)reset[n * PS], t = (vt & rm) | (y & ~rm);  /* a spike subtracts vth, or v itself */
        NC_W kept = held ? v0 : y;
        v[n] = spike ? y - t : kept;  /* spike implies not held */
        refr[n] = ((r - 1) & -held) | (refractory[n * PS] & -spike);  /* spike implies not held */
        flag[n] = act | (spike << 1);
        na += act;
        ns += spike;
        ou += x != un;
        ov += (y != vn) & (held ^ 1);
    }
    cnt[0] += na;
    cnt[1] += ns;
    cnt[2] += ou;
    cnt[3] += ov;
}
#undef NC_DECAY

/* The update of one population: `uniform` bit 0 = decays/threshold/reset/refractory
 * single-valued, bit 1 = bias single-valued, bit 2 (with bit 1) = that bias is non-zero;
 * uw, vw = wrap rules. */
static inline void NC(nc_update)(int64_t N, NC_W *restrict acc, NC_W *restrict u, NC_W *restrict v,
        int32_t *restrict refr, int32_t *restrict flag, const int32_t *restrict dcu,
        const int32_t *restrict dcv, const NC_W *restrict vth, const NC_W *restrict bias,
        const int32_t *restrict reset, const int32_t *restrict refractory,
        int db, int ub, int vb, int uw, int vw, int uniform, int32_t *restrict cnt) {
#define NC_CALL(UW_, VW_, PS_, PB_, AA_) NC(nc_body)(N, acc, u, v, refr, flag, dcu, dcv, vth, bias, reset, \
                                                     refractory, db, ub, vb, cnt, UW_, VW_, PS_, PB_, AA_); break;
#define NC_CASES(K, UW_, VW_) case K: NC_CALL(UW_, VW_, 1, 1, 0) case K + 1: NC_CALL(UW_, VW_, 0, 1, 0) \
    case K + 2: NC_CALL(UW_, VW_, 1, 0, 0) case K + 3: NC_CALL(UW_, VW_, 0, 0, 0)                       \
    case K + 6: NC_CALL(UW_, VW_, 1, 0, 1) case K + 7: NC_CALL(UW_, VW_, 0, 0, 1)
    if (!(uniform & 2))
        uniform &= 3;  /* bit 2 says something of a single bias only */
    switch ((uw ? 16 : 0) | (vw ? 8 : 0) | (uniform & 7)) {
    NC_CASES(0, 0, 0) NC_CASES(8, 0, 1) NC_CASES(16, 1, 0) NC_CASES(24, 1, 1)
    }
#undef NC_CASES
#undef NC_CALL
}

/* Sum of spiking window rows (gather-sum), portable C: for one sample,
 * a[q] += (sum over k < n of w[lst[k] + c0 + q]) << sh for q < cw (cw <= NC_CHUNK). The
 * table bounds prove that the partial sums, and the shifted sum, fit the word; the shift
 * is taken on the unsigned word (no shift of a negative number). neurons.h replaces the
 * 32-bit versions by AVX2 ones that keep the NC_CHUNK sums in registers. */
#define NC_GATHER(WT, NAME)                                                                    \
static inline void NAME(NC_W *restrict a, const WT *restrict w, const int32_t *restrict lst,     \
                        int64_t n, int64_t c0, int64_t cw, int sh) {                             \
    NC_W t[NC_CHUNK] = {0};                                                                    \
    for (int64_t k = 0; k < n; k++) {                                                          \
        const WT *restrict wp = w + lst[k] + c0;                                               \
        for (int64_t q = 0; q < cw; q++) t[q] += wp[q];                                        \
    }                                                                                          \
    for (int64_t q = 0; q < cw; q++) a[q] += (NC_W)((NC_UW)t[q] << sh);                        \
}
NC_GATHER(int8_t, NC(nc_gather_portable_8_))
NC_GATHER(int16_t, NC(nc_gather_portable_16_))
#undef NC_GATHER

/* Fixed-point helpers and the neuron update, in C so that `restrict` lets the
 * compiler vectorise the loop (Cython cannot say `restrict`).
 *
 * The word-width-specific code is in neuron_body.h, included twice: once for
 * 32-bit words (used when the Simulator has proven every intermediate fits 31
 * bits) and once for 64-bit words. The NumPy twin of every function is in
 * reference.py; tests require identical results. No `>>` is ever applied to a
 * negative number: signs are handled with masks, branch-free.
 */
#ifndef NEUROCORE_NEURONS_H
#define NEUROCORE_NEURONS_H
#include <stdint.h>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#if defined(__GNUC__)
#define NC_INLINE static inline __attribute__((always_inline))
#else
#define NC_INLINE static inline
#endif

/* Targets a gather-sum keeps in registers at a time (see nc_gather in neuron_body.h). */
#define NC_CHUNK 64


/* sign(p) * (|p| >> k): division by 2**k rounding toward zero. */
static inline int64_t nc_trunc_shift(int64_t p, int k) {
    int64_t m = -(int64_t)(p < 0);
    return ((((p ^ m) - m) >> k) ^ m) - m;
}

/* Index of the lowest set bit of a non-zero mask (samples of a block). */
static inline int nc_ctz64(uint64_t m) {
#if defined(__GNUC__)
    return __builtin_ctzll(m);
#else
    int i = 0;
    while (!(m & 1)) { m >>= 1; i++; }
    return i;
#endif
}

/* Number of set bits of a sample mask. */
static inline int nc_popcount64(uint64_t m) {
#if defined(__GNUC__)
    return __builtin_popcountll(m);
#else
    int n = 0;
    while (m) { m &= m - 1; n++; }
    return n;
#endif
}

/* lanes[b] += val for every sample b of mask m: one per-step counter with a lane per sample
 * of the block. stride (the lanes allocated) is 1 for a one-sample block, else a multiple of
 * 16, so AVX-512 adds 16 lanes under a mask at a time. */
static inline void nc_lanes_add(int32_t *lanes, uint64_t m, int32_t val, int64_t stride) {
#if defined(__AVX512F__)
    if (stride >= 16) {
        __m512i v = _mm512_set1_epi32(val);
        while (m) {
            int j = __builtin_ctzll(m) >> 4;
            __mmask16 k = (__mmask16)(m >> (16 * j));
            __m512i x = _mm512_loadu_si512((const void *)(lanes + 16 * j));
            _mm512_storeu_si512((void *)(lanes + 16 * j), _mm512_mask_add_epi32(x, k, x, v));
            m &= ~((uint64_t)0xFFFF << (16 * j));
        }
        return;
    }
#endif
    while (m) {
        lanes[nc_ctz64(m)] += val;
        m &= m - 1;
    }
}

/* Lists into out[] the neurons n of [lo, hi) whose flag (nc_update's) has the spike bit 2,
 * given that there are ns of them (nc_update's count): stops at the last one. Returns ns.
 * With AVX-512, 64 flags at a time are tested for any spike. */
static inline int64_t nc_list_spikes(const int32_t *flag, int64_t lo, int64_t hi, int64_t ns, int32_t *out) {
    int64_t k = 0, n = lo;
    while (k < ns) {
#if defined(__AVX512F__)
        const __m512i two = _mm512_set1_epi32(2);
        if (n + 64 <= hi) {
            __m512i f0 = _mm512_loadu_si512((const void *)(flag + n)), f1 = _mm512_loadu_si512((const void *)(flag + n + 16));
            __m512i f2 = _mm512_loadu_si512((const void *)(flag + n + 32)), f3 = _mm512_loadu_si512((const void *)(flag + n + 48));
            if (_mm512_test_epi32_mask(_mm512_or_si512(_mm512_or_si512(f0, f1), _mm512_or_si512(f2, f3)), two)) {
                __m512i f[4] = {f0, f1, f2, f3};
                for (int j = 0; j < 4; j++) {
                    __mmask16 m = _mm512_test_epi32_mask(f[j], two);
                    while (m) {
                        out[k++] = (int32_t)(n + 16 * j + __builtin_ctz((unsigned)m));
                        m &= (__mmask16)(m - 1);
                    }
                }
            }
            n += 64;
            continue;
        }
#else
        if (n + 8 <= hi && !((flag[n] | flag[n + 1] | flag[n + 2] | flag[n + 3] | flag[n + 4] | flag[n + 5]
                              | flag[n + 6] | flag[n + 7]) & 2)) {
            n += 8;
            continue;
        }
#endif
        if (flag[n] & 2)
            out[k++] = (int32_t)n;
        n++;
    }
    return ns;
}

/* Active updates among n flags of nc_update (bit 0). */
static inline int64_t nc_count_active(const int32_t *restrict flag, int64_t n) {
    int32_t k = 0;  /* n < 2**31 neurons */
    for (int64_t j = 0; j < n; j++)
        k += flag[j] & 1;
    return k;
}

/* One chip-time form's largest sum over K cores (neurocore.steptime): per core c,
 * sum over q < n of x[terms[q] * ks + c] * w[terms[q]], added in q order from +0.0, in
 * float64 without fused multiply-adds (the build says -ffp-contract=off), so each sum is
 * the scalar loop's bit for bit. x is term-major with ks >= K rounded up to 8 columns,
 * the pad columns zero; terms and weights are non-negative, so every sum is >= +0.0 and
 * neither the pads nor the starting 0.0 can change the maximum. */
static inline double nc_form_max(const double *restrict x, int64_t K, int64_t ks, const int32_t *restrict terms,
                                 int n, const double *restrict w) {
    double top = 0.0;
    if (n == 0)
        return 0.0;
#if defined(__AVX512F__)
    __m512d best = _mm512_setzero_pd();
    for (int64_t c0 = 0; c0 < K; c0 += 8) {
        __m512d a = _mm512_setzero_pd();
        for (int q = 0; q < n; q++)  /* a multiply, then an add: no fused multiply-add */
            a = _mm512_add_pd(a, _mm512_mul_pd(_mm512_loadu_pd(x + terms[q] * ks + c0), _mm512_set1_pd(w[terms[q]])));
        best = _mm512_max_pd(best, a);
    }
    top = _mm512_reduce_max_pd(best);
#else
    for (int64_t c0 = 0; c0 < K; c0 += 8) {
        double a[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        for (int q = 0; q < n; q++) {
            const double *restrict xk = x + terms[q] * ks + c0;
            double wk = w[terms[q]];
            for (int i = 0; i < 8; i++)
                a[i] = a[i] + xk[i] * wk;
        }
        for (int i = 0; i < 8; i++)
            top = a[i] > top ? a[i] : top;
    }
#endif
    return top;
}

/* The per-step counters of n packets (one source's, compact tables) in every sample of mask m:
 * for packet p, cs[(core[p] * ncc + k_syn) * stride + b] += nnz[p], the k_pin counter += 1 and,
 * when unit[p] is 1 (2), the k_sparse (k_conv) counter += nnz[p], for each sample b in m. The
 * mask is split into 16-lane masks once for all the packets. */
static inline void nc_count_packets(int32_t *cs, int64_t stride, uint64_t m, const uint16_t *core,
                                    const uint16_t *nnz, const uint8_t *unit, int64_t n, int ncc, int k_syn,
                                    int k_pin, int k_sparse, int k_conv) {
#if defined(__AVX512F__)
    if (stride >= 16) {
        int G = (int)(stride / 16);
        __mmask16 km[4];
        for (int j = 0; j < 4; j++) km[j] = (__mmask16)(j < G ? m >> (16 * j) : 0);
        const __m512i one = _mm512_set1_epi32(1);
        for (int64_t p = 0; p < n; p++) {
            int32_t *d = cs + (int64_t)core[p] * ncc * stride;
            __m512i v = _mm512_set1_epi32((int32_t)nnz[p]);
            int32_t *u = unit[p] == 1 ? d + k_sparse * stride : (unit[p] == 2 ? d + k_conv * stride : 0);
            for (int j = 0; j < G; j++) {
                if (!km[j]) continue;
                int32_t *a = d + k_syn * stride + 16 * j;
                __m512i x = _mm512_loadu_si512((const void *)a);
                _mm512_storeu_si512((void *)a, _mm512_mask_add_epi32(x, km[j], x, v));
                a = d + k_pin * stride + 16 * j;
                x = _mm512_loadu_si512((const void *)a);
                _mm512_storeu_si512((void *)a, _mm512_mask_add_epi32(x, km[j], x, one));
                if (u) {
                    a = u + 16 * j;
                    x = _mm512_loadu_si512((const void *)a);
                    _mm512_storeu_si512((void *)a, _mm512_mask_add_epi32(x, km[j], x, v));
                }
            }
        }
        return;
    }
#endif
    for (int64_t p = 0; p < n; p++) {
        int32_t *d = cs + (int64_t)core[p] * ncc * stride;
        int k_u = unit[p] == 1 ? k_sparse : (unit[p] == 2 ? k_conv : -1);
        for (uint64_t q = m; q; q &= q - 1) {
            int b = nc_ctz64(q);
            d[k_syn * stride + b] += nnz[p];
            d[k_pin * stride + b] += 1;
            if (k_u >= 0) d[k_u * stride + b] += nnz[p];
        }
    }
}

#define NC_W int32_t
#define NC_UW uint32_t
#define NC(name) name##32
#define NC_DECAY_FLOAT 1
#include "neuron_body.h"
#undef NC_DECAY_FLOAT
#undef NC_W
#undef NC_UW
#undef NC

#define NC_W int64_t
#define NC_UW uint64_t
#define NC(name) name##64
#define NC_DECAY_FLOAT 0
#include "neuron_body.h"
#undef NC_DECAY_FLOAT
#undef NC_W
#undef NC_UW
#undef NC

/* The gather-sums the kernel calls (see nc_gather_portable_* in neuron_body.h). With AVX2,
 * the 32-bit ones keep NC_CHUNK = 64 partial sums in eight vector registers across the
 * rows: per row and 8 targets one sign-extending load and one add. */
#if defined(__AVX2__)
#include <immintrin.h>
#define NC_GATHER_AVX2(WT, NAME, PORTABLE, LOAD8)                                              \
static inline void NAME(int32_t *restrict a, const WT *restrict w, const int32_t *restrict lst,   \
                        int64_t n, int64_t c0, int64_t cw, int sh) {                             \
    if (cw != NC_CHUNK) { PORTABLE(a, w, lst, n, c0, cw, sh); return; }                       \
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0; \
    for (int64_t k = 0; k < n; k++) {                                                          \
        const WT *p = w + lst[k] + c0;                                                         \
        s0 = _mm256_add_epi32(s0, LOAD8(p));      s1 = _mm256_add_epi32(s1, LOAD8(p + 8));     \
        s2 = _mm256_add_epi32(s2, LOAD8(p + 16)); s3 = _mm256_add_epi32(s3, LOAD8(p + 24));    \
        s4 = _mm256_add_epi32(s4, LOAD8(p + 32)); s5 = _mm256_add_epi32(s5, LOAD8(p + 40));    \
        s6 = _mm256_add_epi32(s6, LOAD8(p + 48)); s7 = _mm256_add_epi32(s7, LOAD8(p + 56));    \
    }                                                                                          \
    __m128i c = _mm_cvtsi32_si128(sh);  /* a logical shift: the unsigned word's << */          \
    __m256i s[8] = {s0, s1, s2, s3, s4, s5, s6, s7};                                           \
    for (int j = 0; j < 8; j++) {                                                              \
        __m256i x = _mm256_loadu_si256((const __m256i *)(a + 8 * j));                          \
        _mm256_storeu_si256((__m256i *)(a + 8 * j), _mm256_add_epi32(x, _mm256_sll_epi32(s[j], c))); \
    }                                                                                          \
}
#define NC_LOAD8_I8(p) _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p)))
#define NC_LOAD8_I16(p) _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(p)))
NC_GATHER_AVX2(int16_t, nc_gather32_16, nc_gather_portable_16_32, NC_LOAD8_I16)
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
/* int8 weights with AVX-512: the rows are summed in 16-bit lanes (two registers of 32 hold the
 * 64 sums), NC_ROWS16 = 255 rows at a time: 255 * 128 < 2**15, so no 16-bit sum can overflow;
 * each batch is then widened into four 32-bit registers. A chunk shorter than 64 targets uses
 * masked loads and stores (no read or write past the window). */
#define NC_ROWS16 255
static inline void nc_gather32_8(int32_t *restrict a, const int8_t *restrict w, const int32_t *restrict lst,
                                 int64_t n, int64_t c0, int64_t cw, int sh) {
    __mmask32 ml = (__mmask32)(cw >= 32 ? 0xFFFFFFFFu : ((1u << cw) - 1u));
    __mmask32 mh = (__mmask32)(cw >= 64 ? 0xFFFFFFFFu : (cw <= 32 ? 0u : ((1u << (cw - 32)) - 1u)));
    __m512i t0 = _mm512_setzero_si512(), t1 = t0, t2 = t0, t3 = t0;
    for (int64_t k0 = 0; k0 < n; k0 += NC_ROWS16) {
        int64_t k1 = k0 + NC_ROWS16 < n ? k0 + NC_ROWS16 : n;
        __m512i s0 = _mm512_setzero_si512(), s1 = s0;
        if (mh) {
            for (int64_t k = k0; k < k1; k++) {
                const int8_t *p = w + lst[k] + c0;
                s0 = _mm512_add_epi16(s0, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(ml, p)));
                s1 = _mm512_add_epi16(s1, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mh, p + 32)));
            }
        } else {
            for (int64_t k = k0; k < k1; k++)
                s0 = _mm512_add_epi16(s0, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(ml, w + lst[k] + c0)));
        }
        t0 = _mm512_add_epi32(t0, _mm512_cvtepi16_epi32(_mm512_castsi512_si256(s0)));
        t1 = _mm512_add_epi32(t1, _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(s0, 1)));
        t2 = _mm512_add_epi32(t2, _mm512_cvtepi16_epi32(_mm512_castsi512_si256(s1)));
        t3 = _mm512_add_epi32(t3, _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(s1, 1)));
    }
    __m128i c = _mm_cvtsi32_si128(sh);  /* a logical shift: the unsigned word's << */
    __m512i t[4] = {t0, t1, t2, t3};
    for (int j = 0; j < 4; j++) {
        int64_t lanes = cw - 16 * j;
        if (lanes <= 0) break;
        __mmask16 m = (__mmask16)(lanes >= 16 ? 0xFFFFu : ((1u << lanes) - 1u));
        __m512i x = _mm512_maskz_loadu_epi32(m, a + 16 * j);
        _mm512_mask_storeu_epi32(a + 16 * j, m, _mm512_add_epi32(x, _mm512_sll_epi32(t[j], c)));
    }
}
#else
NC_GATHER_AVX2(int8_t, nc_gather32_8, nc_gather_portable_8_32, NC_LOAD8_I8)
#endif
#undef NC_GATHER_AVX2
#else
#define nc_gather32_8 nc_gather_portable_8_32
#define nc_gather32_16 nc_gather_portable_16_32
#endif
#define nc_gather64_8 nc_gather_portable_8_64
#define nc_gather64_16 nc_gather_portable_16_64

#endif

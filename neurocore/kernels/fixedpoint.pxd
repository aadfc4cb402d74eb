# Fixed-point helpers and the neuron update, implemented in neurons.h (C, so that
# `restrict` lets the loop vectorise); each has a one-to-one twin in reference.py.
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint64_t

# A state word: int32 when the Simulator has proven every intermediate fits
# 31 bits (a narrow run), else int64. Results are identical either way.
ctypedef fused word_t:
    int32_t
    int64_t

cdef extern from "neurons.h" nogil:
    int64_t nc_trunc_shift(int64_t p, int k)
    int nc_ctz64(uint64_t m)
    int nc_popcount64(uint64_t m)
    void nc_lanes_add(int32_t* lanes, uint64_t m, int32_t val, int64_t stride)
    void nc_count_packets(int32_t* cs, int64_t stride, uint64_t m, const uint16_t* core, const uint16_t* nnz,
                          const uint8_t* unit, int64_t n, int ncc, int k_syn, int k_pin, int k_sparse, int k_conv)
    int32_t nc_wrap32(int32_t x, int bits)
    int64_t nc_wrap64(int64_t x, int bits)
    int32_t nc_saturate32(int32_t x, int bits)
    int64_t nc_saturate64(int64_t x, int bits)
    int32_t nc_decay32(int32_t x, int32_t d, int k)
    int64_t nc_decay64(int64_t x, int32_t d, int k)
    # one step of N neurons: flag[n] = active | spike << 1; cnt[0..3] += active updates, spikes,
    # u overflows, v overflows of the call
    void nc_update32(int64_t N, int32_t* acc, int32_t* u, int32_t* v, int32_t* refr, int32_t* flag,
                     const int32_t* dcu, const int32_t* dcv, const int32_t* vth, const int32_t* bias,
                     const int32_t* reset, const int32_t* refractory, int db, int ub, int vb, int uw, int vw,
                     int uniform, int32_t* cnt)
    void nc_update64(int64_t N, int64_t* acc, int64_t* u, int64_t* v, int32_t* refr, int32_t* flag,
                     const int32_t* dcu, const int32_t* dcv, const int64_t* vth, const int64_t* bias,
                     const int32_t* reset, const int32_t* refractory, int db, int ub, int vb, int uw, int vw,
                     int uniform, int32_t* cnt)
    int64_t nc_list_spikes(const int32_t* flag, int64_t lo, int64_t hi, int64_t ns, int32_t* out)
    int64_t nc_count_active(const int32_t* flag, int64_t n)
    double nc_form_max(const double* x, int64_t K, int64_t ks, const int32_t* terms, int n, const double* w)
    # a[q] += (sum over k < n of w[lst[k] + c0 + q]) << sh, q < cw <= NC_CHUNK (sum of spiking window rows)
    enum: NC_CHUNK
    void nc_gather32_8(int32_t* a, const int8_t* w, const int32_t* lst, int64_t n, int64_t c0, int64_t cw, int sh)
    void nc_gather32_16(int32_t* a, const int16_t* w, const int32_t* lst, int64_t n, int64_t c0, int64_t cw, int sh)
    void nc_gather64_8(int64_t* a, const int8_t* w, const int32_t* lst, int64_t n, int64_t c0, int64_t cw, int sh)
    void nc_gather64_16(int64_t* a, const int16_t* w, const int32_t* lst, int64_t n, int64_t c0, int64_t cw, int sh)

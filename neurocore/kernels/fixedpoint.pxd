# Fixed-point helpers shared by every kernel. Each has a one-to-one twin in
# neurocore/kernels/reference.py. No C `>>`, `//` or `%` is ever applied to a
# negative number: signs are handled explicitly.
from libc.stdint cimport int64_t, uint64_t


cdef inline int64_t trunc_shift(int64_t p, int k) noexcept nogil:
    """sign(p) * (|p| >> k): division by 2**k rounding toward zero (Loihi's decay)."""
    if p >= 0:
        return p >> k
    return -((-p) >> k)


cdef inline int64_t wrap_bits(int64_t x, int bits) noexcept nogil:
    """Two's-complement wrap into (-2**(bits-1), 2**(bits-1)] (Lava's range for u: -2**23 maps to +2**23)."""
    cdef int64_t h = (<int64_t>1) << (bits - 1)
    cdef uint64_t m = ((<uint64_t>1) << bits) - 1
    return <int64_t>((<uint64_t>(x + h - 1)) & m) - h + 1


cdef inline int64_t saturate_bits(int64_t x, int bits) noexcept nogil:
    """Clip into [-(2**(bits-1) - 1), 2**(bits-1) - 1] (Lava's rule for v)."""
    cdef int64_t h = ((<int64_t>1) << (bits - 1)) - 1
    if x > h:
        return h
    if x < -h:
        return -h
    return x

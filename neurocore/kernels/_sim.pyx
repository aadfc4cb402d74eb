# cython: language_level=3
"""The simulation kernel: every core of a Program advanced in lockstep, integers only.

One call runs a whole batch. Samples are independent; they are advanced in **blocks**
of up to 64 samples in lockstep (blocks run in parallel, OpenMP, GIL released). Per
block and step t:

1. external inputs of step t are delivered through their synapse rows (a row of
   delay d adds into the accumulation slot of step t + d, d >= 0);
2. every neuron of every live sample takes its slot-t input ``a`` and updates u, v
   (see ``neurons.h``); spikes are recorded;
3. every source that spiked (or carried a value) in *any* sample of the block is
   routed once: one packet per destination core (XY routing on the tile mesh, links
   counted per sample), and each destination row is read once and added into every
   sample of the block that carries the source (a bitmask of samples per source), so
   the weights stream once per step per block, not once per sample;
4. with an early-stop rule (``neurocore.anytime.StopRule``), each live sample whose read-out
   spike counts lead by the margin leaves the block's live mask (``check_stop``): from then
   on it takes no input, updates no neuron and counts nothing.

Integer additions commute and every bound is proven, so a sample's results do not
depend on its block, its position, the batch size or the thread count.

Tables: weights are stored as the chip stores them (int8 or int16 mantissas; the row's
``act_shift + weight_exp`` is applied at accumulate, as a multiplication by
``2**shift``), targets in uint16 when the neuron count allows, else int32; state words
are int32 when ``neurocore.sim.narrow_ok`` proves every intermediate fits, else int64.

The NumPy twin is ``neurocore.kernels.reference``; tests require identical results.
"""
from cython.parallel cimport prange, threadid
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from neurocore.kernels.fixedpoint cimport (NC_CHUNK, nc_count_active, nc_count_packets, nc_ctz64, nc_form_max, nc_lanes_add,
                                          nc_list_spikes, nc_popcount64, nc_decay32, nc_decay64, nc_gather32_8, nc_gather32_16,
                                          nc_gather64_8, nc_gather64_16, nc_saturate32, nc_saturate64,
                                          nc_trunc_shift, nc_update32, nc_update64, nc_wrap32, nc_wrap64, word_t)

import numpy as np

# Counter slots, in the order of COUNTER_NAMES (per sample).
cdef enum:
    C_TIMESTEPS = 0
    C_SYNOPS = 1
    C_SYNOPS_BINARY = 2
    C_SYNOPS_GRADED = 3
    C_WORDS = 4
    C_ACTIVE = 5
    C_IDLE = 6
    C_SPIKES = 7
    C_PACKETS = 8
    C_INTRA_TILE = 9
    C_HOPS_EW = 10
    C_HOPS_NS = 11
    C_HOPS_CHIP = 12
    C_INPUT_PACKETS = 13
    C_OVF_U = 14
    C_OVF_V = 15
    N_COUNTERS = 16

COUNTER_NAMES = ("timesteps", "synops", "synops_binary", "synops_graded", "syn_mem_words_read",
                 "neuron_updates_active", "neuron_updates_idle", "spikes", "packets", "intra_tile_packets",
                 "hops_ew", "hops_ns", "hops_interchip", "input_packets", "overflow_u", "overflow_v")

# Per-core per-step counter columns, in the order of CORE_COUNTER_NAMES.
cdef enum:
    K_SYNOPS = 0
    K_UPDATES = 1
    K_SPIKES = 2
    K_POUT = 3
    K_PIN = 4
    K_SPARSE = 5
    K_CONV = 6
    N_CORE_COUNTERS = 7
    N_TERMS = 10         # neurocore.steptime.TERMS: the counters, idle updates, dense-unit synops, neurons

#: Per core per step: synops, active neuron updates, spikes of its neurons, packets its
#: sources send (neurons, and input channels placed on it), packets it receives, and the
#: synops through rows of the sparse and conv synapse units.
CORE_COUNTER_NAMES = ("synops", "updates_active", "spikes", "packets_out", "packets_in", "synops_sparse",
                      "synops_conv")

#: Most samples one block advances in lockstep (one bit each in a 64-bit mask).
MAX_BLOCK = 64

ctypedef fused wt_t:   # a weight mantissa as the chip stores it
    int8_t
    int16_t

ctypedef fused ix_t:   # a target neuron index
    uint16_t
    int32_t


cdef struct Net:
    # sizes
    int64_t N            # neurons
    int64_t C            # input channels (sources N .. N+C-1)
    int64_t T            # steps
    int64_t D            # accumulation slots (max delay + 1)
    int64_t B            # samples in the batch
    int64_t n_cores      # cores used
    int64_t n_links      # 4 per tile of the board mesh (E, W, +y, -y)
    int64_t mesh_x       # tiles along x on the board
    # widths and rules
    int decay_bits
    int u_bits
    int v_bits
    bint u_wrap          # else saturate
    bint v_wrap
    # neurons (N)
    const int32_t* decay_u   # 2**decay_bits - (du + 1): multiplier of u
    const int32_t* decay_v   # 2**decay_bits - dv
    const int64_t* vth       # vth << vth_shift
    const int64_t* bias      # bias_mant << bias_exp
    const int32_t* vth32     # the same in int32, for narrow runs
    const int32_t* bias32
    const int32_t* reset     # mask: 0 = reset to zero, -1 = subtract vth
    const int32_t* refractory
    const int64_t* u0
    const int64_t* v0
    int64_t n_segs           # segments of neurons (populations) updated by one call each
    const int64_t* seg_start # n_segs + 1 boundaries
    const uint8_t* seg_uni   # bit 0: du, dv, vth, reset, refractory single-valued; bit 1: bias too
    int64_t n_runs           # runs of consecutive neurons on one core
    const int64_t* run_start # n_runs + 1 boundaries
    const int32_t* run_core  # core slot of each run
    # synapse rows (R); weights and targets are passed typed (wt_t, ix_t)
    const int32_t* row_ptr   # R + 1, into the synapse arrays (fewer than 2**31 synapses)
    const int8_t* row_shift  # act_shift + weight_exp
    const int16_t* row_delay
    const int32_t* row_start # first target if the row has a dense window, else -1 (scatter)
    const int32_t* row_wptr  # offset of the row's dense window in the weights
    const int32_t* row_span  # window rows: length (last target - first target + 1); scatter rows: offset of
                             # their targets in the target array (which holds scatter rows' targets only)
    const int32_t* row_group # window group of the row (-1: scatter row)
    # window groups (G): rows with the same window (start, span), delay and shift; their
    # spiking rows are summed per target chunk in registers, then added once per sample
    int64_t n_groups
    const int32_t* g_start
    const int32_t* g_span
    const int32_t* g_delay
    const int32_t* g_shift
    const int64_t* g_off     # G + 1: first list slot of each group (rows of the group, prefix sum)
    # per source (N + C): its rows (one per delay and shift, over every core it reaches) and its
    # packets (one per destination core), each a range of a prefix-sum table
    const int32_t* src_row_ptr
    const int32_t* src_pk_ptr
    const int32_t* src_core      # core slot that sends the source's packets (-1: an input injected by the host)
    const int32_t* src_tile      # tile they leave (-1: injected, no hops)
    const int32_t* core_tile     # n_cores: tile of each core slot
    # packet classes: sources whose packets are alike (same cores, synapses, units, source core and
    # tile) are counted together: per step, how many of a class fired in each sample, then once
    # per class its representative's packets times those counts (neurocore.sim.packet_classes)
    int64_t n_classes
    const int32_t* src_class     # class of each source, -1: counted on its own
    const int32_t* cls_src       # n_classes: the representative source of each class
    # per packet: compact (pk_wide 0) or wide tables, see neurocore.sim.packet_tables
    bint pk_wide
    const uint16_t* pk_core16    # destination core slot
    const uint16_t* pk_nnz16     # synapses it delivers
    const uint8_t* pk_unit       # 1: all in the sparse synapse unit, 2: all in the conv unit, 0: neither
    const int32_t* pk_core
    const int32_t* pk_nnz
    const int32_t* pk_nnz_sparse # of which in rows of the sparse synapse unit
    const int32_t* pk_nnz_conv   # of which in rows of the conv synapse unit
    # per source (N + C), each time it fires: synapses, words, packets; neurons also intra-tile packets, hops
    const int32_t* src_syn
    const int32_t* src_words
    const int32_t* src_pk
    const int32_t* src_intra
    const int32_t* src_hops_ew
    const int32_t* src_hops_ns
    const int32_t* src_hops_chip
    const uint8_t* chan_graded   # C: declared graded (a value of 1 then counts as graded too)


cdef struct Out:
    # per sample (B rows)
    int64_t* cnt             # B x N_COUNTERS
    int32_t* spike_counts    # B x N
    int32_t* core            # B x T x n_cores x N_CORE_COUNTERS, or NULL (not recorded)
    int64_t* core_tot        # B x n_cores x N_CORE_COUNTERS: the same summed over steps
    int64_t n_timing         # chip-time models (neurocore.steptime.CoreTiming)
    const double* timing_w   # n_timing x 2 x N_TERMS seconds per count
    const int32_t* timing_nz # n_timing x 2 x (N_TERMS + 1): how many weights are non-zero, then their terms
    const double* neurons    # n_cores: neurons on each core
    double* chip_time        # B x n_timing x 2 sums (s)
    int32_t* busiest         # B x T
    int64_t* u               # B x N final state
    int64_t* v
    int64_t* link_total      # n_threads x n_links
    # probes: B x T x n_p each
    int64_t n_pu
    int64_t n_pv
    int64_t n_ps
    const int32_t* pu_idx
    const int32_t* pv_idx
    const int32_t* ps_idx
    int64_t* pu
    int64_t* pv
    uint8_t* ps
    # early stop (``neurocore.anytime.StopRule``, rule "count_margin"); stop_margin < 0: no rule
    int64_t* steps           # B: steps each sample ran
    int64_t stop_margin      # leading minus second spike count of the read-out that stops a sample
    int64_t stop_min         # first step (1-based) after which the rule is checked
    int64_t stop_off         # read-out population: first neuron
    int64_t stop_n           # and its size (>= 1; a single neuron's second count is 0)


cdef struct Scratch:
    # one block's working set, per sample: stride * b
    int64_t nb           # samples in this block
    int64_t b0           # batch index of its first sample
    uint64_t live        # samples still running (bit b)
    int32_t* flag        # nb x N: nc_update's flags (active | spike << 1)
    int32_t* refr        # nb x N
    int32_t* spk         # nb x N spike lists
    int64_t* nspk        # nb
    int32_t* link_step   # n_links x cs_stride: this step's packets on each link, one lane per sample
    int32_t* touched     # n_links: the links with a packet this step (any sample)
    uint8_t* link_mark   # n_links: 1 while listed in ``touched``
    int32_t* link_best   # nb: busiest link of each sample this step (scratch of busiest_links)
    int64_t n_touched
    uint64_t* src_mask   # N + C: samples of the block in which the source fired this step (zero between steps)
    uint64_t* one_mask   # C: samples in which the input channel carries exactly 1 (zero between steps)
    int32_t* src_list    # N + C: the sources with a non-zero mask
    int32_t* g_cnt       # G x (nb + 1): spiking rows listed per group and sample this phase, touched mark
    int32_t* g_list      # (rows in groups) x nb: their window offsets, group by group, sample by sample
    int32_t* g_touched   # G: groups with a listed row this phase
    int32_t* in_count    # nb x C: steps each input channel carried a value, per sample
    int32_t* in_one      # nb x C: steps it carried exactly 1
    int64_t n_g_touched
    int64_t* link_total  # n_links, this thread's
    int32_t* core_step   # n_cores x N_CORE_COUNTERS x cs_stride: this step's per-core counters, one lane per
                         # sample (zero between steps)
    int64_t cs_stride    # lanes per counter: 1 for a one-sample block, else nb rounded up to 16 (nc_lanes_add)
    double* terms        # N_TERMS x n_cores rounded up to 8 (pads zero): one sample's chip-time terms this step
    int32_t* cls_lanes   # n_classes x cs_stride: sources of each class that fired this step, per sample
    int32_t* cls_touched # n_classes: the classes with a source that fired this step
    uint8_t* cls_mark    # n_classes: 1 while listed in ``cls_touched``
    int64_t n_cls_touched
    int32_t* route       # the links of one route (at most the mesh's width plus height)


cdef inline int64_t route_links(const Net* net, int64_t src, int64_t dst, int32_t* route) noexcept nogil:
    """The links of the XY route from tile src to tile dst, in order; returns how many."""
    cdef int64_t x = src % net.mesh_x, y = src // net.mesh_x
    cdef int64_t x1 = dst % net.mesh_x, y1 = dst // net.mesh_x, n = 0
    while x != x1 or y != y1:
        if x < x1:
            route[n] = <int32_t>((y * net.mesh_x + x) * 4 + 0)
            x += 1
        elif x > x1:
            route[n] = <int32_t>((y * net.mesh_x + x) * 4 + 1)
            x -= 1
        elif y < y1:
            route[n] = <int32_t>((y * net.mesh_x + x) * 4 + 2)
            y += 1
        else:
            route[n] = <int32_t>((y * net.mesh_x + x) * 4 + 3)
            y -= 1
        n += 1
    return n


cdef inline int32_t* touch_link(Scratch* s, int64_t l) noexcept nogil:
    """Link l's lanes of this step, the link listed as touched."""
    if s.link_mark[l] == 0:
        s.link_mark[l] = 1
        s.touched[s.n_touched] = <int32_t>l
        s.n_touched += 1
    return s.link_step + l * s.cs_stride


cdef inline void walk_links(const Net* net, int64_t src, int64_t dst, uint64_t m, Scratch* s) noexcept nogil:
    """Count one packet, sent in every sample of mask ``m``, on every link of its XY route."""
    cdef int64_t i, n = route_links(net, src, dst, s.route)
    cdef int32_t c = nc_popcount64(m)
    for i in range(n):
        nc_lanes_add(touch_link(s, s.route[i]), m, 1, s.cs_stride)
        s.link_total[s.route[i]] += c


cdef void busiest_links(const Net* net, int64_t t, Scratch* s, Out* o) noexcept nogil:
    """Per sample of the block, the most packets any one link carried this step; then clear the links."""
    cdef int64_t b, i, l, nb = s.nb
    cdef int32_t* ls
    cdef int32_t* best = s.link_best
    for b in range(nb):
        best[b] = 0
    for i in range(s.n_touched):
        l = s.touched[i]
        ls = s.link_step + l * s.cs_stride
        for b in range(nb):
            if ls[b] > best[b]:
                best[b] = ls[b]
        memset(ls, 0, s.cs_stride * sizeof(int32_t))
        s.link_mark[l] = 0
    s.n_touched = 0
    for b in range(nb):
        o.busiest[(s.b0 + b) * net.T + t] = best[b]


cdef inline int64_t count_cores(const Net* net, int64_t s0, int64_t s1, int64_t r, bint all_active,
                                int64_t n_active, const int32_t* flag, const int32_t* spk, int64_t nspk,
                                int32_t* core_step, int64_t cs_stride) noexcept nogil:
    """Add one segment's active updates and spikes (its sorted spike list) to the counters of
    the cores its neurons are on (runs of same-core neurons, ``run_start``; ``r`` is a run at or
    before the one holding s0): every update when ``all_active``, the segment's count when it
    lies on one core, else its flags counted. Returns the run holding s1 - 1."""
    cdef int64_t lo = s0, hi, act, ns, k = 0
    while net.run_start[r + 1] <= s0:
        r += 1
    while True:
        hi = min(net.run_start[r + 1], s1)
        if all_active:
            act = hi - lo
        elif lo == s0 and hi == s1:
            act = n_active
        else:
            act = nc_count_active(flag + lo, hi - lo)
        ns = 0
        while k < nspk and spk[k] < hi:
            ns += 1
            k += 1
        core_step[(net.run_core[r] * N_CORE_COUNTERS + K_UPDATES) * cs_stride] += <int32_t>act
        core_step[(net.run_core[r] * N_CORE_COUNTERS + K_SPIKES) * cs_stride] += <int32_t>ns
        if hi == s1:
            return r
        lo = hi
        r += 1


cdef inline int64_t update_neurons(const Net* net, word_t* acc, word_t* u, word_t* v, int32_t* refr,
                                   int32_t* flag, int32_t* spk, int32_t* spike_counts, int32_t* core_step,
                                   int64_t cs_stride, int64_t* cnt) noexcept nogil:
    """One step of every neuron of one sample; takes and clears this step's input slot.

    Per neuron (Lava's PyLifModelBitAcc, plus refractory hold and reset by subtraction):
    u <- limit_u(trunc(u * decay_u >> decay_bits) + a); unless refractory:
    v <- limit_v(trunc(v * decay_v >> decay_bits) + u + bias); spike if v > vth, then
    v <- 0 (or v - vth) and the refractory counter starts. One nc_update call (C,
    vectorised) per segment (population) returns its active updates, spikes and overflows;
    the spike list is read from the flags of segments that spiked. Returns the spike count."""
    cdef int64_t i, s0, s1, first, uni, nspk = 0, n_active = 0, ovf_u = 0, ovf_v = 0, k, r = 0
    cdef int32_t c[4]
    cdef bint nonzero_bias
    for i in range(net.n_segs):
        s0, s1 = net.seg_start[i], net.seg_start[i + 1]
        if s1 == s0:
            continue
        c[0] = 0
        c[1] = 0
        c[2] = 0
        c[3] = 0
        uni = net.seg_uni[i]
        if word_t is int32_t:
            nonzero_bias = net.bias32[s0] != 0
        else:
            nonzero_bias = net.bias[s0] != 0
        if uni & 2 and nonzero_bias:
            uni |= 4  # a single non-zero bias: every update is active
        if word_t is int32_t:
            nc_update32(s1 - s0, acc + s0, u + s0, v + s0, refr + s0, flag + s0, net.decay_u + s0, net.decay_v + s0,
                        net.vth32 + s0, net.bias32 + s0, net.reset + s0, net.refractory + s0, net.decay_bits,
                        net.u_bits, net.v_bits, net.u_wrap, net.v_wrap, uni, c)
        else:
            nc_update64(s1 - s0, acc + s0, u + s0, v + s0, refr + s0, flag + s0, net.decay_u + s0, net.decay_v + s0,
                        net.vth + s0, net.bias + s0, net.reset + s0, net.refractory + s0, net.decay_bits,
                        net.u_bits, net.v_bits, net.u_wrap, net.v_wrap, uni, c)
        n_active += c[0]
        ovf_u += c[2]
        ovf_v += c[3]
        first = nspk
        if c[1]:
            nspk += nc_list_spikes(flag, s0, s1, c[1], spk + nspk)
            for k in range(first, nspk):
                spike_counts[spk[k]] += 1
        r = count_cores(net, s0, s1, r, (uni & 4) != 0, c[0], flag, spk + first, nspk - first, core_step, cs_stride)
    cnt[C_ACTIVE] += n_active
    cnt[C_SPIKES] += nspk
    cnt[C_OVF_U] += ovf_u
    cnt[C_OVF_V] += ovf_v
    return nspk


cdef inline void add_row(const Net* net, int64_t r, uint64_t m, int64_t slot, word_t* acc, int64_t acc_stride,
                         const wt_t* w, const ix_t* tg) noexcept nogil:
    """Add row r (a spike: value 1) into the slot of step t + delay of every sample in mask ``m``.

    ``slot`` is t mod D; t + delay lands in slot + delay, taken mod D by one subtraction
    since delay < D. ``w << shift`` is computed on the unsigned word (no shift of a
    negative number); the table bounds prove the result fits. A constant-weight row
    (``row_group`` -2) stores its one mantissa."""
    cdef int64_t n = net.row_ptr[r + 1] - net.row_ptr[r], k, b
    cdef int64_t sd = slot + net.row_delay[r]
    if sd >= net.D:
        sd -= net.D
    cdef int sh = net.row_shift[r]
    cdef word_t* a
    cdef word_t c
    cdef const wt_t* wr = w + net.row_wptr[r]
    cdef const ix_t* t = tg + net.row_span[r]
    if net.row_group[r] == -2:
        c = <word_t>(<uint64_t><int64_t>wr[0] << sh)
        while m:
            b = nc_ctz64(m)
            m &= m - 1
            a = acc + b * acc_stride + sd * net.N
            for k in range(n):
                a[t[k]] += c
        return
    while m:
        b = nc_ctz64(m)
        m &= m - 1
        a = acc + b * acc_stride + sd * net.N
        if word_t is int32_t:
            for k in range(n):
                a[t[k]] += <int32_t>(<uint32_t><int32_t>wr[k] << sh)
        else:
            for k in range(n):
                a[t[k]] += <int64_t>(<uint64_t><int64_t>wr[k] << sh)


cdef inline void add_row_graded(const Net* net, int64_t r, uint64_t m, const int32_t* xin, int64_t x_stride,
                                int64_t slot, word_t* acc, int64_t acc_stride, const wt_t* w,
                                const ix_t* tg) noexcept nogil:
    """Add row r times each sample's graded value ``xin[b * x_stride]`` (samples in mask ``m``).

    A window row adds its whole window (zeros in its gaps add nothing)."""
    cdef int64_t n = net.row_ptr[r + 1] - net.row_ptr[r], k, b, xm, st = net.row_start[r]
    cdef int64_t wstep = 0 if net.row_group[r] == -2 else 1  # a constant-weight row stores one mantissa
    cdef int64_t sd = slot + net.row_delay[r]
    if sd >= net.D:
        sd -= net.D
    cdef word_t* a
    cdef const wt_t* wr = w + net.row_wptr[r]
    cdef const ix_t* t = tg + net.row_span[r]
    if st >= 0:
        n = net.row_span[r]
    while m:
        b = nc_ctz64(m)
        m &= m - 1
        a = acc + b * acc_stride + sd * net.N
        xm = ((<int64_t>1) << net.row_shift[r]) * xin[b * x_stride]
        if st >= 0:
            for k in range(n):
                a[st + k] += <word_t>(<int64_t>wr[k] * xm)
        else:
            for k in range(n):
                a[t[k]] += <word_t>(<int64_t>wr[k * wstep] * xm)


cdef inline void list_row(const Net* net, int64_t r, uint64_t m, Scratch* s) noexcept nogil:
    """List window row r for every sample in mask ``m`` under its group (summed by ``flush_groups``).

    ``g_cnt`` holds nb + 1 counts per group: rows listed per sample, then a touched mark."""
    cdef int64_t g = net.row_group[r], b, nb = s.nb, gsize = net.g_off[g + 1] - net.g_off[g]
    cdef int32_t* cnt = s.g_cnt + g * (nb + 1)
    cdef int32_t* lst = s.g_list + net.g_off[g] * nb
    cdef int32_t wp = <int32_t>net.row_wptr[r]
    if cnt[nb] == 0:
        cnt[nb] = 1
        s.g_touched[s.n_g_touched] = <int32_t>g
        s.n_g_touched += 1
    while m:
        b = nc_ctz64(m)
        m &= m - 1
        lst[b * gsize + cnt[b]] = wp
        cnt[b] += 1


cdef void flush_groups(const Net* net, int64_t slot, Scratch* s, word_t* acc, int64_t acc_stride,
                       const wt_t* w) noexcept nogil:
    """Sum each touched group's listed rows per sample, NC_CHUNK targets at a time, and add the sums.

    Chunks are the outer loop and samples the inner one, so a chunk of the group's weights
    is read from memory once and stays in cache for every sample of the block. Within a
    group all rows share the shift, so the mantissas are summed in registers and shifted
    once (``nc_gather``): exact, since the bound of the shifted sum also bounds the plain one."""
    cdef int64_t j, g, c0, cw, b, nb = s.nb, gsize, sd
    cdef int sh
    cdef word_t* a
    cdef const int32_t* lst
    cdef int32_t* cnt
    for j in range(s.n_g_touched):
        g = s.g_touched[j]
        cnt = s.g_cnt + g * (nb + 1)
        gsize = net.g_off[g + 1] - net.g_off[g]
        sd = slot + net.g_delay[g]
        if sd >= net.D:
            sd -= net.D
        sh = net.g_shift[g]
        c0 = 0
        while c0 < net.g_span[g]:
            cw = min(<int64_t>NC_CHUNK, net.g_span[g] - c0)
            for b in range(nb):
                if cnt[b] == 0:
                    continue
                lst = s.g_list + net.g_off[g] * nb + b * gsize
                a = acc + b * acc_stride + sd * net.N + net.g_start[g] + c0
                if word_t is int32_t:
                    if wt_t is int8_t:
                        nc_gather32_8(a, w, lst, cnt[b], c0, cw, sh)
                    else:
                        nc_gather32_16(a, w, lst, cnt[b], c0, cw, sh)
                else:
                    if wt_t is int8_t:
                        nc_gather64_8(a, w, lst, cnt[b], c0, cw, sh)
                    else:
                        nc_gather64_16(a, w, lst, cnt[b], c0, cw, sh)
            c0 += NC_CHUNK
        for b in range(nb + 1):
            cnt[b] = 0
    s.n_g_touched = 0


cdef inline int64_t packet_fields(const Net* net, int64_t p, int32_t* nnz, int32_t* sparse,
                                  int32_t* conv) noexcept nogil:
    """Packet p's destination core slot (returned), synapses and, of them, the sparse and conv
    units', from the compact or the wide tables."""
    if net.pk_wide:
        nnz[0], sparse[0], conv[0] = net.pk_nnz[p], net.pk_nnz_sparse[p], net.pk_nnz_conv[p]
        return net.pk_core[p]
    nnz[0] = net.pk_nnz16[p]
    sparse[0] = nnz[0] if net.pk_unit[p] == 1 else 0
    conv[0] = nnz[0] if net.pk_unit[p] == 2 else 0
    return net.pk_core16[p]


cdef inline void count_source(const Net* net, int64_t k, uint64_t m, Scratch* s) noexcept nogil:
    """Per-step work of source k's packets in every sample of mask ``m``: the per-core counters
    (packets out of its core; per destination core packets in and synapses, by unit) and, for a
    packet that leaves its tile, the links of its route. (The per-sample totals are counted
    once per block from the spike counts, see ``count_totals``.)"""
    cdef int64_t st = s.cs_stride, core, src = net.src_core[k], p
    cdef int64_t p0 = net.src_pk_ptr[k], p1 = net.src_pk_ptr[k + 1]
    cdef int32_t nnz, sparse, conv
    cdef int32_t* dst
    if p1 == p0:
        return
    if src >= 0:
        nc_lanes_add(s.core_step + (src * N_CORE_COUNTERS + K_POUT) * st, m, <int32_t>(p1 - p0), st)
    if not net.pk_wide:
        nc_count_packets(s.core_step, st, m, net.pk_core16 + p0, net.pk_nnz16 + p0, net.pk_unit + p0, p1 - p0,
                         N_CORE_COUNTERS, K_SYNOPS, K_PIN, K_SPARSE, K_CONV)
    else:
        for p in range(p0, p1):
            dst = s.core_step + packet_fields(net, p, &nnz, &sparse, &conv) * N_CORE_COUNTERS * st
            nc_lanes_add(dst + K_SYNOPS * st, m, nnz, st)
            nc_lanes_add(dst + K_PIN * st, m, 1, st)
            if sparse:
                nc_lanes_add(dst + K_SPARSE * st, m, sparse, st)
            if conv:
                nc_lanes_add(dst + K_CONV * st, m, conv, st)
    if net.src_tile[k] < 0:
        return
    for p in range(p0, p1):
        core = packet_fields(net, p, &nnz, &sparse, &conv)
        if net.src_tile[k] != net.core_tile[core]:
            walk_links(net, net.src_tile[k], net.core_tile[core], m, s)


cdef inline void count_fired(const Net* net, int64_t k, uint64_t m, Scratch* s) noexcept nogil:
    """Source k fired in the samples of mask ``m``: count it with its class, or on its own."""
    cdef int64_t c = net.src_class[k]
    if c < 0:
        count_source(net, k, m, s)
        return
    if s.cls_mark[c] == 0:
        s.cls_mark[c] = 1
        s.cls_touched[s.n_cls_touched] = <int32_t>c
        s.n_cls_touched += 1
    nc_lanes_add(s.cls_lanes + c * s.cs_stride, m, 1, s.cs_stride)


cdef inline void add_times(int32_t* dst, const int32_t* lanes, int32_t v, int64_t nb) noexcept nogil:
    cdef int64_t b
    for b in range(nb):
        dst[b] += lanes[b] * v


cdef void count_classes(const Net* net, Scratch* s) noexcept nogil:
    """Each class that fired this step: its representative's packets, counted as many times per
    sample as sources of the class fired in it (``cls_lanes``); then clear the class counts."""
    cdef int64_t j, c, k, p, p0, p1, b, i, n, core, src, st = s.cs_stride, nb = s.nb
    cdef int32_t nnz, sparse, conv
    cdef int64_t total
    cdef int32_t* lanes
    cdef int32_t* dst
    for j in range(s.n_cls_touched):
        c = s.cls_touched[j]
        lanes = s.cls_lanes + c * st
        k = net.cls_src[c]
        p0, p1 = net.src_pk_ptr[k], net.src_pk_ptr[k + 1]
        src = net.src_core[k]
        total = 0
        for b in range(nb):
            total += lanes[b]
        if src >= 0:
            add_times(s.core_step + (src * N_CORE_COUNTERS + K_POUT) * st, lanes, <int32_t>(p1 - p0), nb)
        for p in range(p0, p1):
            core = packet_fields(net, p, &nnz, &sparse, &conv)
            dst = s.core_step + core * N_CORE_COUNTERS * st
            add_times(dst + K_SYNOPS * st, lanes, nnz, nb)
            add_times(dst + K_PIN * st, lanes, 1, nb)
            if sparse:
                add_times(dst + K_SPARSE * st, lanes, sparse, nb)
            if conv:
                add_times(dst + K_CONV * st, lanes, conv, nb)
            if net.src_tile[k] >= 0 and net.src_tile[k] != net.core_tile[core]:
                n = route_links(net, net.src_tile[k], net.core_tile[core], s.route)
                for i in range(n):
                    add_times(touch_link(s, s.route[i]), lanes, 1, nb)
                    s.link_total[s.route[i]] += total
        memset(lanes, 0, st * sizeof(int32_t))
        s.cls_mark[c] = 0
    s.n_cls_touched = 0


cdef void count_totals(const Net* net, Scratch* s, Out* o) noexcept nogil:
    """Per-sample totals of the block from its spike counts and input value counts.

    Every source's deliveries are the same each time it fires: its packets, hops, synapses
    and memory words (``src_*`` tables) times the times it fired (neurons) or carried a
    value (input channels; a value of exactly 1 on a channel not declared graded is binary)."""
    cdef int64_t b, k, c, n, n1, gb, syn
    cdef int64_t* cnt
    for b in range(s.nb):
        gb = s.b0 + b
        cnt = o.cnt + gb * N_COUNTERS
        for k in range(net.N):
            n = o.spike_counts[gb * net.N + k]
            if n == 0:
                continue
            syn = n * net.src_syn[k]
            cnt[C_SYNOPS] += syn
            cnt[C_SYNOPS_BINARY] += syn
            cnt[C_WORDS] += n * net.src_words[k]
            cnt[C_PACKETS] += n * net.src_pk[k]
            cnt[C_INTRA_TILE] += n * net.src_intra[k]
            cnt[C_HOPS_EW] += n * net.src_hops_ew[k]
            cnt[C_HOPS_NS] += n * net.src_hops_ns[k]
            cnt[C_HOPS_CHIP] += n * net.src_hops_chip[k]
        for c in range(net.C):
            n = s.in_count[b * net.C + c]
            if n == 0:
                continue
            n1 = 0 if net.chan_graded[c] else s.in_one[b * net.C + c]
            k = net.N + c
            cnt[C_SYNOPS] += n * net.src_syn[k]
            cnt[C_SYNOPS_BINARY] += n1 * net.src_syn[k]
            cnt[C_SYNOPS_GRADED] += (n - n1) * net.src_syn[k]
            cnt[C_WORDS] += n * net.src_words[k]
            cnt[C_INPUT_PACKETS] += n * net.src_pk[k]
            cnt[C_INTRA_TILE] += n * net.src_intra[k]  # non-zero only for inputs placed on cores
            cnt[C_HOPS_EW] += n * net.src_hops_ew[k]
            cnt[C_HOPS_NS] += n * net.src_hops_ns[k]
            cnt[C_HOPS_CHIP] += n * net.src_hops_chip[k]


cdef inline void spike_rows(const Net* net, int64_t k, uint64_t m, int64_t slot, Scratch* s, word_t* acc,
                            int64_t acc_stride, const wt_t* w, const ix_t* tg) noexcept nogil:
    """The rows of source k, as spikes in the samples of mask ``m``: window rows listed, others scattered."""
    cdef int64_t r
    for r in range(net.src_row_ptr[k], net.src_row_ptr[k + 1]):
        if net.row_group[r] >= 0:
            list_row(net, r, m, s)
        else:
            add_row(net, r, m, slot, acc, acc_stride, w, tg)


cdef void deliver_inputs(const Net* net, const int32_t* inputs, int64_t t, int64_t slot, Scratch* s, Out* o,
                         word_t* acc, int64_t acc_stride, const wt_t* w, const ix_t* tg) noexcept nogil:
    """External inputs of step t: each channel's rows once, for every sample carrying a value.

    Per channel two sample masks: any non-zero value, and value exactly 1 (added as a
    spike). A 1 counts as graded only on a channel declared graded."""
    cdef int64_t c, b, p, r, k, n_src = 0, j, C = net.C
    cdef uint64_t m, m1, mg
    cdef uint64_t* any_mask = s.src_mask + net.N
    cdef uint64_t* one_mask = s.one_mask
    cdef const int32_t* row
    cdef const int32_t* xin
    cdef int32_t* in_count
    cdef int32_t* in_one
    for b in range(s.nb):  # branch-free (the compiler vectorises it): values are dense in time
        if not (s.live >> b) & 1:
            continue
        row = inputs + ((s.b0 + b) * net.T + t) * C
        in_count = s.in_count + b * C
        in_one = s.in_one + b * C
        for c in range(C):
            any_mask[c] |= (<uint64_t>(row[c] != 0)) << b
            one_mask[c] |= (<uint64_t>(row[c] == 1)) << b
            in_count[c] += row[c] != 0
            in_one[c] += row[c] == 1
    for c in range(C):
        if any_mask[c]:
            s.src_list[n_src] = <int32_t>c
            n_src += 1
    for j in range(n_src):
        c = s.src_list[j]
        m, m1 = any_mask[c], one_mask[c]
        any_mask[c] = 0
        one_mask[c] = 0
        mg = m & ~m1
        xin = inputs + (s.b0 * net.T + t) * C + c
        k = net.N + c
        count_fired(net, k, m, s)
        if m1:
            spike_rows(net, k, m1, slot, s, acc, acc_stride, w, tg)
        if mg:
            for r in range(net.src_row_ptr[k], net.src_row_ptr[k + 1]):
                add_row_graded(net, r, mg, xin, net.T * C, slot, acc, acc_stride, w, tg)
    count_classes(net, s)
    flush_groups(net, slot, s, acc, acc_stride, w)


cdef void deliver_spikes(const Net* net, int64_t t, int64_t slot, Scratch* s, Out* o,
                         word_t* acc, int64_t acc_stride, const wt_t* w, const ix_t* tg) noexcept nogil:
    """Route this step's spikes: every source that fired in any sample once, with its sample mask."""
    cdef int64_t b, i, k, n_src = 0, j, p
    cdef uint64_t m
    cdef int32_t* spk
    for b in range(s.nb):
        spk = s.spk + b * net.N
        for i in range(s.nspk[b]):
            k = spk[i]
            if s.src_mask[k] == 0:
                s.src_list[n_src] = <int32_t>k
                n_src += 1
            s.src_mask[k] |= (<uint64_t>1) << b
    for j in range(n_src):
        k = s.src_list[j]
        m = s.src_mask[k]
        s.src_mask[k] = 0
        count_fired(net, k, m, s)
        spike_rows(net, k, m, slot, s, acc, acc_stride, w, tg)
    count_classes(net, s)
    flush_groups(net, slot, s, acc, acc_stride, w)


cdef void close_step(const Net* net, int64_t t, Scratch* s, Out* o) noexcept nogil:
    """Fold this step's per-core counters of each live sample into its totals, its chip-time
    sums (``neurocore.steptime``: the same float64 operations in the same order as
    ``steptime.evaluate``) and, when recorded, the full per-step table; then clear them.

    A term whose weight is zero is skipped: its product is a zero and adding a zero leaves a
    sum that is never -0.0 unchanged (every sum starts at +0.0), so the sums are bitwise
    those of all ten terms (``nc_form_max``: eight cores a vector)."""
    cdef int64_t b, c, k, i, j, gb, K = net.n_cores, stride = net.n_cores * N_CORE_COUNTERS, st = s.cs_stride
    cdef int64_t ks = (K + 7) // 8 * 8
    cdef int32_t* cs = s.core_step
    cdef int32_t* row
    cdef int64_t* tot
    cdef const int32_t* nz
    cdef double* x = s.terms
    cdef double best[2]
    for b in range(s.nb):
        if not (s.live >> b) & 1:
            continue
        gb = s.b0 + b
        tot = o.core_tot + gb * stride
        for k in range(stride):
            tot[k] += cs[k * st + b]
        if o.core != NULL:
            row = o.core + (gb * net.T + t) * stride
            for k in range(stride):
                row[k] = cs[k * st + b]
        if o.n_timing == 0:
            continue
        for k in range(N_CORE_COUNTERS):  # the terms of neurocore.steptime.TERMS, term-major
            for c in range(K):
                x[k * ks + c] = <double>cs[(c * N_CORE_COUNTERS + k) * st + b]
        for c in range(K):
            x[N_CORE_COUNTERS * ks + c] = o.neurons[c] - x[K_UPDATES * ks + c]
            x[(N_CORE_COUNTERS + 1) * ks + c] = x[K_SYNOPS * ks + c] - x[K_SPARSE * ks + c] - x[K_CONV * ks + c]
            x[(N_CORE_COUNTERS + 2) * ks + c] = o.neurons[c]
        for i in range(o.n_timing):
            for j in range(2):
                nz = o.timing_nz + (i * 2 + j) * (N_TERMS + 1)
                best[j] = nc_form_max(x, K, ks, nz + 1, nz[0], o.timing_w + (i * 2 + j) * N_TERMS)
            if best[0] > best[1]:
                o.chip_time[(gb * o.n_timing + i) * 2] += best[0]
            else:
                o.chip_time[(gb * o.n_timing + i) * 2 + 1] += best[1]
    memset(cs, 0, stride * st * sizeof(int32_t))


cdef void record(const Net* net, int64_t t, Scratch* s, Out* o, word_t* u, word_t* v) noexcept nogil:
    """Probes of step t for every live sample of the block."""
    cdef int64_t b, i, q, gb
    cdef word_t* ub
    cdef word_t* vb
    cdef int32_t* spk
    for b in range(s.nb):
        if not (s.live >> b) & 1:
            continue
        gb = (s.b0 + b) * net.T + t
        ub = u + b * net.N
        vb = v + b * net.N
        for i in range(o.n_pu):
            o.pu[gb * o.n_pu + i] = ub[o.pu_idx[i]]
        for i in range(o.n_pv):
            o.pv[gb * o.n_pv + i] = vb[o.pv_idx[i]]
        spk = s.spk + b * net.N
        for i in range(s.nspk[b]):
            for q in range(o.n_ps):  # probes of spikes are rare; a linear scan keeps it simple
                if o.ps_idx[q] == spk[i]:
                    o.ps[gb * o.n_ps + q] = 1


cdef inline void check_stop(const Net* net, int64_t t, Scratch* s, Out* o) noexcept nogil:
    """After step t (0-based): stop each live sample whose read-out spike counts so far lead by
    ``stop_margin`` (leading count minus the second, integers only, as an embedded core would).

    A stopped sample leaves ``s.live``: it receives no inputs, updates no neuron, sends
    nothing and counts nothing from then on, so its results are those of a run of t + 1 steps."""
    cdef int64_t b, k, c, top, second
    cdef const int32_t* sc
    if o.stop_margin < 0 or t + 1 < o.stop_min:
        return
    for b in range(s.nb):
        if not (s.live >> b) & 1:
            continue
        sc = o.spike_counts + (s.b0 + b) * net.N + o.stop_off
        top = 0
        second = 0
        for k in range(o.stop_n):
            c = sc[k]
            if c > top:
                second = top
                top = c
            elif c > second:
                second = c
        if top - second >= o.stop_margin:
            s.live &= ~((<uint64_t>1) << b)
            o.steps[s.b0 + b] = t + 1


cdef void run_block(const Net* net, const int32_t* inputs, Scratch* s, Out* o, word_t* acc, word_t* u,
                    word_t* v, const wt_t* w, const ix_t* tg) noexcept nogil:
    """Simulate the samples b0 .. b0 + nb - 1 of the batch for net.T steps, in lockstep."""
    cdef int64_t N = net.N, t, n, b, slot, gb
    cdef int64_t acc_stride = net.D * N
    for b in range(s.nb):
        for n in range(N):
            u[b * N + n] = <word_t>net.u0[n]
            v[b * N + n] = <word_t>net.v0[n]
    memset(acc, 0, s.nb * acc_stride * sizeof(word_t))
    memset(s.refr, 0, s.nb * N * sizeof(int32_t))
    s.cs_stride = 1 if s.nb == 1 else (s.nb + 15) // 16 * 16
    s.n_touched = 0
    s.n_cls_touched = 0
    memset(s.cls_lanes, 0, max(net.n_classes, 1) * s.cs_stride * sizeof(int32_t))
    memset(s.cls_mark, 0, max(net.n_classes, 1) * sizeof(uint8_t))
    memset(s.link_step, 0, net.n_links * s.cs_stride * sizeof(int32_t))
    memset(s.link_mark, 0, net.n_links * sizeof(uint8_t))
    memset(s.in_count, 0, s.nb * net.C * sizeof(int32_t))
    memset(s.in_one, 0, s.nb * net.C * sizeof(int32_t))
    memset(s.core_step, 0, net.n_cores * N_CORE_COUNTERS * s.cs_stride * sizeof(int32_t))
    for b in range(s.nb):
        o.steps[s.b0 + b] = net.T
    slot = net.D - 1
    for t in range(net.T):
        if s.live == 0:  # every sample of the block has stopped
            break
        slot += 1
        if slot == net.D:
            slot = 0
        # 1. external inputs of step t (an input placed on a core routes like a spike: links counted)
        deliver_inputs(net, inputs, t, slot, s, o, acc, acc_stride, w, tg)
        # 2. neuron updates, sample by sample
        for b in range(s.nb):
            s.nspk[b] = 0
            if (s.live >> b) & 1:
                gb = s.b0 + b
                s.nspk[b] = update_neurons(net, acc + b * acc_stride + slot * N, u + b * N, v + b * N,
                                           s.refr + b * N, s.flag + b * N, s.spk + b * N,
                                           o.spike_counts + gb * N,
                                           s.core_step + b, s.cs_stride,
                                           o.cnt + gb * N_COUNTERS)
        record(net, t, s, o, u, v)
        # 3. route and integrate this step's spikes
        deliver_spikes(net, t, slot, s, o, acc, acc_stride, w, tg)
        busiest_links(net, t, s, o)
        close_step(net, t, s, o)  # this step's per-core work, before stopped samples leave the live mask
        check_stop(net, t, s, o)
    count_totals(net, s, o)
    for b in range(s.nb):
        gb = s.b0 + b
        o.cnt[gb * N_COUNTERS + C_TIMESTEPS] = o.steps[gb]
        o.cnt[gb * N_COUNTERS + C_IDLE] = o.steps[gb] * N - o.cnt[gb * N_COUNTERS + C_ACTIVE]
        for n in range(N):
            o.u[gb * N + n] = u[b * N + n]
            o.v[gb * N + n] = v[b * N + n]


# ---------------------------------------------------------------------------------------
# Table plumbing: every kernel array, its dtype and its Net field, in one place.
# ---------------------------------------------------------------------------------------
#: name -> dtype of every array ``neurocore.sim.kernel_tables`` must provide (besides the
#: typed ``weight`` (int8/int16) and ``target`` (uint16/int32)).
TABLE_DTYPES = {
    "decay_u": np.int32, "decay_v": np.int32, "vth": np.int64, "bias": np.int64, "vth32": np.int32,
    "bias32": np.int32, "reset": np.int32, "refractory": np.int32, "u0": np.int64, "v0": np.int64,
    "seg_start": np.int64, "seg_uni": np.uint8, "run_start": np.int64, "run_core": np.int32,
    "row_ptr": np.int32, "row_shift": np.int8, "row_delay": np.int16,
    "row_start": np.int32, "row_wptr": np.int32, "row_span": np.int32, "row_group": np.int32,
    "g_start": np.int32, "g_span": np.int32, "g_delay": np.int32, "g_shift": np.int32, "g_off": np.int64,
    "src_row_ptr": np.int32, "src_pk_ptr": np.int32, "src_core": np.int32, "src_tile": np.int32,
    "core_tile": np.int32, "src_class": np.int32, "cls_src": np.int32, "pk_core16": np.uint16, "pk_nnz16": np.uint16, "pk_unit": np.uint8,
    "pk_core": np.int32, "pk_nnz": np.int32, "pk_nnz_sparse": np.int32, "pk_nnz_conv": np.int32,
    "src_syn": np.int32, "src_words": np.int32, "src_pk": np.int32, "src_intra": np.int32,
    "src_hops_ew": np.int32, "src_hops_ns": np.int32, "src_hops_chip": np.int32,
    "chan_graded": np.uint8,
}


cdef size_t _addr(dict tb, str key) except 0:
    a = tb[key]
    want = TABLE_DTYPES[key]
    if a.dtype != want or not a.flags.c_contiguous or a.size == 0:
        raise TypeError(f"kernel table {key!r} must be a non-empty C-contiguous {np.dtype(want)} array, "
                        f"got {a.dtype} of shape {a.shape}")
    return <size_t>a.ctypes.data


cdef class Tables:
    """A Program's kernel arrays, checked once and held with raw pointers for every run."""
    cdef Net net
    cdef dict arrays

    def __init__(self, dict tb):
        self.arrays = tb
        cdef Net* n = &self.net
        n.N, n.C, n.D = tb["N"], tb["C"], tb["D"]
        n.n_cores, n.n_links, n.mesh_x = tb["n_cores"], tb["n_links"], tb["mesh_x"]
        n.decay_bits, n.u_bits, n.v_bits = tb["decay_bits"], tb["u_bits"], tb["v_bits"]
        n.u_wrap, n.v_wrap = tb["u_wrap"], tb["v_wrap"]
        n.n_segs, n.n_runs = tb["n_segs"], tb["n_runs"]
        n.decay_u = <const int32_t*>_addr(tb, "decay_u")
        n.decay_v = <const int32_t*>_addr(tb, "decay_v")
        n.vth = <const int64_t*>_addr(tb, "vth")
        n.bias = <const int64_t*>_addr(tb, "bias")
        n.vth32 = <const int32_t*>_addr(tb, "vth32")
        n.bias32 = <const int32_t*>_addr(tb, "bias32")
        n.reset = <const int32_t*>_addr(tb, "reset")
        n.refractory = <const int32_t*>_addr(tb, "refractory")
        n.u0 = <const int64_t*>_addr(tb, "u0")
        n.v0 = <const int64_t*>_addr(tb, "v0")
        n.seg_start = <const int64_t*>_addr(tb, "seg_start")
        n.seg_uni = <const uint8_t*>_addr(tb, "seg_uni")
        n.run_start = <const int64_t*>_addr(tb, "run_start")
        n.run_core = <const int32_t*>_addr(tb, "run_core")
        n.row_ptr = <const int32_t*>_addr(tb, "row_ptr")
        n.row_shift = <const int8_t*>_addr(tb, "row_shift")
        n.row_delay = <const int16_t*>_addr(tb, "row_delay")
        n.row_start = <const int32_t*>_addr(tb, "row_start")
        n.row_wptr = <const int32_t*>_addr(tb, "row_wptr")
        n.row_span = <const int32_t*>_addr(tb, "row_span")
        n.row_group = <const int32_t*>_addr(tb, "row_group")
        n.n_groups = tb["n_groups"]
        n.g_start = <const int32_t*>_addr(tb, "g_start")
        n.g_span = <const int32_t*>_addr(tb, "g_span")
        n.g_delay = <const int32_t*>_addr(tb, "g_delay")
        n.g_shift = <const int32_t*>_addr(tb, "g_shift")
        n.g_off = <const int64_t*>_addr(tb, "g_off")
        n.src_row_ptr = <const int32_t*>_addr(tb, "src_row_ptr")
        n.src_core = <const int32_t*>_addr(tb, "src_core")
        n.src_tile = <const int32_t*>_addr(tb, "src_tile")
        n.core_tile = <const int32_t*>_addr(tb, "core_tile")
        n.pk_wide = tb["pk_wide"]
        n.n_classes = tb["n_classes"]
        n.src_class = <const int32_t*>_addr(tb, "src_class")
        n.cls_src = <const int32_t*>_addr(tb, "cls_src")
        n.pk_core16 = <const uint16_t*>_addr(tb, "pk_core16")
        n.pk_nnz16 = <const uint16_t*>_addr(tb, "pk_nnz16")
        n.pk_unit = <const uint8_t*>_addr(tb, "pk_unit")
        n.pk_core = <const int32_t*>_addr(tb, "pk_core")
        n.pk_nnz = <const int32_t*>_addr(tb, "pk_nnz")
        n.pk_nnz_sparse = <const int32_t*>_addr(tb, "pk_nnz_sparse")
        n.pk_nnz_conv = <const int32_t*>_addr(tb, "pk_nnz_conv")
        n.src_syn = <const int32_t*>_addr(tb, "src_syn")
        n.src_words = <const int32_t*>_addr(tb, "src_words")
        n.src_pk = <const int32_t*>_addr(tb, "src_pk")
        n.src_intra = <const int32_t*>_addr(tb, "src_intra")
        n.src_hops_ew = <const int32_t*>_addr(tb, "src_hops_ew")
        n.src_hops_ns = <const int32_t*>_addr(tb, "src_hops_ns")
        n.src_hops_chip = <const int32_t*>_addr(tb, "src_hops_chip")
        n.src_pk_ptr = <const int32_t*>_addr(tb, "src_pk_ptr")
        n.chan_graded = <const uint8_t*>_addr(tb, "chan_graded")


def _nonzero_terms(timing_w):
    """Per chip-time model and form: how many of its N_TERMS weights are non-zero, then those terms."""
    w = np.asarray(timing_w, np.float64)
    nz = np.zeros(w.shape[:2] + (N_TERMS + 1,), np.int32)
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            idx = np.flatnonzero(w[i, j] != 0)
            nz[i, j, 0] = idx.size
            nz[i, j, 1: 1 + idx.size] = idx
    return nz


def _run(Tables tables, const int32_t[:, :, ::1] inputs, int64_t n_steps, dict out, int n_threads,
         int64_t block, word_t[:, ::1] acc, word_t[:, ::1] u, word_t[:, ::1] v, const wt_t[::1] w,
         const ix_t[::1] tg):
    """The batch loop, specialised by Cython for each state word (``acc``), weight and target type."""
    cdef Net net = tables.net
    net.T = n_steps
    net.B = inputs.shape[0]
    cdef int64_t N = net.N, S = net.N + net.C, nL = max(net.n_links, 1)
    cdef int64_t n_blocks = (net.B + block - 1) // block, blk, b
    cdef int32_t[:, ::1] flag = np.zeros((n_threads, block * max(N, 1)), np.int32)
    cdef int32_t[:, ::1] refr = np.zeros((n_threads, block * max(N, 1)), np.int32)
    cdef int32_t[:, ::1] spk = np.zeros((n_threads, block * max(N, 1)), np.int32)
    cdef int64_t[:, ::1] nspk = np.zeros((n_threads, block), np.int64)
    cdef int64_t lanes = 1 if block == 1 else (block + 15) // 16 * 16
    cdef int32_t[:, ::1] link_step = np.zeros((n_threads, lanes * nL), np.int32)
    cdef int32_t[:, ::1] touched = np.zeros((n_threads, nL), np.int32)
    cdef uint8_t[:, ::1] link_mark = np.zeros((n_threads, nL), np.uint8)
    cdef int64_t nK = max(net.n_classes, 1)
    cdef int32_t[:, ::1] cls_lanes = np.zeros((n_threads, nK * lanes), np.int32)
    cdef int32_t[:, ::1] cls_touched = np.zeros((n_threads, nK), np.int32)
    cdef uint8_t[:, ::1] cls_mark = np.zeros((n_threads, nK), np.uint8)
    cdef int32_t[:, ::1] route = np.zeros((n_threads, nL), np.int32)
    cdef int32_t[:, ::1] link_best = np.zeros((n_threads, block), np.int32)
    cdef uint64_t[:, ::1] src_mask = np.zeros((n_threads, max(S, 1)), np.uint64)
    cdef int32_t[:, ::1] src_list = np.zeros((n_threads, max(S, 1)), np.int32)
    cdef uint64_t[:, ::1] one_mask = np.zeros((n_threads, max(net.C, 1)), np.uint64)
    cdef int32_t[:, ::1] g_cnt = np.zeros((n_threads, max(net.n_groups * (block + 1), 1)), np.int32)
    cdef int32_t[:, ::1] g_list = np.zeros((n_threads, max(net.g_off[net.n_groups] * block, 1)), np.int32)
    cdef int32_t[:, ::1] g_touched = np.zeros((n_threads, max(net.n_groups, 1)), np.int32)
    cdef int32_t[:, ::1] in_count = np.zeros((n_threads, max(block * net.C, 1)), np.int32)
    cdef int32_t[:, ::1] in_one = np.zeros((n_threads, max(block * net.C, 1)), np.int32)
    cdef int32_t[:, ::1] core_step = np.zeros((n_threads, max(lanes * net.n_cores * N_CORE_COUNTERS, 1)), np.int32)
    cdef double[:, ::1] terms = np.zeros((n_threads, N_TERMS * ((net.n_cores + 7) // 8 * 8) + 1), np.float64)
    cdef int64_t[:, ::1] link_total = out["link_total"]
    cdef int64_t[:, ::1] cnt = out["counters"]
    cdef int32_t[:, ::1] spike_counts = out["spike_counts"]
    cdef int32_t[:, :, :, ::1] core
    cdef int64_t[:, :, ::1] core_tot = out["core_totals"]
    cdef const double[:, :, ::1] timing_w = out["timing_w"]
    cdef const int32_t[:, :, ::1] timing_nz = _nonzero_terms(out["timing_w"])
    cdef const double[::1] neurons = out["core_neurons"]
    cdef double[:, :, ::1] chip_time = out["chip_time"]
    cdef int32_t[:, ::1] busiest = out["busiest_link"]
    cdef int64_t[:, ::1] u_out = out["u"], v_out = out["v"]
    cdef const int32_t[::1] pu_idx = out["probe_u_idx"], pv_idx = out["probe_v_idx"], ps_idx = out["probe_s_idx"]
    cdef int64_t[:, :, ::1] pu = out["probe_u"], pv = out["probe_v"]
    cdef uint8_t[:, :, ::1] ps = out["probe_s"]
    cdef Out o
    o.cnt, o.spike_counts, o.busiest = &cnt[0, 0], &spike_counts[0, 0], &busiest[0, 0]
    o.core = NULL
    if out["core"] is not None:
        core = out["core"]
        o.core = &core[0, 0, 0, 0]
    o.core_tot, o.neurons = &core_tot[0, 0, 0], &neurons[0]
    o.n_timing, o.timing_w, o.chip_time = out["n_timing"], &timing_w[0, 0, 0], &chip_time[0, 0, 0]
    o.timing_nz = &timing_nz[0, 0, 0]
    o.u, o.v = &u_out[0, 0], &v_out[0, 0]
    o.n_pu, o.n_pv, o.n_ps = out["n_probe_u"], out["n_probe_v"], out["n_probe_s"]
    o.pu_idx, o.pv_idx, o.ps_idx = &pu_idx[0], &pv_idx[0], &ps_idx[0]
    o.pu, o.pv, o.ps = &pu[0, 0, 0], &pv[0, 0, 0], &ps[0, 0, 0]
    steps_arr = out["steps"] if "steps" in out else np.zeros(net.B, np.int64)
    cdef int64_t[::1] steps = steps_arr
    o.steps = &steps[0]
    o.stop_margin, o.stop_min, o.stop_off, o.stop_n = out.get("stop", (-1, 0, 0, 1))
    # one Scratch per thread; inside the parallel loop only its block fields change
    scratch = np.zeros((n_threads, sizeof(Scratch)), np.uint8)
    cdef Scratch* scr = <Scratch*><size_t>scratch.ctypes.data
    cdef Scratch* sp
    cdef int tid
    for tid in range(n_threads):
        sp = scr + tid
        sp.flag, sp.refr, sp.spk, sp.nspk = &flag[tid, 0], &refr[tid, 0], &spk[tid, 0], &nspk[tid, 0]
        sp.link_step, sp.touched, sp.link_mark, sp.link_best = (&link_step[tid, 0], &touched[tid, 0],
                                                                &link_mark[tid, 0], &link_best[tid, 0])
        sp.cls_lanes, sp.cls_touched, sp.cls_mark, sp.route = (&cls_lanes[tid, 0], &cls_touched[tid, 0],
                                                               &cls_mark[tid, 0], &route[tid, 0])
        sp.src_mask, sp.src_list, sp.one_mask = &src_mask[tid, 0], &src_list[tid, 0], &one_mask[tid, 0]
        sp.link_total = &link_total[tid, 0]
        sp.g_cnt, sp.g_list, sp.g_touched, sp.n_g_touched = &g_cnt[tid, 0], &g_list[tid, 0], &g_touched[tid, 0], 0
        sp.in_count, sp.in_one = &in_count[tid, 0], &in_one[tid, 0]
        sp.core_step = &core_step[tid, 0]
        sp.terms = &terms[tid, 0]
    for blk in prange(n_blocks, nogil=True, schedule="dynamic", num_threads=n_threads):
        tid = threadid()
        sp = scr + tid
        sp.b0 = blk * block
        sp.nb = min(block, net.B - blk * block)
        sp.live = (<uint64_t>0xFFFFFFFFFFFFFFFF) >> (64 - sp.nb)
        run_block(&net, &inputs[0, 0, 0], sp, &o, &acc[tid, 0], &u[tid, 0], &v[tid, 0], &w[0], &tg[0])


def run(Tables tables, const int32_t[:, :, ::1] inputs, int64_t n_steps, dict out, int n_threads,
        int64_t block, bint wide=True):
    """Run a batch in blocks of ``block`` samples (1 .. MAX_BLOCK).

    ``tables`` holds the Program's kernel arrays (``Tables(neurocore.sim.kernel_tables(p))``);
    ``out`` holds preallocated output arrays (see ``neurocore.sim``), filled in place.
    ``wide=False`` keeps accumulators, u and v in int32: only when the caller has proven
    that every intermediate fits (see ``neurocore.sim.narrow_ok``)."""
    if not 1 <= block <= MAX_BLOCK:
        raise ValueError(f"block must be 1..{MAX_BLOCK} samples, got {block}")
    cdef Net* net = &tables.net
    word = np.int64 if wide else np.int32
    acc = np.zeros((n_threads, max(block * net.D * net.N, 1)), word)
    u = np.zeros((n_threads, max(block * net.N, 1)), word)
    v = np.zeros((n_threads, max(block * net.N, 1)), word)
    arrays = tables.arrays
    _run(tables, inputs, n_steps, out, n_threads, block, acc, u, v, arrays["weight"], arrays["target"])


def fixedpoint(str op, const int64_t[::1] x, int k, const int32_t[::1] d=None):
    """Apply one fixedpoint.pxd helper elementwise (for tests against the NumPy twin).

    op: "trunc_shift" (k = shift), "wrap" or "saturate" (k = bits), each in int64;
    "wrap32", "saturate32" in int32 words; "decay32" / "decay64" compute
    trunc_shift(x * d, k) for each (x, d) pair of ``x`` and ``d`` (0 <= d <= 2**k);
    "decay32" is the narrow runs' one float64 multiplication, exact for k <= 15."""
    cdef Py_ssize_t i, n = x.shape[0]
    out = np.empty(n, np.int64)
    cdef int64_t[::1] o = out
    cdef int which = {"trunc_shift": 0, "wrap": 1, "saturate": 2, "wrap32": 3, "saturate32": 4, "decay32": 5,
                      "decay64": 6}[op]
    cdef const int32_t[::1] dd = d if d is not None else np.zeros(n, np.int32)
    with nogil:
        for i in range(n):
            if which == 0:
                o[i] = nc_trunc_shift(x[i], k)
            elif which == 1:
                o[i] = nc_wrap64(x[i], k)
            elif which == 2:
                o[i] = nc_saturate64(x[i], k)
            elif which == 3:
                o[i] = nc_wrap32(<int32_t>x[i], k)
            elif which == 4:
                o[i] = nc_saturate32(<int32_t>x[i], k)
            elif which == 5:
                o[i] = nc_decay32(<int32_t>x[i], dd[i], k)
            else:
                o[i] = nc_decay64(x[i], dd[i], k)
    return out


def channel_range(const int32_t[:, :, ::1] x, int n_threads=1):
    """Per channel the smallest and the largest value of ``x`` (batch, steps, channels), one pass.

    Returns two int32 arrays of length ``channels`` (the input checks and the word-width
    bound read them; NumPy's axis reductions take a strided pass each)."""
    cdef Py_ssize_t B = x.shape[0], T = x.shape[1], C = x.shape[2], b, t, c
    cdef int nt = max(1, min(n_threads, B))
    lo_arr = np.full((nt, max(C, 1)), np.iinfo(np.int32).max, np.int32)
    hi_arr = np.full((nt, max(C, 1)), np.iinfo(np.int32).min, np.int32)
    cdef int32_t[:, ::1] lo = lo_arr, hi = hi_arr
    cdef int tid
    cdef const int32_t* row
    cdef int32_t* l
    cdef int32_t* h
    if C == 0 or B == 0 or T == 0:
        return lo_arr[0, :C], hi_arr[0, :C]
    for b in prange(B, nogil=True, schedule="static", num_threads=nt):
        tid = threadid()
        l = &lo[tid, 0]
        h = &hi[tid, 0]
        for t in range(T):
            row = &x[b, t, 0]
            for c in range(C):
                if row[c] < l[c]:
                    l[c] = row[c]
                if row[c] > h[c]:
                    h[c] = row[c]
    return lo_arr.min(axis=0)[:C], hi_arr.max(axis=0)[:C]

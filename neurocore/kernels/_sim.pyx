# cython: language_level=3
"""The simulation kernel: every core of a Program advanced in lockstep, integers only.

One call runs a whole batch; samples are independent and run in parallel
(OpenMP, GIL released). Per sample and step t:

1. external inputs of step t are delivered through their synapse rows
   (a row of delay d adds into the accumulation slot of step t + d, d >= 0);
2. every neuron takes its slot-t input ``a`` and updates u, v (see
   ``neuron_update``); spikes are recorded;
3. every spike is routed: one packet per destination core (XY routing on the
   tile mesh, links counted), then integrated through each destination row into
   the slot of step t + d (d >= 1).

The NumPy twin is ``neurocore.kernels.reference``; tests require identical results.
"""
from cython.parallel cimport prange, threadid
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint64_t
from libc.string cimport memcpy, memset

from neurocore.kernels.fixedpoint cimport (nc_decay32, nc_decay64, nc_saturate32, nc_saturate64, nc_trunc_shift,
                                          nc_update32, nc_update64, nc_wrap32, nc_wrap64, word_t)

import numpy as np

# Counter slots, in the order of COUNTER_NAMES.
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


cdef struct Net:
    # sizes
    int64_t N            # neurons
    int64_t C            # input channels (sources N .. N+C-1)
    int64_t T            # steps
    int64_t D            # accumulation slots (max delay + 1)
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
    const int32_t* ncore     # core slot of each neuron
    int64_t n_segs           # segments of neurons (populations) updated by one call each
    const int64_t* seg_start # n_segs + 1 boundaries
    const uint8_t* seg_uni   # bit 0: du, dv, vth, reset, refractory single-valued; bit 1: bias too
    int64_t n_runs           # runs of consecutive neurons on one core
    const int64_t* run_start # n_runs + 1 boundaries
    const int32_t* run_core  # core slot of each run
    # synapse rows (R)
    const int64_t* row_ptr   # R + 1, into syn arrays
    const int32_t* target    # neuron index of each synapse
    const int32_t* wscaled   # weight mantissa << (act_shift + weight_exp)
    const int32_t* row_delay
    const int32_t* row_core
    const int32_t* row_words # synapse-memory words read per delivery
    const int32_t* row_start # first target if the row has a dense window, else -1 (scatter)
    const int64_t* row_wptr  # offset of the row's dense window in wdense
    const int32_t* row_span  # window length (last target - first target + 1)
    const int32_t* wdense    # windows: weights at their target offsets, zeros in gaps
    # packets: per source (N + C) a list of packets, per packet a list of rows
    const int64_t* src_pk_ptr
    const int64_t* pk_row_ptr
    const int32_t* pk_rows
    const int32_t* pk_src_tile   # -1 for input packets (injected, no hops)
    const int32_t* pk_dst_tile
    const int32_t* pk_hops_ew
    const int32_t* pk_hops_ns
    const int32_t* pk_hops_chip
    const uint8_t* chan_graded   # C: declared graded (a value of 1 then counts as graded too)
    const int32_t* chan_core     # C: core slot an input channel is sent from, -1 = injected by the host
    const int32_t* pk_core       # core slot each packet is delivered to
    const uint8_t* row_unit      # synapse unit of each row: 0 dense, 1 sparse, 2 conv


cdef struct CoreStep:
    # per-core counters of one step of one sample, each (n_cores,)
    int32_t* syn         # synops
    int32_t* act         # active neuron updates
    int32_t* spk         # spikes of the core's neurons
    int32_t* pout        # packets sent by the core's sources (neurons, input channels placed there)
    int32_t* pin         # packets received (from neurons and inputs)
    int32_t* syn_sparse  # synops through rows of the sparse synapse unit
    int32_t* syn_conv    # synops through rows of the conv synapse unit


cdef inline void deliver(const Net* net, int64_t r, int64_t x, int64_t slot, word_t* acc,
                         int64_t* cnt, CoreStep* cs, bint graded) noexcept nogil:
    """Add one source value x (1 for a spike) through row r into the slot of step t + delay.

    ``slot`` is t mod D; t + delay lands in slot + delay, taken mod D by one subtraction
    since delay < D."""
    cdef int64_t lo = net.row_ptr[r], hi = net.row_ptr[r + 1], k, st, span
    cdef int64_t sd = slot + net.row_delay[r]
    if sd >= net.D:
        sd -= net.D
    cdef word_t* a = acc + sd * net.N
    cdef word_t* ac
    cdef const int32_t* w
    if x == 1:
        st = net.row_start[r]
        if st >= 0:  # a dense window: an index-free row add the compiler vectorises
            ac = a + st
            w = net.wdense + net.row_wptr[r]
            span = net.row_span[r]
            for k in range(span):
                ac[k] += w[k]
        else:
            for k in range(lo, hi):
                a[net.target[k]] += net.wscaled[k]
    else:
        for k in range(lo, hi):
            a[net.target[k]] += <word_t>(<int64_t>net.wscaled[k] * x)
    cnt[C_SYNOPS] += hi - lo
    if graded:
        cnt[C_SYNOPS_GRADED] += hi - lo
    else:
        cnt[C_SYNOPS_BINARY] += hi - lo
    cnt[C_WORDS] += net.row_words[r]
    cs.syn[net.row_core[r]] += <int32_t>(hi - lo)
    if net.row_unit[r] == 1:
        cs.syn_sparse[net.row_core[r]] += <int32_t>(hi - lo)
    elif net.row_unit[r] == 2:
        cs.syn_conv[net.row_core[r]] += <int32_t>(hi - lo)


cdef inline int64_t walk_links(const Net* net, int64_t src, int64_t dst, int32_t* link_step,
                               int32_t* touched, int64_t n_touched, int64_t* link_total) noexcept nogil:
    """Count one packet on every link of its XY route; returns the new number of touched links."""
    cdef int64_t x = src % net.mesh_x, y = src // net.mesh_x
    cdef int64_t x1 = dst % net.mesh_x, y1 = dst // net.mesh_x, l
    while x != x1 or y != y1:
        if x < x1:
            l = (y * net.mesh_x + x) * 4 + 0
            x += 1
        elif x > x1:
            l = (y * net.mesh_x + x) * 4 + 1
            x -= 1
        elif y < y1:
            l = (y * net.mesh_x + x) * 4 + 2
            y += 1
        else:
            l = (y * net.mesh_x + x) * 4 + 3
            y -= 1
        if link_step[l] == 0:
            touched[n_touched] = <int32_t>l
            n_touched += 1
        link_step[l] += 1
        link_total[l] += 1
    return n_touched


cdef inline int64_t route(const Net* net, int64_t p, int64_t* cnt, int32_t* link_step, int32_t* touched,
                          int64_t n_touched, int64_t* link_total) noexcept nogil:
    """Count packet p's intra-tile delivery or its hops and links; returns the new number of touched links."""
    if net.pk_src_tile[p] == net.pk_dst_tile[p]:
        cnt[C_INTRA_TILE] += 1
        return n_touched
    cnt[C_HOPS_EW] += net.pk_hops_ew[p]
    cnt[C_HOPS_NS] += net.pk_hops_ns[p]
    cnt[C_HOPS_CHIP] += net.pk_hops_chip[p]
    return walk_links(net, net.pk_src_tile[p], net.pk_dst_tile[p], link_step, touched, n_touched, link_total)


cdef inline int64_t update_neurons(const Net* net, word_t* acc, word_t* u, word_t* v, int32_t* refr,
                                   uint8_t* flag, int32_t* spk, int32_t* spike_counts, CoreStep* cs,
                                   int64_t* active, int64_t* ovf) noexcept nogil:
    """One step of every neuron; takes and clears this step's input slot. Returns the spike count.

    Per neuron (Lava's PyLifModelBitAcc, plus refractory hold and reset by subtraction):
    u <- limit_u(trunc(u * decay_u >> decay_bits) + a); unless refractory:
    v <- limit_v(trunc(v * decay_v >> decay_bits) + u + bias); spike if v > vth, then
    v <- 0 (or v - vth) and the refractory counter starts. Pass 1 (nc_update, C, vectorised)
    computes the state and a flag per neuron; pass 2 lists spikes and counts activity."""
    cdef int64_t N = net.N, n, r, k, nspk = 0, n_active = 0, i, s0, ns
    cdef int32_t cnt_run, spk_run  # at most N < 2**31
    cdef uint64_t w
    for i in range(net.n_segs):
        s0 = net.seg_start[i]
        ns = net.seg_start[i + 1] - s0
        if word_t is int32_t:
            nc_update32(ns, acc + s0, u + s0, v + s0, refr + s0, flag + s0, net.decay_u + s0, net.decay_v + s0,
                        net.vth32 + s0, net.bias32 + s0, net.reset + s0, net.refractory + s0, net.decay_bits,
                        net.u_bits, net.v_bits, net.u_wrap, net.v_wrap, net.seg_uni[i], ovf)
        else:
            nc_update64(ns, acc + s0, u + s0, v + s0, refr + s0, flag + s0, net.decay_u + s0, net.decay_v + s0,
                        net.vth + s0, net.bias + s0, net.reset + s0, net.refractory + s0, net.decay_bits,
                        net.u_bits, net.v_bits, net.u_wrap, net.v_wrap, net.seg_uni[i], ovf)
    # active updates per core: a vectorised byte sum over each run of same-core neurons
    for r in range(net.n_runs):
        cnt_run = 0
        spk_run = 0
        for n in range(net.run_start[r], net.run_start[r + 1]):
            cnt_run += flag[n] & 1
            spk_run += (flag[n] >> 1) & 1
        cs.act[net.run_core[r]] += cnt_run
        cs.spk[net.run_core[r]] += spk_run
        n_active += cnt_run
    # the spike list: skip 8 neurons at a time when none of them spiked
    n = 0
    while n + 8 <= N:
        memcpy(&w, flag + n, 8)
        if w & 0x0202020202020202ULL:
            for k in range(n, n + 8):
                if flag[k] & 2:
                    spk[nspk] = <int32_t>k
                    nspk += 1
                    spike_counts[k] += 1
        n += 8
    for k in range(n, N):
        if flag[k] & 2:
            spk[nspk] = <int32_t>k
            nspk += 1
            spike_counts[k] += 1
    active[0] += n_active
    return nspk


cdef void run_one(const Net* net, const int32_t* inp, word_t* acc, word_t* u, word_t* v,
                  int32_t* refr, uint8_t* flag, int32_t* spk, int32_t* link_step, int32_t* touched, int64_t* link_total,
                  int64_t* cnt, int32_t* spike_counts, const CoreStep* core0, int64_t boff,
                  int32_t* busiest, int64_t n_pu, const int32_t* pu_idx, int32_t* pu,
                  int64_t n_pv, const int32_t* pv_idx, int32_t* pv,
                  int64_t n_ps, const int32_t* ps_idx, uint8_t* ps) noexcept nogil:
    """Simulate one sample for net.T steps. All pointers address this sample's rows."""
    cdef int64_t N = net.N, C = net.C, t, n, c, i, p, q, s, slot, x, nspk, n_touched, best
    cdef int64_t active = 0, spikes = 0, K = net.n_cores
    cdef CoreStep cs
    cdef int64_t ovf[2]
    ovf[0] = 0
    ovf[1] = 0
    for n in range(N):
        u[n] = <word_t>net.u0[n]
        v[n] = <word_t>net.v0[n]
        refr[n] = 0
    memset(acc, 0, net.D * N * sizeof(word_t))
    memset(link_step, 0, net.n_links * sizeof(int32_t))
    slot = net.D - 1
    for t in range(net.T):
        slot += 1
        if slot == net.D:
            slot = 0
        cs.syn = core0.syn + boff + t * K
        cs.act = core0.act + boff + t * K
        cs.spk = core0.spk + boff + t * K
        cs.pout = core0.pout + boff + t * K
        cs.pin = core0.pin + boff + t * K
        cs.syn_sparse = core0.syn_sparse + boff + t * K
        cs.syn_conv = core0.syn_conv + boff + t * K
        n_touched = 0
        # 1. external inputs of step t (an input placed on a core routes like a spike: hops, links)
        for c in range(C):
            x = inp[t * C + c]
            if x == 0:
                continue
            s = N + c
            for p in range(net.src_pk_ptr[s], net.src_pk_ptr[s + 1]):
                cnt[C_INPUT_PACKETS] += 1
                cs.pin[net.pk_core[p]] += 1
                if net.chan_core[c] >= 0:
                    cs.pout[net.chan_core[c]] += 1
                    n_touched = route(net, p, cnt, link_step, touched, n_touched, link_total)
                for q in range(net.pk_row_ptr[p], net.pk_row_ptr[p + 1]):
                    deliver(net, net.pk_rows[q], x, slot, acc, cnt, &cs,
                            (net.chan_graded[c] != 0) | (x != 1))
        # 2. neuron updates
        nspk = update_neurons(net, acc + slot * N, u, v, refr, flag, spk, spike_counts,
                              &cs, &active, ovf)
        spikes += nspk
        for i in range(n_pu):
            pu[t * n_pu + i] = <int32_t>u[pu_idx[i]]
        for i in range(n_pv):
            pv[t * n_pv + i] = <int32_t>v[pv_idx[i]]
        for i in range(nspk):
            for q in range(n_ps):  # probes of spikes are rare; a linear scan keeps it simple
                if ps_idx[q] == spk[i]:
                    ps[t * n_ps + q] = 1
        # 3. route and integrate this step's spikes
        for i in range(nspk):
            s = spk[i]
            for p in range(net.src_pk_ptr[s], net.src_pk_ptr[s + 1]):
                cnt[C_PACKETS] += 1
                cs.pout[net.ncore[s]] += 1
                cs.pin[net.pk_core[p]] += 1
                n_touched = route(net, p, cnt, link_step, touched, n_touched, link_total)
                for q in range(net.pk_row_ptr[p], net.pk_row_ptr[p + 1]):
                    deliver(net, net.pk_rows[q], 1, slot, acc, cnt, &cs, False)
        best = 0
        for i in range(n_touched):
            if link_step[touched[i]] > best:
                best = link_step[touched[i]]
            link_step[touched[i]] = 0
        busiest[t] = <int32_t>best
    cnt[C_TIMESTEPS] = net.T
    cnt[C_ACTIVE] = active
    cnt[C_IDLE] = net.T * N - active
    cnt[C_SPIKES] = spikes
    cnt[C_OVF_U] = ovf[0]
    cnt[C_OVF_V] = ovf[1]


def run(dict tb, const int32_t[:, :, ::1] inputs, int64_t n_steps, dict out, int n_threads, bint wide=True):
    """Run a batch. ``tb`` holds the Program's kernel arrays (see ``Program.kernel_tables``);
    ``out`` holds preallocated output arrays (see ``neurocore.sim``), filled in place.
    ``wide=False`` keeps accumulators, u and v in int32: only when the caller has proven
    that every intermediate fits (see ``neurocore.sim.narrow_ok``)."""
    cdef Net net
    cdef int64_t B = inputs.shape[0], b, N = tb["N"], C = tb["C"]
    net.N = N
    net.C = C
    net.T = n_steps
    net.D = tb["D"]
    net.n_cores = tb["n_cores"]
    net.n_links = tb["n_links"]
    net.mesh_x = tb["mesh_x"]
    net.decay_bits = tb["decay_bits"]
    net.u_bits = tb["u_bits"]
    net.v_bits = tb["v_bits"]
    net.u_wrap = tb["u_wrap"]
    net.v_wrap = tb["v_wrap"]
    # typed views keep the arrays' buffers pinned while we hold raw pointers
    cdef const int32_t[::1] decay_u = tb["decay_u"], decay_v = tb["decay_v"], refractory = tb["refractory"]
    cdef const int64_t[::1] vth = tb["vth"], bias = tb["bias"], u0 = tb["u0"], v0 = tb["v0"]
    cdef const int32_t[::1] vth32 = tb["vth32"], bias32 = tb["bias32"]
    cdef const uint8_t[::1] chan_graded = tb["chan_graded"]
    cdef const int32_t[::1] reset = tb["reset"]
    cdef const int32_t[::1] ncore = tb["ncore"], target = tb["target"], wscaled = tb["wscaled"]
    cdef const int64_t[::1] run_start = tb["run_start"], seg_start = tb["seg_start"]
    cdef const uint8_t[::1] seg_uni = tb["seg_uni"]
    cdef const int32_t[::1] run_core = tb["run_core"]
    cdef const int32_t[::1] row_delay = tb["row_delay"], row_core = tb["row_core"], row_words = tb["row_words"]
    cdef const int32_t[::1] row_start = tb["row_start"], pk_rows = tb["pk_rows"]
    cdef const int32_t[::1] row_span = tb["row_span"], wdense = tb["wdense"]
    cdef const int64_t[::1] row_wptr = tb["row_wptr"]
    cdef const int64_t[::1] row_ptr = tb["row_ptr"], src_pk_ptr = tb["src_pk_ptr"], pk_row_ptr = tb["pk_row_ptr"]
    cdef const int32_t[::1] pk_src_tile = tb["pk_src_tile"], pk_dst_tile = tb["pk_dst_tile"]
    cdef const int32_t[::1] pk_hops_ew = tb["pk_hops_ew"], pk_hops_ns = tb["pk_hops_ns"]
    cdef const int32_t[::1] pk_hops_chip = tb["pk_hops_chip"]
    cdef const int32_t[::1] chan_core = tb["chan_core"], pk_core = tb["pk_core"]
    cdef const uint8_t[::1] row_unit = tb["row_unit"]
    net.decay_u = &decay_u[0]
    net.decay_v = &decay_v[0]
    net.vth = &vth[0]
    net.bias = &bias[0]
    net.vth32 = &vth32[0]
    net.bias32 = &bias32[0]
    net.reset = &reset[0]
    net.refractory = &refractory[0]
    net.u0 = &u0[0]
    net.v0 = &v0[0]
    net.ncore = &ncore[0]
    net.n_runs = tb["n_runs"]
    net.n_segs = tb["n_segs"]
    net.seg_start = &seg_start[0]
    net.seg_uni = &seg_uni[0]
    net.run_start = &run_start[0]
    net.run_core = &run_core[0]
    net.row_ptr = &row_ptr[0]
    net.target = &target[0]
    net.wscaled = &wscaled[0]
    net.row_delay = &row_delay[0]
    net.row_core = &row_core[0]
    net.row_words = &row_words[0]
    net.row_start = &row_start[0]
    net.row_span = &row_span[0]
    net.row_wptr = &row_wptr[0]
    net.wdense = &wdense[0]
    net.src_pk_ptr = &src_pk_ptr[0]
    net.pk_row_ptr = &pk_row_ptr[0]
    net.pk_rows = &pk_rows[0]
    net.pk_src_tile = &pk_src_tile[0]
    net.pk_dst_tile = &pk_dst_tile[0]
    net.pk_hops_ew = &pk_hops_ew[0]
    net.pk_hops_ns = &pk_hops_ns[0]
    net.pk_hops_chip = &pk_hops_chip[0]
    net.chan_graded = &chan_graded[0]
    net.chan_core = &chan_core[0]
    net.pk_core = &pk_core[0]
    net.row_unit = &row_unit[0]

    # per-thread scratch
    cdef Py_ssize_t nw = n_threads if wide else 1, nn = 1 if wide else n_threads
    cdef int64_t[:, ::1] acc64 = np.zeros((nw, max(net.D * N, 1)), np.int64)
    cdef int32_t[:, ::1] acc32 = np.zeros((nn, max(net.D * N, 1)), np.int32)
    cdef int64_t[:, ::1] u64 = np.zeros((nw, max(N, 1)), np.int64)
    cdef int64_t[:, ::1] v64 = np.zeros((nw, max(N, 1)), np.int64)
    cdef int32_t[:, ::1] u32 = np.zeros((nn, max(N, 1)), np.int32)
    cdef int32_t[:, ::1] v32 = np.zeros((nn, max(N, 1)), np.int32)
    cdef uint8_t[:, ::1] flag = np.zeros((n_threads, max(N, 1)), np.uint8)
    cdef int32_t[:, ::1] refr = np.zeros((n_threads, max(N, 1)), np.int32)
    cdef int32_t[:, ::1] spk = np.zeros((n_threads, max(N, 1)), np.int32)
    cdef int32_t[:, ::1] link_step = np.zeros((n_threads, max(net.n_links, 1)), np.int32)
    cdef int32_t[:, ::1] touched = np.zeros((n_threads, max(net.n_links, 1)), np.int32)
    cdef int64_t[:, ::1] link_total = out["link_total"]
    # outputs
    cdef int64_t[:, ::1] cnt = out["counters"]
    cdef int32_t[:, ::1] spike_counts = out["spike_counts"]
    cdef int32_t[:, :, ::1] core_syn = out["core_synops"], core_act = out["core_active"]
    cdef int32_t[:, :, ::1] core_spk = out["core_spikes"], core_pout = out["core_packets_out"]
    cdef int32_t[:, :, ::1] core_pin = out["core_packets_in"], core_sp = out["core_synops_sparse"]
    cdef int32_t[:, :, ::1] core_cv = out["core_synops_conv"]
    cdef CoreStep core0
    cdef int32_t[:, ::1] busiest = out["busiest_link"]
    cdef int64_t[:, ::1] u_out = out["u"], v_out = out["v"]
    cdef const int32_t[::1] pu_idx = out["probe_u_idx"], pv_idx = out["probe_v_idx"], ps_idx = out["probe_s_idx"]
    cdef int32_t[:, :, ::1] pu = out["probe_u"], pv = out["probe_v"]
    cdef uint8_t[:, :, ::1] ps = out["probe_s"]
    cdef int64_t n_pu = out["n_probe_u"], n_pv = out["n_probe_v"], n_ps = out["n_probe_s"]
    cdef int tid, n
    # per-core arrays of sample 0; run_one offsets them by its sample (read only, shared by threads)
    core0.syn = &core_syn[0, 0, 0]
    core0.act = &core_act[0, 0, 0]
    core0.spk = &core_spk[0, 0, 0]
    core0.pout = &core_pout[0, 0, 0]
    core0.pin = &core_pin[0, 0, 0]
    core0.syn_sparse = &core_sp[0, 0, 0]
    core0.syn_conv = &core_cv[0, 0, 0]
    for b in prange(B, nogil=True, schedule="dynamic", num_threads=n_threads):
        tid = threadid()
        if wide:
            run_one(&net, &inputs[b, 0, 0], &acc64[tid, 0], &u64[tid, 0], &v64[tid, 0], &refr[tid, 0],
                    &flag[tid, 0], &spk[tid, 0], &link_step[tid, 0], &touched[tid, 0], &link_total[tid, 0],
                    &cnt[b, 0], &spike_counts[b, 0], &core0, b * n_steps * net.n_cores, &busiest[b, 0],
                    n_pu, &pu_idx[0], &pu[b, 0, 0], n_pv, &pv_idx[0], &pv[b, 0, 0], n_ps, &ps_idx[0], &ps[b, 0, 0])
            for n in range(N):
                u_out[b, n] = u64[tid, n]
                v_out[b, n] = v64[tid, n]
        else:
            run_one(&net, &inputs[b, 0, 0], &acc32[tid, 0], &u32[tid, 0], &v32[tid, 0], &refr[tid, 0],
                    &flag[tid, 0], &spk[tid, 0], &link_step[tid, 0], &touched[tid, 0], &link_total[tid, 0],
                    &cnt[b, 0], &spike_counts[b, 0], &core0, b * n_steps * net.n_cores, &busiest[b, 0],
                    n_pu, &pu_idx[0], &pu[b, 0, 0], n_pv, &pv_idx[0], &pv[b, 0, 0], n_ps, &ps_idx[0], &ps[b, 0, 0])
            for n in range(N):
                u_out[b, n] = u32[tid, n]
                v_out[b, n] = v32[tid, n]

def fixedpoint(str op, const int64_t[::1] x, int k, const int32_t[::1] d=None):
    """Apply one fixedpoint.pxd helper elementwise (for tests against the NumPy twin).

    op: "trunc_shift" (k = shift), "wrap" or "saturate" (k = bits), each in int64;
    "wrap32", "saturate32" in int32 words; "decay32" / "decay64" compute
    trunc_shift(x * d, k) for each (x, d) pair of ``x`` and ``d``."""
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

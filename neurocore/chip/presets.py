"""Published chips as ``ChipSpec`` presets. Each cites its source."""
from __future__ import annotations

from neurocore.chip.spec import ChipSpec

__all__ = ["loihi", "truenorth", "PRESETS", "DEFAULT_PROFILE", "get"]


def loihi() -> ChipSpec:
    """Intel Loihi (first generation).

    128 neuromorphic cores as 32 tiles of 4 cores on an 8 x 4 tile mesh; per core
    1024 neurons (compartments), 4096 input axons, 4096 output axons and 128 KiB
    (16,384 x 64-bit words) of synapse memory; 8-bit signed weight mantissa with a
    per-table exponent; 24-bit u (wraps) and v (saturates); 12-bit decays;
    17-bit threshold mantissa applied as ``vth << 6``; 13-bit bias mantissa with a
    3-bit exponent; synaptic delays up to 62 steps; refractory period up to 63.

    Sources: M. Davies et al., "Loihi: A Neuromorphic Manycore Processor with
    On-Chip Learning", IEEE Micro 38(1):82-99, 2018 (core counts, limits, delays);
    the per-core limits as coded in nengo-loihi ``nengo_loihi/block.py``
    (``MAX_COMPARTMENTS``, ``MAX_IN_AXONS``, ``MAX_OUT_AXONS``, ``MAX_SYNAPSE_BITS``);
    the fixed-point update as coded in Lava ``PyLifModelBitAcc``; the 8 x 4 tile
    layout from SANA-FE's ``arch/loihi.yaml``. Synapse memory is accounted as in
    nengo-loihi: each entry costs weight bits + index bits, each row a 10-bit
    header, rounded up to 64-bit words.
    """
    return ChipSpec(name="loihi")


def truenorth() -> ChipSpec:
    """IBM TrueNorth.

    4096 cores on a 64 x 64 mesh (one core per router); each core a 256-axon x
    256-neuron binary crossbar (64 K synapses); a synapse's weight is one of four
    9-bit signed values per neuron chosen by the axon's type; 20-bit signed
    membrane; linear leak (no multiplicative decay); each neuron targets one axon;
    axonal delays 1-15 ticks.

    Sources: P. A. Merolla et al., "A million spiking-neuron integrated circuit
    with a scalable communication network and interface", Science 345:668-673,
    2014 (and its supplementary material); F. Akopyan et al., IEEE TCAD
    34(10):1537-1557, 2015.

    Modelled here as: ``weight_bits=9``, u and v 20-bit, no decay
    (``supports_decay=False``: use ``IF`` neurons, whose bias acts as the leak),
    ``act_shift = vth_shift = 0``, spike inputs only (``graded_bits=0``), synapse memory
    one bit per crossbar point
    (256 x 256 bits) with the four 9-bit weights per neuron in a row header.
    Enforced (``axon_types=4``, ``single_target=True``): a neuron takes at most four
    distinct weights on its core, served by the axon types the compiler assigns
    (an axon is duplicated onto one axon per type its targets need), and a neuron
    reaches one axon on one core, so ``compile`` inserts splitter neurons for
    larger fan-out (one extra step of latency where a delay cannot absorb it).
    """
    return ChipSpec(
        name="truenorth", tiles_x=64, tiles_y=64, cores_per_tile=1,
        neurons_per_core=256, axons_in_per_core=256, axons_out_per_core=256,
        syn_mem_bits_per_core=256 * 256 + 256 * 4 * 9 + 256 * 9, syn_word_bits=256, syn_row_header_bits=0,
        weight_bits=9, weight_exp_min=0, weight_exp_max=0,
        u_bits=20, v_bits=20, decay_bits=12, vth_bits=18, vth_shift=0, act_shift=0,
        bias_mant_bits=9, bias_exp_bits=0, refractory_bits=4, graded_bits=0, max_delay=15,
        supports_decay=False, u_overflow="saturate", v_overflow="saturate", learning_engine=False,
        axon_types=4, single_target=True,
    )


PRESETS = {"loihi": loihi, "truenorth": truenorth}

#: Chip preset -> the energy profile (``neurocore/energy/profiles/NAME.json``) that prices it by default.
DEFAULT_PROFILE = {"loihi": "loihi", "truenorth": "truenorth"}


def get(name: str) -> ChipSpec:
    """A preset by name; raises ``KeyError`` listing the known ones."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise KeyError(f"unknown chip preset {name!r}; known: {sorted(PRESETS)}") from None

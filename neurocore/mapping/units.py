"""Which synapse unit a projection's deliveries are counted under.

SANA-FE's Loihi model (``arch/loihi.yaml``) has three synapse units with their own
energy and latency per synapse processed: dense, sparse and conv. neurocore follows
the storage: shared conv kernels use the conv unit; dense layers and expanded
convolutions (one weight entry per synapse) the dense unit; free-form sparse
projections (and pooling) the sparse unit. A projection may say otherwise with
``meta={"synapse_unit": "dense" | "sparse" | "conv"}``. The kernel counts each unit's
synops per core per step (``RunResult.core_steps``); a profile prices them.
"""
from __future__ import annotations

from neurocore.errors import MappingError

__all__ = ["SYNAPSE_UNITS", "default_synapse_unit", "synapse_unit_of"]

#: Synapse units, in the order of the kernel's unit codes (0, 1, 2).
SYNAPSE_UNITS = ("dense", "sparse", "conv")


def default_synapse_unit(stats: dict) -> str:
    """The unit a projection uses by default, from its layer statistics (``kind``, ``storage``)."""
    if stats.get("kind") == "conv2d":
        return "conv" if stats.get("storage") == "shared" else "dense"
    return "dense" if stats.get("kind") == "dense" else "sparse"


def synapse_unit_of(proj, stats: dict) -> str:
    """``proj.meta["synapse_unit"]`` if given (checked), else :func:`default_synapse_unit`.

    Raises
    ------
    MappingError
        The override names no known unit.
    """
    unit = proj.meta.get("synapse_unit")
    if unit is None:
        return default_synapse_unit(stats)
    if unit not in SYNAPSE_UNITS:
        raise MappingError(f"projection '{proj.name}': meta['synapse_unit'] = {unit!r}; choose one of "
                           f"{SYNAPSE_UNITS}")
    return unit

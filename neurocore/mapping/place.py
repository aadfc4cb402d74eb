"""Place pieces on the chip's cores."""
from __future__ import annotations

import numpy as np

from neurocore.chip.spec import ChipSpec
from neurocore.errors import MappingError

__all__ = ["place_in_order"]


def place_in_order(n_pieces: int, chip: ChipSpec, names: list[str]) -> np.ndarray:
    """Piece i on physical core i (cores numbered tile by tile, row-major over the mesh)."""
    if n_pieces > chip.n_cores:
        raise MappingError(f"the network needs {n_pieces:,} cores ({', '.join(names)}); chip '{chip.name}' has "
                           f"{chip.n_cores:,}: use a board with more chips (chips_x, chips_y), lower "
                           f"weight_bits, or shrink the network")
    return np.arange(n_pieces, dtype=np.int32)

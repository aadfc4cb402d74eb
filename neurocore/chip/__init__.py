"""Hardware descriptions: :class:`ChipSpec` and published presets."""
from neurocore.chip.presets import PRESETS, get, loihi, truenorth
from neurocore.chip.spec import ChipSpec, check_range, signed_range, unsigned_range

__all__ = ["ChipSpec", "loihi", "truenorth", "PRESETS", "get", "check_range", "signed_range", "unsigned_range"]

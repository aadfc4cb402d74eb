"""Hardware descriptions: :class:`ChipSpec` and published presets."""
from neurocore.chip.presets import DEFAULT_PROFILE, PRESETS, get, loihi, truenorth
from neurocore.chip.spec import ChipSpec, check_range, signed_range, unsigned_range

__all__ = ["ChipSpec", "loihi", "truenorth", "PRESETS", "DEFAULT_PROFILE", "get", "check_range", "signed_range", "unsigned_range"]

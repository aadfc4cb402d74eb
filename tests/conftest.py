import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import neurocore as nc

settings.register_profile("default", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def tiny_chip():
    """A chip with 8-neuron cores on a 3 x 2 mesh of 2-core tiles: forces many pieces and real routes."""
    return nc.chip.ChipSpec(name="tiny", tiles_x=3, tiles_y=2, cores_per_tile=2, neurons_per_core=8,
                            axons_in_per_core=64, axons_out_per_core=64, syn_mem_bits_per_core=64 * 64 * 64)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)

"""A tiny MLP on scikit-learn's digits and a few-point space, shared by the DSE tests."""
import dataclasses

import pytest

import neurocore as nc

pytest.importorskip("sklearn")


@pytest.fixture(scope="session")
def digits_mlp():
    """A 64-16-10 ReLU MLP and (X_cal, X_test, y_test): 100 calibration and 90 test samples."""
    from neurocore.demo import digits_split, train_digits_mlp

    Xtr, Xte, ytr, yte = digits_split()
    return train_digits_mlp(Xtr, ytr, hidden=(16,)), (Xtr[:100], Xte[:90], yte[:90])


@pytest.fixture(scope="session")
def other_mlp():
    """Another model: same shape, other weights."""
    from neurocore.demo import digits_split, train_digits_mlp

    Xtr, Xte, ytr, yte = digits_split()
    return train_digits_mlp(Xtr, ytr, hidden=(16,), seed=1)


@pytest.fixture
def small_space():
    """8 points: weight bits x encoding x timesteps (direct and the deterministic rate code)."""
    return nc.dse.Space(chip=nc.chip.loihi(), chip_fields={"weight_bits": [3, 8]},
                        convert={"encoding": ["direct", "rate"]}, n_steps=[4, 8])


@pytest.fixture
def cramped_chip():
    """One core of 8 neurons: a 16-neuron hidden layer cannot fit (MappingError)."""
    return dataclasses.replace(nc.chip.loihi(), tiles_x=1, tiles_y=1, cores_per_tile=1)

"""Dense row windows (the kernel's index-free fast path) hold exactly each row's weights."""
import numpy as np
from hypothesis import given, strategies as st

from neurocore.sim import WINDOW_MAX_FILL, row_windows


@given(st.lists(st.lists(st.integers(0, 60), max_size=20, unique=True), min_size=1, max_size=12),
       st.integers(0, 2**32 - 1))
def test_windows_reproduce_rows(rows, seed):
    rng = np.random.default_rng(seed)
    targets = [np.sort(np.asarray(r, np.int32)) for r in rows]
    row_ptr = np.concatenate([[0], np.cumsum([len(t) for t in targets])]).astype(np.int64)
    target = np.concatenate(targets).astype(np.int32) if row_ptr[-1] else np.zeros(0, np.int32)
    w = rng.integers(-1000, 1000, target.shape[0]).astype(np.int32)
    w[w == 0] = 1
    tb = row_windows(row_ptr, target, w)
    for r, t in enumerate(targets):
        st_ = tb["row_start"][r]
        if len(t) == 0 or st_ < 0:
            assert st_ == -1 or len(t) > 0
            if len(t):
                assert t[-1] - t[0] + 1 > WINDOW_MAX_FILL * len(t)  # only sparse-spread rows fall back to scatter
            continue
        window = tb["wdense"][tb["row_wptr"][r]: tb["row_wptr"][r] + tb["row_span"][r]]
        dense = np.zeros(tb["row_span"][r], np.int32)
        dense[t - t[0]] = w[row_ptr[r]: row_ptr[r + 1]]
        np.testing.assert_array_equal(window, dense)
        assert st_ == t[0]


def test_narrow_tables_refuse_values_beyond_their_storage():
    """The kernel stores row pointers, packet sizes and per-source totals in int32, delays in int16:
    a value beyond that is a SimulationError naming the table, never wrapped."""
    import numpy as np
    import pytest

    from neurocore.errors import SimulationError
    from neurocore.sim import _narrow

    assert _narrow("row_delay", np.array([0, 32767]), np.int16).dtype == np.int16
    with pytest.raises(SimulationError, match=r"'row_delay' holds values in \[0, 40000\], beyond its int16"):
        _narrow("row_delay", np.array([0, 40000]), np.int16)
    with pytest.raises(SimulationError, match="'pk_nnz'.*int32"):
        _narrow("pk_nnz", np.array([2**31]), np.int32)

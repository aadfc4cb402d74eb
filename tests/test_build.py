"""A missing kernel build gives an error that says how to fix it."""
import sys

import pytest

from neurocore.errors import BuildError
from neurocore.sim import load_kernel


def test_missing_kernel_raises_build_error(monkeypatch):
    import neurocore.kernels

    load_kernel()  # make sure it was imported once, so the test covers a cached module too
    monkeypatch.setitem(sys.modules, "neurocore.kernels._sim", None)  # makes the import fail
    monkeypatch.delattr(neurocore.kernels, "_sim", raising=False)
    with pytest.raises(BuildError, match=r"pip install \."):
        load_kernel()


def test_kernel_is_built():
    assert hasattr(load_kernel(), "run")

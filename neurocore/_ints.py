"""Integer conversion without wrap-around: one place where user numbers become int64.

NumPy's ``astype(np.int64)`` wraps a uint64 above 2**63 to a negative number and turns a
float beyond the int64 range (1e20) into -2**63 with only a ``RuntimeWarning``; an error
raised later would then quote a number the user never wrote. :func:`to_int64` checks the
range *before* casting and reports the value as given.
"""
from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import NDArray

from neurocore.errors import BitWidthError, GraphError

__all__ = ["INT64_MIN", "INT64_MAX", "to_int64"]

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def _numeric(arr: np.ndarray, what: str) -> np.ndarray:
    """An object array of Python numbers as int (object) or float64; anything else refused."""
    flat = arr.ravel()
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in flat):
        bad = next(v for v in flat if not isinstance(v, numbers.Real) or isinstance(v, bool))
        raise GraphError(f"{what} must be numbers, got {type(bad).__name__} {bad!r}")
    if all(isinstance(v, numbers.Integral) for v in flat):
        return arr  # Python ints of any size: range-checked exactly below
    return arr.astype(np.float64)


def _first(mask: np.ndarray, index_name) -> tuple[int, str]:
    k = int(np.flatnonzero(mask.ravel())[0])
    return k, (index_name(k) if index_name is not None else "")


def to_int64(values, what: str, index_name=None, hint: str = "scale the values down") -> NDArray[np.int64]:
    """``values`` (any integer-valued numbers) as an int64 array, or an error quoting the value as given.

    Parameters
    ----------
    values : array-like
        Integers of any dtype (uint64 included), integer-valued floats, or Python ints.
    what : str
        Names the values in messages ("CubaLIF.vth", "projection 'a->b': weight").
    index_name : callable, optional
        ``index_name(k)`` names the k-th flat element in messages (e.g. " [3, 4]").
    hint : str
        What to do, for the out-of-range message.

    Raises
    ------
    GraphError
        Not numbers, NaN or inf, or fractional values.
    BitWidthError
        A value outside [-2**63, 2**63 - 1], quoted as given (no chip has a wider field).
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        arr = _numeric(arr, what)
    kind = arr.dtype.kind
    if kind == "b" or kind not in "iufO":
        raise GraphError(f"{what} must be integers (fixed-point units), got dtype {arr.dtype}")
    if kind == "i":
        return arr.astype(np.int64, copy=False)
    if kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            k, at = _first(bad, index_name)
            raise GraphError(f"{what}{at} is {arr.ravel()[k]}; values must be finite integers (fixed-point units)")
        frac = arr != np.round(arr)
        if frac.any():
            k, at = _first(frac, index_name)
            raise GraphError(f"{what}{at} must be integer-valued (fixed-point units), got {arr.ravel()[k]!r}")
        out = (arr < -2.0**63) | (arr >= 2.0**63)  # 2.0**63 itself is past INT64_MAX
    elif kind == "u":
        out = arr > np.uint64(INT64_MAX)
    else:  # Python ints
        out = np.array([v < INT64_MIN or v > INT64_MAX for v in arr.ravel()], bool).reshape(arr.shape)
    if out.any():
        k, at = _first(out, index_name)
        given = arr.ravel()[k]
        given = given.item() if isinstance(given, np.generic) else given
        raise BitWidthError(f"{what}{at} = {given!r} is outside the 64-bit signed range [-2**63, 2**63 - 1] in "
                            f"which neurocore holds integers ({int(out.sum())} value(s)); no chip field is that "
                            f"wide: {hint}")
    return arr.astype(np.int64)

"""What a driver checks before it uses the evolved function's result: numbers, all finite, the right shape.

Part of the problem-file API (``funsearch.finite_numbers``); it runs in the sandbox child, inside the driver,
so it imports numpy only when called. A result that fails raises ``funsearch.BadOutput``: the candidate is
judged ``bad_output`` with one line, instead of NaN or strings being ranked by ``np.argmax`` or ``np.argsort``
as if they were priorities.
"""
from __future__ import annotations

from numbers import Real

from funsearch.problem.markers import BadOutput


def finite_numbers(value, shape: tuple[int, ...] | None = None, what: str = "the evolved function"):
    """`value` as a numpy array of real numbers (bool, int or float), checked; else BadOutput (one line).

    Args:
      value: what the evolved function returned (a number, a list, an array...).
      shape: the shape it must have (() for one number, (k,) for one value per bin...); None: any.
      what: how the message names it, e.g. "priority".

    Returns:
      The array (integers stay integers; Python numbers too large for int64 become floats).
    """
    import numpy as np

    try:
        array = np.asarray(value)
        if array.dtype.kind == "O":  # Python ints beyond int64, Decimals, None...: numbers only, as floats
            if not all(isinstance(x, Real) and not isinstance(x, (str, bytes)) for x in array.flat):
                raise TypeError("not numbers")
            array = array.astype(np.float64)
    except (TypeError, ValueError, OverflowError):  # ragged lists, objects, 10**400
        raise BadOutput(f"{what} returned {_kind(value)}, not numbers") from None
    if array.dtype.kind not in "biuf":
        raise BadOutput(f"{what} returned values of dtype {array.dtype}, not numbers")
    if shape is not None and array.shape != tuple(shape):
        raise BadOutput(f"{what} returned shape {array.shape}, expected {tuple(shape)}")
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            bad = int(array.size - np.count_nonzero(finite))
            raise BadOutput(f"{what} returned {bad} non-finite value(s) (NaN or infinity) of {array.size}")
    return array


def _kind(value) -> str:
    name = type(value).__name__
    return f"a {name}" if len(name) < 40 else "an object"

"""Checks of the constructor arguments that layers and cells share: sizes and dtypes.

Without them `Linear(2.5, 3)` failed deep inside NumPy ("'float' object cannot be interpreted as
an integer") and `LSTM(3, 4, dtype='int32')` reached the tensor constructor before anything
named the layer.
"""

import numpy as np

from ..errors import DTypeError


def check_sizes(owner, **sizes):
    """Raise a ValueError naming `owner` and the argument for any size that is not a positive
    integer (bools, floats such as 2.5 and strings such as '3' included)."""
    for label, value in sizes.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
            raise ValueError(
                f"{owner}: {label} must be a positive integer, got {type(value).__name__} {value!r}"
            )


def float_dtype(owner, dtype):
    """The parameters' dtype: float32 when `dtype` is None, else `dtype` if it is a floating-point
    type; anything else raises a DTypeError naming `owner` (gradients need real numbers)."""
    if dtype is None:
        return np.dtype(np.float32)
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind != "f":
        given = dtype.__name__ if isinstance(dtype, type) else repr(dtype)
        raise DTypeError(f"{owner}: dtype must be a floating-point type such as float32 or float64, got {given}")
    return resolved

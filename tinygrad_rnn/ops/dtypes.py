"""Which dtypes an op takes.

Ops whose results are real numbers (tanh, exp, log, sqrt, division, means, ...) refuse bool and
integer tensors rather than pick a result dtype: NumPy would give float16 for bool.tanh() and
float64 for int.tanh(), PyTorch float32 for both, and neither can require grad anyway. Each such
op checks `x.dtype.kind != "f"` itself, inline: the one comparison is what the check costs an op
on the hot path.
"""

from ..errors import DTypeError


def not_float(op, x):
    """The error a float-only op raises for a bool or integer array `x`."""
    return DTypeError(
        f"{op}: needs a floating-point tensor, got dtype {x.dtype} with shape {tuple(x.shape)}; "
        f"convert it first with .float() or .double()"
    )

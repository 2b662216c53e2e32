"""Matrix product: y = a @ b, with NumPy's rules for 1-D and batched (N-D) operands."""

import numpy as np

from ..autograd import Function
from ..deferred import weight_gradient
from ..errors import ShapeError
from .broadcast import unbroadcast


# Whether MatMul computes h @ W^T as (W @ h^T)^T (see its forward); examples/benchmark_rnn.py
# --without layout switches it off to measure what it gives.
TRANSPOSED_WEIGHT_FIRST = True


class MatMul(Function):
    """y = a @ b;  dL/da = dL/dy @ b^T,  dL/db = a^T @ dL/dy (summed over batch axes; for 2-D
    operands handed on unmultiplied, see deferred.py)."""

    name = "matmul"
    same_dtype = True

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: operands must have at least 1 axis, got shapes {a.shape} and {b.shape}")
        inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if a.shape[-1] != inner_b:
            raise ShapeError(
                f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned: "
                f"{a.shape[-1]} (last axis of the first) != {inner_b} "
                f"({'only' if b.ndim == 1 else 'second-to-last'} axis of the second)"
            )
        self.saved = a, b
        if TRANSPOSED_WEIGHT_FIRST and type(b) is np.ndarray and b.ndim == 2 and a.ndim == 2 and a.shape[0] < b.shape[1] and _is_transposed(b):
            # h @ W^T, where W^T is a view of the weight W (every recurrent step): OpenBLAS runs
            # the same product 1.1-1.8x faster as (W @ h^T)^T, with the long side first
            # (docs/performance.md). The values agree to float round-off.
            return (b.T @ a.T).T
        return a @ b

    def backward(self, grad):
        a, b = self.saved
        if a.ndim == 2 and b.ndim == 2:  # the common case (every recurrent step)
            needs = self.needs_input_grad
            # dL/db = a^T @ dL/dy, handed on as its two factors: a weight used at every time step
            # gets all its products summed in one matmul (deferred.py).
            return (grad @ b.T if needs[0] else None), (weight_gradient(a, grad) if needs[1] else None)
        # Treat 1-D operands as matrices (a row vector, a column vector), as matmul itself does.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad
        if b.ndim == 1:
            g2 = g2[..., None]
        if a.ndim == 1:
            g2 = g2[..., None, :]
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = g2 @ b2.swapaxes(-1, -2)
            grad_a = unbroadcast(grad_a, a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            if b2.ndim == 2 and a2.ndim > 2:
                # A stack of matrices times one weight matrix (x @ W for all time steps):
                # one large product instead of a batch of small ones summed afterwards.
                grad_b = a2.reshape(-1, a2.shape[-1]).T @ g2.reshape(-1, g2.shape[-1])
            else:
                grad_b = unbroadcast(a2.swapaxes(-1, -2) @ g2, b2.shape)
            grad_b = grad_b.reshape(b.shape)
        return grad_a, grad_b


def _is_transposed(array):
    """Whether `array` is laid out as the transpose of a row-major matrix (W.T of a C-ordered W)."""
    flags = array.flags
    return flags.f_contiguous and not flags.c_contiguous

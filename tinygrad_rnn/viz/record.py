"""record_gradients: make the ops of a graph remember the size of the gradients passing through them.

A leaf keeps its gradient in `.grad`; an intermediate tensor (h_t, f_t * c_{t-1}, ...) does not,
unless `retain_grad()` was called on it. To draw every edge with the gradient that flows along it,
call `record_gradients(loss)` after the forward pass and before `loss.backward()`:

    loss = model_output.sum()
    viz.record_gradients(loss)
    loss.backward()
    viz.draw_graph(loss)          # every edge's width now shows the gradient along it

Each op of the graph then stores, during backward, the norms (Frobenius: the square root of the
sum of squares) of
    fn.out_grad_norms[i] = ||dL/d(output i)||           the gradient arriving at the op, and
    fn.in_grad_norms[k]  = ||what backward sent to input k||,
with None where no gradient flowed. Only norms are kept (a few numbers per op), never arrays.
A second backward through the same graph overwrites them.
"""

from ..backend import get_array_module
from ..deferred import materialized
from .walk import TapeView


def record_gradients(*outputs):
    """Before backward: record the gradient norms on every op behind `outputs` (see module doc).
    Returns the number of ops instrumented."""
    view = TapeView(as_tensor_list(outputs, "record_gradients"))
    for fn in view.ops:
        if "backward" not in fn.__dict__:  # not instrumented yet
            fn.backward = _Recorder(fn, type(fn).backward)
    return len(view.ops)


class _Recorder:
    """Stands in for one op's backward: calls it and notes the norms going in and out."""

    def __init__(self, fn, backward):
        self.fn = fn
        self.backward = backward

    def __call__(self, *grad_outputs):
        fn = self.fn
        fn.out_grad_norms = [norm(g) for g in grad_outputs]
        grads_in = self.backward(fn, *grad_outputs)
        fn.in_grad_norms = [norm(g) for g in grads_in]
        return grads_in


def norm(array):
    """The Frobenius norm of a NumPy/CuPy array as a Python float (None stays None)."""
    if array is None:
        return None
    array = materialized(array)  # a weight's gradient still as matmul factors (deferred.py)
    xp = get_array_module(array)
    return float(xp.sqrt(xp.sum(xp.square(array.astype("float64")))))


def as_tensor_list(outputs, caller):
    from ..tensor import Tensor

    flat = []
    stack = list(reversed(outputs))
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(reversed(item))
        elif isinstance(item, Tensor):
            flat.append(item)
        else:
            raise TypeError(f"{caller}: expected Tensors (or tuples of them), got {type(item).__name__}")
    if not flat:
        raise ValueError(f"{caller}: give at least one output tensor to draw from")
    return flat

"""Reductions: sum, mean and max over axes."""

from ..autograd import Function
from ..backend import get_array_module


def _normalize_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim if ndim else a for a in axes)


def _expand(grad, in_shape, axes, keepdims):
    """Put back the reduced axes as length 1, so the gradient broadcasts against the input."""
    if keepdims:
        return grad
    shape = [1 if i in axes else n for i, n in enumerate(in_shape)]
    return grad.reshape(shape)


class Sum(Function):
    """y = sum of x over `axis`;  dL/dx = dL/dy copied along the summed axes."""

    name = "sum"

    def forward(self, x):
        self.in_shape = x.shape
        self.axes = _normalize_axes(self.axis, x.ndim)
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad):
        grad = _expand(grad, self.in_shape, self.axes, self.keepdims)
        return (get_array_module(grad).broadcast_to(grad, self.in_shape),)


class Mean(Function):
    """y = mean of x over `axis` (n elements each);  dL/dx = dL/dy / n, copied along the axes."""

    name = "mean"

    def forward(self, x):
        self.in_shape = x.shape
        self.axes = _normalize_axes(self.axis, x.ndim)
        count = 1
        for a in self.axes:
            count *= x.shape[a]
        self.count = count
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad):
        grad = _expand(grad, self.in_shape, self.axes, self.keepdims) / self.count
        return (get_array_module(grad).broadcast_to(grad, self.in_shape),)


class Max(Function):
    """y = max of x over `axis`;  dL/dx = dL/dy at the maximal elements (shared equally on ties)."""

    name = "max"

    def forward(self, x):
        self.axes = _normalize_axes(self.axis, x.ndim)
        y = x.max(axis=self.axis, keepdims=True)
        is_max = x == y
        self.saved = (is_max, is_max.sum(axis=self.axis, keepdims=True, dtype=x.dtype))
        return y if self.keepdims else y.reshape([n for i, n in enumerate(y.shape) if i not in self.axes])

    def backward(self, grad):
        is_max, ties = self.saved
        grad = _expand(grad, is_max.shape, self.axes, self.keepdims)
        return (grad * is_max / ties,)

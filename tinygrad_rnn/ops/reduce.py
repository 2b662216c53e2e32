"""Reductions: sum, mean, max and var over axes."""

import warnings

import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from .dtypes import not_float
from .shape import normalize_axis


def _normalize_axes(op, axis, shape):
    """The reduced axes as a tuple of indices in [0, ndim); None means all of them."""
    if axis is None:
        return tuple(range(len(shape)))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(normalize_axis(op, a, shape) for a in axes)


def _expand(grad, in_shape, axes, keepdims):
    """Put back the reduced axes as length 1, so the gradient broadcasts against the input."""
    if keepdims:
        return grad
    shape = [1 if i in axes else n for i, n in enumerate(in_shape)]
    return grad.reshape(shape)


class Sum(Function):
    """y = sum of x over `axis`;  dL/dx = dL/dy copied along the summed axes."""

    name = "sum"
    axis = None  # the axis or axes summed over; None: all of them
    keepdims = False  # keep the summed axes, as length 1

    def forward(self, x):
        self.in_shape = x.shape
        self.axes = _normalize_axes(self.name, self.axis, x.shape)
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad):
        grad = _expand(grad, self.in_shape, self.axes, self.keepdims)
        return (get_array_module(grad).broadcast_to(grad, self.in_shape),)


class Mean(Function):
    """y = mean of x over `axis` (n elements each);  dL/dx = dL/dy / n, copied along the axes."""

    name = "mean"
    axis = None  # the axis or axes averaged over; None: all of them
    keepdims = False  # keep the averaged axes, as length 1

    def forward(self, x):
        if x.dtype.kind != "f":
            raise not_float(self.name, x)
        self.in_shape = x.shape
        self.axes = _normalize_axes(self.name, self.axis, x.shape)
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
    axis = None  # the axis or axes the max is taken over; None: all of them
    keepdims = False  # keep the reduced axes, as length 1

    def forward(self, x):
        self.axes = _normalize_axes(self.name, self.axis, x.shape)
        y = x.max(axis=self.axis, keepdims=True)
        is_max = x == y
        self.saved = (is_max, is_max.sum(axis=self.axis, keepdims=True, dtype=x.dtype))
        return y if self.keepdims else y.reshape([n for i, n in enumerate(y.shape) if i not in self.axes])

    def backward(self, grad):
        is_max, ties = self.saved
        grad = _expand(grad, is_max.shape, self.axes, self.keepdims)
        return (grad * is_max / ties,)


class Var(Function):
    """y = sum((x - mean(x))^2) / (n - correction) over `axis` (n elements each);
    dL/dx = dL/dy * 2 (x - mean(x)) / (n - correction).

    correction=1, PyTorch's default, is the unbiased sample variance (Bessel's correction);
    correction=0 is the population variance (NumPy's default, and what layer norm and the
    normalized LSTM use). With n - correction <= 0 the result is inf or nan and a warning says
    why, as in PyTorch.
    """

    name = "var"
    axis = None  # the axis or axes reduced over; None: all of them
    keepdims = False  # keep the reduced axes, as length 1
    correction = 1  # the divisor is n - correction

    def forward(self, x):
        if x.dtype.kind != "f":
            raise not_float(self.name, x)
        self.axes = _normalize_axes(self.name, self.axis, x.shape)
        count = 1
        for a in self.axes:
            count *= x.shape[a]
        self.dof = max(count - self.correction, 0)
        centered = x - x.mean(axis=self.axes, keepdims=True)
        squares = (centered * centered).sum(axis=self.axes, keepdims=self.keepdims)
        self.saved = (centered,)
        if self.dof == 0:
            warnings.warn(
                f"var: {count} element(s) per variance with correction={self.correction} leaves no "
                f"degrees of freedom (shape {tuple(x.shape)}, axis {self.axis}); the result is inf or nan",
                RuntimeWarning,
                stacklevel=4,
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                return squares / self.dof
        return squares / self.dof

    def backward(self, grad):
        (centered,) = self.saved
        scale = 2.0 / self.dof if self.dof else float("inf")
        grad = _expand(grad, centered.shape, self.axes, self.keepdims)
        return (grad * centered * scale,)

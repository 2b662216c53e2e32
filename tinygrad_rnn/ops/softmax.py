"""softmax and log_softmax along one axis, stable for logits of any size."""

from ..autograd import Function
from ..backend import get_array_module
from .dtypes import not_float
from .shape import normalize_axis


def log_softmax_array(x, axis):
    """x - logsumexp(x): the max is subtracted first, so exp never sees a large argument."""
    xp = get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """y_i = exp(x_i) / sum_j exp(x_j);  dL/dx = y * (dL/dy - sum_j dL/dy_j y_j)."""

    name = "softmax"
    axis = -1  # the axis the probabilities sum to 1 along

    def forward(self, x):
        if x.dtype.kind != "f":
            raise not_float(self.name, x)
        normalize_axis(self.name, self.axis, x.shape)
        xp = get_array_module(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        y = e / e.sum(axis=self.axis, keepdims=True)
        self.saved = (y,)
        return y

    def backward(self, grad):
        (y,) = self.saved
        return (y * (grad - (grad * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """y_i = x_i - log sum_j exp(x_j);  dL/dx = dL/dy - softmax(x) * sum_j dL/dy_j."""

    name = "log_softmax"
    axis = -1  # the axis the softmax normalizes along

    def forward(self, x):
        if x.dtype.kind != "f":
            raise not_float(self.name, x)
        normalize_axis(self.name, self.axis, x.shape)
        y = log_softmax_array(x, self.axis)
        self.saved = (y,)
        return y

    def backward(self, grad):
        (y,) = self.saved
        xp = get_array_module(y)
        return (grad - xp.exp(y) * grad.sum(axis=self.axis, keepdims=True),)

"""Elementwise nonlinearities: sigmoid, tanh, relu, exp, log.

Backwards that are products of fresh temporaries work in place on them (`d *= grad`), saving
an allocation per op, which matters when a BPTT step is a few microseconds of arithmetic.
An in-place step never touches the incoming gradient: other inputs may share that array.
"""

from ..autograd import Function
from ..backend import get_array_module


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)), computed as (1 + tanh(x / 2)) / 2;  dL/dx = dL/dy * y * (1 - y).

    The tanh form is the same function and never overflows: exp(-x) at x = -1e4 would.
    """

    name = "sigmoid"

    def forward(self, x):
        y = get_array_module(x).tanh(x * 0.5)
        y += 1
        y *= 0.5
        self.saved = (y,)
        return y

    def backward(self, grad):
        (y,) = self.saved
        d = 1 - y
        d *= y
        d *= grad
        return (d,)


class Tanh(Function):
    """y = tanh(x);  dL/dx = dL/dy * (1 - y^2)."""

    name = "tanh"

    def forward(self, x):
        y = get_array_module(x).tanh(x)
        self.saved = (y,)
        return y

    def backward(self, grad):
        (y,) = self.saved
        d = 1 - y * y
        d *= grad
        return (d,)


class ReLU(Function):
    """y = max(x, 0);  dL/dx = dL/dy where x > 0, else 0."""

    name = "relu"

    def forward(self, x):
        self.saved = (x > 0,)
        return get_array_module(x).maximum(x, 0)

    def backward(self, grad):
        (positive,) = self.saved
        return (grad * positive,)


class Exp(Function):
    """y = exp(x);  dL/dx = dL/dy * y."""

    name = "exp"

    def forward(self, x):
        y = get_array_module(x).exp(x)
        self.saved = (y,)
        return y

    def backward(self, grad):
        (y,) = self.saved
        return (grad * y,)


class Log(Function):
    """y = log(x);  dL/dx = dL/dy / x."""

    name = "log"

    def forward(self, x):
        self.saved = (x,)
        return get_array_module(x).log(x)

    def backward(self, grad):
        (x,) = self.saved
        return (grad / x,)

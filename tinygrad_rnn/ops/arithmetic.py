"""Elementwise arithmetic: y = a + b, a - b, -a, a * b (Hadamard), a / b, a ** p, a ** b."""

import numpy as np

from ..autograd import Function
from ..backend import get_array_module
from ..errors import DTypeError
from .broadcast import unbroadcast
from .dtypes import not_float


class Add(Function):
    """y = a + b;  dL/da = dL/dy,  dL/db = dL/dy (summed over broadcast axes)."""

    name = "add"
    same_dtype = True

    shapes = None  # (a's shape, b's shape) when they differ: backward sums over the broadcast axes

    def forward(self, a, b):
        if a.shape != b.shape:
            self.shapes = a.shape, b.shape
        return a + b

    def backward(self, grad):
        needs = self.needs_input_grad  # a constant (the 1 in 1 - z_t) needs no sum over its broadcast axes
        if self.shapes is None:
            return (grad if needs[0] else None), (grad if needs[1] else None)
        a_shape, b_shape = self.shapes
        return (unbroadcast(grad, a_shape) if needs[0] else None), (unbroadcast(grad, b_shape) if needs[1] else None)


class Sub(Function):
    """y = a - b;  dL/da = dL/dy,  dL/db = -dL/dy."""

    name = "sub"
    same_dtype = True

    shapes = None  # as in Add

    def forward(self, a, b):
        if a.shape != b.shape:
            self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad):
        needs = self.needs_input_grad
        grad_a = grad if needs[0] else None
        grad_b = -grad if needs[1] else None
        if self.shapes is not None:
            a_shape, b_shape = self.shapes
            grad_a = unbroadcast(grad_a, a_shape) if needs[0] else None
            grad_b = unbroadcast(grad_b, b_shape) if needs[1] else None
        return grad_a, grad_b


class Neg(Function):
    """y = -a;  dL/da = -dL/dy."""

    name = "neg"

    def forward(self, a):
        return -a

    def backward(self, grad):
        return (-grad,)


class Mul(Function):
    """y = a * b (elementwise);  dL/da = dL/dy * b,  dL/db = dL/dy * a."""

    name = "mul"
    same_dtype = True

    def forward(self, a, b):
        self.saved = a, b
        return a * b

    def backward(self, grad):
        a, b = self.saved
        grad_a = unbroadcast(grad * b, a.shape) if self.needs_input_grad[0] else None
        grad_b = unbroadcast(grad * a, b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Div(Function):
    """y = a / b;  dL/da = dL/dy / b,  dL/db = -dL/dy * y / b."""

    name = "div"
    same_dtype = True

    def forward(self, a, b):
        if a.dtype.kind != "f":  # b has a's dtype (same_dtype)
            raise not_float(self.name, a)
        y = a / b
        self.saved = a.shape, b, y
        return y

    def backward(self, grad):
        a_shape, b, y = self.saved
        grad_a = grad / b
        grad_b = None
        if self.needs_input_grad[1]:
            grad_b = unbroadcast(-grad_a * y, b.shape)
        return unbroadcast(grad_a, a_shape) if self.needs_input_grad[0] else None, grad_b


class Pow(Function):
    """y = a ** p for a constant p;  dL/da = dL/dy * p * a ** (p - 1).

    At a = 0 this follows PyTorch: 0 for p = 0 (not 0 * 0 ** -1 = nan), 1 for p = 1, and
    inf for 0 < p < 1 or p < 0, where the slope of a ** p is infinite.
    """

    name = "pow"
    exponent = 1  # p, a Python number

    def forward(self, a):
        p = self.exponent
        if a.dtype.kind != "f" and (p < 0 or not float(p).is_integer()):
            raise DTypeError(
                f"pow: a tensor of dtype {a.dtype} (shape {tuple(a.shape)}) takes only a non-negative "
                f"integer exponent, got {p}; convert it first with .float() or .double()"
            )
        self.saved = (a,)
        return a**p

    def backward(self, grad):
        (a,) = self.saved
        p = self.exponent
        if p == 2:
            return (grad * (2 * a),)
        if p == 0:
            return (get_array_module(a).zeros_like(a),)
        return (grad * (p * a ** (p - 1)),)


class PowTensor(Function):
    """y = a ** b for a Tensor exponent b;  dL/da = dL/dy * b * a ** (b - 1),
    dL/db = dL/dy * y * log(a).

    As in PyTorch: dL/da is 0 where b = 0, and dL/db is 0 where a = 0 and b >= 0 (there
    0 ** b is constant, 1 or 0, though y * log(a) reads 0 * -inf); a negative a gives dL/db = nan.
    """

    name = "pow"
    same_dtype = True

    def forward(self, a, b):
        if a.dtype.kind != "f":  # b has a's dtype (same_dtype)
            raise not_float(self.name, a)
        y = a**b
        self.saved = a, b, y
        return y

    def backward(self, grad):
        a, b, y = self.saved
        xp = get_array_module(a)
        grad_a = grad_b = None
        # The masked entries compute inf or nan on their way to being replaced by 0.
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                grad_a = unbroadcast(grad * xp.where(b == 0, 0, b * a ** (b - 1)), a.shape)
            if self.needs_input_grad[1]:
                d = xp.where((a == 0) & (b >= 0), 0, y * xp.log(a))
                grad_b = unbroadcast(grad * d, b.shape)
        return grad_a, grad_b

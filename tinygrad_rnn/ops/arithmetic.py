"""Elementwise arithmetic: y = a + b, a - b, -a, a * b (Hadamard), a / b, a ** p."""

from ..autograd import Function
from .broadcast import unbroadcast


class Add(Function):
    """y = a + b;  dL/da = dL/dy,  dL/db = dL/dy (summed over broadcast axes)."""

    name = "add"
    same_dtype = True

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, grad):
        a_shape, b_shape = self.shapes
        return unbroadcast(grad, a_shape), unbroadcast(grad, b_shape)


class Sub(Function):
    """y = a - b;  dL/da = dL/dy,  dL/db = -dL/dy."""

    name = "sub"
    same_dtype = True

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad):
        a_shape, b_shape = self.shapes
        grad_b = unbroadcast(-grad, b_shape) if self.needs_input_grad[1] else None
        return unbroadcast(grad, a_shape), grad_b


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
    """y = a ** p for a constant p;  dL/da = dL/dy * p * a ** (p - 1)."""

    name = "pow"

    def forward(self, a):
        self.saved = (a,)
        return a**self.exponent

    def backward(self, grad):
        (a,) = self.saved
        p = self.exponent
        if p == 2:
            return (grad * (2 * a),)
        return (grad * (p * a ** (p - 1)),)

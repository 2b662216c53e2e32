"""The ops as functions (`F.tanh(x)`, `F.cat([a, b])`, `F.cross_entropy(logits, targets)`), for code
that reads better without method chains. Each is a thin call into the op in `ops/`."""

import numpy as np

from .errors import ShapeError
from .ops.loss import CrossEntropy, MSELoss
from .ops.select import Where
from .ops.shape import Cat, Stack
from .tensor import Tensor


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def sigmoid(x):
    """sigmoid(x) = 1 / (1 + exp(-x))"""
    return _tensor(x).sigmoid()


def tanh(x):
    return _tensor(x).tanh()


def relu(x):
    return _tensor(x).relu()


def exp(x):
    return _tensor(x).exp()


def log(x):
    return _tensor(x).log()


def sqrt(x):
    """sqrt(x) elementwise; dL/dx = dL/dy / (2 sqrt(x))."""
    return _tensor(x).sqrt()


def var(x, axis=None, keepdims=False, *, correction=1):
    """sum((x - mean(x))^2) / (n - correction) over `axis`; correction=1 (PyTorch's default) is the
    unbiased sample variance, correction=0 the population variance."""
    return _tensor(x).var(axis, keepdims, correction=correction)


def abs(x):  # noqa: A001 - mirrors torch.abs
    """|x| elementwise; the gradient at 0 is 0, as torch.abs's."""
    return _tensor(x).abs()


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else negative_slope * x"""
    return _tensor(x).leaky_relu(negative_slope)


def clip(x, min=None, max=None):  # noqa: A002 - torch.clamp's names
    """min(max(x, min), max) elementwise; at a bound the gradient passes, as torch.clamp's."""
    return _tensor(x).clip(min, max)


def maximum(a, b):
    """Elementwise max(a, b), with broadcasting; on a tie each gets half the gradient (as torch)."""
    a, b = _pair(a, b)
    return a.maximum(b)


def minimum(a, b):
    """Elementwise min(a, b), with broadcasting; on a tie each gets half the gradient (as torch)."""
    a, b = _pair(a, b)
    return a.minimum(b)


def where(condition, a, b):
    """a where `condition` (a bool tensor or array) holds, else b; all three broadcast together."""
    a, b = _pair(a, b)
    if not isinstance(condition, Tensor):
        condition = Tensor(condition, backend=a.backend)
    return Where.apply(condition, a, b)


def _pair(a, b):
    """Two operands as Tensors; a number next to a Tensor takes its dtype and backend."""
    if isinstance(a, Tensor):
        return a, a._lift(b)
    if isinstance(b, Tensor):
        return b._lift(a), b
    return Tensor(a), Tensor(b)


def softmax(x, axis=-1):
    return _tensor(x).softmax(axis)


def log_softmax(x, axis=-1):
    return _tensor(x).log_softmax(axis)


def matmul(a, b):
    return _tensor(a) @ b


def add(a, b):
    return _tensor(a) + b


def sub(a, b):
    return _tensor(a) - b


def mul(a, b):
    """Hadamard (elementwise) product a * b."""
    return _tensor(a) * b


def div(a, b):
    return _tensor(a) / b


def neg(a):
    return -_tensor(a)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - mirrors torch.sum / np.sum
    return _tensor(x).sum(axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _tensor(x).mean(axis, keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return _tensor(x).max(axis, keepdims)


def reshape(x, *shape):
    return _tensor(x).reshape(*shape)


def transpose(x, *axes):
    return _tensor(x).transpose(*axes)


def split(x, sections, axis=0):
    return _tensor(x).split(sections, axis)


def chunk(x, n, axis=0):
    return _tensor(x).chunk(n, axis)


def cat(tensors, axis=0):
    """[a | b | ...] joined along an existing axis."""
    return Cat.apply(*_sequence("cat", tensors), axis=axis)


def stack(tensors, axis=0):
    """The tensors stacked along a new axis."""
    return Stack.apply(*_sequence("stack", tensors), axis=axis)


def _sequence(op, tensors):
    """The tensors that cat and stack join. A single Tensor is refused: iterating it would join
    its rows and quietly give a different tensor."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got one Tensor of shape {tensors.shape}")
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ShapeError(f"{op}: expected at least one tensor, got an empty sequence")
    return tensors


def cross_entropy(logits, targets):
    """Mean over the batch of -log softmax(logits)[target]; targets are integer class indices."""
    logits = _tensor(logits)
    if not isinstance(targets, Tensor):
        targets = np.asarray(targets) if not hasattr(targets, "dtype") else targets
        targets = Tensor(targets, backend=logits.backend)
    return CrossEntropy.apply(logits, targets)


def mse_loss(pred, target):
    """mean((pred - target)^2); pred and target must have the same shape."""
    pred = _tensor(pred)
    if not isinstance(target, Tensor):
        target = Tensor(target, dtype=pred.dtype, backend=pred.backend)
    return MSELoss.apply(pred, target)

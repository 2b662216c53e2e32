"""Dropout: zero each element with probability p while training, scaling the rest by 1/(1-p)."""

from ..backend import get_array_module
from ..tensor import Tensor
from .module import Module


def dropout(x, p=0.5, training=True):
    """y = x * m / (1 - p) with m_k ~ Bernoulli(1 - p) ("inverted" dropout, as PyTorch), so the
    expected value of y is x and evaluation needs no rescaling. Identity when not training.
    dL/dx = dL/dy * m / (1 - p): dropped elements get no gradient. Masks come from the array
    library's global generator (`np.random.seed(s)` makes them repeatable)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must lie in [0, 1], got {p}")
    if not training or p == 0:
        return x
    xp = get_array_module(x.data)
    if p == 1:
        return x * Tensor(xp.zeros(x.shape, dtype=x.dtype), backend=x.backend)
    keep = xp.random.random_sample(x.shape) >= p
    mask = keep.astype(x.dtype) / x.dtype.type(1 - p)
    return x * Tensor(mask, backend=x.backend)


class Dropout(Module):
    """Dropout(p=0.5): `dropout(x, p)` in training mode, the identity after `.eval()`."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must lie in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"

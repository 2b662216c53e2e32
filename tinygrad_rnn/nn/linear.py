"""Linear: the affine map y = x W^T + b, with PyTorch's layout and initialisation."""

import math

import numpy as np

from ..errors import ShapeError
from ..tensor import Tensor
from .arguments import check_sizes, float_dtype
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """Linear(in_features, out_features, bias=True, dtype=None, backend=None)

        y = x W^T + b

    `weight` has shape (out_features, in_features) and `bias` (out_features,), as in PyTorch, so
    `load_state_dict` takes a torch.nn.Linear's state directly. Both start ~ U(-k, k) with
    k = 1/sqrt(in_features). `x` is (..., in_features): every leading axis (batch, time) is kept.
    Parameters are float32 unless `dtype` says otherwise; draws come from NumPy's global generator,
    so `np.random.seed(s)` makes them repeatable.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None, backend=None):
        super().__init__()
        check_sizes("Linear", in_features=in_features, out_features=out_features)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dtype = float_dtype("Linear", dtype)
        bound = 1.0 / math.sqrt(in_features)
        weight = np.random.uniform(-bound, bound, size=(out_features, in_features))
        self.weight = Parameter(weight.astype(dtype), backend=backend)
        if bias:
            self.bias = Parameter(np.random.uniform(-bound, bound, size=out_features).astype(dtype), backend=backend)
        else:
            self.bias = None

    def forward(self, x):
        if not isinstance(x, Tensor):
            if not (hasattr(x, "shape") and hasattr(x, "dtype")):  # a NumPy/CuPy array is taken as it is
                raise TypeError(
                    f"Linear({self.in_features}, {self.out_features}): input must be a Tensor, got "
                    f"{type(x).__name__}; wrap it: tg.Tensor(x)"
                )
            x = Tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"Linear({self.in_features}, {self.out_features}): input of shape {tuple(x.shape)} "
                f"does not end in in_features={self.in_features}; expected (..., {self.in_features})"
            )
        y = x @ self.weight.T
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

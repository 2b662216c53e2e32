"""Elementwise choices between values: maximum, minimum, where, clip.

Each passes dL/dy to the value it chose. Where a choice is a tie (maximum and minimum of two equal
values, clip exactly at a bound) the derivative is a convention; these follow PyTorch's.
"""

from ..autograd import Function
from ..backend import get_array_module
from ..errors import DTypeError
from .broadcast import unbroadcast


class _Choose(Function):
    """What maximum and minimum share: a's share of dL/dy goes to a, the rest to b."""

    same_dtype = True

    def split_gradient(self, grad, a_wins, a_wins_or_ties):
        a, b = self.saved
        # a's share: 1 where a was chosen, 1/2 on a tie, 0 where b was: (wins + (wins or ties)) / 2.
        share_a = a_wins_or_ties.astype(grad.dtype)
        share_a += a_wins
        share_a *= 0.5
        grad_a = grad * share_a
        grad_b = unbroadcast(grad - grad_a, b.shape) if self.needs_input_grad[1] else None
        return unbroadcast(grad_a, a.shape), grad_b


class Maximum(_Choose):
    """y = max(a, b) elementwise;  dL/da = dL/dy where a > b, dL/db = dL/dy where b > a;
    on a tie each gets dL/dy / 2 (as torch.maximum)."""

    name = "maximum"

    def forward(self, a, b):
        self.saved = a, b
        return get_array_module(a).maximum(a, b)

    def backward(self, grad):
        a, b = self.saved
        return self.split_gradient(grad, a > b, a >= b)


class Minimum(_Choose):
    """y = min(a, b) elementwise;  dL/da = dL/dy where a < b, dL/db = dL/dy where b < a;
    on a tie each gets dL/dy / 2 (as torch.minimum)."""

    name = "minimum"

    def forward(self, a, b):
        self.saved = a, b
        return get_array_module(a).minimum(a, b)

    def backward(self, grad):
        a, b = self.saved
        return self.split_gradient(grad, a < b, a <= b)


class Where(Function):
    """y = a where condition else b;  dL/da = dL/dy where condition, dL/db = dL/dy elsewhere.
    The condition (a bool tensor) gets no gradient."""

    name = "where"

    def forward(self, condition, a, b):
        if condition.dtype.kind != "b":
            raise DTypeError(
                f"where: the condition must be a bool tensor, got dtype {condition.dtype} with shape "
                f"{tuple(condition.shape)}; compare to make one, e.g. x > 0"
            )
        if a.dtype != b.dtype:
            raise DTypeError(
                f"where: the two choices have different dtypes ({a.dtype} {tuple(a.shape)} and "
                f"{b.dtype} {tuple(b.shape)}); convert one with .float() or .double()"
            )
        self.shapes = a.shape, b.shape
        self.saved = (condition,)
        return get_array_module(a).where(condition, a, b)

    def backward(self, grad):
        (condition,) = self.saved
        a_shape, b_shape = self.shapes
        xp = get_array_module(grad)
        grad_a = grad_b = None
        if self.needs_input_grad[1]:
            grad_a = unbroadcast(xp.where(condition, grad, 0), a_shape)
        if self.needs_input_grad[2]:
            grad_b = unbroadcast(xp.where(condition, 0, grad), b_shape)
        return None, grad_a, grad_b


class Clip(Function):
    """y = min(max(x, low), high);  dL/dx = dL/dy where low <= x <= high, else 0.

    At a bound the gradient passes (as torch.clamp). With low > high every y is `high` and no
    gradient passes, again as in PyTorch.
    """

    name = "clip"
    low = None  # the lower bound (a number), or None for none
    high = None  # the upper bound (a number), or None for none

    def forward(self, x):
        if x.dtype.kind != "f" and (isinstance(self.low, float) or isinstance(self.high, float)):
            raise DTypeError(
                f"clip: float bounds ({self.low}, {self.high}) for a tensor of dtype {x.dtype} (shape "
                f"{tuple(x.shape)}) would change its dtype; convert it first with .float() or .double()"
            )
        xp = get_array_module(x)
        y, inside = x, None
        if self.low is not None:
            inside = x >= self.low
            y = xp.maximum(y, self.low)
        if self.high is not None:
            below_high = x <= self.high
            inside = below_high if inside is None else inside & below_high
            y = xp.minimum(y, self.high)
        self.saved = (inside,)
        return y

    def backward(self, grad):
        (inside,) = self.saved
        return (grad * inside,)

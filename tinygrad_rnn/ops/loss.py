"""Losses. Each checks its shapes strictly: a (N, 1) prediction against a (N,) target must not
broadcast into an (N, N) loss that trains towards the wrong answer."""

from ..autograd import Function
from ..backend import get_array_module
from ..errors import DTypeError, ShapeError
from .softmax import log_softmax_array


class CrossEntropy(Function):
    """L = -(1/N) sum_n log softmax(logits_n)[target_n];  dL/dlogits = (softmax - onehot) / N.

    logits (N, C) with integer targets (N,), or logits (C,) with one integer target.
    """

    name = "cross_entropy"

    def forward(self, logits, targets):
        if targets.dtype.kind not in "iu":
            raise DTypeError(
                f"cross_entropy: targets must be integer class indices, got dtype {targets.dtype} "
                f"with shape {tuple(targets.shape)}"
            )
        if logits.ndim not in (1, 2) or targets.shape != logits.shape[:-1]:
            raise ShapeError(
                f"cross_entropy: logits of shape (N, C) need targets of shape (N,); got logits "
                f"{tuple(logits.shape)} and targets {tuple(targets.shape)}"
            )
        classes = logits.shape[-1]
        xp = get_array_module(logits)
        if targets.size and (int(targets.min()) < 0 or int(targets.max()) >= classes):
            raise ShapeError(
                f"cross_entropy: targets must lie in [0, {classes}) for logits {tuple(logits.shape)}; "
                f"got values from {int(targets.min())} to {int(targets.max())}"
            )
        log_p = log_softmax_array(logits, -1)
        rows = xp.arange(targets.size)
        picked = log_p.reshape(-1, classes)[rows, targets.reshape(-1)]
        self.saved = (log_p, targets)
        return -picked.mean()

    def backward(self, grad):
        log_p, targets = self.saved
        xp = get_array_module(log_p)
        classes = log_p.shape[-1]
        count = max(targets.size, 1)
        d = xp.exp(log_p).reshape(-1, classes)
        d[xp.arange(targets.size), targets.reshape(-1)] -= 1
        d *= grad / count
        return d.reshape(log_p.shape), None


class MSELoss(Function):
    """L = mean((pred - target)^2);  dL/dpred = 2 (pred - target) / n,  dL/dtarget = -dL/dpred."""

    name = "mse_loss"
    same_dtype = True

    def forward(self, pred, target):
        if pred.shape != target.shape:
            raise ShapeError(
                f"mse_loss: pred and target must have the same shape, got {tuple(pred.shape)} and "
                f"{tuple(target.shape)} (reshape one; broadcasting here would average the wrong pairs)"
            )
        diff = pred - target
        self.saved = (diff,)
        return (diff * diff).mean()

    def backward(self, grad):
        (diff,) = self.saved
        d = diff * (2 * grad / max(diff.size, 1))
        return d, -d

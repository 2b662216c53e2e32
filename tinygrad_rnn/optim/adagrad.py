"""Adagrad (Duchi et al., 2011): each element's step shrinks with the sum of its squared gradients."""

from .hyperparameters import AT_LEAST_0, check_hyperparameters
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10)

    PyTorch's rule, for a parameter p with gradient g at step t = 1, 2, ...:

        g    <- g + weight_decay * p                 (if weight_decay != 0)
        lr_t  = lr / (1 + (t - 1) * lr_decay)
        s_t   = s_{t-1} + g^2,                         s_0 = initial_accumulator_value
        p    <- p - lr_t * g / (sqrt(s_t) + eps)

    min-char-rnn (Karpathy) trains with this rule, lr 0.1.
    """

    ranges = dict.fromkeys(("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"), AT_LEAST_0)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        check_hyperparameters("Adagrad", defaults, self.ranges)
        super().__init__(params, defaults)

    def update(self, param, grad, state, xp):
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(param, self.initial_accumulator_value)
        state["step"] += 1
        t = state["step"]
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        lr_t = self.lr / (1 + (t - 1) * self.lr_decay)
        s = state["sum"]
        s += grad * grad
        param -= lr_t * (grad / (xp.sqrt(s) + self.eps))

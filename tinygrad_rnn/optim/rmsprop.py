"""RMSprop (Hinton's lecture 6e, 2012): steps divided by a running root mean square of the
gradient; the centered form (Graves, 2013) divides by a running standard deviation instead."""

from .hyperparameters import AT_LEAST_0, FROM_0_TO_1, check_hyperparameters
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False)

    PyTorch's rule, for a parameter p with gradient g:

        g     <- g + weight_decay * p                 (if weight_decay != 0)
        v_t    = alpha * v_{t-1} + (1 - alpha) * g^2,  v_0 = 0
        centered:  gbar_t = alpha * gbar_{t-1} + (1 - alpha) * g,   v~ = v_t - gbar_t^2
        otherwise: v~ = v_t
        d      = g / (sqrt(v~) + eps)
        momentum > 0:  b_t = momentum * b_{t-1} + d,  p <- p - lr * b_t      (b_0 = 0)
        otherwise:     p <- p - lr * d
    """

    # alpha outside [0, 1] makes the running mean of g^2 negative (PyTorch only asks alpha >= 0).
    ranges = {"lr": AT_LEAST_0, "alpha": FROM_0_TO_1, "eps": AT_LEAST_0, "weight_decay": AT_LEAST_0, "momentum": AT_LEAST_0}

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        check_hyperparameters("RMSprop", defaults, self.ranges)
        super().__init__(params, defaults)

    def update(self, param, grad, state, xp):
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            if self.momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(param)
            if self.centered:
                state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        alpha = self.alpha
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * (grad * grad)
        if self.centered:
            g_avg = state["grad_avg"]
            g_avg *= alpha
            g_avg += (1 - alpha) * grad
            denom = xp.sqrt(v - g_avg * g_avg) + self.eps
        else:
            denom = xp.sqrt(v) + self.eps
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += grad / denom
            param -= self.lr * buf
        else:
            param -= self.lr * (grad / denom)

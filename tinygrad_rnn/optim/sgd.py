"""Stochastic gradient descent, with optional momentum (heavy ball or Nesterov) and weight decay."""

from .hyperparameters import ANY, AT_LEAST_0, check_hyperparameters
from .optimizer import Optimizer


class SGD(Optimizer):
    """SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)

    PyTorch's rule, for a parameter p with gradient g at step t:

        g   <- g + weight_decay * p                       (if weight_decay != 0)
        b_1  = g;  b_t = momentum * b_{t-1} + (1 - dampening) * g     (if momentum != 0)
        g   <- g + momentum * b_t   (nesterov)   or   g <- b_t   (plain momentum)
        p   <- p - lr * g

    The first momentum buffer is the gradient itself (no dampening on step 1), as in PyTorch.
    This differs from Sutskever et al. (2013), who put the learning rate inside the buffer; the two
    agree while lr stays constant.
    """

    ranges = {"lr": AT_LEAST_0, "momentum": AT_LEAST_0, "dampening": ANY, "weight_decay": AT_LEAST_0}

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
        check_hyperparameters("SGD", defaults, self.ranges)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"SGD: Nesterov momentum needs momentum > 0 and dampening = 0, "
                f"got momentum={momentum}, dampening={dampening}"
            )
        super().__init__(params, defaults)

    def update(self, param, grad, state, xp):
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        if self.momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        param -= self.lr * grad

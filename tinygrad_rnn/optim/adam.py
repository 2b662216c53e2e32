"""Adam (Kingma & Ba, 2015): steps scaled by running estimates of the gradient's first and second
moments, with the bias of their zero start corrected."""

import math

from .hyperparameters import AT_LEAST_0, FROM_0_BELOW_1, check_hyperparameters
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)

    PyTorch's rule, for a parameter p with gradient g at step t = 1, 2, ...:

        g     <- g + weight_decay * p                 (L2 penalty in the gradient; not AdamW)
        m_t    = beta1 * m_{t-1} + (1 - beta1) * g
        v_t    = beta2 * v_{t-1} + (1 - beta2) * g^2
        m_hat  = m_t / (1 - beta1^t),   v_hat = v_t / (1 - beta2^t)
        amsgrad: v_hat = vmax_t / (1 - beta2^t),  vmax_t = max(vmax_{t-1}, v_t),  vmax_0 = 0
        p     <- p - lr * m_hat / (sqrt(v_hat) + eps)

    m_0 = v_0 = 0. eps is added after the square root, as in PyTorch and the paper.
    """

    ranges = {"lr": AT_LEAST_0, "betas": FROM_0_BELOW_1, "eps": AT_LEAST_0, "weight_decay": AT_LEAST_0}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        check_hyperparameters("Adam", defaults, self.ranges)
        defaults["betas"] = tuple(betas)
        super().__init__(params, defaults)

    def update(self, param, grad, state, xp):
        beta1, beta2 = self.betas
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)  # m
            state["exp_avg_sq"] = xp.zeros_like(param)  # v
            if self.amsgrad:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        t = state["step"]
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * (grad * grad)
        if self.amsgrad:
            v_max = state["max_exp_avg_sq"]
            xp.maximum(v_max, v, out=v_max)
            v = v_max
        # The bias corrections folded into a step size and a denominator:
        # lr * m_hat / (sqrt(v_hat) + eps) = (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
        step_size = self.lr / (1 - beta1**t)
        denom = xp.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps
        param -= step_size * (m / denom)

"""Gradient clipping, the standard cure for exploding gradients in recurrent nets.

    loss.backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
"""

import math

from ..backend import get_array_module
from ..tensor import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Rescale the gradients of `parameters` in place so that their joint norm is at most about
    `max_norm`; return the norm they had before (a Python float).

    The norm is taken over all gradients together, as if concatenated into one vector:
        ||g|| = (sum over every element of |g|^norm_type)^(1/norm_type)   (max |g| for inf).
    Pascanu, Mikolov & Bengio (2013) state the rule as: if ||g|| >= threshold,
    g <- threshold * g / ||g||. This function follows PyTorch's exact rule instead:
        coef = max_norm / (||g|| + 1e-6);   if coef < 1:  g <- coef * g
    so gradients are scaled only when ||g|| > max_norm - 1e-6, and land a hair below max_norm.
    Parameters whose .grad is None are ignored; with no gradients at all the norm is 0.0.
    With `error_if_nonfinite`, a NaN or infinite norm raises RuntimeError; otherwise an infinite
    norm scales every gradient by 0 (as PyTorch) and a NaN norm, which only a NaN gradient gives,
    leaves the gradients as they are.
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return 0.0
    if norm_type == math.inf:
        total = max((float(get_array_module(g).abs(g).max()) for g in grads if g.size), default=0.0)
    else:
        total = sum(_norm_to_the_power(g, norm_type) for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total {norm_type}-norm of the gradients is {total}; "
            f"pass error_if_nonfinite=False to scale them anyway"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= coef
    return total


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient element into [-clip_value, clip_value], in place (min-char-rnn clips
    to [-5, 5]). Unlike norm clipping this can change the gradient's direction."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads(parameters):
        get_array_module(g).clip(g, -clip_value, clip_value, out=g)


def _grads(parameters):
    """The gradient arrays (not copies) of the parameters that have one."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data for p in parameters if p.grad is not None]


def _norm_to_the_power(g, p):
    """sum |g|^p, as a float; the 2-norm uses a dot product, which is exact enough and fast."""
    xp = get_array_module(g)
    if p == 2.0:
        flat = g.reshape(-1)
        return float(xp.dot(flat, flat))
    return float((xp.abs(g) ** p).sum())

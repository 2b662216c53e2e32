"""The one broadcasting rule every binary op's backward shares."""


def unbroadcast(grad, shape):
    """Sum `grad` back to an input's `shape`, undoing NumPy broadcasting.

    If y = f(a, b) broadcast a of shape (H,) to (B, H), each a_j fed B outputs, so
    dL/da_j = sum_b dL/dy_bj: sum over the axes broadcasting added or stretched.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    return grad.sum(axis=axes).reshape(shape)

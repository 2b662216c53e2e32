"""gradcheck: the tape's gradients against central finite differences, in float64."""

import numpy as np

from ..autograd import no_grad, run_backward
from ..backend import get_array_module
from ..errors import DTypeError, GradcheckError
from ..tensor import Tensor


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check the gradients of `fn(*inputs)` with respect to every input that requires grad.

    With a random upstream gradient v (one per output), the tape gives g = J^T v; central
    differences give, for each input element x_k,
        g_k ~ (v . f(x + eps e_k) - v . f(x - eps e_k)) / (2 eps).
    A random v (not just sum()) catches backwards that are wrong only in some directions.
    Elements pass when |tape - numeric| <= atol + rtol * |numeric|.

    Returns True, or raises GradcheckError naming the input, the worst element and both values.
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise GradcheckError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise DTypeError(
                f"gradcheck: input {_label(inputs, i)} is {inputs[i].dtype}; use float64 "
                f"(dtype='float64' or .double()): float32 round-off swamps central differences"
            )

    outputs = _as_tuple(fn(*inputs))
    rng = np.random.default_rng(seed)
    upstream = []
    for out in outputs:
        xp = get_array_module(out.data)
        upstream.append(xp.asarray(rng.standard_normal(out.shape), dtype=out.dtype))

    # The tape: J^T v for every checked input, computed with fresh .grad fields.
    saved_grads = [inputs[i].grad for i in checked]
    for i in checked:
        inputs[i].grad = None
    live = [(o, v) for o, v in zip(outputs, upstream) if o.requires_grad]
    if live:
        run_backward([o for o, _ in live], [v for _, v in live])
    analytic = []
    for i in checked:
        g = inputs[i].grad
        analytic.append(np.zeros(inputs[i].shape) if g is None else g.numpy().astype(np.float64))
        inputs[i].grad = saved_grads[checked.index(i)]

    def objective():
        with no_grad():
            outs = _as_tuple(fn(*inputs))
        return sum(float((o.data * v).sum()) for o, v in zip(outs, upstream))

    for i, tape in zip(checked, analytic):
        numeric = _central_differences(objective, inputs[i].data, eps)
        error = np.abs(tape - numeric)
        allowed = atol + rtol * np.abs(numeric)
        if np.any(error > allowed) or not np.all(np.isfinite(tape)):
            worst = np.unravel_index(np.argmax(error - allowed), error.shape) if error.ndim else ()
            raise GradcheckError(
                f"gradcheck: gradient of input {_label(inputs, i)} (shape {inputs[i].shape}) is wrong; "
                f"worst element {tuple(int(k) for k in worst)}: tape {float(tape[worst])!r}, "
                f"finite differences {float(numeric[worst])!r} (|diff| {error[worst]:.3g} > "
                f"atol + rtol*|numeric| = {allowed[worst]:.3g})"
            )
    return True


def _central_differences(objective, array, eps):
    """d objective / d array, one element at a time, perturbing `array` in place and restoring it."""
    numeric = np.zeros(array.shape)
    # Index the input itself (never a reshaped copy, which a non-contiguous array would give).
    for index in np.ndindex(*array.shape):
        original = array[index].item()
        array[index] = original + eps
        plus = objective()
        array[index] = original - eps
        minus = objective()
        array[index] = original
        numeric[index] = (plus - minus) / (2 * eps)
    return numeric


def _as_tuple(outputs):
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def _label(inputs, i):
    name = getattr(inputs[i], "name", None)
    return f"{i} ({name!r})" if name else str(i)

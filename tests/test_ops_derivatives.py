"""Each elementwise op's backward against its derivative in closed form, in float64, to 1e-12.

Central differences (tests/test_ops_gradcheck.py) need a tolerance near 1e-3 to absorb their own
truncation error, so a backward that is off by 0.1% passes them: tanh's backward multiplied by
1.001 did. Here dL/dx = dL/dy * f'(x) is written out from the calculus (tanh' = 1 - tanh^2,
sigmoid' = s (1 - s), ...) and compared at the rounding level. gradcheck stays the test for
compositions; this one pins each op down.
"""

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F

RTOL = 1e-12


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.3, 3.0, shape)


def nonzero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2.0, shape)


# (id, the op on a Tensor, f'(x) in closed form, how x is drawn)
UNARY = [
    ("tanh", lambda x: x.tanh(), lambda x: 1.0 - np.tanh(x) ** 2, normal),
    ("tanh_functional", F.tanh, lambda x: 1.0 - np.tanh(x) ** 2, normal),
    ("sigmoid", lambda x: x.sigmoid(), lambda x: sigmoid(x) * (1.0 - sigmoid(x)), normal),
    ("sigmoid_saturated", lambda x: x.sigmoid(), lambda x: sigmoid(x) * (1.0 - sigmoid(x)),
     lambda rng, shape: rng.uniform(-30.0, 30.0, shape)),
    ("exp", lambda x: x.exp(), np.exp, normal),
    ("log", lambda x: x.log(), lambda x: 1.0 / x, positive),
    ("sqrt", lambda x: x.sqrt(), lambda x: 0.5 / np.sqrt(x), positive),
    ("relu", lambda x: x.relu(), lambda x: (x > 0).astype(float), nonzero),
    ("leaky_relu", lambda x: x.leaky_relu(), lambda x: np.where(x > 0, 1.0, 0.01), nonzero),
    ("leaky_relu_0.3", lambda x: x.leaky_relu(0.3), lambda x: np.where(x > 0, 1.0, 0.3), nonzero),
    ("abs", lambda x: x.abs(), np.sign, nonzero),
    ("neg", lambda x: -x, lambda x: -np.ones_like(x), normal),
    ("clip", lambda x: x.clip(-0.5, 0.5), lambda x: ((x >= -0.5) & (x <= 0.5)).astype(float), normal),
    ("pow_2", lambda x: x**2, lambda x: 2.0 * x, normal),
    ("pow_3", lambda x: x**3, lambda x: 3.0 * x**2, normal),
    ("pow_0", lambda x: x**0, np.zeros_like, normal),
    ("pow_1", lambda x: x**1, np.ones_like, normal),
    ("pow_half", lambda x: x**0.5, lambda x: 0.5 * x**-0.5, positive),
    ("pow_minus_1", lambda x: x**-1, lambda x: -1.0 / x**2, positive),
    ("pow_minus_2_5", lambda x: x**-2.5, lambda x: -2.5 * x**-3.5, positive),
    ("scalar_to_the_x", lambda x: 3.0**x, lambda x: 3.0**x * np.log(3.0), normal),
    ("mul_by_constant", lambda x: x * 1.5, lambda x: np.full_like(x, 1.5), normal),
    ("div_by_constant", lambda x: x / 4.0, lambda x: np.full_like(x, 0.25), normal),
    ("constant_over_x", lambda x: 2.0 / x, lambda x: -2.0 / x**2, nonzero),
    ("constant_minus_x", lambda x: 1.0 - x, lambda x: -np.ones_like(x), normal),
]


@pytest.mark.parametrize("case", UNARY, ids=[c[0] for c in UNARY])
def test_unary_derivative_in_closed_form(backend, rng, case):
    _, op, derivative, draw = case
    x = draw(rng, (4, 5))
    upstream = rng.standard_normal(x.shape)
    t = tg.Tensor(x, requires_grad=True, backend=backend)
    op(t).backward(upstream)
    np.testing.assert_allclose(t.grad.numpy(), upstream * derivative(x), rtol=RTOL, atol=0)


def _sum_to(g, shape):
    """Sum a gradient of the broadcast shape back to `shape` (written independently of the tape)."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


# (id, op, (dy/da, dy/db) in closed form, how a and b are drawn)
BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: (np.ones_like(a * b), np.ones_like(a * b)), normal, normal),
    ("sub", lambda a, b: a - b, lambda a, b: (np.ones_like(a * b), -np.ones_like(a * b)), normal, normal),
    ("mul", lambda a, b: a * b, lambda a, b: (b + 0 * a, a + 0 * b), normal, normal),
    ("div", lambda a, b: a / b, lambda a, b: (1.0 / b + 0 * a, -a / b**2), normal, nonzero),
    ("pow", lambda a, b: a**b, lambda a, b: (b * a ** (b - 1), a**b * np.log(a)), positive, normal),
    ("maximum", tg.maximum, lambda a, b: ((a > b) + 0.0, (b > a) + 0.0), normal, normal),
    ("minimum", tg.minimum, lambda a, b: ((a < b) + 0.0, (b < a) + 0.0), normal, normal),
    ("where", lambda a, b: tg.where(CONDITION, a, b), lambda a, b: (CONDITION + 0 * a * b, ~CONDITION + 0 * a * b),
     normal, normal),
]
CONDITION = np.array([True, False, False, True, True])


@pytest.mark.parametrize("shapes", [((4, 5), (4, 5)), ((4, 5), (5,)), ((4, 1), (1, 5))], ids=["same", "BH_H", "B1_1H"])
@pytest.mark.parametrize("case", BINARY, ids=[c[0] for c in BINARY])
def test_binary_derivatives_in_closed_form(backend, rng, case, shapes):
    _, op, derivatives, draw_a, draw_b = case
    a, b = draw_a(rng, shapes[0]), draw_b(rng, shapes[1])
    da, db = derivatives(a, b)
    upstream = rng.standard_normal(np.broadcast_shapes(a.shape, b.shape, CONDITION.shape if case[0] == "where" else ()))
    ta = tg.Tensor(a, requires_grad=True, backend=backend)
    tb = tg.Tensor(b, requires_grad=True, backend=backend)
    op(ta, tb).backward(upstream)
    np.testing.assert_allclose(ta.grad.numpy(), _sum_to(upstream * da, a.shape), rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(tb.grad.numpy(), _sum_to(upstream * db, b.shape), rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (1, False), (-1, True), ((0, 2), False)])
def test_reduction_derivatives_in_closed_form(backend, rng, axis, keepdims):
    """sum: 1;  mean: 1/n;  var: 2 (x - mean) / (n - correction)."""
    x = normal(rng, (3, 4, 5))
    axes = tuple(range(3)) if axis is None else (axis,) if isinstance(axis, int) else axis
    n = int(np.prod([x.shape[i] for i in axes]))
    out_shape = np.sum(x, axis=axis, keepdims=keepdims).shape
    upstream = rng.standard_normal(out_shape)
    spread = np.broadcast_to(upstream.reshape(np.sum(x, axis=axis, keepdims=True).shape), x.shape)
    centered = x - x.mean(axis=axis, keepdims=True)
    for op, derivative in [
        (lambda t: t.sum(axis, keepdims), np.ones_like(x)),
        (lambda t: t.mean(axis, keepdims), np.full_like(x, 1.0 / n)),
        (lambda t: t.var(axis, keepdims), 2.0 * centered / (n - 1)),
        (lambda t: t.var(axis, keepdims, correction=0), 2.0 * centered / n),
    ]:
        t = tg.Tensor(x, requires_grad=True, backend=backend)
        op(t).backward(upstream)
        np.testing.assert_allclose(t.grad.numpy(), spread * derivative, rtol=RTOL, atol=1e-15)

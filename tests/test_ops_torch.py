"""The ops against PyTorch: forward values and input gradients, for a random upstream gradient, in
float64 at a tight tolerance. Includes the points where an op has a kink or a pole (abs at 0, clip
at its bounds, maximum on ties, x ** p at 0): there the derivative is a convention, and the
convention is PyTorch's.
"""

import numpy as np
import pytest
import torch

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F


def assert_matches_torch(ours, theirs, arrays, rng, backend="numpy", differentiable=None):
    """Run `ours` on Tensors and `theirs` on torch tensors made from the same float64 `arrays`;
    compare the outputs, then the gradients of every input for one random upstream gradient."""
    differentiable = differentiable or [True] * len(arrays)
    tensors = [tg.Tensor(a, requires_grad=d, backend=backend) for a, d in zip(arrays, differentiable)]
    torch_tensors = [torch.tensor(a, requires_grad=d) for a, d in zip(arrays, differentiable)]
    out = ours(*tensors)
    expected = theirs(*torch_tensors)
    assert out.shape == tuple(expected.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-13, atol=1e-15)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for t, tt in zip(tensors, torch_tensors):
        if tt.requires_grad:
            np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-13, atol=1e-15)


def normal(rng, *shape):
    return rng.standard_normal(shape)


# ----------------------------------------------------------------------------------------------
# sqrt and var


def test_sqrt(backend, rng):
    x = rng.uniform(0.1, 3.0, (3, 4))
    assert_matches_torch(lambda t: t.sqrt(), torch.sqrt, [x], rng, backend)
    assert_matches_torch(F.sqrt, torch.sqrt, [x], rng, backend)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # NumPy on the infinite slopes
def test_sqrt_at_zero_has_an_infinite_slope_as_in_torch(rng):
    assert_matches_torch(lambda t: t.sqrt(), torch.sqrt, [np.array([0.0, 1.0, 4.0])], rng)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var(backend, rng, axis, keepdims, correction):
    x = normal(rng, 3, 4, 5)
    assert_matches_torch(
        lambda t: t.var(axis, keepdims, correction=correction),
        lambda t: torch.var(t, dim=axis, keepdim=keepdims, correction=correction),
        [x], rng, backend,
    )


def test_var_defaults_follow_torch(rng):
    """No correction given: the unbiased variance (correction=1), as torch.var."""
    x = normal(rng, 4, 6)
    assert_matches_torch(lambda t: t.var(), torch.var, [x], rng)
    assert_matches_torch(lambda t: F.var(t, 1), lambda t: torch.var(t, 1), [x], rng)
    assert_matches_torch(lambda t: F.var(t, -1, True, correction=0),
                         lambda t: torch.var(t, -1, keepdim=True, correction=0), [x], rng)


def test_var_of_broadcast_operands(rng):
    """The population variance over the units of each example, as the normalized LSTM takes it,
    of a sum that broadcast a (B, 1) and an (H,) operand."""
    a, b = normal(rng, 3, 1), normal(rng, 5)
    assert_matches_torch(lambda a, b: (a * b).var(axis=-1, keepdims=True, correction=0),
                         lambda a, b: (a * b).var(dim=-1, keepdim=True, correction=0), [a, b], rng)


def test_var_without_degrees_of_freedom_warns_and_gives_nan_as_torch():
    x = tg.Tensor(np.array([2.0]), requires_grad=True)
    with pytest.warns(RuntimeWarning, match=r"var: 1 element\(s\).*correction=1"):
        y = x.var()
    assert np.isnan(y.item())
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert torch.isnan(torch.tensor([2.0]).var())


@pytest.mark.parametrize("correction,error", [(-1, ValueError), ("1", TypeError), (True, TypeError)])
def test_var_refuses_a_bad_correction(correction, error):
    with pytest.raises(error, match="var: correction"):
        tg.Tensor(np.ones(3)).var(correction=correction)


# ----------------------------------------------------------------------------------------------
# abs, leaky_relu, clip: away from the kinks and at them


def test_abs(backend, rng):
    x = np.array([-2.0, -0.5, 0.0, -0.0, 0.3, 1.7])  # abs'(0) = 0, as torch.abs
    assert_matches_torch(lambda t: t.abs(), torch.abs, [x], rng, backend)
    assert_matches_torch(F.abs, torch.abs, [normal(rng, 3, 4)], rng, backend)


@pytest.mark.parametrize("slope", [0.01, 0.2, -0.5])
def test_leaky_relu(backend, rng, slope):
    x = np.array([-2.0, -0.1, 0.0, 0.1, 3.0])  # at 0 the slope is negative_slope, as in torch
    assert_matches_torch(lambda t: t.leaky_relu(slope),
                         lambda t: torch.nn.functional.leaky_relu(t, slope), [x], rng, backend)
    assert_matches_torch(lambda t: F.leaky_relu(t, slope),
                         lambda t: torch.nn.functional.leaky_relu(t, slope), [normal(rng, 3, 4)], rng, backend)


def test_leaky_relu_default_slope_is_torchs(rng):
    x = normal(rng, 3, 4)
    assert_matches_torch(lambda t: t.leaky_relu(), torch.nn.functional.leaky_relu, [x], rng)


@pytest.mark.parametrize("low,high", [(-0.5, 0.5), (-1.0, None), (None, 1.0), (0.5, -0.5), (0, 1)])
def test_clip(backend, rng, low, high):
    # Exactly at the bounds the gradient passes, as in torch.clamp; with low > high all is `high`.
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 3.0])
    assert_matches_torch(lambda t: t.clip(low, high), lambda t: torch.clamp(t, low, high), [x], rng, backend)
    assert_matches_torch(lambda t: F.clip(t, low, high), lambda t: t.clip(low, high), [normal(rng, 3, 4)], rng, backend)


# ----------------------------------------------------------------------------------------------
# maximum, minimum, where: with broadcasting, and on ties


@pytest.mark.parametrize("ours,theirs", [(tg.maximum, torch.maximum), (tg.minimum, torch.minimum),
                                         (F.maximum, torch.maximum), (F.minimum, torch.minimum)])
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((), (2, 3))])
def test_maximum_minimum(backend, rng, ours, theirs, shapes):
    a, b = normal(rng, *shapes[0]), normal(rng, *shapes[1])
    assert_matches_torch(ours, theirs, [a, b], rng, backend)


@pytest.mark.parametrize("ours,theirs", [(tg.maximum, torch.maximum), (tg.minimum, torch.minimum)])
def test_maximum_minimum_split_the_gradient_on_ties(backend, rng, ours, theirs):
    a = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]])
    b = np.array([1.0, 1.0, 3.0])  # ties in columns 0 and 2 of row 0, broadcast over rows
    assert_matches_torch(ours, theirs, [a, b], rng, backend)
    x = tg.Tensor(np.array([2.0, 2.0]), requires_grad=True)
    ours(x, x).sum().backward()  # the same tensor on both sides: the two halves add up to 1
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_maximum_with_a_python_number_on_either_side(rng):
    x = np.array([-1.0, 0.0, 0.5])
    zero = torch.tensor(0.0, dtype=torch.float64)  # a tie at x = 0: half the gradient, as torch.maximum
    assert_matches_torch(lambda t: tg.maximum(t, 0.0), lambda t: torch.maximum(t, zero), [x], rng)
    assert_matches_torch(lambda t: tg.minimum(0.0, t), lambda t: torch.minimum(zero, t), [x], rng)
    assert tg.maximum(tg.Tensor([1.0, 2.0]), 1.5).dtype == np.float32  # the number takes the tensor's dtype


@pytest.mark.parametrize("cond_shape,a_shape,b_shape", [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), (3, 4)),
                                                        ((4,), (3, 1), ()), ((2, 1, 4), (3, 1), (1, 4))])
def test_where(backend, rng, cond_shape, a_shape, b_shape):
    condition = rng.standard_normal(cond_shape) > 0
    a, b = normal(rng, *a_shape), normal(rng, *b_shape)
    assert_matches_torch(lambda a, b: tg.where(condition, a, b),
                         lambda a, b: torch.where(torch.tensor(condition), a, b), [a, b], rng, backend)
    assert_matches_torch(lambda a, b: F.where(tg.Tensor(condition, backend=a.backend), a, b),
                         lambda a, b: torch.where(torch.tensor(condition), a, b), [a, b], rng, backend)


def test_where_with_a_number(rng):
    condition = np.array([True, False, True])
    x = normal(rng, 3)
    assert_matches_torch(lambda t: tg.where(condition, t, 0.0),
                         lambda t: torch.where(torch.tensor(condition), t, 0.0), [x], rng)
    assert_matches_torch(lambda t: tg.where(condition, -1.0, t),
                         lambda t: torch.where(torch.tensor(condition), -1.0, t), [x], rng)


# ----------------------------------------------------------------------------------------------
# x ** p: constant and Tensor exponents, and the gradient at 0


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # NumPy on the infinite slopes
@pytest.mark.parametrize("p", [0, 1, 2, 0.5, -1, 3, 1.5, -0.5, 0.0, 2.0])
def test_pow_gradient_at_zero_matches_torch(rng, p):
    """(x ** 0).backward() gave nan at x = 0 (0 * 0 ** -1); torch gives 0. Every p is checked at 0."""
    x = np.array([0.0, 0.0, 1.5, 0.7])
    assert_matches_torch(lambda t: t**p, lambda t: t**p, [x], rng)


def test_x_to_the_0_has_gradient_0_everywhere():
    x = tg.Tensor(np.array([0.0, -2.0, 3.0]), requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((4,), ())])
def test_pow_with_a_tensor_exponent(backend, rng, shapes):
    a, b = rng.uniform(0.2, 2.0, shapes[0]), normal(rng, *shapes[1])
    assert_matches_torch(lambda a, b: a**b, lambda a, b: a**b, [a, b], rng, backend)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # NumPy on the infinite slopes
def test_pow_with_a_tensor_exponent_at_zero_and_below(rng):
    """0 ** b: dL/da is 0 for b = 0, dL/db is 0 for b >= 0 (y log a would be 0 * -inf); a negative
    base gives dL/db = nan. All as in torch."""
    a = np.array([0.0, 0.0, 0.0, 0.0, -2.0, 2.0])
    b = np.array([0.0, 1.0, 2.0, -1.0, 2.0, 0.5])
    assert_matches_torch(lambda a, b: a**b, lambda a, b: a**b, [a, b], rng)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # NumPy on the infinite slopes
@pytest.mark.parametrize("base", [2.0, 0.5, 0.0, 3])
def test_number_to_a_tensor_power(backend, rng, base):
    x = np.array([-1.0, 0.0, 0.5, 2.0])
    assert_matches_torch(lambda t: base**t, lambda t: base**t, [x], rng, backend)


def test_pow_with_a_numpy_array_exponent(rng):
    exponents = np.array([0.5, 2.0, -1.0])
    x = rng.uniform(0.5, 2.0, (2, 3))
    assert_matches_torch(lambda t: t**exponents, lambda t: t ** torch.tensor(exponents), [x], rng)

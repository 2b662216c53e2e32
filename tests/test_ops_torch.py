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

"""Gradient clipping against torch.nn.utils: the returned norm and the gradients after clipping."""

import math

import numpy as np
import pytest
import torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn

SHAPES = [(3, 4), (4,), (2, 3, 2)]


def _params_with_grads(rng, scale=1.0, backend="numpy"):
    """The same gradients in both frameworks, float64."""
    grads = [scale * rng.standard_normal(s) for s in SHAPES]
    ours, theirs = [], []
    for g in grads:
        p = tg.Tensor(np.zeros(g.shape), requires_grad=True, backend=backend)
        p.grad = tg.Tensor(g.copy(), backend=backend)
        ours.append(p)
        q = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        q.grad = torch.tensor(g)
        theirs.append(q)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3], ids=["clips", "below-threshold"])
def test_clip_grad_norm_matches_torch(rng, norm_type, max_norm):
    ours, theirs = _params_with_grads(rng)
    before = [p.grad.numpy().copy() for p in ours]
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    assert total == pytest.approx(expected.item(), rel=1e-13)
    for p, q, g in zip(ours, theirs, before):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-13, atol=0)
        if max_norm > total:
            np.testing.assert_array_equal(p.grad.numpy(), g)  # a no-op, bit for bit


def test_clip_grad_norm_scales_to_max_norm_and_keeps_direction(rng):
    ours, _ = _params_with_grads(rng, scale=10.0)
    before = np.concatenate([p.grad.numpy().ravel() for p in ours])
    total = nn.utils.clip_grad_norm_(ours, max_norm=1.0)
    after = np.concatenate([p.grad.numpy().ravel() for p in ours])
    assert total == pytest.approx(np.linalg.norm(before), rel=1e-13)
    assert np.linalg.norm(after) == pytest.approx(1.0, abs=1e-5)
    assert np.linalg.norm(after) < 1.0  # PyTorch's +1e-6 lands it a hair below
    np.testing.assert_allclose(after / np.linalg.norm(after), before / np.linalg.norm(before), rtol=1e-12)


def test_clip_grad_norm_on_a_module_with_real_gradients():
    torch.manual_seed(0)
    theirs = torch.nn.Linear(4, 3).double()
    ours = nn.Linear(4, 3).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)) * 5
    (ours(tg.Tensor(x)) ** 2).sum().backward()
    (theirs(torch.tensor(x)) ** 2).sum().backward()
    total = nn.utils.clip_grad_norm_(ours.parameters(), 2.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 2.0)
    assert total == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_ignores_missing_grads_and_takes_a_single_tensor(rng):
    ours, theirs = _params_with_grads(rng)
    ours[1].grad = None
    theirs[1].grad = None
    extra = tg.Tensor(np.zeros(3), requires_grad=True)  # never had a gradient
    total = nn.utils.clip_grad_norm_(ours + [extra], 0.5)
    assert total == pytest.approx(torch.nn.utils.clip_grad_norm_(theirs, 0.5).item(), rel=1e-13)
    assert ours[1].grad is None and extra.grad is None

    single = tg.Tensor(np.zeros(2), requires_grad=True)
    single.grad = tg.Tensor(np.array([3.0, 4.0]))
    assert nn.utils.clip_grad_norm_(single, 1.0) == pytest.approx(5.0, rel=1e-15)
    np.testing.assert_allclose(single.grad.numpy(), np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-15)

    assert nn.utils.clip_grad_norm_([extra], 1.0) == 0.0


def test_clip_grad_norm_nonfinite(rng):
    ours, _ = _params_with_grads(rng)
    ours[0].grad.data[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="inf"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf * 0 in the infinite element gives NaN, as in torch
        assert nn.utils.clip_grad_norm_(ours, 1.0) == math.inf
    np.testing.assert_array_equal(ours[1].grad.numpy(), np.zeros(SHAPES[1]))  # scaled by 0, as torch


def test_clip_grad_norm_float32_stays_float32_on_every_backend(backend, rng):
    ours, _ = _params_with_grads(rng, backend=backend)
    for p in ours:
        p.data = p.data.astype(np.float32)
        p.grad.data = p.grad.data.astype(np.float32)
    expected = np.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum()) for p in ours))
    total = nn.utils.clip_grad_norm_(ours, 0.5)
    assert total == pytest.approx(expected, rel=1e-5)
    for p in ours:
        assert p.grad.dtype == np.float32 and p.grad.backend == backend
    after = np.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum()) for p in ours))
    assert after == pytest.approx(0.5, rel=1e-5)


@pytest.mark.parametrize("clip_value", [0.3, 5.0])
def test_clip_grad_value_matches_torch(rng, clip_value):
    ours, theirs = _params_with_grads(rng, scale=2.0)
    assert nn.utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
        assert np.abs(p.grad.numpy()).max() <= clip_value


def test_clip_grad_value_in_place_on_every_backend(backend):
    p = tg.Tensor(np.zeros(4), requires_grad=True, backend=backend)
    p.grad = tg.Tensor(np.array([-7.0, -1.0, 2.0, 9.0]), backend=backend)
    array = p.grad.data
    nn.utils.clip_grad_value_([p], 5)
    assert p.grad.data is array and p.grad.backend == backend
    np.testing.assert_array_equal(p.grad.numpy(), [-5.0, -1.0, 2.0, 5.0])
    with pytest.raises(ValueError, match="clip_value"):
        nn.utils.clip_grad_value_([p], -1.0)


@pytest.mark.parametrize("norm_type", [math.inf, 1.0, 3.0])
@pytest.mark.parametrize("max_norm", [1.0, 100.0], ids=["clips", "below-threshold"])
def test_clip_grad_norm_when_the_largest_magnitude_is_negative(norm_type, max_norm):
    # The largest |g| (-5) is negative and larger than the largest g (3): max(g) instead of
    # max(|g|), or sum(g^p) instead of sum(|g|^p), gives another norm and another scale.
    grads = [np.array([[-5.0, 1.0], [0.5, -2.0]]), np.array([3.0, -0.25]), np.array([-4.5])]
    ours, theirs = [], []
    for g in grads:
        p = tg.Tensor(np.zeros(g.shape), requires_grad=True)
        p.grad = tg.Tensor(g.copy())
        ours.append(p)
        q = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        q.grad = torch.tensor(g)
        theirs.append(q)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert total == pytest.approx(expected.item(), rel=1e-13)
    if norm_type == math.inf:
        assert total == 5.0
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-13, atol=0)

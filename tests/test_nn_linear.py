"""nn.Linear: PyTorch's layout, init and results; gradients by finite differences."""

import math

import numpy as np
import pytest
import torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.errors import ShapeError


def _pair(in_features, out_features, bias=True):
    """Our Linear and torch's, float64, with identical (torch-initialised) weights."""
    theirs = torch.nn.Linear(in_features, out_features, bias=bias).double()
    ours = nn.Linear(in_features, out_features, bias=bias).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 3), (3,)], ids=["(N,I)", "(T,N,I)", "(I,)"])
def test_matches_torch_outputs_and_gradients(rng, bias, shape):
    torch.manual_seed(0)
    ours, theirs = _pair(3, 4, bias)  # in_features != out_features
    x = rng.standard_normal(shape)
    upstream = rng.standard_normal(shape[:-1] + (4,))

    x_ours = tg.Tensor(x, requires_grad=True)
    y_ours = ours(x_ours)
    y_ours.backward(upstream)

    x_theirs = torch.tensor(x, requires_grad=True)
    y_theirs = theirs(x_theirs)
    y_theirs.backward(torch.tensor(upstream))

    np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-12, atol=1e-13)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(
            getattr(ours, name).grad.numpy(), p.grad.numpy(), rtol=1e-12, atol=1e-13, err_msg=name
        )


@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck(rng, bias):
    layer = nn.Linear(3, 2, bias=bias).double()
    x = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    params = list(layer.parameters())

    def fn(x, *params):
        return layer(x)

    assert tg.gradcheck(fn, [x] + params)


def test_layout_names_and_default_dtype():
    layer = nn.Linear(6, 2)
    assert layer.weight.shape == (2, 6)
    assert layer.bias.shape == (2,)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert layer.weight.requires_grad and layer.weight.name == "weight"
    assert list(nn.Linear(6, 2, bias=False).state_dict()) == ["weight"]
    assert nn.Linear(6, 2, bias=False).bias is None


def test_init_is_uniform_within_one_over_sqrt_in_features():
    np.random.seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = layer.weight.numpy()
    assert np.abs(w).max() <= bound
    # U(-k, k) has standard deviation k / sqrt(3); 120,000 draws pin it to well under 1%.
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.01
    assert abs(w.mean()) < 0.01 * bound
    assert np.abs(layer.bias.numpy()).max() <= bound
    assert layer.bias.numpy().std() > 0.3 * bound  # not a constant


def test_init_repeats_under_numpy_seed():
    np.random.seed(7)
    a = nn.Linear(3, 2).weight.numpy()
    np.random.seed(7)
    b = nn.Linear(3, 2).weight.numpy()
    np.testing.assert_array_equal(a, b)


def test_wrong_input_width_names_the_shapes():
    layer = nn.Linear(3, 4)
    with pytest.raises(ShapeError, match=r"\(2, 5\).*in_features=3"):
        layer(tg.Tensor(np.zeros((2, 5), np.float32)))
    with pytest.raises(ShapeError, match=r"\(\)"):
        layer(tg.Tensor(np.float32(1.0)))


def test_dtype_and_backend_arguments(backend):
    layer = nn.Linear(3, 2, dtype=np.float64, backend=backend)
    assert layer.weight.dtype == np.float64 and layer.weight.backend == backend
    x = tg.Tensor(np.ones((1, 3)), backend=backend)
    y = layer(x)
    assert y.backend == backend
    expected = np.ones((1, 3)) @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="positive"):
        nn.Linear(0, 3)

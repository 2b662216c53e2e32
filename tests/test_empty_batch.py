"""An empty batch (N = 0) runs through every layer and cell as in PyTorch: output (T, 0, D*H),
h_n (num_layers*D, 0, H), and backward gives zero gradients of the parameters' shapes."""

import numpy as np
import pytest
import torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn

I, H, T = 3, 4, 5
CONFIGS = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True),
    dict(batch_first=True),
    dict(num_layers=2, bidirectional=True, batch_first=True, dropout=0.5),
]


def shapes(result):
    if isinstance(result, (tuple, list)):
        return tuple(shapes(r) for r in result)
    return tuple(result.shape)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_empty_batch_shapes_and_backward_match_torch(name, config):
    ours = getattr(nn, name)(I, H, **config).double()
    theirs = getattr(torch.nn, name)(I, H, **config).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x_shape = (0, T, I) if config.get("batch_first") else (T, 0, I)
    x = tg.Tensor(np.zeros(x_shape), requires_grad=True)
    x_torch = torch.zeros(x_shape, dtype=torch.float64, requires_grad=True)

    output, state = ours(x)
    expected_output, expected_state = theirs(x_torch)
    assert shapes((output, state)) == shapes((expected_output, expected_state))

    output.sum().backward()
    expected_output.sum().backward()
    assert x.grad.shape == x_shape
    for (key, p), (key_t, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert key == key_t and p.grad is not None, key
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy(), err_msg=key)  # zeros, of the right shape


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_empty_batch_with_a_given_initial_state(name):
    layer = getattr(nn, name)(I, H, num_layers=2, bidirectional=True)
    h_0 = tg.Tensor(np.zeros((4, 0, H), np.float32))
    hx = (h_0, h_0) if name == "LSTM" else h_0
    output, state = layer(tg.Tensor(np.zeros((T, 0, I), np.float32)), hx)
    assert output.shape == (T, 0, 2 * H)
    assert shapes(state) == (((4, 0, H),) * 2 if name == "LSTM" else (4, 0, H))


@pytest.mark.parametrize("kind", nn.CELL_KINDS)
def test_empty_batch_through_every_cell_kind(kind):
    layer = nn.make_layer(kind, I, H, bidirectional=True)
    x = tg.Tensor(np.zeros((T, 0, I), np.float32), requires_grad=True)
    output, _ = layer(x)
    assert output.shape == (T, 0, 2 * H)
    output.sum().backward()
    for p in layer.parameters():
        assert p.grad.shape == p.shape and not p.grad.numpy().any()
    cell = nn.make_cell(kind, I, H)
    state = cell(tg.Tensor(np.zeros((0, I), np.float32)))
    assert shapes(state)[0] == (0, H) if isinstance(state, tuple) else state.shape == (0, H)

"""Truncated BPTT: detach_state cuts the graph at chunk boundaries; train_tbptt trains over a long
sequence in chunks, and matches the same loop written in PyTorch."""

import numpy as np
import pytest
import torch

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import nn, optim
from tinygrad_rnn.errors import GraphError
from tinygrad_rnn.nn import detach_state, train_tbptt


class TanhRNN(nn.Module):
    """h_t = tanh(W_x x_t + W_h h_{t-1} + b), y_t = V h_t + c, written from Linear layers.
    Conforms to `output, state = model(x_chunk, state)` with time on axis 0."""

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.input_to_hidden = nn.Linear(input_size, hidden_size)
        self.hidden_to_hidden = nn.Linear(hidden_size, hidden_size, bias=False)
        self.hidden_to_output = nn.Linear(hidden_size, output_size)

    def forward(self, x, h=None):
        if h is None:
            h = tg.Tensor(np.zeros((x.shape[1], self.hidden_size), dtype=x.dtype))
        outputs = []
        for t in range(x.shape[0]):
            with tg.time_step(t):
                h = (self.input_to_hidden(x[t]) + self.hidden_to_hidden(h)).tanh()
                outputs.append(self.hidden_to_output(h))
        return tg.stack(outputs, axis=0), h


def _sequence(rng, T=6, N=2, I=3):
    return tg.Tensor(rng.standard_normal((T, N, I)))


# ----------------------------------------------------------------------------------------------
# detach_state


def test_detached_state_lets_no_gradient_into_the_previous_chunk(rng):
    np.random.seed(0)
    model = TanhRNN(3, 4, 1).double()
    x = _sequence(rng)
    h_0 = tg.Tensor(rng.standard_normal((2, 4)), requires_grad=True)  # a leaf before chunk 1

    _, h = model(x[:3], h_0)
    out, _ = model(x[3:], detach_state(h))
    out.sum().backward()
    assert h_0.grad is None  # the cut held: nothing reached chunk 1's start
    assert model.hidden_to_hidden.weight.grad is not None  # chunk 2 itself did backpropagate

    # The control: without the cut, the same gradient does reach h_0.
    _, h = model(x[:3], h_0)
    out, _ = model(x[3:], h)
    out.sum().backward()
    assert h_0.grad is not None and np.abs(h_0.grad.numpy()).max() > 0


def test_second_chunk_without_detach_hits_the_released_graph(rng):
    """Why the cut is needed: chunk 1's backward freed its graph, which chunk 2's state points into."""
    np.random.seed(0)
    model = TanhRNN(3, 4, 1).double()
    x = _sequence(rng)
    out, h = model(x[:3])
    out.sum().backward()
    out, h = model(x[3:], h)
    with pytest.raises(GraphError):
        out.sum().backward()


def test_detach_state_keeps_values_and_structure(rng):
    h = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True) * 2
    c = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True) * 3
    assert detach_state(None) is None

    h_d = detach_state(h)
    assert h_d.is_leaf and not h_d.requires_grad
    np.testing.assert_array_equal(h_d.numpy(), h.numpy())

    pair = detach_state((h, c))
    assert type(pair) is tuple and len(pair) == 2
    assert all(s.is_leaf and not s.requires_grad for s in pair)
    np.testing.assert_array_equal(pair[1].numpy(), c.numpy())

    per_layer = detach_state([(h, c), h, None])
    assert type(per_layer) is list and per_layer[2] is None
    assert per_layer[0][0].is_leaf and per_layer[1].is_leaf
    assert h.grad_fn is not None  # the original is untouched

    with pytest.raises(TypeError, match="dict"):
        detach_state({"h": h})


# ----------------------------------------------------------------------------------------------
# train_tbptt


class GradRecorder:
    """An optimizer stand-in that records the gradients it sees (so they can be checked) and
    does not move the parameters."""

    def __init__(self, params):
        self.params = list(params)
        self.seen = []

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.seen.append([p.grad.numpy().copy() for p in self.params])


def test_each_chunk_backpropagates_exactly_k_steps_from_the_carried_state(rng):
    np.random.seed(1)
    model = TanhRNN(3, 4, 2).double()
    x = _sequence(rng, T=7)
    y = rng.standard_normal((7, 2, 2))
    recorder = GradRecorder(model.parameters())
    losses, final = train_tbptt(model, x, y, F.mse_loss, recorder, k=3)
    assert len(losses) == 3 == len(recorder.seen)  # chunks of 3, 3 and 1 steps

    # By hand: the state at each chunk start from a no-grad run, then that chunk alone.
    h = None
    for i, start in enumerate(range(0, 7, 3)):
        with tg.no_grad():
            _, h_end = model(x[start : start + 3], h)
        model.zero_grad()
        out, _ = model(x[start : start + 3], h)
        loss = F.mse_loss(out, tg.Tensor(y[start : start + 3]))
        loss.backward()
        assert losses[i] == pytest.approx(loss.item(), rel=1e-14)
        for got, p in zip(recorder.seen[i], model.parameters()):
            np.testing.assert_allclose(got, p.grad.numpy(), rtol=1e-12, atol=1e-14)
        h = h_end
    np.testing.assert_allclose(final.numpy(), h.numpy(), rtol=1e-12)
    assert final.is_leaf and not final.requires_grad


def test_loss_falls_on_a_task_that_needs_memory_across_chunks():
    """Echo: y_t = x_{t-1}, over one long sequence cut into chunks of 5 steps; the previous input
    sits in the carried state whenever t starts a chunk."""
    np.random.seed(0)
    rng = np.random.default_rng(0)
    model = TanhRNN(1, 8, 1).double()
    opt = optim.Adam(model.parameters(), lr=0.02)
    x = rng.uniform(-1, 1, (200, 4, 1))
    y = np.concatenate([np.zeros((1, 4, 1)), x[:-1]], axis=0)
    state = None
    epochs = []
    for _ in range(8):
        losses, state = train_tbptt(model, tg.Tensor(x), tg.Tensor(y), F.mse_loss, opt, k=5, state=state, clip_norm=1.0)
        epochs.append(np.mean(losses))
    assert len(losses) == 40
    assert epochs[-1] < 0.1 * epochs[0], epochs  # from ~1/3 (the variance of x) to near zero


def test_matches_the_same_loop_in_torch_with_nn_lstm():
    """nn.LSTM + Linear head, trained by train_tbptt with SGD and norm clipping, against the same
    truncated-BPTT loop written in PyTorch: per-chunk losses and final weights agree."""
    torch.manual_seed(0)
    rng = np.random.default_rng(3)
    T, N, I, H, k = 11, 3, 2, 5, 4  # k does not divide T
    x = rng.standard_normal((T, N, I))
    y = rng.standard_normal((T, N, 1))

    lstm_t = torch.nn.LSTM(I, H).double()
    head_t = torch.nn.Linear(H, 1).double()

    class Regressor(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(I, H)
            self.head = nn.Linear(H, 1)

        def forward(self, x, state):
            out, state = self.lstm(x, state)
            return self.head(out), state

    ours = Regressor().double()
    ours.lstm.load_state_dict({k_: v.detach().numpy() for k_, v in lstm_t.state_dict().items()})
    ours.head.load_state_dict({k_: v.detach().numpy() for k_, v in head_t.state_dict().items()})

    opt = optim.SGD(ours.parameters(), lr=0.3, momentum=0.5)
    losses, (h_n, c_n) = train_tbptt(ours, tg.Tensor(x), y, F.mse_loss, opt, k=k, clip_norm=0.05)

    params_t = list(lstm_t.parameters()) + list(head_t.parameters())
    opt_t = torch.optim.SGD(params_t, lr=0.3, momentum=0.5)
    state, losses_t = None, []
    for start in range(0, T, k):
        opt_t.zero_grad()
        out, state = lstm_t(torch.tensor(x[start : start + k]), state)
        loss = torch.nn.functional.mse_loss(head_t(out), torch.tensor(y[start : start + k]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params_t, 0.05)
        opt_t.step()
        state = tuple(s.detach() for s in state)
        losses_t.append(loss.item())

    np.testing.assert_allclose(losses, losses_t, rtol=1e-10)
    np.testing.assert_allclose(h_n.numpy(), state[0].numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c_n.numpy(), state[1].numpy(), rtol=1e-10, atol=1e-12)
    for name, p in lstm_t.named_parameters():
        np.testing.assert_allclose(
            getattr(ours.lstm, name).numpy(), p.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name
        )
    np.testing.assert_allclose(ours.head.weight.numpy(), head_t.weight.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_works_with_nn_rnn_and_numpy_inputs(rng):
    np.random.seed(2)
    rnn = nn.RNN(3, 4).double()
    x = rng.standard_normal((9, 2, 3))  # a plain array: wrapped into a Tensor
    opt = optim.SGD(rnn.parameters(), lr=0.1)
    losses, h_n = train_tbptt(rnn, x, np.zeros((9, 2, 4)), F.mse_loss, opt, k=4)
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert h_n.shape == (1, 2, 4) and h_n.is_leaf


def test_bad_arguments_raise(rng):
    model = TanhRNN(3, 4, 1).double()
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = _sequence(rng)
    with pytest.raises(ValueError, match="positive int"):
        train_tbptt(model, x, np.zeros((6, 2, 1)), F.mse_loss, opt, k=0)
    with pytest.raises(ValueError, match="6 time steps.*5"):
        train_tbptt(model, x, np.zeros((5, 2, 1)), F.mse_loss, opt, k=2)

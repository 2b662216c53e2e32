"""RNNCell, LSTMCell, GRUCell against PyTorch's cells: identical weights, float64, unrolled over
several steps, a random upstream gradient on every step's output; outputs and the gradients of
every parameter, of x and of the initial state must agree to 1e-9 relative error."""

import numpy as np
import pytest
import torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn

I, H, N, STEPS = 3, 5, 4, 4  # input_size != hidden_size, so a transposed weight cannot pass


def rel_err(a, b):
    """max|a - b| / max|b| (b is PyTorch's value)."""
    a = a.numpy() if hasattr(a, "numpy") and not isinstance(a, np.ndarray) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    return np.abs(np.asarray(a) - b).max() / max(np.abs(b).max(), 1e-300)


def paired_cells(kind, bias=True):
    torch_class = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[kind]
    ours_class = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind]
    theirs = torch_class(I, H, bias=bias).double()
    ours = ours_class(I, H, bias=bias).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def unroll_both(kind, ours, theirs, rng, batch_shape=(N,), with_state=True):
    """Run both cells over STEPS inputs; return (our loss, torch loss, our leaves, torch leaves)."""
    xs = [rng.standard_normal(batch_shape + (I,)) for _ in range(STEPS)]
    h0 = rng.standard_normal(batch_shape + (H,))
    c0 = rng.standard_normal(batch_shape + (H,))
    upstream_h = [rng.standard_normal(batch_shape + (H,)) for _ in range(STEPS)]
    upstream_c = rng.standard_normal(batch_shape + (H,))

    our_x = [tg.Tensor(x, requires_grad=True) for x in xs]
    our_h0, our_c0 = tg.Tensor(h0, requires_grad=True), tg.Tensor(c0, requires_grad=True)
    t_x = [torch.tensor(x, requires_grad=True) for x in xs]
    t_h0, t_c0 = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)

    def run(cell, x_list, h, c, as_tensor):
        state = ((h, c) if kind == "lstm" else h) if with_state else None
        loss = 0
        outs = []
        for x, g in zip(x_list, upstream_h):
            state = cell(x, state)
            h_t = state[0] if kind == "lstm" else state
            outs.append(h_t)
            loss = loss + (h_t * as_tensor(g)).sum()
        if kind == "lstm":
            loss = loss + (state[1] * as_tensor(upstream_c)).sum()
        return loss, outs

    our_loss, our_outs = run(ours, our_x, our_h0, our_c0, tg.Tensor)
    t_loss, t_outs = run(theirs, t_x, t_h0, t_c0, torch.tensor)
    our_loss.backward()
    t_loss.backward()
    return our_outs, t_outs, (our_x, our_h0, our_c0), (t_x, t_h0, t_c0)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("with_state", [True, False])
def test_cell_matches_pytorch_over_several_steps(kind, with_state, rng):
    ours, theirs = paired_cells(kind)
    our_outs, t_outs, our_leaves, t_leaves = unroll_both(kind, ours, theirs, rng, with_state=with_state)
    for a, b in zip(our_outs, t_outs):
        assert rel_err(a, b) < 1e-9
    for (name, p), (t_name, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == t_name
        assert rel_err(p.grad, tp.grad) < 1e-9, name
    our_x, our_h0, our_c0 = our_leaves
    t_x, t_h0, t_c0 = t_leaves
    for a, b in zip(our_x, t_x):
        assert rel_err(a.grad, b.grad) < 1e-9
    if with_state:
        assert rel_err(our_h0.grad, t_h0.grad) < 1e-9
        if kind == "lstm":
            assert rel_err(our_c0.grad, t_c0.grad) < 1e-9


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cell_without_bias_matches_pytorch(kind, rng):
    ours, theirs = paired_cells(kind, bias=False)
    assert [n for n, _ in ours.named_parameters()] == ["weight_ih", "weight_hh"]
    our_outs, t_outs, _, _ = unroll_both(kind, ours, theirs, rng)
    assert rel_err(our_outs[-1], t_outs[-1]) < 1e-9
    assert rel_err(ours.weight_hh.grad, theirs.weight_hh.grad) < 1e-9


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_unbatched_cell_matches_pytorch(kind, rng):
    ours, theirs = paired_cells(kind)
    our_outs, t_outs, our_leaves, t_leaves = unroll_both(kind, ours, theirs, rng, batch_shape=())
    assert our_outs[-1].shape == (H,)
    assert rel_err(our_outs[-1], t_outs[-1]) < 1e-9
    assert rel_err(our_leaves[0][0].grad, t_leaves[0][0].grad) < 1e-9
    assert rel_err(ours.weight_ih.grad, theirs.weight_ih.grad) < 1e-9


def test_rnn_relu_cell_matches_pytorch(rng):
    theirs = torch.nn.RNNCell(I, H, nonlinearity="relu").double()
    ours = nn.RNNCell(I, H, nonlinearity="relu").double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    unroll_both("rnn", ours, theirs, rng)
    assert rel_err(ours.weight_hh.grad, theirs.weight_hh.grad) < 1e-9


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cell_float32_matches_pytorch(kind, rng):
    torch_class = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[kind]
    ours_class = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind]
    theirs, ours = torch_class(I, H), ours_class(I, H)
    assert ours.weight_ih.dtype == np.float32  # PyTorch's default dtype
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((N, I)).astype(np.float32)
    out = ours(tg.Tensor(x))
    t_out = theirs(torch.tensor(x))
    a, b = (out[0], t_out[0]) if kind == "lstm" else (out, t_out)
    assert a.dtype == np.float32
    assert rel_err(a, b) < 1e-5


def test_parameter_shapes_follow_pytorch():
    cells = {
        "rnn": (nn.RNNCell(I, H), torch.nn.RNNCell(I, H)),
        "lstm": (nn.LSTMCell(I, H), torch.nn.LSTMCell(I, H)),
        "gru": (nn.GRUCell(I, H), torch.nn.GRUCell(I, H)),
    }
    for ours, theirs in cells.values():
        ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
        theirs_shapes = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert ours_shapes == theirs_shapes


def test_initialisation_is_uniform_within_one_over_sqrt_hidden():
    np.random.seed(0)
    cell = nn.LSTMCell(7, 100)
    bound = 1 / np.sqrt(100)
    for _, p in cell.named_parameters():
        values = p.numpy()
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.95 * bound  # the whole range is used, not a narrower one
        assert abs(values.mean()) < 0.1 * bound


def test_lstm_gates_and_states_are_named_tensors(rng):
    cell = nn.LSTMCell(I, H).double()
    h, c = tg.Tensor(rng.standard_normal((N, H))), tg.Tensor(rng.standard_normal((N, H)))
    x = tg.Tensor(rng.standard_normal((N, I)))
    h_t, c_t = cell(x, (h, c))
    assert (h_t.name, c_t.name) == ("h_t", "c_t")
    # c_t = fc_t + ig_t is one add whose first input is f_t * c_{t-1}
    assert c_t.grad_fn.name == "add"
    fc_t, ig_t = c_t.grad_fn.inputs
    assert (fc_t.name, ig_t.name) == ("fc_t", "ig_t")
    f_t, c_prev = fc_t.grad_fn.inputs
    assert f_t.name == "f_t" and c_prev is c
    i_t, g_t = ig_t.grad_fn.inputs
    assert (i_t.name, g_t.name) == ("i_t", "g_t")
    o_t = h_t.grad_fn.inputs[0]
    assert o_t.name == "o_t"
    # and their values are the gates of the equations
    a = x.numpy() @ cell.weight_ih.numpy().T + h.numpy() @ cell.weight_hh.numpy().T
    a = a + cell.bias_ih.numpy() + cell.bias_hh.numpy()
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    np.testing.assert_allclose(f_t.numpy(), sig(a[:, H : 2 * H]), rtol=1e-12)
    np.testing.assert_allclose(g_t.numpy(), np.tanh(a[:, 2 * H : 3 * H]), rtol=1e-12)


def test_gru_and_rnn_name_their_tensors(rng):
    x = tg.Tensor(rng.standard_normal((N, I)))
    h_t = nn.GRUCell(I, H).double()(x)
    assert h_t.name == "h_t"
    names = set()
    stack = [h_t]
    while stack:  # the tensors of this one step, by walking back through the ops
        t = stack.pop()
        names.add(t.name)
        if t.grad_fn is not None:
            stack.extend(t.grad_fn.inputs)
    assert {"r_t", "z_t", "n_t", "h_t"} <= names
    assert nn.RNNCell(I, H).double()(x).name == "h_t"


def test_cell_ops_record_the_time_step(rng):
    cell = nn.LSTMCell(I, H).double()
    state = None
    for t in range(3):
        with tg.time_step(t):
            state = cell(tg.Tensor(rng.standard_normal((N, I))), state)
        assert state[0].step == t and state[1].step == t


def test_missing_state_is_zeros(rng):
    cell = nn.LSTMCell(I, H).double()
    x = tg.Tensor(rng.standard_normal((N, I)))
    h_a, c_a = cell(x)
    zeros = tg.Tensor(np.zeros((N, H)))
    h_b, c_b = cell(x, (zeros, zeros))
    np.testing.assert_array_equal(h_a.numpy(), h_b.numpy())
    np.testing.assert_array_equal(c_a.numpy(), c_b.numpy())


def test_step_fast_path_equals_the_checked_call(rng):
    """What the layers use (hoisted projection + step) is the same function as cell(x, state)."""
    cell = nn.GRUCell(I, H).double()
    xs = tg.Tensor(rng.standard_normal((STEPS, N, I)))
    projected = cell.project_input(xs)
    weights = cell.recurrent_weights()
    h_fast = h_call = None
    for t in range(STEPS):
        h_fast = cell.step(projected[t], cell.initial_state(h_fast, (N,)), weights)
        h_call = cell(xs[t], h_call)
    np.testing.assert_allclose(h_fast.numpy(), h_call.numpy(), rtol=1e-13)


def test_cell_repr_names_its_sizes():
    assert "LSTMCell(3, 5" in repr(nn.LSTMCell(3, 5))
    assert "variant='CIFG'" in repr(nn.LSTMCell(3, 5, variant="cifg"))

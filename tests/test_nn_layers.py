"""RNN, LSTM, GRU layers against PyTorch's: identical weights (loaded from torch's state_dict),
float64, random inputs and a random upstream gradient on the output and the final states;
outputs, h_n/c_n and the gradients of every parameter, of x and of h_0/c_0 to 1e-9."""

import itertools

import numpy as np
import pytest
import torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn

T, N, I, H = 5, 3, 4, 6  # input_size != hidden_size

TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
OURS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def rel_err(a, b):
    """max|a - b| / max|b| (b is PyTorch's value)."""
    a = a.numpy() if not isinstance(a, np.ndarray) else a
    b = b.detach().numpy()
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def paired_layers(kind, **kwargs):
    theirs = TORCH[kind](I, H, **kwargs).double()
    ours = OURS[kind](I, H, **kwargs).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def run_both(kind, ours, theirs, rng, x_shape, state_shape, with_state):
    """Forward both with the same data, backward a random upstream gradient through the output
    and every final state; return our and torch's (outputs, states, leaves)."""
    x = rng.standard_normal(x_shape)
    states = [rng.standard_normal(state_shape) for _ in range(2 if kind == "lstm" else 1)]

    def forward(module, make_leaf):
        x_leaf = make_leaf(x)
        leaves = [make_leaf(s) for s in states] if with_state else []
        if not with_state:
            out, final = module(x_leaf)
        elif kind == "lstm":
            out, final = module(x_leaf, tuple(leaves))
        else:
            out, final = module(x_leaf, leaves[0])
        return out, (list(final) if kind == "lstm" else [final]), [x_leaf] + leaves

    out, finals, leaves = forward(ours, lambda a: tg.Tensor(a, requires_grad=True))
    t_out, t_finals, t_leaves = forward(theirs, lambda a: torch.tensor(a, requires_grad=True))
    assert out.shape == tuple(t_out.shape)
    upstream = [rng.standard_normal(tuple(t.shape)) for t in [t_out] + t_finals]
    loss = sum((o * tg.Tensor(g)).sum() for o, g in zip([out] + finals, upstream))
    t_loss = sum((o * torch.tensor(g)).sum() for o, g in zip([t_out] + t_finals, upstream))
    loss.backward()
    t_loss.backward()
    return (out, finals, leaves), (t_out, t_finals, t_leaves)


def assert_parity(ours, theirs, our_run, torch_run):
    (out, finals, leaves), (t_out, t_finals, t_leaves) = our_run, torch_run
    assert rel_err(out, t_out) < 1e-9
    for a, b in zip(finals, t_finals):
        assert a.shape == tuple(b.shape)
        assert rel_err(a, b) < 1e-9
    for a, b in zip(leaves, t_leaves):
        assert rel_err(a.grad, b.grad) < 1e-9
    ours_params = dict(ours.named_parameters())
    theirs_params = dict(theirs.named_parameters())
    assert list(ours_params) == list(theirs_params)
    for name, tp in theirs_params.items():
        assert rel_err(ours_params[name].grad, tp.grad) < 1e-9, name


CONFIGS = list(itertools.product(["rnn", "lstm", "gru"], [1, 2], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("kind,num_layers,bidirectional,batch_first,with_state", CONFIGS)
def test_layer_matches_pytorch(kind, num_layers, bidirectional, batch_first, with_state, rng):
    ours, theirs = paired_layers(kind, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    D = 2 if bidirectional else 1
    x_shape = (N, T, I) if batch_first else (T, N, I)
    runs = run_both(kind, ours, theirs, rng, x_shape, (num_layers * D, N, H), with_state)
    assert_parity(ours, theirs, *runs)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_unbatched_layer_matches_pytorch(kind, bidirectional, rng):
    ours, theirs = paired_layers(kind, num_layers=2, bidirectional=bidirectional)
    D = 2 if bidirectional else 1
    runs = run_both(kind, ours, theirs, rng, (T, I), (2 * D, H), with_state=True)
    assert runs[0][0].shape == (T, D * H)
    assert_parity(ours, theirs, *runs)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_layer_without_bias_matches_pytorch(kind, rng):
    ours, theirs = paired_layers(kind, num_layers=2, bias=False)
    assert not any("bias" in name for name, _ in ours.named_parameters())
    runs = run_both(kind, ours, theirs, rng, (T, N, I), (2, N, H), with_state=True)
    assert_parity(ours, theirs, *runs)


def test_relu_rnn_matches_pytorch(rng):
    ours, theirs = paired_layers("rnn", num_layers=2, nonlinearity="relu", bidirectional=True)
    runs = run_both("rnn", ours, theirs, rng, (T, N, I), (4, N, H), with_state=True)
    assert_parity(ours, theirs, *runs)


def test_float32_layer_matches_pytorch(rng):
    theirs = torch.nn.LSTM(I, H, num_layers=2)
    ours = nn.LSTM(I, H, num_layers=2)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((T, N, I)).astype(np.float32)
    out, (h_n, c_n) = ours(tg.Tensor(x))
    t_out, (t_h_n, t_c_n) = theirs(torch.tensor(x))
    assert out.dtype == np.float32
    assert rel_err(out, t_out) < 1e-5 and rel_err(c_n, t_c_n) < 1e-5


def test_state_dict_keys_and_order_match_pytorch():
    for kind in ("rnn", "lstm", "gru"):
        ours = OURS[kind](I, H, num_layers=2, bidirectional=True)
        theirs = TORCH[kind](I, H, num_layers=2, bidirectional=True)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for key, value in theirs.state_dict().items():
            assert ours.state_dict()[key].shape == tuple(value.shape), key


def test_cells_hold_the_layers_own_parameters():
    lstm = nn.LSTM(I, H, num_layers=2, bidirectional=True)
    assert len(lstm.cells) == 4
    # cells[layer * D + direction]
    assert lstm.cells[0].weight_ih is lstm.weight_ih_l0
    assert lstm.cells[1].weight_hh is lstm.weight_hh_l0_reverse
    assert lstm.cells[3].bias_hh is lstm.bias_hh_l1_reverse
    assert lstm.cells[2].input_size == 2 * H  # layers after the first take [forward | reverse]
    assert lstm.weight_hh_l1_reverse.name == "weight_hh_l1_reverse"
    # converting the layer converts what its cells compute with
    lstm.double()
    assert lstm.cells[3].weight_ih.dtype == np.float64


def test_variant_layer_equals_a_loop_over_its_cells(rng):
    """A 2-layer bidirectional CIFG-LSTM in one line, checked against the same cells unrolled by hand."""
    lstm = nn.LSTM(I, H, num_layers=2, bidirectional=True, variant="CIFG").double()
    assert "peephole_i_l1_reverse" in dict(lstm.named_parameters())
    assert "weight_ih_l0" in lstm.state_dict() and lstm.weight_ih_l0.shape == (3 * H, I)
    x = rng.standard_normal((T, N, I))
    out, (h_n, c_n) = lstm(tg.Tensor(x))

    layer_input = [tg.Tensor(x[t]) for t in range(T)]
    finals = []
    for layer in range(2):
        per_direction = []
        for direction, order in enumerate([range(T), range(T - 1, -1, -1)]):
            cell = lstm.cells[layer * 2 + direction]
            state, hs = None, [None] * T
            for t in order:
                state = cell(layer_input[t], state)
                hs[t] = state[0]
            per_direction.append(hs)
            finals.append(state)
        layer_input = [tg.cat([per_direction[0][t], per_direction[1][t]], axis=-1) for t in range(T)]
    expected = np.stack([h.numpy() for h in layer_input])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_n.numpy(), np.stack([s[0].numpy() for s in finals]), rtol=1e-12)
    np.testing.assert_allclose(c_n.numpy(), np.stack([s[1].numpy() for s in finals]), rtol=1e-12)


def test_every_step_runs_inside_its_time_step(rng):
    lstm = nn.LSTM(I, H, bidirectional=True).double()
    out, _ = lstm(tg.Tensor(rng.standard_normal((T, N, I)), requires_grad=True))
    forward_stack, reverse_stack = out.grad_fn.inputs  # cat([forward | reverse])
    for stacked in (forward_stack, reverse_stack):
        hs = stacked.grad_fn.inputs
        assert [h.name for h in hs] == ["h_t"] * T
        assert [h.step for h in hs] == list(range(T))  # the true position, also in reverse
        c_t = hs[2].grad_fn.inputs[1].grad_fn.inputs[0]  # h_t = o_t * tanh(c_t)
        assert c_t.name == "c_t" and c_t.step == 2


def test_reverse_direction_final_state_is_its_step_zero(rng):
    gru = nn.GRU(I, H, bidirectional=True).double()
    out, h_n = gru(tg.Tensor(rng.standard_normal((T, N, I))))
    np.testing.assert_array_equal(h_n.numpy()[0], out.numpy()[-1, :, :H])
    np.testing.assert_array_equal(h_n.numpy()[1], out.numpy()[0, :, H:])


def test_dropout_applies_between_layers_only_in_training(rng):
    np.random.seed(3)
    ours, theirs = paired_layers("lstm", num_layers=2, dropout=0.5)
    x = rng.standard_normal((T, N, I))
    ours.eval()
    theirs.eval()
    out, _ = ours(tg.Tensor(x))
    assert rel_err(out, theirs(torch.tensor(x))[0]) < 1e-9  # eval: no dropout at all
    ours.train()
    out_a, (h_a, _) = ours(tg.Tensor(x))
    out_b, (h_b, _) = ours(tg.Tensor(x))
    assert np.abs(out_a.numpy() - out_b.numpy()).max() > 1e-3  # a fresh mask each call
    # the first layer's final state sees no dropout; the last layer's input does
    np.testing.assert_array_equal(h_a.numpy()[0], h_b.numpy()[0])
    one_layer = nn.LSTM(I, H, num_layers=1, dropout=0.5).double()
    out_c, _ = one_layer(tg.Tensor(x))
    out_d, _ = one_layer(tg.Tensor(x))
    np.testing.assert_array_equal(out_c.numpy(), out_d.numpy())  # nothing after the last layer


def test_dropout_module_and_function(rng):
    from tinygrad_rnn.nn.dropout import dropout

    np.random.seed(0)
    x = tg.Tensor(np.ones((200, 200)), requires_grad=True)
    y = dropout(x, 0.25)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.75)  # inverted dropout keeps the mean
    y.backward(np.ones((200, 200)))
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())  # dropped elements get no gradient
    layer = nn.Dropout(0.5)
    assert layer(x) is not x
    layer.eval()
    assert layer(x) is x
    assert dropout(x, 0.5, training=False) is x
    assert np.all(dropout(x, 1.0).numpy() == 0)
    with pytest.raises(ValueError, match="p must lie in"):
        nn.Dropout(1.5)


def test_layer_runs_on_every_backend(backend, rng):
    lstm = nn.GRU(I, H, num_layers=2, bidirectional=True, dropout=0.3).double().to(backend)
    x = tg.Tensor(rng.standard_normal((T, N, I)), requires_grad=True, backend=backend)
    out, h_n = lstm(x)
    assert out.backend == backend and h_n.backend == backend
    out.sum().backward()
    assert lstm.weight_hh_l1_reverse.grad.backend == backend
    assert x.grad.shape == (T, N, I)


def test_make_layer_builds_every_kind(rng):
    x = tg.Tensor(rng.standard_normal((T, N, I)))
    for kind in nn.CELL_KINDS:
        layer = nn.make_layer(kind, I, H, num_layers=2, bidirectional=True).double()
        out, state = layer(x)
        assert out.shape == (T, N, 2 * H), kind
        h_n = state[0] if isinstance(state, tuple) else state
        assert h_n.shape == (4, N, H), kind


def test_recorded_states_give_each_steps_state(rng):
    lstm = nn.LSTM(I, H, num_layers=2, bidirectional=True).double()
    assert lstm.recorded_states is None
    lstm.record_states = True
    out, (h_n, c_n) = lstm(tg.Tensor(rng.standard_normal((T, N, I))))
    assert len(lstm.recorded_states) == 4 and all(len(s) == T for s in lstm.recorded_states)
    top_forward, top_reverse = lstm.recorded_states[2], lstm.recorded_states[3]
    for t in range(T):
        h_t, c_t = top_forward[t]
        assert (h_t.name, c_t.name, h_t.step) == ("h_t", "c_t", t)
        np.testing.assert_array_equal(h_t.numpy(), out.numpy()[t, :, :H])
        np.testing.assert_array_equal(top_reverse[t][0].numpy(), out.numpy()[t, :, H:])
    np.testing.assert_array_equal(c_n.numpy()[3], top_reverse[0][1].numpy())  # reverse ends at t = 0
    # retain_grad on a recorded state gives dL/dh_t
    h_2 = top_forward[2][0]
    h_2.retain_grad()
    out.backward(np.ones(out.shape))
    assert h_2.grad is not None and h_2.grad.shape == (N, H)

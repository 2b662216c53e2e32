"""The cell variants: every one passes gradcheck over 5 unrolled steps (float64, random upstream,
gradients w.r.t. x, h_0, c_0 and every parameter), computes its paper's equations (checked against
direct NumPy evaluations written here independently), and has exactly the parameters it should."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn

I, H, N, STEPS = 3, 4, 2, 5


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def unroll(cell, x, state):
    """Every step's h_t stacked, and the final c_t for an LSTM (the outputs gradcheck weighs)."""
    hs = []
    for t in range(x.shape[0]):
        with tg.time_step(t):
            state = cell(x[t], state)
        hs.append(state[0] if isinstance(state, tuple) else state)
    out = tg.stack(hs, axis=0)
    return (out, state[1]) if isinstance(state, tuple) else out


# ----------------------------------------------------------------------------------------------
# Gradients


@pytest.mark.parametrize("kind", nn.CELL_KINDS)
def test_every_variant_passes_gradcheck_over_five_steps(kind, rng):
    np.random.seed(11)
    cell = nn.make_cell(kind, I, H, dtype=np.float64)
    params = list(cell.parameters())
    x = tg.Tensor(rng.standard_normal((STEPS, N, I)), requires_grad=True)
    h0 = tg.Tensor(rng.standard_normal((N, H)), requires_grad=True)
    c0 = tg.Tensor(rng.standard_normal((N, H)), requires_grad=True)
    is_lstm = isinstance(cell, nn.LSTMCell)

    def fn(x, h0, c0, *_params):  # the parameters are read through the cell
        return unroll(cell, x, (h0, c0) if is_lstm else h0)

    inputs = (x, h0, c0, *params) if is_lstm else (x, h0, h0.detach(), *params)
    assert tg.gradcheck(fn, inputs)


@pytest.mark.parametrize("kind,num_layers", [("lstm-fgr", 1), ("lstm-cifg", 2), ("gru-cho", 2), ("mgu", 2)])
def test_variant_layers_pass_gradcheck(kind, num_layers, rng):
    """Bidirectional layers: the hoisted projection, the splits and the stacking included."""
    np.random.seed(5)
    layer = nn.make_layer(kind, I, 2, num_layers=num_layers, bidirectional=True, dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((3, N, I)), requires_grad=True)
    h0 = tg.Tensor(rng.standard_normal((2 * num_layers, N, 2)), requires_grad=True)
    c0 = tg.Tensor(rng.standard_normal((2 * num_layers, N, 2)), requires_grad=True)
    is_lstm = isinstance(layer, nn.LSTM)

    def fn(x, h0, c0, *_params):
        out, state = layer(x, (h0, c0) if is_lstm else h0)
        return (out, *state) if is_lstm else (out, state)

    inputs = (x, h0, c0 if is_lstm else c0.detach(), *layer.parameters())
    assert tg.gradcheck(fn, inputs)


# ----------------------------------------------------------------------------------------------
# The equations, evaluated directly with NumPy


def numpy_lstm(cell, xs, h, c):
    """Greff et al.'s LSTM with one change per variant, written out plainly."""
    v = cell.variant
    P = {k: p.numpy() for k, p in cell.named_parameters()}
    rows = {g: slice(k * H, (k + 1) * H) for k, g in enumerate(cell.gate_names)}
    peep = v not in ("pytorch", "1997", "NP")
    a = np.zeros((N, 3 * H))  # FGR: previous [i | f | o]
    for x in xs:

        def pre(g):
            r = rows[g]
            total = x @ P["weight_ih"][r].T + h @ P["weight_hh"][r].T + P["bias_ih"][r] + P["bias_hh"][r]
            if v == "FGR" and g != "g":  # the gates, not the cell input, see a_{t-1}
                k = "ifo".index(g)
                total = total + a @ P["weight_gate_recurrent"][k * H : (k + 1) * H].T
            return total

        i = 1.0 if v == "NIG" else sigmoid(pre("i") + (P["peephole_i"] * c if peep else 0))
        if v in ("1997", "NFG"):
            f = 1.0
        elif v == "CIFG":
            f = 1 - i
        else:
            f = sigmoid(pre("f") + (P["peephole_f"] * c if peep else 0))
        g = pre("g") if v == "NIAF" else np.tanh(pre("g"))
        c = f * c + i * g
        o = 1.0 if v == "NOG" else sigmoid(pre("o") + (P["peephole_o"] * c if peep else 0))
        h = o * (c if v == "NOAF" else np.tanh(c))
        if v == "FGR":
            a = np.concatenate([i, f, o], axis=-1)
    return h, c


@pytest.mark.parametrize("variant", list(nn.lstm_cell.VARIANTS))
def test_lstm_variant_computes_its_equations(variant, rng):
    cell = nn.LSTMCell(I, H, variant=variant, dtype=np.float64)
    xs = rng.standard_normal((3, N, I))
    h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    state = (tg.Tensor(h0), tg.Tensor(c0))
    for x in xs:
        state = cell(tg.Tensor(x), state)
    h_ref, c_ref = numpy_lstm(cell, xs, h0, c0)
    np.testing.assert_allclose(state[0].numpy(), h_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(state[1].numpy(), c_ref, rtol=1e-12, atol=1e-14)


def test_gru_cho_computes_chos_equations(rng):
    cell = nn.GRUCell(I, H, variant="cho", dtype=np.float64)
    W, U = cell.weight_ih.numpy(), cell.weight_hh.numpy()
    b = cell.bias_ih.numpy() + cell.bias_hh.numpy()
    r_, z_, n_ = slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)
    h = rng.standard_normal((N, H))
    state = tg.Tensor(h)
    for _ in range(3):
        x = rng.standard_normal((N, I))
        r = sigmoid(x @ W[r_].T + h @ U[r_].T + b[r_])
        z = sigmoid(x @ W[z_].T + h @ U[z_].T + b[z_])
        candidate = np.tanh(x @ W[n_].T + (r * h) @ U[n_].T + b[n_])  # reset BEFORE the matmul
        h = z * h + (1 - z) * candidate
        state = cell(tg.Tensor(x), state)
    np.testing.assert_allclose(state.numpy(), h, rtol=1e-12)
    # and it is a different function of the same weights than PyTorch's form
    pytorch_form = nn.GRUCell(I, H, dtype=np.float64)
    pytorch_form.load_state_dict(cell.state_dict())
    x = tg.Tensor(rng.standard_normal((N, I)))
    h_prev = tg.Tensor(rng.standard_normal((N, H)))
    assert np.abs(pytorch_form(x, h_prev).numpy() - cell(x, h_prev).numpy()).max() > 1e-6


def test_mgu_computes_its_equations(rng):
    cell = nn.GRUCell(I, H, variant="mgu", dtype=np.float64)
    assert cell.weight_ih.shape == (2 * H, I) and cell.gate_names == ("f", "n")
    W, U = cell.weight_ih.numpy(), cell.weight_hh.numpy()
    b = cell.bias_ih.numpy() + cell.bias_hh.numpy()
    h = rng.standard_normal((N, H))
    state = tg.Tensor(h)
    for _ in range(3):
        x = rng.standard_normal((N, I))
        f = sigmoid(x @ W[:H].T + h @ U[:H].T + b[:H])
        candidate = np.tanh(x @ W[H:].T + (f * h) @ U[H:].T + b[H:])
        h = (1 - f) * h + f * candidate
        state = cell(tg.Tensor(x), state)
    np.testing.assert_allclose(state.numpy(), h, rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# What each variant is made of


def one_step(cell, rng):
    h = tg.Tensor(rng.standard_normal((N, H)))
    c = tg.Tensor(rng.standard_normal((N, H)))
    h_t, c_t, *_ = cell(tg.Tensor(rng.standard_normal((N, I))), (h, c))
    return h_t, c_t, c


def test_lstm_1997_is_the_constant_error_carousel(rng):
    cell = nn.LSTMCell(I, H, variant="1997", dtype=np.float64)
    assert cell.gate_names == ("i", "g", "o")
    assert cell.weight_ih.shape == (3 * H, I) and cell.weight_hh.shape == (3 * H, H)
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    h_t, c_t, c_prev = one_step(cell, rng)
    # c_t = c_{t-1} + i_t * g_t: one add whose first input IS c_{t-1} (self-weight exactly 1)
    assert c_t.grad_fn.name == "add"
    first, ig_t = c_t.grad_fn.inputs
    assert first is c_prev and ig_t.name == "ig_t"
    i_t, g_t = ig_t.grad_fn.inputs
    np.testing.assert_allclose(c_t.numpy() - c_prev.numpy(), i_t.numpy() * g_t.numpy(), rtol=1e-12, atol=1e-15)


def test_carousel_passes_the_cell_gradient_back_unchanged(rng):
    """With no forget gate and the loss on c_T alone, dL/dc_0 contains dL/dc_T exactly once per
    path through the carousel: with the gates' inputs held fixed, d c_T / d c_0 = identity."""
    cell = nn.LSTMCell(I, H, variant="1997", dtype=np.float64)
    c0 = tg.Tensor(rng.standard_normal((N, H)), requires_grad=True)
    h0 = tg.Tensor(np.zeros((N, H)))
    cell.weight_hh.data[:] = 0  # the gates no longer see h, so the carousel is the only path
    state = (h0, c0)
    for _ in range(50):
        state = cell(tg.Tensor(rng.standard_normal((N, I))), state)
    upstream = rng.standard_normal((N, H))
    state[1].backward(upstream)
    np.testing.assert_allclose(c0.grad.numpy(), upstream, rtol=1e-15)


def test_cifg_couples_forget_to_input(rng):
    cell = nn.LSTMCell(I, H, variant="CIFG", dtype=np.float64)
    assert cell.gate_names == ("i", "g", "o") and cell.peephole_f is None
    _, c_t, _ = one_step(cell, rng)
    fc_t, ig_t = c_t.grad_fn.inputs
    f_t, i_t = fc_t.grad_fn.inputs[0], ig_t.grad_fn.inputs[0]
    assert (f_t.name, i_t.name) == ("f_t", "i_t")
    np.testing.assert_allclose(f_t.numpy(), 1 - i_t.numpy(), rtol=1e-15)


def test_nig_has_no_input_gate(rng):
    cell = nn.LSTMCell(I, H, variant="NIG", dtype=np.float64)
    assert cell.gate_names == ("f", "g", "o") and cell.peephole_i is None
    _, c_t, _ = one_step(cell, rng)
    fc_t, written = c_t.grad_fn.inputs
    assert fc_t.name == "fc_t" and written.name == "g_t"  # c_t = f_t * c_{t-1} + g_t


def test_noaf_has_no_output_activation(rng):
    cell = nn.LSTMCell(I, H, variant="NOAF", dtype=np.float64)
    h_t, c_t, _ = one_step(cell, rng)
    o_t, second = h_t.grad_fn.inputs
    assert o_t.name == "o_t" and second is c_t
    np.testing.assert_allclose(h_t.numpy(), o_t.numpy() * c_t.numpy(), rtol=1e-15)


def test_output_peephole_sees_the_new_cell_state(rng):
    cell = nn.LSTMCell(I, H, variant="peephole", dtype=np.float64)
    h_t, c_t, c_prev = one_step(cell, rng)
    o_t = h_t.grad_fn.inputs[0]
    peephole_term = o_t.grad_fn.inputs[0].grad_fn.inputs[1]  # sigmoid(a_o + p_o * c_t)
    assert peephole_term.grad_fn.inputs[0] is cell.peephole_o
    assert peephole_term.grad_fn.inputs[1] is c_t


@pytest.mark.parametrize(
    "variant,extra",
    [
        ("pytorch", []),
        ("peephole", ["peephole_i", "peephole_f", "peephole_o"]),
        ("NIG", ["peephole_f", "peephole_o"]),
        ("NFG", ["peephole_i", "peephole_o"]),
        ("NOG", ["peephole_i", "peephole_f"]),
        ("NP", []),
        ("CIFG", ["peephole_i", "peephole_o"]),
        ("FGR", ["peephole_i", "peephole_f", "peephole_o", "weight_gate_recurrent"]),
    ],
)
def test_each_variant_has_exactly_its_parameters(variant, extra):
    cell = nn.LSTMCell(I, H, variant=variant)
    names = [n for n, _ in cell.named_parameters()]
    assert names == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] + extra
    assert cell.weight_ih.shape == (len(cell.gate_names) * H, I)
    for name in extra:
        expected = (3 * H, 3 * H) if name == "weight_gate_recurrent" else (H,)
        assert dict(cell.named_parameters())[name].shape == expected


def test_fgr_state_carries_the_previous_gates(rng):
    cell = nn.LSTMCell(I, H, variant="FGR", dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((N, I)))
    h_t, c_t, a_t = cell(x)
    assert a_t.shape == (N, 3 * H) and a_t.name == "a_t"
    h_2, c_2, a_2 = cell(x, (h_t, c_t, a_t))
    h_3, _, _ = cell(x, (h_t, c_t))  # a missing a is zeros, which differs from a_t
    assert np.abs(h_2.numpy() - h_3.numpy()).max() > 1e-8


def test_forget_bias_sets_the_sum_of_the_forget_slices():
    for variant, f_row in (("pytorch", 1), ("peephole", 1), ("NIG", 0)):
        cell = nn.LSTMCell(I, H, variant=variant, forget_bias=1.0)
        f_rows = slice(f_row * H, (f_row + 1) * H)
        total = cell.bias_ih.numpy()[f_rows] + cell.bias_hh.numpy()[f_rows]
        np.testing.assert_array_equal(total, np.ones(H, dtype=np.float32))
        other = np.delete(cell.bias_ih.numpy(), np.arange(f_rows.start, f_rows.stop))
        assert np.all(np.abs(other) <= 1 / np.sqrt(H)) and np.any(other != 1.0)
    lstm = nn.LSTM(I, H, num_layers=2, forget_bias=2.0)
    np.testing.assert_array_equal(lstm.bias_ih_l1.numpy()[H : 2 * H] + lstm.bias_hh_l1.numpy()[H : 2 * H], 2.0)
    with pytest.raises(ValueError, match="no learned forget gate"):
        nn.LSTMCell(I, H, variant="1997", forget_bias=1.0)
    with pytest.raises(ValueError, match="bias=True"):
        nn.LSTMCell(I, H, bias=False, forget_bias=1.0)


def test_variant_names():
    assert nn.LSTMCell(I, H, variant="cifg").variant == "CIFG"
    assert nn.GRUCell(I, H, variant="Cho").variant == "cho"
    with pytest.raises(ValueError, match="variant='peephole'"):
        nn.LSTMCell(I, H, variant="vanilla")
    with pytest.raises(ValueError, match="choose one of pytorch, 1997, peephole"):
        nn.LSTMCell(I, H, variant="NXG")
    with pytest.raises(ValueError, match="choose one of pytorch, cho, mgu"):
        nn.GRU(I, H, variant="lstm")
    with pytest.raises(ValueError, match="unknown kind 'lstm2'"):
        nn.make_cell("lstm2", I, H)
    assert len(nn.CELL_KINDS) == 19
    for kind in nn.CELL_KINDS:
        assert nn.make_cell(kind, I, H).hidden_size == H
    assert nn.make_cell("rnn-relu", I, H).nonlinearity == "relu"
    assert nn.make_cell("lstm-peephole", I, H).variant == "peephole"

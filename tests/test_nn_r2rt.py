"""R2RT's prototype LSTM, normalized prototype and pseudo LSTM, and the 1997 input-gate bias.

Each cell is checked three ways: its states over a sequence against a NumPy evaluation of R2RT's
equations written here independently (float64, to 1e-12), gradcheck over several unrolled steps
(float64, random upstream gradients, w.r.t. the inputs, the initial state and every parameter),
and the properties that make it what it is (the normalized state's spread stays below 1; the
pseudo LSTM's gates see tanh(s), not s).
"""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.gradients import trace_gradients
from tinygrad_rnn.nn.r2rt_cells import NormalizedPrototypeLSTMCell, PrototypeLSTMCell, PseudoLSTMCell

I, H, N, STEPS = 3, 5, 2, 6
CELLS = {"prototype": PrototypeLSTMCell, "normalized": NormalizedPrototypeLSTMCell, "pseudo": PseudoLSTMCell}


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def numpy_r2rt(kind, params, xs, s, inside=None):
    """R2RT (2016), "Three working models": every state s_t (and for the pseudo LSTM tanh(s_t)),
    from the stacked PyTorch-layout parameters, rows i, f, o, then the write s~. `inside`, a
    list, receives each step's (f_t, s'_t) (s'_t: the sum before normalization)."""
    U, W = params["weight_ih"], params["weight_hh"]
    b = params["bias_ih"] + params["bias_hh"]
    rows = {name: slice(k * H, (k + 1) * H) for k, name in enumerate(("i", "f", "o", "write"))}
    states, outputs = [], []
    for x in xs:
        read = np.tanh(s) if kind == "pseudo" else s

        def gate(name, seen):
            r = rows[name]
            return x @ U[r].T + seen @ W[r].T + b[r]

        i = sigmoid(gate("i", read))
        f = sigmoid(gate("f", read))
        o = sigmoid(gate("o", read))
        write = np.tanh(gate("write", o * read))
        s = f * s + i * write
        if inside is not None:
            inside.append((f, s))
        if kind == "normalized":
            s = s / np.sqrt(np.var(s, axis=-1, keepdims=True) + 1)  # np.var: divides by H
        states.append(s)
        outputs.append(np.tanh(s) if kind == "pseudo" else s)
    return np.stack(states), np.stack(outputs)


def run(cell, xs, state):
    """(every output, every s_t) of the cell over xs, stacked; the tensors, for gradcheck."""
    outputs, states = [], []
    for t in range(xs.shape[0]):
        with tg.time_step(t):
            state = cell(xs[t], state)
        if isinstance(state, tuple):
            outputs.append(state[0])
            states.append(state[1])
        else:
            outputs.append(state)
            states.append(state)
    return tg.stack(outputs, axis=0), tg.stack(states, axis=0)


# ----------------------------------------------------------------------------------------------
# The equations


@pytest.mark.parametrize("kind", list(CELLS))
def test_cell_computes_r2rts_equations(kind, rng):
    np.random.seed(3)
    cell = CELLS[kind](I, H, dtype=np.float64)
    assert cell.weight_ih.shape == (4 * H, I) and cell.weight_hh.shape == (4 * H, H)
    assert cell.gate_names == ("i", "f", "o", "s~")
    # biases well away from 0, so a mixed-up row or a missing bias shows
    for p in (cell.bias_ih, cell.bias_hh):
        p.data[:] = rng.standard_normal(p.shape)
    xs = rng.standard_normal((STEPS, N, I))
    s0 = 2 * rng.standard_normal((N, H))
    outputs, states = run(cell, tg.Tensor(xs), tg.Tensor(s0))
    params = {k: p.numpy() for k, p in cell.named_parameters()}
    ref_states, ref_outputs = numpy_r2rt(kind, params, xs, s0)
    np.testing.assert_allclose(states.numpy(), ref_states, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(outputs.numpy(), ref_outputs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", list(CELLS))
def test_an_unbatched_input_computes_the_same_state(kind, rng):
    cell = CELLS[kind](I, H, dtype=np.float64)
    xs = rng.standard_normal((STEPS, N, I))
    s0 = rng.standard_normal((N, H))
    _, batched = run(cell, tg.Tensor(xs), tg.Tensor(s0))
    _, single = run(cell, tg.Tensor(xs[:, 1]), tg.Tensor(s0[1]))
    np.testing.assert_allclose(single.numpy(), batched.numpy()[:, 1], rtol=1e-13, atol=1e-15)


def test_the_normalized_state_spreads_less_than_one(rng):
    """Var(s_t) = Var(s'_t) / (Var(s'_t) + 1) < 1 for every example at every step, however large
    the prototype's state would grow; the prototype on the same stream grows past it."""
    np.random.seed(0)
    normalized = NormalizedPrototypeLSTMCell(I, H, dtype=np.float64)
    prototype = PrototypeLSTMCell(I, H, dtype=np.float64)
    prototype.load_state_dict(normalized.state_dict())
    for cell in (normalized, prototype):
        cell.bias_ih.data[:H] = 4.0  # the write gate open: the prototype's state drifts
    stream = tg.Tensor(1.0 + rng.standard_normal((200, N, I)))
    with tg.no_grad():
        _, s_norm = run(normalized, stream, None)
        _, s_proto = run(prototype, stream, None)
    assert np.var(s_norm.numpy(), axis=-1).max() < 1
    assert np.abs(s_proto.numpy()[-1]).mean() > 10 * np.abs(s_norm.numpy()[-1]).mean()


def test_the_pseudo_lstm_reads_its_state_through_tanh(rng):
    cell = PseudoLSTMCell(I, H, dtype=np.float64)
    s0 = tg.Tensor(3 * rng.standard_normal((N, H)), requires_grad=True)
    h_t, s_t = cell(tg.Tensor(rng.standard_normal((N, I))), s0)
    np.testing.assert_allclose(h_t.numpy(), np.tanh(s_t.numpy()), rtol=1e-15)
    # s_t = f_t * s_{t-1} + i_t * s~_t: the raw s_{t-1} enters the additive write only
    fs_t, is_t = s_t.grad_fn.inputs
    assert (fs_t.name, is_t.name) == ("fs_t", "is_t") and fs_t.grad_fn.inputs[1] is s0
    o_t, read = find(s_t, "os_t").grad_fn.inputs  # os_t = o_t * (what the write reads)
    assert o_t.name == "o_t" and read.name == "h_0" and read.grad_fn.inputs[0] is s0  # h_0 = tanh(s_0)
    i_t = find(s_t, "i_t")
    assert find(i_t, "h_0") is read and find(i_t, "fs_t") is None  # the gates read tanh(s) too


def find(tensor, name):
    """The tensor called `name` in the graph behind `tensor`, or None (a walk without recursion)."""
    stack, seen = [tensor], set()
    while stack:
        t = stack.pop()
        if t.name == name:
            return t
        if id(t) not in seen and t.grad_fn is not None:
            seen.add(id(t))
            stack.extend(t.grad_fn.inputs)
    return None


def test_pseudo_lstm_states(rng):
    cell = PseudoLSTMCell(I, H, dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((N, I)))
    s = tg.Tensor(rng.standard_normal((N, H)))
    from_s = cell(x, s)
    from_pair = cell(x, (None, s))
    from_both = cell(x, (s.tanh(), s))
    for other in (from_pair, from_both):
        np.testing.assert_array_equal(other[1].numpy(), from_s[1].numpy())
    h0, s0 = cell.initial_state(None, (N,))
    assert h0 is not s0 and not h0.numpy().any() and not s0.numpy().any()
    with pytest.raises(ValueError, match=r"h must equal tanh\(s\)"):
        cell(x, (s, s))
    with pytest.raises(TypeError, match=r"h was given without s"):
        cell(x, (s, None))
    with pytest.raises(TypeError, match=r"tuple \(h, s\), got 3 items"):
        cell(x, (s, s, s))


def test_prototype_state_is_one_tensor(rng):
    cell = PrototypeLSTMCell(I, H, dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((N, I)))
    s = tg.Tensor(rng.standard_normal((N, H)))
    with pytest.raises(TypeError, match=r"one tensor s of shape \(2, 5\), got a tuple of 2 items"):
        cell(x, (s, s))
    with pytest.raises(tg.ShapeError, match=r"s has shape \(2, 4\)"):
        cell(x, tg.Tensor(np.zeros((N, 4))))


# ----------------------------------------------------------------------------------------------
# Gradients


@pytest.mark.parametrize("kind", list(CELLS))
def test_cell_passes_gradcheck_over_several_steps(kind, rng):
    np.random.seed(7)
    cell = CELLS[kind](I, H, dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((4, N, I)), requires_grad=True)
    s0 = tg.Tensor(rng.standard_normal((N, H)), requires_grad=True)

    def fn(x, s0, *_params):  # the parameters are read through the cell
        return run(cell, x, s0)

    assert tg.gradcheck(fn, (x, s0, *cell.parameters()))


def test_traced_carousel_of_the_normalized_cell(rng):
    """The tracer splits dL/ds_{t-1} along the declared term fs_t = f_t * s_{t-1}: carousel[t] =
    f_t * dL/dfs_t, where the gradient reaches fs_t through s_t = s'_t / sqrt(Var(s'_t) + 1).
    Checked against that Jacobian written out: with n = sqrt(Var(s') + 1), m = mean(s'),
    dL/ds'_j = g_j / n - (sum_i g_i s'_i) (s'_j - m) / (H n^3), g = dL/ds_t."""
    np.random.seed(8)
    cell = NormalizedPrototypeLSTMCell(I, H, dtype=np.float64)
    xs = 2 * rng.standard_normal((STEPS, N, I))
    trace = trace_gradients(cell, xs, loss="last", jacobians=False)
    inside = []
    numpy_r2rt("normalized", {k: p.numpy() for k, p in cell.named_parameters()}, xs, np.zeros((N, H)), inside)
    for t in range(STEPS):
        f, s_prime = inside[t]
        n = np.sqrt(np.var(s_prime, axis=-1, keepdims=True) + 1)
        g = trace.dL_dh[t]
        dL_ds_prime = g / n - (g * s_prime).sum(-1, keepdims=True) * (s_prime - s_prime.mean(-1, keepdims=True)) / (
            H * n**3)
        np.testing.assert_allclose(trace.carousel[t], f * dL_ds_prime, rtol=1e-10, atol=1e-14)
    assert trace.carousel_state == "s" and trace.carousel_factor == "f_t / n_t"
    assert np.all((trace.carousel_share() > 0) & (trace.carousel_share() < 1))


# ----------------------------------------------------------------------------------------------
# Hochreiter & Schmidhuber's remedy for drift: a negative input-gate bias


def test_input_bias_sets_the_sum_of_the_input_slices():
    for variant, i_row in (("pytorch", 0), ("1997", 0), ("peephole", 0), ("CIFG", 0)):
        cell = nn.LSTMCell(I, H, variant=variant, input_bias=-3.0)
        rows = slice(i_row * H, (i_row + 1) * H)
        total = cell.bias_ih.numpy()[rows] + cell.bias_hh.numpy()[rows]
        np.testing.assert_array_equal(total, np.full(H, -3.0, dtype=np.float32))
    lstm = nn.LSTM(I, H, num_layers=2, variant="1997", input_bias=-1.0)
    for layer in (0, 1):
        b = getattr(lstm, f"bias_ih_l{layer}").numpy() + getattr(lstm, f"bias_hh_l{layer}").numpy()
        np.testing.assert_array_equal(b[:H], -1.0)
    with pytest.raises(ValueError, match="variant 'NIG' has no input gate"):
        nn.LSTMCell(I, H, variant="NIG", input_bias=-1.0)
    with pytest.raises(ValueError, match="input_bias needs bias=True"):
        nn.LSTMCell(I, H, bias=False, input_bias=-1.0)
    assert nn.make_cell("lstm-1997", I, H, input_bias=-6).bias_ih.numpy()[0] == -6


def test_input_bias_changes_nothing_else():
    """The same draws as without it (so seeded runs and golden files stay as they were), the
    i-rows aside; with both options, each gate gets its own."""
    np.random.seed(1)
    plain = nn.LSTMCell(I, H)
    np.random.seed(1)
    biased = nn.LSTMCell(I, H, input_bias=-2.0, forget_bias=1.0)
    for name, p in plain.named_parameters():
        q = dict(biased.named_parameters())[name].numpy()
        if name.startswith("bias"):
            np.testing.assert_array_equal(q[2 * H :], p.numpy()[2 * H :])
        else:
            np.testing.assert_array_equal(q, p.numpy())
    b = biased.bias_ih.numpy() + biased.bias_hh.numpy()
    np.testing.assert_array_equal(b[:H], -2.0)
    np.testing.assert_array_equal(b[H : 2 * H], 1.0)


def test_a_negative_input_bias_slows_the_drift(rng):
    """Hochreiter & Schmidhuber 1997, section 4: with the input gate starting nearly shut, the
    1997 cell's state grows more slowly on a stream whose inputs lean to one sign."""
    stream = 1.0 + rng.standard_normal((100, N, I))
    growth = {}
    for bias in (0.0, -3.0):
        np.random.seed(2)
        cell = nn.LSTMCell(I, H, variant="1997", input_bias=bias, dtype=np.float64)
        state = None
        with tg.no_grad():
            for x in stream:
                state = cell(tg.Tensor(x), state)
        growth[bias] = np.abs(state[1].numpy()).mean()
    assert growth[-3.0] < 0.2 * growth[0.0]


# ----------------------------------------------------------------------------------------------
# As layers: nn.Recurrent(cell class, ...), and by name through make_cell / make_layer

KINDS = {"prototype": PrototypeLSTMCell, "prototype-norm": NormalizedPrototypeLSTMCell, "pseudo-lstm": PseudoLSTMCell}


@pytest.mark.parametrize("kind", list(KINDS))
def test_kinds_reach_the_cells_and_layers(kind):
    cell = nn.make_cell(kind, I, H, forget_bias=2.0)
    assert type(cell) is KINDS[kind] and np.all(cell.bias_ih.numpy()[H : 2 * H] == 2.0)
    layer = nn.make_layer(kind, I, H, num_layers=2, bidirectional=True)
    assert isinstance(layer, nn.Recurrent) and layer.cell_class is KINDS[kind]
    assert all(type(c) is KINDS[kind] for c in layer.cells)
    assert "weight_hh_l1_reverse" in layer.state_dict()
    assert layer.weight_ih_l1.shape == (4 * H, 2 * H)


@pytest.mark.parametrize("kind", list(KINDS))
def test_layer_computes_what_the_cell_loop_does(kind, rng):
    np.random.seed(4)
    layer = nn.Recurrent(KINDS[kind], I, H, batch_first=True, dtype=np.float64)
    xs = rng.standard_normal((N, STEPS, I))
    out, final = layer(tg.Tensor(xs))
    params = {k[: -len("_l0")]: p.numpy() for k, p in layer.named_parameters()}
    name = {"prototype": "prototype", "prototype-norm": "normalized", "pseudo-lstm": "pseudo"}[kind]
    ref_states, ref_outputs = numpy_r2rt(name, params, xs.transpose(1, 0, 2), np.zeros((N, H)))
    np.testing.assert_allclose(out.numpy(), ref_outputs.transpose(1, 0, 2), rtol=1e-12, atol=1e-14)
    s_n = final[1] if kind == "pseudo-lstm" else final
    np.testing.assert_allclose(s_n.numpy()[0], ref_states[-1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", list(KINDS))
def test_two_layer_bidirectional_layer_passes_gradcheck(kind, rng):
    np.random.seed(5)
    layer = nn.make_layer(kind, I, 2, num_layers=2, bidirectional=True, dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((3, N, I)), requires_grad=True)
    s0 = tg.Tensor(rng.standard_normal((4, N, 2)), requires_grad=True)
    pseudo = kind == "pseudo-lstm"

    def fn(x, s0, *_params):
        out, final = layer(x, (None, s0) if pseudo else s0)
        return (out, *final) if pseudo else (out, final)

    assert tg.gradcheck(fn, (x, s0, *layer.parameters()))


def test_pseudo_lstm_layer_states_and_tbptt(rng, tmp_path):
    """The layer's state is (h, s) as nn.LSTM's is (h, c); TBPTT carries it, save/load keeps it."""
    np.random.seed(6)
    layer = nn.make_layer("pseudo-lstm", I, H, num_layers=2, dtype=np.float64)
    xs = tg.Tensor(rng.standard_normal((8, N, I)))
    out, (h_n, s_n) = layer(xs)
    np.testing.assert_allclose(h_n.numpy(), np.tanh(s_n.numpy()), rtol=1e-15)
    again, _ = layer(xs[4:], layer(xs[:4])[1])  # continuing from the state a first half left
    np.testing.assert_allclose(again.numpy(), out.numpy()[4:], rtol=1e-12)
    with pytest.raises(ValueError, match=r"h must equal tanh\(s\)"):
        layer(xs, (s_n, s_n))
    opt = optim.SGD(layer.parameters(), lr=0.05)
    targets = rng.standard_normal((8, N, H))
    losses, state = nn.train_tbptt(layer, xs, targets, lambda o, y: ((o - tg.Tensor(y)) ** 2).mean(), opt, k=4)
    assert len(losses) == 2 and isinstance(state, tuple) and state[1].grad_fn is None
    nn.save(layer, tmp_path / "pseudo.npz")
    np.random.seed(7)
    other = nn.make_layer("pseudo-lstm", I, H, num_layers=2, dtype=np.float64)
    nn.load(other, tmp_path / "pseudo.npz")
    np.testing.assert_array_equal(other(xs)[0].numpy(), layer(xs)[0].numpy())


def test_init_gate_bias_on_any_cell_with_named_gates():
    gru = nn.GRUCell(I, H, variant="cho").init_gate_bias("z", 3.0)
    np.testing.assert_array_equal(gru.bias_ih.numpy()[H : 2 * H] + gru.bias_hh.numpy()[H : 2 * H], 3.0)
    proto = PrototypeLSTMCell(I, H, input_bias=-3.0, forget_bias=2.0)
    b = proto.bias_ih.numpy() + proto.bias_hh.numpy()
    np.testing.assert_array_equal(b[:H], -3.0)
    np.testing.assert_array_equal(b[H : 2 * H], 2.0)
    with pytest.raises(ValueError, match=r"no gate 'g' to bias; its gates are \('i', 'f', 'o', 's~'\)"):
        proto.init_gate_bias("g", 1.0)
    with pytest.raises(ValueError, match="a gate bias needs bias=True"):
        PseudoLSTMCell(I, H, bias=False, forget_bias=1.0)


# ----------------------------------------------------------------------------------------------
# In the graphs: the carried state's path is the highlighted one


@pytest.mark.parametrize("kind", list(KINDS))
def test_graph_highlights_the_path_of_s(kind, rng):
    import re

    from tinygrad_rnn import viz

    cell = nn.make_cell(kind, I, H, dtype=np.float64)
    state = None
    for t in range(3):  # a plain loop: each call numbers itself
        state = cell(tg.Tensor(rng.standard_normal((N, I))), state)
    output = state[0] if isinstance(state, tuple) else state
    output.sum().backward()
    source = viz.draw_graph(output).source
    labels = {m.group(1): m.group(2) for m in re.finditer(r'^\s*(\w+) \[label="?([^"\n]*)', source, re.M)}
    cec = [(a, b) for a, b in re.findall(r"^\s*(\S+) -> (\S+) \[[^\]]*\bclass=cec\b", source, re.M)]
    on_path = {labels.get(a, "").split("\\n")[0] for a, b in cec} | {labels.get(b, "").split("\\n")[0] for a, b in cec}
    # s_{t-1} -> (mul) -> fs_t -> (add) -> s_t, for t = 1, 2 (the normalized cell: via s'_t)
    assert {"s_t0", "fs_t1", "s_t1", "fs_t2", "s_t2"} <= on_path
    assert not {"h_t1", "i_t1", "o_t1", "is_t1"} & on_path  # the reads and the write are off the path
    assert re.findall(r"subgraph (cluster_t\d+)", source) == ["cluster_t0", "cluster_t1", "cluster_t2"]
    cells = viz.draw_graph(output, level="cell").source
    assert f"{cell.declaration.name}, t=2" in cells

"""A cell the package has never seen, defined only here, studied with every tool: the declared
cell contract (graph roles, the carried-state path, clusters from a plain loop, cell-level
labels, the tracer and its plots, the generic layer, TBPTT, save/load, the CLI), and time steps
inferred from the data flow, for user and built-in cells alike."""

import re
import sys
import textwrap
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import cli, nn, optim, viz
from tinygrad_rnn import functional as F
from tinygrad_rnn.gradients import trace_gradients
from tinygrad_rnn.nn import named
from tinygrad_rnn.viz import style


class KeepCell(nn.RecurrentCell):
    """A gated cell with an additive path, not in the package:

        k_t = sigmoid(a_k) * keep      (keep: a plain Tensor(..., requires_grad=True), no Parameter)
        w_t = tanh(a_w)
        s_t = k_t * s_{t-1} + w_t      (ks_t + w_t)
        h_t = tanh(s_t)
    """

    declaration = nn.CellDeclaration(states=("h_t", "s_t"), output="h_t", carried="s_t",
                                     carousel_term="ks_t", carousel_factor="k_t", gates=("k_t", "w_t", "ks_t"))

    def __init__(self, input_size, hidden_size, bias=True, dtype=None, backend=None):
        super().__init__(input_size, hidden_size, bias, n_gates=2, dtype=dtype, backend=backend)
        self.keep = tg.Tensor(np.full(hidden_size, 0.75), dtype=self._dtype, requires_grad=True, name="keep")

    def step(self, x_proj, state, weights):
        h, s = state
        a_k, a_w = (x_proj + h @ weights.hh).split(self.hidden_size, axis=-1)
        k_t = named(a_k.sigmoid() * self.keep, "k_t")
        w_t = named(a_w.tanh(), "w_t")
        ks_t = named(k_t * s, "ks_t")
        s_t = self.new_state(ks_t, w_t)
        h_t = named(s_t.tanh(), "h_t")
        return h_t, s_t

    def new_state(self, ks_t, w_t):
        return named(ks_t + w_t, "s_t")


class SquashCell(nn.RecurrentCell):
    """A cell whose state only passes through tanh: no additive path, and it says so.

        s_t = tanh(x_t W_ih^T + b + s_{t-1} W_hh^T)
    """

    declaration = nn.CellDeclaration(states=("s_t",), name="Squash cell")

    def __init__(self, input_size, hidden_size, bias=True, dtype=None, backend=None):
        super().__init__(input_size, hidden_size, bias, n_gates=1, dtype=dtype, backend=backend)

    def step(self, x_proj, s, weights):
        return named((x_proj + s @ weights.hh).tanh(), "s_t")


def keep_cell(seed=0, input_size=2, hidden=3):
    np.random.seed(seed)
    return KeepCell(input_size, hidden, dtype="float64")


def plain_loop(cell, steps=3, seed=1, start=None):
    """The loop a student writes: no time_step anywhere."""
    x = np.random.default_rng(seed).standard_normal((steps, 1, cell.input_size))
    state = start
    for t in range(steps):
        state = cell(tg.Tensor(x[t], name="x_t"), state)
    return state


def node_fill(source):
    """{first line of the label: fillcolor} for every tensor node."""
    return {m.group(1): m.group(2) for m in re.finditer(r'\[label="([^"\n]*)\n[^"]*" fillcolor="([^"]+)"', source)}


def cec_edges(source):
    return [tuple(m.groups()) for m in re.finditer(r"^\s*(\S+) -> (\S+) \[[^\]]*\bclass=cec\b", source, re.M)]


def node_ids(source):
    return {m.group(2): m.group(1) for m in re.finditer(r'^\s*(\w+) \[label="([^"\n]*)', source, re.M)}


# ----------------------------------------------------------------------------------------------
# Graphs


def test_roles_come_from_the_declaration_and_requires_grad():
    cell = keep_cell()
    h_0 = tg.Tensor(np.zeros((1, 3)), requires_grad=True, name="h_0")
    s_0 = tg.Tensor(np.zeros((1, 3)), requires_grad=True, name="s_0")
    h, s = plain_loop(cell, start=(h_0, s_0))
    loss = named((h * s).sum(), "L")
    loss.backward()
    fill = node_fill(viz.draw_graph(loss).source)
    assert fill["keep"] == style.FILL["parameter"]  # a plain Tensor that requires grad
    assert fill["weight_hh"] == style.FILL["parameter"]
    assert fill["h_0"] == fill["s_0"] == style.FILL["state"]  # given to a call as its state
    assert fill["x_t0"] == style.FILL["input"]
    for name in ("s_t0", "h_t1", "s_t2"):
        assert fill[name] == style.FILL["state"], name
    for name in ("k_t0", "w_t1", "ks_t2"):
        assert fill[name] == style.FILL["gate"], name


def test_cec_marks_the_declared_path_of_a_user_cell():
    h, s = plain_loop(keep_cell())
    loss = (h * s).sum()
    loss.backward()
    source = viz.draw_graph(loss).source
    ids = node_ids(source)
    edges = set(cec_edges(source))
    assert edges and "carried-state path of s_t (CEC)" in source
    # The legend names this cell's states and gates, not the LSTM's.
    assert "state (h_t, s_t)" in source and "gate / candidate (k_t, w_t, ks_t)" in source
    assert "c_t" not in source and "i f g o" not in source
    for t in range(3):
        # the product ks_t = k_t * s_{t-1} and the sum s_t = ks_t + w_t, nothing else
        assert any(tail == ids[f"ks_t{t}"] for tail, _ in edges) and any(head == ids[f"s_t{t}"] for _, head in edges)
        assert not any(ids[f"w_t{t}"] in e or ids[f"k_t{t}"] in e or ids[f"h_t{t}"] in e for e in edges)
    for t in (1, 2):  # s_{t-1} into step t's product
        assert any(tail == ids[f"s_t{t - 1}"] for tail, _ in edges)
    assert len(edges) == 4 * 3  # per step: s_prev->mul, mul->ks_t, ks_t->add, add->s_t


def test_cec_follows_the_path_over_several_ops():
    class TwoSums(KeepCell):
        def new_state(self, ks_t, w_t):
            return named((ks_t + w_t) + w_t * 0.5, "s_t")  # s_t = ks_t + 1.5 w_t, in two sums

    np.random.seed(0)
    h, s = plain_loop(TwoSums(2, 3, dtype="float64"), steps=2)
    source = viz.draw_graph(s.sum()).source
    ids = node_ids(source)
    edges = set(cec_edges(source))
    first_sum = next(head for tail, head in edges if tail == ids["ks_t1"])
    second_sum = next(head for tail, head in edges if tail == first_sum)
    assert (second_sum, ids["s_t1"]) in edges
    assert not any(ids["w_t1"] in e for e in edges)


def test_a_cell_without_an_additive_path_draws_none():
    np.random.seed(0)
    s = plain_loop(SquashCell(2, 3, dtype="float64"))
    s.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        source = viz.draw_graph(s.sum()).source
    assert not cec_edges(source) and "carried-state path" not in source
    assert "state (s_t)" in source
    assert node_fill(source)["s_t2"] == style.FILL["state"]


def test_a_declaration_the_graph_does_not_match_is_reported():
    class Misdeclared(KeepCell):
        declaration = nn.CellDeclaration(states=("h_t", "s_t"), carried="s_t", carousel_term="kept_t",
                                         carousel_factor="k_t")

    np.random.seed(0)
    h, s = plain_loop(Misdeclared(2, 3, dtype="float64"))
    with pytest.warns(UserWarning, match=r"carousel_term='kept_t'.*name that product"):
        viz.draw_graph(s.sum())
    with pytest.raises(ValueError, match="carousel_term='kept_t'"):
        trace_gradients(Misdeclared(2, 3, dtype="float64"), np.zeros((3, 1, 2)))


def test_returned_names_must_match_the_declaration():
    class Unnamed(SquashCell):
        def step(self, x_proj, s, weights):
            return (x_proj + s @ weights.hh).tanh()

    with pytest.raises(ValueError, match=r"step returned a state named \(None,\), but the cell declares states \('s_t',\)"):
        Unnamed(2, 3)(tg.Tensor(np.zeros((1, 2), np.float32)))


@pytest.mark.parametrize("make", [keep_cell, lambda: nn.LSTMCell(2, 3, dtype="float64"),
                                  lambda: nn.GRUCell(2, 3, dtype="float64")])
def test_a_plain_loop_is_numbered_by_its_data_flow(make):
    cell = make()
    state = plain_loop(cell, steps=3)
    out = state[0] if isinstance(state, tuple) else state
    source = viz.draw_graph(out.sum()).source
    assert re.findall(r"subgraph (cluster_t\d+)", source) == ["cluster_t0", "cluster_t1", "cluster_t2"]
    labels = node_ids(source)
    assert {"h_t0", "h_t1", "h_t2"} <= set(labels)
    assert [s.step for s in (state if isinstance(state, tuple) else (state,))] == [2] * len(cell.declaration.states)


def test_explicit_time_step_wins_and_a_fresh_state_starts_at_zero():
    cell = keep_cell()
    state = None
    for t in range(2):
        with tg.time_step(10 + t):
            state = cell(tg.Tensor(np.ones((1, 2))), state)
    assert state[1].step == 11
    after = cell(tg.Tensor(np.ones((1, 2))), state)  # one more than the state's latest step
    assert after[1].step == 12
    assert cell(tg.Tensor(np.ones((1, 2))))[1].step == 0
    detached = cell(tg.Tensor(np.ones((1, 2))), nn.detach_state(after))
    assert detached[0].step == 0  # a detached state has no history: a fresh start


def test_cell_level_labels_use_the_class_or_declared_name():
    h, s = plain_loop(keep_cell())
    source = viz.draw_graph((h * s).sum(), level="cell").source
    assert re.findall(r'label="(KeepCell, t=\d)', source) == ["KeepCell, t=0", "KeepCell, t=1", "KeepCell, t=2"]
    assert "s_t1 |grad|" not in source  # no backward yet
    np.random.seed(0)
    s = plain_loop(SquashCell(2, 3, dtype="float64"))
    assert "Squash cell, t=2" in viz.draw_graph(s.sum(), level="cell").source
    assert "MGU" not in source and "RNN cell" not in source


def test_two_layers_stay_two_cell_nodes_per_step():
    np.random.seed(0)
    layer = nn.Recurrent(KeepCell, 2, 3, num_layers=2, dtype="float64")
    output, _ = layer(tg.Tensor(np.ones((3, 1, 2))))
    loss = output.sum()
    viz.record_gradients(loss)
    loss.backward()
    source = viz.draw_graph(loss, level="cell").source
    assert len(re.findall(r'label="KeepCell, t=1\n', source)) == 2
    assert "s_t1 |grad|" in source
    assert any('class=cec' in line and "label=s_t0" in line for line in source.splitlines())


def test_two_passes_through_one_layer_stay_two_calls():
    """A layer reuses its CellStep objects from one forward to the next; the graph still tells
    the calls of two passes apart (by the tensors joining each call's ops)."""
    np.random.seed(0)
    layer = nn.Recurrent(KeepCell, 2, 3, dtype="float64")
    first, _ = layer(tg.Tensor(np.ones((3, 1, 2))))
    second, _ = layer(tg.Tensor(np.full((3, 1, 2), -1.0)))
    loss = (first * second).sum()
    loss.backward()
    source = viz.draw_graph(loss, level="cell").source
    assert len(re.findall(r'label="KeepCell, t=2[\n"]', source)) == 2
    op_level = viz.draw_graph(loss).source
    assert len(cec_edges(op_level)) == 2 * 3 * 4  # both passes' carried paths


def test_declaration_errors_name_the_field():
    with pytest.raises(ValueError, match="output='y_t' is not one of the states"):
        nn.CellDeclaration(states=("h_t",), output="y_t")
    with pytest.raises(ValueError, match="declare carried= too"):
        nn.CellDeclaration(states=("h_t",), carousel_term="zh_t", carousel_factor="z_t")
    with pytest.raises(ValueError, match="needs carousel_factor"):
        nn.CellDeclaration(states=("h_t",), carried="h_t", carousel_term="zh_t")
    with pytest.raises(ValueError, match="distinct non-empty names"):
        nn.CellDeclaration(states=("h_t", "h_t"))
    assert nn.CellDeclaration(states=("h_t", "c_t"), carried="c_t").carousel_factor == "1"


# ----------------------------------------------------------------------------------------------
# The tracer and its plots


def test_trace_splits_along_the_declared_carousel():
    cell = keep_cell()
    x = np.random.default_rng(2).standard_normal((5, 2, 2))
    trace = trace_gradients(cell, x, loss="all")
    assert trace.state_names == ("h", "s") and trace.carousel_state == "s" and trace.carousel_factor == "k_t"
    # By hand, the same loop: k_t from the graph, dL/ds_t with retain_grad.
    h0 = tg.Tensor(np.zeros((2, 3)), requires_grad=True)
    s0 = tg.Tensor(np.zeros((2, 3)), requires_grad=True)
    state, ss, ks, total = (h0, s0), [], [], None
    for t in range(5):
        state = cell(tg.Tensor(x[t]), state)
        state[1].retain_grad()
        ss.append(state[1])
        ks.append(state[1].grad_fn.inputs[0].grad_fn.inputs[0])
        total = state[0].sum() if total is None else total + state[0].sum()
    total.backward()
    for t in range(5):
        assert ks[t].name == "k_t"
        np.testing.assert_allclose(trace.carousel[t], ks[t].numpy() * ss[t].grad.numpy(), rtol=1e-12)
        before = ss[t - 1].grad.numpy() if t else s0.grad.numpy()
        np.testing.assert_allclose(trace.carousel[t] + trace.rest[t], before, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(trace.gradients("s"), trace.dL_dc)
    assert ((trace.carousel_share() >= 0) & (trace.carousel_share() <= 1)).all()
    assert trace.jacobian_c.shape == (5, 3, 3)


def test_trace_plots_use_the_declared_names():
    trace = trace_gradients(keep_cell(), np.random.default_rng(2).standard_normal((6, 2, 2)), jacobians=False)
    labels = [line.get_label() for line in viz.plot_gradient_flow({"keep": trace}).axes[0].get_lines()]
    assert labels == ["keep: dL/dh_t", "keep: dL/ds_t"]
    top = viz.plot_carousel_share(trace).axes[0]
    assert [line.get_label() for line in top.get_lines()] == ["carousel: k_t * dL/ds_t",
                                                              "rest: through h_(t-1) and the gates"]
    assert "|dL/ds_t|" in viz.plot_gradient_heatmap(trace, state="s").axes[1].get_ylabel()


def test_a_cell_without_an_additive_path_says_so():
    np.random.seed(0)
    trace = trace_gradients(SquashCell(2, 3, dtype="float64"), np.ones((4, 1, 2)), jacobians=False)
    assert trace.carousel is None and trace.state_names == ("s", None)
    for call in (trace.carousel_share, lambda: viz.plot_carousel_share(trace)):
        with pytest.raises(ValueError, match="no carousel path: its declaration names no carried state") as info:
            call()
        assert "plain RNN" not in str(info.value) and "tanh" not in str(info.value)
    assert [line.get_label() for line in viz.plot_gradient_flow([trace]).axes[0].get_lines()] == [
        "SquashCell(2, 3): dL/ds_t"]
    with pytest.raises(ValueError, match="declares one state"):
        trace.grad_norm("c")


# ----------------------------------------------------------------------------------------------
# The generic layer, TBPTT, save/load, gradients


def run_by_hand(layer, x):
    """nn.Recurrent(KeepCell, num_layers=2, bidirectional=True, batch_first=True), cell by cell."""
    seq = [tg.Tensor(x[:, t]) for t in range(x.shape[1])]  # batch first: (N, T, I)
    finals = []
    for layer_index in range(2):
        outs = []
        for direction in range(2):
            cell = layer.cells[layer_index * 2 + direction]
            order = range(len(seq)) if direction == 0 else range(len(seq) - 1, -1, -1)
            state, hs = None, {}
            for t in order:
                state = cell(seq[t], state)
                hs[t] = state[0]
            outs.append([hs[t] for t in range(len(seq))])
            finals.append(state)
        seq = [tg.cat([f, r], axis=-1) for f, r in zip(*outs)]
    output = np.stack([s.numpy() for s in seq], axis=1)
    return output, np.stack([f[0].numpy() for f in finals]), np.stack([f[1].numpy() for f in finals])


def test_two_layer_bidirectional_batch_first_layer_is_the_cell_run_by_hand():
    np.random.seed(0)
    layer = nn.Recurrent(KeepCell, 2, 3, num_layers=2, bidirectional=True, batch_first=True, dtype="float64")
    assert list(layer.state_dict())[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert "weight_hh_l1_reverse" in layer.state_dict() and layer.state_names == ("h_0", "s_0")
    x = np.random.default_rng(3).standard_normal((4, 5, 2))  # (N, T, I)
    output, (h_n, s_n) = layer(tg.Tensor(x))
    expected, h_hand, s_hand = run_by_hand(layer, x)
    assert output.shape == (4, 5, 6) and h_n.shape == s_n.shape == (4, 4, 3)
    np.testing.assert_allclose(output.numpy(), expected, rtol=1e-13)
    np.testing.assert_allclose(h_n.numpy(), h_hand, rtol=1e-13)
    np.testing.assert_allclose(s_n.numpy(), s_hand, rtol=1e-13)
    # A state of two tensors is a tuple; a built-in cell class gives its own layer's answer.
    with pytest.raises(TypeError, match=r"a tuple \(h_0, s_0\)"):
        layer(tg.Tensor(x), tg.Tensor(np.full((4, 4, 3), 0.5)))
    np.random.seed(1)
    lstm = nn.LSTM(2, 3, num_layers=2, dtype="float64")
    generic = nn.Recurrent(nn.LSTMCell, 2, 3, num_layers=2, dtype="float64")
    generic.load_state_dict(lstm.state_dict())
    a, (h_a, c_a) = lstm(tg.Tensor(x))
    b, (h_b, c_b) = generic(tg.Tensor(x))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(c_a.numpy(), c_b.numpy())


def test_layer_initial_state_is_used():
    np.random.seed(0)
    layer = nn.Recurrent(KeepCell, 2, 3, dtype="float64")
    x = tg.Tensor(np.ones((3, 1, 2)))
    h_0 = tg.Tensor(np.zeros((1, 1, 3)))
    s_0 = tg.Tensor(np.full((1, 1, 3), 2.0))
    _, (_, s_n) = layer(x, (h_0, s_0))
    state = (h_0[0], s_0[0])
    for t in range(3):
        state = layer.cells[0](x[t], state)
    np.testing.assert_allclose(s_n.numpy()[0], state[1].numpy(), rtol=1e-14)


def test_tbptt_trains_the_generic_layer_as_a_loop_with_detach_would():
    np.random.seed(0)
    layer = nn.Recurrent(KeepCell, 2, 3, dtype="float64")
    np.random.seed(0)
    twin = nn.Recurrent(KeepCell, 2, 3, dtype="float64")
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((7, 2, 2)), rng.standard_normal((7, 2, 3))
    losses, final = nn.train_tbptt(layer, tg.Tensor(x), tg.Tensor(y), F.mse_loss,
                                   optim.SGD(layer.parameters(), lr=0.1), k=3)
    opt, state, by_hand = optim.SGD(twin.parameters(), lr=0.1), None, []
    for start in range(0, 7, 3):
        opt.zero_grad()
        out, state = twin(tg.Tensor(x[start:start + 3]), state)
        loss = F.mse_loss(out, tg.Tensor(y[start:start + 3]))
        loss.backward()
        opt.step()
        state = nn.detach_state(state)
        by_hand.append(loss.item())
    assert len(losses) == 3
    np.testing.assert_allclose(losses, by_hand, rtol=1e-13)
    for (name, a), b in zip(layer.state_dict().items(), twin.state_dict().values()):
        np.testing.assert_allclose(a, b, rtol=1e-13, err_msg=name)
    assert isinstance(final, tuple) and all(s.is_leaf for s in final)


def test_save_load_round_trip(tmp_path):
    np.random.seed(0)
    layer = nn.Recurrent(KeepCell, 2, 3, num_layers=2, bidirectional=True, dtype="float64")
    tg.save(layer, tmp_path / "keep.npz")
    np.random.seed(7)
    other = nn.Recurrent(KeepCell, 2, 3, num_layers=2, bidirectional=True, dtype="float64")
    x = tg.Tensor(np.random.default_rng(5).standard_normal((4, 2, 2)))
    assert not np.allclose(other(x)[0].numpy(), layer(x)[0].numpy())
    tg.load(other, tmp_path / "keep.npz")
    np.testing.assert_array_equal(other(x)[0].numpy(), layer(x)[0].numpy())
    assert sorted(np.load(tmp_path / "keep.npz").files) == sorted(layer.state_dict())


@pytest.mark.parametrize("cell_class", [KeepCell, SquashCell])
def test_float64_gradcheck_with_a_random_upstream_gradient(cell_class):
    np.random.seed(0)
    cell = cell_class(2, 3, dtype="float64")
    rng = np.random.default_rng(6)
    x = tg.Tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    start = tuple(tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True) for _ in cell.declaration.states)
    params = list(cell.parameters()) + ([cell.keep] if cell_class is KeepCell else [])

    def run(x, *leaves):
        state = leaves[:len(start)]
        state = state if len(state) > 1 else state[0]
        for t in range(3):
            state = cell(x[t], state)
        return state

    assert tg.gradcheck(run, [x, *start, *params])


# ----------------------------------------------------------------------------------------------
# The command line


def test_cli_draws_and_traces_a_cell_from_a_module(tmp_path, monkeypatch, capsys):
    (tmp_path / "mycells.py").write_text(textwrap.dedent('''
        from tinygrad_rnn import nn
        from tinygrad_rnn.nn import named

        class Leaky(nn.RecurrentCell):
            declaration = nn.CellDeclaration(states=("h_t",), carried="h_t", carousel_term="kh_t",
                                             carousel_factor="0.5")

            def __init__(self, input_size, hidden_size):
                super().__init__(input_size, hidden_size, True, n_gates=1)

            def step(self, x_proj, h, weights):
                kh_t = named(h * 0.5, "kh_t")
                return named(kh_t + (x_proj + h @ weights.hh).tanh(), "h_t")
    '''))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "mycells", raising=False)
    assert cli.main(["graph", "--cell", "mycells:Leaky", "--steps", "3", "-o", "leaky.dot"]) == 0
    source = (tmp_path / "leaky.dot").read_text()
    assert "cluster_t2" in source and "class=cec" in source and "Leaky unrolled over 3 steps" in source
    assert cli.main(["gradflow", "--cells", "mycells:Leaky,rnn", "--steps", "5", "-o", "flow.png"]) == 0
    assert "Leaky" in capsys.readouterr().out
    assert cli.main(["graph", "--cell", "mycells:Nope", "-o", "x.dot"]) == 2
    assert "mycells.Nope is missing, not a cell class" in capsys.readouterr().err
    assert cli.main(["graph", "--cell", "nosuchmodule:Cell", "-o", "x.dot"]) == 2
    assert "cannot import module 'nosuchmodule'" in capsys.readouterr().err

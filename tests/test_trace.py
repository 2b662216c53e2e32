"""trace_gradients: the per-step gradients against retain_grad and against formulas worked out by
hand, the Jacobians against finite differences and matrix products, the 1997 LSTM's constant
error carousel, Pascanu et al.'s geometric decay, truncated BPTT; and the plots made from traces."""

import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, viz
from tinygrad_rnn.errors import ShapeError
from tinygrad_rnn.gradients import GradientTrace, trace_gradients


def make(kind, input_size=3, hidden=4, seed=0, **kwargs):
    np.random.seed(seed)
    return nn.make_cell(kind, input_size, hidden, dtype="float64", **kwargs)


def inputs(steps, batch=2, size=3, seed=1):
    return np.random.default_rng(seed).standard_normal((steps, batch, size))


def run_by_hand(cell, x, bptt=None, loss="last"):
    """The loop the tracer runs, written out, with retain_grad on every state."""
    N, H = x.shape[1], cell.hidden_size
    has_c = cell.state_size >= 2
    h0 = tg.Tensor(np.zeros((N, H)), requires_grad=True)
    c0 = tg.Tensor(np.zeros((N, H)), requires_grad=True)
    state = (h0, c0) if has_c else h0
    hs, cs = [], []
    for t in range(x.shape[0]):
        if bptt and t > 0 and t % bptt == 0:
            state = nn.detach_state(state)
        state = cell(tg.Tensor(x[t]), state)
        h = state[0] if has_c else state
        h.retain_grad()
        hs.append(h)
        if has_c:
            state[1].retain_grad()
            cs.append(state[1])
    L = hs[-1].sum() if loss == "last" else sum((h.sum() for h in hs[1:]), hs[0].sum())
    L.backward()

    def grads(ts):
        return np.stack([np.zeros(t.shape) if t.grad is None else t.grad.numpy() for t in ts])

    return {"hs": hs, "cs": cs, "dh": grads(hs), "dc": grads(cs) if has_c else None, "h0": h0, "c0": c0}


# ----------------------------------------------------------------------------------------------
# The traced gradients are the tape's gradients


@pytest.mark.parametrize("kind", nn.CELL_KINDS)
def test_traced_gradients_equal_retain_grad(kind):
    cell = make(kind)
    x = inputs(6)
    trace = trace_gradients(cell, x, jacobians=False)
    by_hand = run_by_hand(cell, x)
    np.testing.assert_allclose(trace.dL_dh, by_hand["dh"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(trace.dL_dh_init, by_hand["h0"].grad.numpy(), rtol=1e-12, atol=1e-15)
    if cell.state_size >= 2:
        np.testing.assert_allclose(trace.dL_dc, by_hand["dc"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(trace.dL_dc_init, by_hand["c0"].grad.numpy(), rtol=1e-12, atol=1e-15)
        assert trace.declaration is cell.declaration and trace.carousel_state == "c"
    else:
        assert trace.dL_dc is None
    assert trace.dL_dh.shape == (6, 2, 4)
    np.testing.assert_array_equal(trace.steps, np.arange(6))
    np.testing.assert_array_equal(trace.lags, np.arange(6)[::-1])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_truncated_bptt_equals_retain_grad_with_detach(kind):
    cell = make(kind)
    x = inputs(7)
    trace = trace_gradients(cell, x, bptt=3, loss="all", jacobians=False)
    by_hand = run_by_hand(cell, x, bptt=3, loss="all")
    np.testing.assert_allclose(trace.dL_dh, by_hand["dh"], rtol=1e-12, atol=1e-15)
    full = trace_gradients(cell, x, loss="all", jacobians=False)
    assert not np.allclose(trace.dL_dh[:6], full.dL_dh[:6])  # the cut changes what reaches back


def test_truncation_stops_the_gradient_at_the_chunk_start():
    cell = make("lstm")
    x = inputs(10)
    full = trace_gradients(cell, x, jacobians=False)
    cut = trace_gradients(cell, x, bptt=4, jacobians=False)  # chunks 0-3, 4-7, 8-9
    np.testing.assert_array_equal(cut.dL_dh[8:], full.dL_dh[8:])
    np.testing.assert_array_equal(cut.dL_dc[8:], full.dL_dc[8:])
    assert not cut.dL_dh[:8].any() and not cut.dL_dc[:8].any() and not cut.dL_dh_init.any()
    assert not cut.carousel[8].any()  # nothing flows through the cut
    assert "truncated BPTT every 4 steps" in repr(cut)


def test_layer_is_traced_through_its_cell():
    np.random.seed(0)
    layer = nn.LSTM(3, 4, dtype="float64")
    x = inputs(5)
    from_layer = trace_gradients(layer, x)
    from_cell = trace_gradients(layer.cells[0], x)
    np.testing.assert_array_equal(from_layer.dL_dc, from_cell.dL_dc)
    np.testing.assert_array_equal(from_layer.jacobian_h, from_cell.jacobian_h)
    batch_first = nn.LSTM(3, 4, batch_first=True, dtype="float64")
    batch_first.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(trace_gradients(batch_first, x.swapaxes(0, 1)).dL_dh, from_layer.dL_dh)
    # The layer's own unrolled forward gives the same gradient at h_0.
    h0 = tg.Tensor(np.zeros((1, 2, 4)), requires_grad=True)
    c0 = tg.Tensor(np.zeros((1, 2, 4)), requires_grad=True)
    output, _ = layer(tg.Tensor(x), (h0, c0))
    output[4].sum().backward()
    np.testing.assert_allclose(h0.grad.numpy()[0], from_layer.dL_dh_init, rtol=1e-12, atol=1e-15)


def test_parameter_gradients_are_left_alone():
    cell = make("gru")
    cell.weight_hh.grad = tg.Tensor(np.full(cell.weight_hh.shape, 7.0))
    trace_gradients(cell, inputs(4))
    assert cell.bias_ih.grad is None
    np.testing.assert_array_equal(cell.weight_hh.grad.numpy(), 7.0)


# ----------------------------------------------------------------------------------------------
# The split of dL/dc_{t-1}: carousel and rest


def test_carousel_split_of_the_lstm_by_hand():
    """PyTorch's LSTM: c_{t-1} reaches the loss through f_t * c_{t-1} (the carousel) and through
    h_{t-1} = o_{t-1} * tanh(c_{t-1}), so rest_t = dL/dh_{t-1} * o_{t-1} * (1 - tanh(c_{t-1})^2)."""
    cell = make("lstm")
    x = inputs(5)
    trace = trace_gradients(cell, x, jacobians=False)
    by_hand = run_by_hand(cell, x)
    for t in range(1, 5):
        f_t = by_hand["cs"][t].grad_fn.inputs[0].grad_fn.inputs[0]
        assert f_t.name == "f_t"
        c_prev = by_hand["cs"][t - 1].numpy()
        o_prev = by_hand["hs"][t - 1].grad_fn.inputs[0]
        assert o_prev.name == "o_t"
        np.testing.assert_allclose(trace.carousel[t], f_t.numpy() * trace.dL_dc[t], rtol=1e-12)
        rest = trace.dL_dh[t - 1] * o_prev.numpy() * (1 - np.tanh(c_prev) ** 2)
        np.testing.assert_allclose(trace.rest[t], rest, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(trace.rest[0], 0, atol=1e-15)  # c_init does not feed h_init
    share = trace.carousel_share()
    assert share.shape == (5,) and ((share >= 0) & (share <= 1)).all()


def test_direct_path_of_the_gru():
    """A GRU's h_t = (1 - z_t) * n_t + z_t * h_{t-1}: the direct part of dL/dh_{t-1} is z_t * dL/dh_t."""
    cell = make("gru")
    x = inputs(4)
    trace = trace_gradients(cell, x, jacobians=False)
    by_hand = run_by_hand(cell, x)
    assert trace.carousel_state == "h"
    for t in range(4):
        mul = by_hand["hs"][t].grad_fn.inputs[1].grad_fn
        z_t = mul.inputs[0]
        assert z_t.name == "z_t"
        np.testing.assert_allclose(trace.carousel[t], z_t.numpy() * trace.dL_dh[t], rtol=1e-12)
        before = trace.dL_dh[t - 1] if t else trace.dL_dh_init
        np.testing.assert_allclose(trace.carousel[t] + trace.rest[t], before, rtol=1e-12, atol=1e-15)


def test_plain_rnn_has_no_carousel():
    trace = trace_gradients(make("rnn"), inputs(3), jacobians=False)
    assert trace.carousel is None and trace.carousel_state is None
    with pytest.raises(ValueError, match="no carousel"):
        trace.carousel_share()


def test_1997_carousel_keeps_the_gradient_constant_over_1000_steps():
    """No forget gate: c_t = c_{t-1} + i_t * g_t passes dL/dc_t back with weight 1. With the loss
    on c_T only and W_hh = 0 (so nothing flows back through h), the carousel is the only way back,
    and ||dL/dc_t|| stays what it was at the last step, 1,000 steps back."""
    cell = make("lstm-1997", hidden=4)
    cell.weight_hh.data[:] = 0
    x = inputs(1000, batch=1)
    trace = trace_gradients(cell, x, loss="last_c", jacobians=False)
    norms = trace.grad_norm("c")
    assert norms[-1] == pytest.approx(2.0)  # dL/dc_T = ones (1, 4)
    assert np.max(np.abs(norms / norms[-1] - 1)) < 1e-6
    np.testing.assert_array_equal(trace.carousel[1:], trace.dL_dc[1:])  # weight 1: identity
    assert not trace.rest.any()
    # With a forget gate (sigmoid < 1) the same gradient fades as the product of the f_t.
    forgetting = make("lstm", hidden=4)
    forgetting.weight_hh.data[:] = 0
    fading = trace_gradients(forgetting, x, loss="last_c", jacobians=False).grad_norm("c")
    assert fading[0] / fading[-1] < 1e-20


def test_1997_carousel_is_the_identity_with_recurrence_too():
    cell = make("lstm-1997")
    trace = trace_gradients(cell, inputs(8), loss="last_c", jacobians=False)
    np.testing.assert_array_equal(trace.carousel, trace.dL_dc)
    assert trace.rest[1:].any()  # h_{t-1} feeds the gates: a second way back


# ----------------------------------------------------------------------------------------------
# Jacobians and Pascanu et al.'s bound


def test_rnn_jacobian_is_the_product_of_step_jacobians():
    """dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh, so dh_{T-1}/dh_t is their product from t+1 to T-1."""
    cell = make("rnn")
    x = inputs(6)
    trace = trace_gradients(cell, x, batch_index=1)
    hs = [h.numpy()[1] for h in run_by_hand(cell, x)["hs"]]
    W = cell.weight_hh.numpy()
    expected = np.eye(4)
    for t in range(5, -1, -1):
        np.testing.assert_allclose(trace.jacobian_h[t], expected, rtol=1e-10, atol=1e-14)
        expected = expected @ (np.diag(1 - hs[t] ** 2) @ W) if t > 0 else expected
    step0 = np.diag(1 - hs[0] ** 2) @ W
    np.testing.assert_allclose(trace.jacobian_h_init, expected @ step0, rtol=1e-10, atol=1e-14)


def test_lstm_jacobian_against_finite_differences():
    """dc_{T-1}/dc_t, from central differences of the cell run on from step t with c_t moved
    (and with it h_t = o_t * tanh(c_t), o_t fixed, as backpropagation sees it)."""
    cell = make("lstm")
    x = inputs(5)
    trace = trace_gradients(cell, x, batch_index=0)
    by_hand = run_by_hand(cell, x)
    t, eps = 1, 1e-6
    o_t = by_hand["hs"][t].grad_fn.inputs[0].numpy()
    c_t = by_hand["cs"][t].numpy()

    def c_last(c):
        state = (tg.Tensor(o_t * np.tanh(c)), tg.Tensor(c))
        for s in range(t + 1, 5):
            state = cell(tg.Tensor(x[s]), state)
        return state[1].numpy()[0]

    numeric = np.zeros((4, 4))
    for j in range(4):
        step = np.zeros_like(c_t)
        step[0, j] = eps
        numeric[:, j] = (c_last(c_t + step) - c_last(c_t - step)) / (2 * eps)
    np.testing.assert_allclose(trace.jacobian_c[t], numeric, rtol=1e-6, atol=1e-9)

    h_t = by_hand["hs"][t].numpy()

    def h_last(h):  # dh_{T-1}/dh_t holds c_t fixed
        state = (tg.Tensor(h), tg.Tensor(c_t))
        for s in range(t + 1, 5):
            state = cell(tg.Tensor(x[s]), state)
        return state[0].numpy()[0]

    for j in range(4):
        step = np.zeros_like(h_t)
        step[0, j] = eps
        numeric[:, j] = (h_last(h_t + step) - h_last(h_t - step)) / (2 * eps)
    np.testing.assert_allclose(trace.jacobian_h[t], numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(trace.jacobian_c[4], np.eye(4))
    assert trace.jacobian_norm("c", ord=2)[4] == pytest.approx(1.0)
    assert trace.jacobian_norm("h")[4] == pytest.approx(2.0)  # Frobenius norm of I_4


def test_pascanu_geometric_decay_of_a_tanh_rnn():
    """||dh_t/dh_{t-1}|| <= ||W_hh|| * max|tanh'| = sigma_max(W_hh) < 1 (Pascanu et al. 2013),
    so with the loss on the last state ||dL/dh_t|| shrinks at least geometrically going back."""
    cell = make("rnn", hidden=8)
    W = np.random.default_rng(5).standard_normal((8, 8))
    sigma = 0.9
    cell.weight_hh.data[:] = W * (sigma / np.linalg.norm(W, 2))
    trace = trace_gradients(cell, inputs(30, batch=3), loss="last")
    norms = np.concatenate([[np.linalg.norm(trace.dL_dh_init)], trace.grad_norm("h")])
    ratios = norms[:-1] / norms[1:]
    assert (ratios <= sigma * (1 + 1e-12)).all()
    assert norms[0] <= sigma**30 * norms[-1] * (1 + 1e-9)
    spectral = trace.jacobian_norm("h", ord=2)
    assert (spectral <= sigma ** trace.lags.astype(float) * (1 + 1e-9)).all()


# ----------------------------------------------------------------------------------------------
# Bad input


def test_bad_input_is_named():
    cell = make("gru")
    with pytest.raises(ValueError, match="loss='last_c' needs a cell state c"):
        trace_gradients(cell, inputs(3), loss="last_c")
    with pytest.raises(ValueError, match="bptt must be None or a positive int"):
        trace_gradients(cell, inputs(3), bptt=0)
    with pytest.raises(ShapeError, match=r"x has shape \(3, 2, 3, 1\)"):
        trace_gradients(cell, inputs(3)[..., None])
    with pytest.raises(ValueError, match="batch_index 5 is outside the batch of 2"):
        trace_gradients(cell, inputs(3), batch_index=5)
    with pytest.raises(ValueError, match=r"pass one cell, layer.cells\["):
        trace_gradients(nn.GRU(3, 4, num_layers=2), inputs(3))
    with pytest.raises(ShapeError, match=r"initial h_0 has shape \(3,\), expected \(2, 4\)"):
        trace_gradients(cell, inputs(3), state=np.zeros(3))
    with pytest.raises(ValueError, match="loss must be one of"):
        trace_gradients(cell, inputs(3), loss="first")


def test_unbatched_input_and_custom_loss():
    cell = make("lstm")
    x = inputs(4)[:, 0, :]
    trace = trace_gradients(cell, x, loss=lambda hs, cs: (hs[-1] * cs[-1]).sum())
    assert isinstance(trace, GradientTrace) and trace.dL_dh.shape == (4, 1, 4)


# ----------------------------------------------------------------------------------------------
# Plots


def traces_for_plots():
    x = inputs(12, batch=2)
    return {name: trace_gradients(make(kind), x, jacobians=False) for name, kind in
            (("RNN", "rnn"), ("LSTM", "lstm"), ("GRU", "gru"))}


def test_gradient_flow_plot(tmp_path):
    traces = traces_for_plots()
    fig = viz.plot_gradient_flow(traces)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert "time lag" in ax.get_xlabel() and ax.get_title()
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["RNN: dL/dh_t", "LSTM: dL/dh_t", "LSTM: dL/dc_t", "GRU: dL/dh_t"]
    lag, value = ax.get_lines()[0].get_data()
    np.testing.assert_array_equal(lag, traces["RNN"].lags)
    np.testing.assert_allclose(value, traces["RNN"].grad_norm() / traces["RNN"].grad_norm()[-1])
    path = viz.save_figure(fig, tmp_path / "flow.png")
    assert open(path, "rb").read(4) == b"\x89PNG"


def test_heatmap_and_carousel_plots(tmp_path):
    traces = traces_for_plots()
    heat = viz.plot_gradient_heatmap(traces["LSTM"])
    assert heat.axes[0].get_ylabel() == "hidden unit" and heat.axes[0].get_images()[0].get_array().shape == (4, 12)
    share = viz.plot_carousel_share(traces["LSTM"])
    top, bottom = share.axes
    assert [line.get_label() for line in top.get_lines()][0].startswith("carousel")
    np.testing.assert_allclose(bottom.get_lines()[0].get_data()[1], traces["LSTM"].carousel_share())
    assert viz.save_figure(share, tmp_path / "share.svg").endswith(".svg")
    assert (tmp_path / "share.svg").stat().st_size > 1000
    with pytest.raises(ValueError, match="no carousel"):
        viz.plot_carousel_share(traces["RNN"])


def test_trace_and_graph_on_every_backend(backend):
    """The tracer hands back NumPy arrays whatever the backend; the drawing reads gradients there too."""
    from tinygrad_rnn.backend import to_backend

    reference = trace_gradients(make("lstm"), inputs(4))
    cell = make("lstm", backend=backend)
    x = to_backend(inputs(4), backend)
    trace = trace_gradients(cell, x)
    assert type(trace.dL_dc) is np.ndarray and type(trace.jacobian_h) is np.ndarray
    np.testing.assert_allclose(trace.dL_dc, reference.dL_dc, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(trace.carousel, reference.carousel, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(trace.jacobian_c, reference.jacobian_c, rtol=1e-12, atol=1e-15)
    with tg.time_step(0):
        h, c = cell(tg.Tensor(x[0]))
    loss = (h * c).sum()
    viz.record_gradients(loss)
    loss.backward()
    assert "|grad|" in viz.draw_graph(loss).source


def test_plots_without_matplotlib_say_how_to_install(monkeypatch):
    trace = trace_gradients(make("lstm"), inputs(3), jacobians=False)
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # as on a machine without it
    for plot in (viz.plot_gradient_flow, viz.plot_gradient_heatmap, viz.plot_carousel_share):
        with pytest.raises(ImportError, match=r"pip install 'tinygrad_rnn\[viz\]'"):
            plot(trace)

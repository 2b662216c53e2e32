"""What a notebook user sees: the rich reprs IPython finds on graphs, figures and traces, and the
short PyTorch-like reprs of tensors and modules. IPython's own DisplayFormatter computes the
bundle here, as a kernel does; tests/test_notebooks.py runs real kernels."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, viz
from tinygrad_rnn.gradients.trace import trace_gradients

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def bundle(obj):
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(obj)
    return data


def small_graph():
    x = tg.Tensor(np.ones((1, 3)), requires_grad=True, name="x")
    y = (x * 2).tanh().sum()
    y.backward()
    return viz.draw_graph(y)


def test_graph_displays_as_svg_and_png_with_a_short_text():
    g = small_graph()
    data = bundle(g)
    assert data["image/svg+xml"].lstrip().startswith(("<?xml", "<svg")) and "</svg>" in data["image/svg+xml"]
    assert data["image/png"].startswith(PNG_MAGIC)
    assert g._repr_svg_() == data["image/svg+xml"]
    assert "text/html" not in data, "a graph that fits the column needs no scroll box"
    assert len(data["text/plain"]) < 100 and "0x" not in data["text/plain"]


def test_a_large_graph_displays_at_its_own_size_in_a_scroll_box():
    g = viz.demo.unrolled_graph("lstm", steps=6)
    data = bundle(g)
    html = data["text/html"]
    width_pt = float(html.split('width="', 1)[1].split("pt", 1)[0])
    assert width_pt * 4 / 3 > 900
    assert "overflow:auto" in html and 'style="max-width:none' in html
    box_width = float(html.split('<div style="width:', 1)[1].split("px", 1)[0])
    assert box_width == pytest.approx(width_pt * 4 / 3, abs=1)  # not shrunk to the column
    svg = data["image/svg+xml"]
    assert svg[svg.index("<svg"):].replace("<svg", '<svg style="max-width:none;height:auto"', 1) in html


def test_a_plot_displays_once_as_png():
    trace = trace_gradients(nn.RNNCell(2, 3), np.random.randn(5, 1, 2).astype(np.float32), jacobians=False)
    fig = viz.plot_gradient_flow({"RNN": trace})
    data = bundle(fig)
    assert set(data) == {"text/plain", "image/png"}
    assert data["image/png"].startswith(PNG_MAGIC)
    import matplotlib.pyplot as plt

    assert fig not in [plt.figure(n) for n in plt.get_fignums()], "pyplot must not manage it (shown twice)"


def _trace(cell, T=30):
    np.random.seed(0)
    return trace_gradients(cell, np.random.randn(T, 1, 2).astype(np.float32), jacobians=False)


def test_trace_summary_reads_the_norms_at_a_few_lags():
    np.random.seed(1)
    trace = _trace(nn.LSTMCell(2, 4), T=30)
    text = repr(trace)
    lines = text.splitlines()
    assert lines[0].startswith("GradientTrace(LSTMCell(2, 4), T=30") and "loss=" in lines[0]
    assert lines[1].split()[-4:] == ["0", "1", "10", "29"]
    h_norms = trace.grad_norm("h")
    expected = [f"{h_norms[29 - lag]:.3g}" for lag in (0, 1, 10, 29)]
    assert lines[2].split()[-4:] == expected
    c_norms = trace.grad_norm("c")
    assert lines[3].split()[-4:] == [f"{c_norms[29 - lag]:.3g}" for lag in (0, 1, 10, 29)]
    share = trace.carousel_share()
    assert lines[4].startswith("  carousel share")
    assert lines[4].split()[-4:] == [f"{share[29 - lag]:.2f}" for lag in (0, 1, 10, 29)]
    html = bundle(trace)["text/html"]
    assert html.startswith("<table>") and "LSTMCell(2, 4)" in html
    for value in expected:
        assert f"<td>{value}</td>" in html


def test_trace_summary_of_cells_without_a_carousel_or_c():
    rnn = repr(_trace(nn.RNNCell(2, 4), T=5))
    assert "||dL/dh_t||" in rnn and "dL/dc_t" not in rnn and "share" not in rnn
    assert rnn.splitlines()[1].split()[-2:] == ["1", "4"]  # lags 0, 1 and T-1 = 4 only
    gru = repr(_trace(nn.GRUCell(2, 4), T=5))
    assert "carousel share" in gru and "dL/dc_t" not in gru


def test_tensor_and_module_reprs_are_short_and_pytorch_like():
    big = repr(tg.Tensor(np.arange(10000.0).reshape(100, 100)))
    lines = big.splitlines()
    assert len(lines) <= 6 and "..." in big
    assert all(line.startswith("        [") or line.strip() == "...," for line in lines[1:-1]), big
    assert repr(tg.Tensor(3.0)) == "Tensor(3., dtype=float32)"

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 4)
            self.out = nn.Linear(4, 2)

    assert repr(Net()) == "Net(\n  (rnn): GRU(3, 4)\n  (out): Linear(in_features=4, out_features=2, bias=True)\n)"
    assert repr(nn.LSTM(3, 8, num_layers=2)) == "LSTM(3, 8, num_layers=2)"

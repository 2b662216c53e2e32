"""The pictures of `tinygrad-rnn demo` (and `graph`, `gradflow`), as functions you can call.

    viz.demo.lstm_step_graph()                  # one LSTM step, every op
    viz.demo.unrolled_graph("lstm", steps=3)    # an unrolled layer, CEC highlighted
    viz.demo.gradient_flow_traces(["rnn", "lstm", "gru"], steps=50)
    viz.demo.explorer_page(["rnn", "lstm"])     # the interactive explorer page
    viz.demo.run_demo("demo_out")               # all of it, written to a folder

Weights are drawn from NumPy's global generator after `np.random.seed(seed)` (as the cells do),
so every run draws the same pictures.
"""

import inspect
import os
import time

import numpy as np

from .. import nn
from ..autograd import time_step
from ..gradients.trace import trace_gradients
from ..tensor import Tensor
from .graph import draw_graph
from .plots import plot_carousel_share, plot_gradient_flow, save_figure
from .record import record_gradients
from .render import GraphvizError, save_graph

LABELS = {
    "rnn": "RNN (tanh)",
    "rnn-relu": "RNN (relu)",
    "lstm": "LSTM",
    "lstm-1997": "LSTM 1997 (no forget gate)",
    "gru": "GRU",
    "gru-cho": "GRU (Cho et al.)",
    "mgu": "MGU",
}


def label_of(kind):
    """A legend label for a cell kind (a name of nn.CELL_KINDS) or a cell class (its name)."""
    if isinstance(kind, type):
        return kind.__name__
    return LABELS.get(kind, kind.upper() if kind.startswith(("lstm", "gru")) else kind)


def make_cell(kind, input_size, hidden_size, **kwargs):
    """nn.make_cell(kind, ...) for a kind's name; `kind(input_size, hidden_size)` for a cell class.
    Other keyword arguments (forget_bias, ...) go to the constructor."""
    if isinstance(kind, type):
        return kind(input_size, hidden_size, **kwargs)
    return nn.make_cell(kind, input_size, hidden_size, **kwargs)


def make_layer(kind, input_size, hidden_size):
    """nn.make_layer(kind, ...) for a kind's name; nn.Recurrent(kind, ...) for a cell class."""
    if isinstance(kind, type):
        return nn.Recurrent(kind, input_size, hidden_size)
    return nn.make_layer(kind, input_size, hidden_size)


def lstm_step_graph(hidden_size=4, input_size=3, seed=0):
    """One step of nn.LSTMCell at op level, after backward of L = sum(h_t)."""
    np.random.seed(seed)
    cell = nn.LSTMCell(input_size, hidden_size)
    x = Tensor(np.random.randn(1, input_size).astype(np.float32), name="x_t")
    h = Tensor(np.random.randn(1, hidden_size).astype(np.float32) * 0.5, requires_grad=True, name="h_(t-1)")
    c = Tensor(np.random.randn(1, hidden_size).astype(np.float32) * 0.5, requires_grad=True, name="c_(t-1)")
    with time_step(0):
        h_t, c_t = cell(x, (h, c))
    loss = h_t.sum()
    loss.name = "L"
    record_gradients(loss)
    loss.backward()
    title = "One LSTM step: c_t = f_t * c_(t-1) + i_t * g_t,  h_t = o_t * tanh(c_t),  L = sum(h_t)"
    return draw_graph(loss, title=title)


def unrolled_graph(kind="lstm", steps=3, level="op", hidden_size=4, input_size=3, seed=0):
    """A one-layer layer of cells of `kind` (a name of nn.CELL_KINDS, or a cell class) unrolled
    over `steps`, after backward of L = sum(h at the last step); edges are as wide as the log of
    their gradient."""
    np.random.seed(seed)
    layer = make_layer(kind, input_size, hidden_size)
    dtype = layer.cells[0].weight_ih.dtype
    x = Tensor(np.random.randn(steps, 1, input_size).astype(dtype), name="x")
    states = [Tensor(np.zeros((1, 1, hidden_size), dtype=dtype), requires_grad=True, name=name)
              for name in layer.state_names]
    output, _ = layer(x, states[0] if len(states) == 1 else tuple(states))
    loss = output[steps - 1].sum()
    loss.name = "L"
    record_gradients(loss)
    loss.backward()
    title = f"{label_of(kind)} unrolled over {steps} steps, L = sum(h at the last step); edge width ~ log |gradient|"
    return draw_graph(loss, level=level, title=title)


def gradient_flow_traces(kinds, steps=50, hidden_size=32, input_size=8, batch=4, seed=0):
    """{label: GradientTrace} for each cell kind, same input, loss on the last step's h."""
    x = np.random.default_rng(seed).standard_normal((steps, batch, input_size)).astype(np.float32)
    traces = {}
    for kind in kinds:
        np.random.seed(seed)
        cell = make_cell(kind, input_size, hidden_size)
        traces[label_of(kind)] = trace_gradients(cell, x.astype(cell.weight_ih.dtype), loss="last", jacobians=False)
    return traces


def explorer_runs(kinds, forget_biases=(None,), input_biases=(None,)):
    """[(label, kind, constructor keyword arguments)]: each kind once, and an LSTM with a learned
    forget gate once per forget bias (and input bias), so that two biases can be compared."""
    runs = []
    for kind in kinds:
        probe = make_cell(kind, 1, 1)
        takes = inspect.signature(type(probe).__init__).parameters
        options = [{}]
        if "forget_bias" in takes and "f" in getattr(probe, "gate_names", ()):  # a learned forget gate
            options = [dict(o, forget_bias=b) for o in options for b in forget_biases]
        if "input_bias" in takes and "i" in getattr(probe, "gate_names", ()):
            options = [dict(o, input_bias=b) for o in options for b in input_biases]
        for kwargs in options:
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            extra = [f"{k.replace('_', ' ')} {v:g}" for k, v in kwargs.items()]
            runs.append((label_of(kind) + (f" ({', '.join(extra)})" if extra else ""), kind, kwargs))
    for name, given in (("forget_bias", forget_biases), ("input_bias", input_biases)):
        if any(b is not None for b in given) and not any(name in kwargs for _, _, kwargs in runs):
            raise ValueError(f"a {name.replace('_', ' ')} was given, but none of the cells "
                             f"{', '.join(k if isinstance(k, str) else k.__name__ for k in kinds)} has "
                             f"that gate's bias (e.g. lstm has a forget gate; lstm-1997 has none)")
    return runs


def explorer_page(kinds=("rnn", "lstm", "gru", "lstm-1997"), steps=30, hidden_size=16, input_size=4, seed=0,
                  forget_biases=(None,), input_biases=(None,), loss="last", detail_steps=None):
    """The gradient explorer page (viz.explore) for the cells `kinds` (names of nn.CELL_KINDS or
    cell classes), all reading the same random input of `steps` steps, each cell's weights drawn
    after np.random.seed(seed)."""
    from .explorer import explore

    x = np.random.default_rng(seed).standard_normal((steps, 1, input_size))
    traces = {}
    for label, kind, kwargs in explorer_runs(kinds, forget_biases, input_biases):
        np.random.seed(seed)
        cell = make_cell(kind, input_size, hidden_size, **kwargs)
        traces[label] = trace_gradients(cell, x.astype(cell.weight_ih.dtype), loss=loss, jacobians=False,
                                        keep_graph=True)
    title = f"Gradient explorer: {', '.join(traces)} over {steps} steps"
    return explore(traces, detail_steps=detail_steps, title=title)


def write_graph(graph, stem, formats=("dot", "svg", "png")):
    """Save `graph` as stem.dot, stem.svg, stem.png; returns (paths written, GraphvizError or None)."""
    written = []
    for fmt in formats:
        path = f"{stem}.{fmt}"
        try:
            written.append(save_graph(graph, path))
        except GraphvizError as exc:
            return written, exc
    return written, None


def run_demo(out="demo_out", echo=print):
    """Draw everything into folder `out` and tell `echo` what was written and found.
    Returns True when the graphs were rendered, False when only their DOT text was (no `dot`)."""
    start = time.time()
    os.makedirs(out, exist_ok=True)
    echo(f"tinygrad-rnn demo: writing to {os.path.abspath(out)}")
    missing_dot = None
    graphs = [
        ("lstm_step", "one LSTM step, every op", lstm_step_graph),
        ("lstm_unrolled_3", "an LSTM unrolled over 3 steps, cell-state path (CEC) in orange",
         lambda: unrolled_graph("lstm", steps=3)),
    ]
    for stem, what, build in graphs:
        formats = ("dot",) if missing_dot else ("dot", "svg", "png")
        written, error = write_graph(build(), os.path.join(out, stem), formats)
        missing_dot = missing_dot or error
        echo(f"  {what}: " + ", ".join(written))

    steps = 50
    kinds = ["rnn", "lstm", "gru", "lstm-1997"]
    traces = gradient_flow_traces(kinds, steps=steps)
    flow = plot_gradient_flow(traces, title=f"Gradient flow back through {steps} steps (loss on the last step's h)")
    paths = [save_figure(flow, os.path.join(out, f"gradient_flow_{steps}.{fmt}")) for fmt in ("png", "svg")]
    echo(f"  gradient norm against time lag, RNN / LSTM / GRU / LSTM 1997: {', '.join(paths)}")
    lstm = traces[label_of("lstm")]
    share = plot_carousel_share(lstm)
    path = save_figure(share, os.path.join(out, f"carousel_share_{steps}.png"))
    echo(f"  the LSTM's carousel share of dL/dc: {path}")

    echo("")
    echo(f"What the gradient does over {steps} steps (hidden size 32, untrained weights, L = sum(h_{steps - 1})):")
    for label, trace in traces.items():
        norms = trace.grad_norm("h")
        initial = float(np.sqrt(np.sum(trace.dL_dh_init.astype(np.float64) ** 2)))
        ratio = norms[0] / norms[-1] if norms[-1] > 0 else 0.0
        verdict = "vanished" if ratio < 1e-6 else "survives"
        echo(f"  {label:<28} ||dL/dh|| at t={steps - 1}: {norms[-1]:.2e}   at t=0: {norms[0]:.2e}   "
             f"at the initial state h_0: {initial:.2e}   (t=0 gets {ratio:.1e} of t={steps - 1}: {verdict})")
    carousel = lstm.carousel_share()
    echo(f"  In the LSTM the carousel f_t * dL/dc_t carries {100 * carousel[1:].mean():.0f}% of dL/dc_(t-1) on "
         f"average (see {os.path.basename(path)}); without a forget gate (1997) it passes dL/dc_t back unchanged.")
    if missing_dot:
        echo("  the gradient explorer page: not made, it needs Graphviz's dot (see the warning below)")
    else:
        path = explorer_page(kinds, steps=30).save(os.path.join(out, "explore.html"))
        echo(f"  the gradient explorer, RNN / LSTM / GRU / LSTM 1997 over 30 steps (open it in a browser): {path}")
    echo(f"done in {time.time() - start:.1f} s")
    if missing_dot:
        echo(f"warning: {missing_dot}")
        return False
    return True

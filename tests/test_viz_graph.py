"""draw_graph: the DOT it writes (pinned by golden files), the cell-state path, time clusters, the
cell-level view of long sequences, gradient widths, and the errors when Graphviz is missing.

Golden files: tests/golden/*.dot. After a deliberate change of the drawing, rewrite them with
    UPDATE_GOLDEN=1 python3 -m pytest tests/test_viz_graph.py
and read the diff before committing it.
"""

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, viz
from tinygrad_rnn.viz.render import GraphvizError

GOLDEN = Path(__file__).resolve().parent / "golden"
ROOT = Path(__file__).resolve().parents[1]


def named(t, name):
    t.name = name
    return t


# The ops of carousel_by_hand, declared as a cell would declare them.
CAROUSEL = nn.CellDeclaration(states=("c_t",), carried="c_t", carousel_term="fc_t", carousel_factor="f_t",
                              gates=("f_t", "fc_t", "i_t"), name="LSTM cell")


def carousel_by_hand():
    """c_t = f_t * c_{t-1} + i_t over two steps, from exact (dyadic) numbers, so every value
    and gradient norm is the same on every machine. A plain function loop, whose steps say
    which declared cell they run (nn.CellStep)."""
    w = nn.Parameter(np.array([[0.5, 0.25]]), name="w")
    c = tg.Tensor(np.array([[1.0, 2.0]]), requires_grad=True, name="c_0")
    for t in range(2):
        with tg.time_step(nn.CellStep(t, CAROUSEL, state=c)):
            x_t = tg.Tensor(np.array([[t + 1.0, 2.0]]), name="x_t")
            f_t = named(x_t * w, "f_t")
            fc_t = named(f_t * c, "fc_t")
            i_t = named(x_t * 0.5, "i_t")
            c = named(fc_t + i_t, "c_t")
    loss = named(c.sum(), "L")
    viz.record_gradients(loss)
    loss.backward()
    return loss


def lstm_steps(kind, steps, hidden=3, seed=0, record=True):
    np.random.seed(seed)
    cell = nn.make_cell(kind, 2, hidden, dtype="float64")
    x = np.random.randn(steps, 1, 2)
    state = None
    for t in range(steps):
        with tg.time_step(t):
            state = cell(tg.Tensor(x[t]), state)
    h = state[0] if isinstance(state, tuple) else state
    loss = h.sum()
    if record:
        viz.record_gradients(loss)
    loss.backward()
    return loss


def cec_edges(source):
    """(tail, head) of every edge whose attributes say class=cec."""
    return [tuple(m.groups()) for m in re.finditer(r"^\s*(\S+) -> (\S+) \[[^\]]*\bclass=cec\b", source, re.M)]


def node_labels(source):
    labels = {}
    for m in re.finditer(r'^\s*(\w+) \[label=(?:"([^"]*)"|(\S+))', source, re.M):
        labels[m.group(1)] = m.group(2) if m.group(2) is not None else m.group(3)
    return labels


def check_golden(name, source):
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(source, encoding="utf-8")
    assert path.exists(), f"golden file {path} is missing; create it with UPDATE_GOLDEN=1"
    assert source == path.read_text(encoding="utf-8"), f"DOT output differs from {path}"


# ----------------------------------------------------------------------------------------------
# Golden files, determinism, validity


def test_op_level_matches_golden_file():
    check_golden("carousel_two_steps_op.dot", viz.draw_graph(carousel_by_hand()).source)


def test_cell_level_matches_golden_file():
    check_golden("carousel_two_steps_cell.dot", viz.draw_graph(carousel_by_hand(), level="cell").source)


def test_same_graph_gives_same_dot():
    first = viz.draw_graph(lstm_steps("lstm", 3)).source
    second = viz.draw_graph(lstm_steps("lstm", 3)).source
    assert first == second
    assert "0x" not in first  # no memory addresses in node ids


def test_dot_renders_with_graphviz():
    graph = viz.draw_graph(lstm_steps("lstm", 2))
    svg = graph.pipe("svg").decode("utf-8")
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert 'class="edge cec"' in svg  # the attribute survives into the SVG, for styling
    png = graph.pipe("png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------------------------
# What the picture shows


def test_tensor_nodes_show_name_step_shape_dtype_and_grad():
    labels = node_labels(viz.draw_graph(lstm_steps("lstm", 2)).source)
    c_t1 = [label for label in labels.values() if label.startswith("c_t1\n")]
    assert len(c_t1) == 1
    assert "(1, 3) float64" in c_t1[0]
    assert re.search(r"\|grad\| \d\.\d\de[+-]\d\d", c_t1[0])
    for gate in ("i_t0", "f_t0", "g_t0", "o_t0", "h_t1"):
        assert any(label.startswith(gate + "\n") for label in labels.values()), gate
    assert {"matmul", "sigmoid", "tanh", "mul", "add", "split"} <= set(labels.values())


def test_gradient_norm_on_node_is_the_gradient():
    np.random.seed(0)
    cell = nn.LSTMCell(2, 3, dtype="float64")
    x = tg.Tensor(np.random.randn(1, 2))
    with tg.time_step(0):
        h, c = cell(x)
    c.retain_grad()
    (h * h).sum().backward()
    labels = node_labels(viz.draw_graph(h).source)
    (label,) = [v for v in labels.values() if v.startswith("c_t0\n")]
    assert f"|grad| {np.linalg.norm(c.grad.numpy()):.2e}" in label


def test_show_grad_false_hides_gradients():
    source = viz.draw_graph(lstm_steps("lstm", 2), show_grad=False).source
    assert "|grad|" not in source and "penwidth=0" not in source


def test_one_cluster_per_time_step():
    source = viz.draw_graph(lstm_steps("gru", 3)).source
    assert re.findall(r"subgraph (cluster_t\d+)", source) == ["cluster_t0", "cluster_t1", "cluster_t2"]
    assert "cluster_t" not in viz.draw_graph(lstm_steps("gru", 3), cluster_by_time=False).source


def test_cec_path_of_the_lstm():
    source = viz.draw_graph(lstm_steps("lstm", 3)).source
    labels = node_labels(source)
    edges = cec_edges(source)
    # Per step: c_{t-1} -> mul, mul -> fc_t, fc_t -> add, add -> c_t.
    assert len(edges) == 4 * 3
    heads = [labels[head] for _, head in edges]
    assert heads.count("mul") == 3 and heads.count("add") == 3
    assert sum(h.startswith("fc_t") for h in heads) == 3 and sum(h.startswith("c_t") for h in heads) == 3
    for tail, head in edges:
        if labels[head] == "mul":  # the carried state: c_{t-1} (the first one: the zeros c_0)
            assert labels[tail].startswith(("c_t", "(1, 3) float64"))
    assert f'color="{viz.style.CEC_COLOR}"' in source


def test_cec_path_of_the_1997_lstm_is_the_identity():
    source = viz.draw_graph(lstm_steps("lstm-1997", 3)).source
    labels = node_labels(source)
    edges = cec_edges(source)
    # c_{t-1} -> add -> c_t: no product on the way.
    assert len(edges) == 2 * 3
    assert sorted(labels[head].split("\n")[0] for _, head in edges) == ["add"] * 3 + ["c_t0", "c_t1", "c_t2"]


def test_no_highlight():
    assert not cec_edges(viz.draw_graph(lstm_steps("lstm", 2), highlight=None).source)
    assert not cec_edges(viz.draw_graph(lstm_steps("rnn", 2)).source)  # an RNN declares no carried state


def test_edge_width_grows_with_log_of_gradient():
    """A tanh RNN with a small W_hh: the gradient along h shrinks going back, so do the edges."""
    np.random.seed(0)
    cell = nn.RNNCell(2, 3, dtype="float64")
    cell.weight_hh.data *= 0.3
    h = None
    for t in range(6):
        with tg.time_step(t):
            h = cell(tg.Tensor(np.random.randn(1, 2)), h)
    loss = h.sum()
    viz.record_gradients(loss)
    loss.backward()
    source = viz.draw_graph(loss, level="cell").source
    widths = [float(w) for w in re.findall(r"label=h_t\d+ [^\]]*penwidth=([\d.]+)", source)]
    assert len(widths) == 6  # h_t0 .. h_t4 into the next step, h_t5 into the loss
    assert widths == sorted(widths) and widths[0] < widths[-1]


def test_zero_gradient_edge_is_dashed():
    x = tg.Tensor([[1.0, 2.0]], requires_grad=True, name="x")
    loss = named((x * 0.0).sum(), "L")
    viz.record_gradients(loss)
    loss.backward()
    assert "style=dashed" in viz.draw_graph(loss).source


def test_record_gradients_keeps_norms_per_edge():
    """The edge c_{t-1} -> f_t * c_{t-1} carries f_t * dL/dc_t, not all of dL/dc_{t-1}."""
    np.random.seed(1)
    cell = nn.LSTMCell(2, 3, dtype="float64")
    x = np.random.randn(2, 1, 2)
    with tg.time_step(0):
        h, c0 = cell(tg.Tensor(x[0]))
    with tg.time_step(1):
        h, c1 = cell(tg.Tensor(x[1]), (h, c0))
    c0.retain_grad()
    c1.retain_grad()
    loss = (h * h).sum()
    viz.record_gradients(loss)
    loss.backward()
    fc = c1.grad_fn.inputs[0]
    assert fc.name == "fc_t"
    f_t, c_prev = fc.grad_fn.inputs
    assert c_prev is c0
    expected = np.linalg.norm(f_t.numpy() * c1.grad.numpy())
    assert fc.grad_fn.in_grad_norms[1] == pytest.approx(expected, rel=1e-12)
    assert np.linalg.norm(c0.grad.numpy()) > expected * (1 + 1e-6)  # the rest comes through h


def test_unnamed_tensors_fold_into_edges_unless_asked():
    loss = lstm_steps("lstm", 1)
    folded = viz.draw_graph(loss).source
    full = viz.draw_graph(loss, show_unnamed=True).source
    assert len(node_labels(full)) > len(node_labels(folded))


# ----------------------------------------------------------------------------------------------
# Long sequences


def test_cell_level_1000_steps_renders():
    np.random.seed(0)
    layer = nn.LSTM(2, 3)
    x = tg.Tensor(np.random.randn(1000, 1, 2).astype(np.float32))
    output, _ = layer(x)
    loss = output[999].sum()
    viz.record_gradients(loss)
    loss.backward()
    graph = viz.draw_graph(loss, level="cell")
    svg = graph.pipe("svg").decode("utf-8")
    assert graph.source.count("LSTM cell, t=") == 1000
    assert "cluster_t999" in graph.source
    assert len(cec_edges(graph.source)) == 1000  # c_0 -> cell 0, then c_t from step to step
    assert svg.count('class="edge cec"') == 1000


def test_walk_is_iterative_on_deep_graphs():
    x = tg.Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    graph = viz.draw_graph(y, legend=False, cluster_by_time=False, show_grad=False)
    assert graph.source.count("label=mul") == 20000


def test_op_level_of_a_long_layer_stays_fast_to_lay_out():
    """Weights and the input projection feed every step; drawn as stubs in each step instead of
    one node with an edge per step (which made dot take minutes)."""
    np.random.seed(0)
    layer = nn.GRU(2, 3)
    output, _ = layer(tg.Tensor(np.random.randn(40, 1, 2).astype(np.float32)))
    loss = output[39].sum()
    loss.backward()
    graph = viz.draw_graph(loss)
    assert "from transpose of weight_hh_l0" in graph.source
    assert graph.pipe("svg")


# ----------------------------------------------------------------------------------------------
# Errors and optional dependencies


def test_bad_arguments():
    loss = lstm_steps("rnn", 1, record=False)
    with pytest.raises(ValueError, match="level must be one of 'op', 'cell'; got 'ops'"):
        viz.draw_graph(loss, level="ops")
    with pytest.raises(ValueError, match="highlight"):
        viz.draw_graph(loss, highlight="gates")
    with pytest.raises(TypeError, match="draw_graph: expected Tensors"):
        viz.draw_graph(np.ones(3))
    with pytest.raises(ValueError, match="at least one output"):
        viz.draw_graph()


def test_missing_graphviz_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(GraphvizError, match=r"pip install 'tinygrad_rnn\[viz\]'"):
        viz.draw_graph(lstm_steps("rnn", 1, record=False))


def test_missing_dot_program_says_how_to_install(monkeypatch, tmp_path):
    graph = viz.draw_graph(lstm_steps("lstm", 1))
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    with pytest.raises(GraphvizError, match="apt-get install graphviz"):
        graph.pipe("svg")
    with pytest.raises(GraphvizError, match="brew install graphviz"):
        graph.render(str(tmp_path / "g"), format="png")
    with pytest.raises(GraphvizError, match="DOT text was saved to"):
        viz.save_graph(graph, tmp_path / "lstm.svg")
    assert (tmp_path / "lstm.dot").read_text(encoding="utf-8") == graph.source
    assert viz.save_graph(graph, tmp_path / "again.dot")  # DOT needs no `dot`


def test_save_graph_picks_format_from_extension(tmp_path):
    graph = viz.draw_graph(lstm_steps("rnn", 2))
    assert (Path(viz.save_graph(graph, tmp_path / "g.svg")).read_bytes()).startswith(b"<?xml")
    assert Path(viz.save_graph(graph, tmp_path / "g.png")).read_bytes()[:4] == b"\x89PNG"
    assert Path(viz.save_graph(graph, tmp_path / "g.pdf")).read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf, \.dot"):
        viz.save_graph(graph, tmp_path / "g.jpeg")


def test_save_graph_says_what_is_in_the_way(tmp_path):
    graph = viz.draw_graph(lstm_steps("rnn", 1))
    (tmp_path / "plots").write_text("a file where a folder should be")
    for target in (tmp_path / "plots" / "g.dot", tmp_path / "plots" / "deeper" / "g.svg"):
        with pytest.raises(OSError, match=r"save_graph: cannot write .*g\.(dot|svg)'.*plots' is a file, not a folder"):
            viz.save_graph(graph, target)
    (tmp_path / "g.svg").mkdir()
    with pytest.raises(OSError, match=r"cannot write .*g\.svg': it is a folder"):
        viz.save_graph(graph, tmp_path / "g.svg")


def test_import_needs_neither_graphviz_nor_matplotlib():
    code = (
        "import sys\n"
        "sys.modules['graphviz'] = None\n"
        "sys.modules['matplotlib'] = None\n"
        "import tinygrad_rnn, tinygrad_rnn.viz, tinygrad_rnn.cli\n"
        "from tinygrad_rnn.gradients import trace_gradients\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    check = "import sys, tinygrad_rnn; print('graphviz' in sys.modules, 'matplotlib' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert loaded.stdout.split() == ["False", "False"]


def test_cell_level_edge_carries_the_gradient_sent_along_it():
    """h_t of early steps feeds both the next cell and the output stack; the loss uses only the
    last step, so the edge into the stack carries zero gradient even though h_t's total does not."""
    lstm = nn.LSTM(2, 3).double()
    out, _ = lstm(tg.Tensor(np.random.default_rng(0).standard_normal((4, 1, 2))))
    loss = out[-1].sum()
    viz.record_gradients(loss)
    loss.backward()
    source = viz.draw_graph(loss, level="cell").source
    into_stack = [line for line in source.splitlines() if "-> stub_" in line or "stack" in line and "->" in line]
    assert any("|grad| 0.00e+00" in line for line in into_stack), into_stack


def test_cell_level_without_time_steps_warns():
    # A loop of plain ops (no cell call) truly has no steps; a loop of cell calls numbers itself.
    w = tg.Tensor(np.full((3, 3), 0.5), requires_grad=True)
    h = tg.Tensor(np.ones((1, 3)))
    for _ in range(3):
        h = (h @ w).tanh()
    with pytest.warns(UserWarning, match="time_step"):
        viz.draw_graph(h.sum(), level="cell")
    cell = nn.GRUCell(2, 3)
    h = None
    for _ in range(3):
        h = cell(tg.Tensor([[0.5, -0.5]]), h)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        source = viz.draw_graph(h.sum(), level="cell").source
    assert re.findall(r"subgraph (cluster_t\d+)", source) == ["cluster_t0", "cluster_t1", "cluster_t2"]

"""The gradient explorer's data: what the page embeds agrees with the tracer (an independent
trace_gradients run), with a forward pass by hand, and with the drawings' tags; the page is one
self-contained file; the CLI and the demo write it. (tests/test_explore_browser.py opens it.)"""

import re
import sys

import numpy as np
import pytest

from tinygrad_rnn import cli, nn, viz
from tinygrad_rnn.gradients.trace import trace_gradients
from tinygrad_rnn.viz.explorer import choose_detail_steps
from tinygrad_rnn.viz.explorer.page import decode_data

T, I, H = 6, 3, 5


class DecayCell(nn.RecurrentCell):
    """A cell of the user's, unknown to the package, with its own state names:

        k_t = sigmoid(a_k),  w_t = tanh(a_w),  s_t = k_t * s_{t-1} + w_t  (ks_t + w_t),  y_t = tanh(s_t)
    """

    declaration = nn.CellDeclaration(states=("y_t", "s_t"), output="y_t", carried="s_t", carousel_term="ks_t",
                                     carousel_factor="k_t", gates=("k_t", "w_t", "ks_t"), name="Decay cell")

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size, True, n_gates=2)

    def step(self, x_proj, state, weights):
        y, s = state
        a_k, a_w = (x_proj + y @ weights.hh).split(self.hidden_size, axis=-1)
        k_t = nn.named(a_k.sigmoid(), "k_t")
        w_t = nn.named(a_w.tanh(), "w_t")
        ks_t = nn.named(k_t * s, "ks_t")
        s_t = nn.named(ks_t + w_t, "s_t")
        return nn.named(s_t.tanh(), "y_t"), s_t


def make(kind, seed=0, **kwargs):
    np.random.seed(seed)
    return nn.make_cell(kind, I, H, **kwargs)


def sequence(steps=T, batch=2, seed=1):
    return np.random.default_rng(seed).standard_normal((steps, batch, I)).astype(np.float32)


@pytest.fixture(scope="module")
def lstm_page():
    x = sequence()
    page = viz.explore({"LSTM": make("lstm", forget_bias=1.0), "GRU": make("gru")}, x, batch_index=1)
    return page, decode_data(page.html()), x


def tensor_key(drawing, name):
    keys = [k for k, info in drawing["nodes"].items() if info.get("n") == name]
    assert len(keys) == 1, (name, keys)
    return keys[0]


def test_norms_and_heatmaps_are_the_tracers(lstm_page):
    _, data, x = lstm_page
    for run, kind, kwargs in ((data["runs"][0], "lstm", {"forget_bias": 1.0}), (data["runs"][1], "gru", {})):
        trace = trace_gradients(make(kind, **kwargs), x, batch_index=1)  # a second, independent run
        assert run["states"] == (["h", "c"] if kind == "lstm" else ["h"])
        for s in run["states"]:
            np.testing.assert_allclose(run["norm"][s], trace.grad_norm(s), rtol=1e-5)
            heat = np.frombuffer(__import__("base64").b64decode(run["heat"][s]), dtype="<f4").reshape(T, H)
            np.testing.assert_array_equal(heat, np.abs(trace.gradients(s)[:, 1, :]))
        assert run["T"] == T and run["N"] == 2 and run["H"] == H and run["batch"] == 1
        assert run["loss"] == pytest.approx(trace.loss, rel=1e-5)


def test_drawn_states_carry_the_tracers_gradient_norms(lstm_page):
    _, data, x = lstm_page
    run = data["runs"][0]
    trace = trace_gradients(make("lstm", forget_bias=1.0), x)
    for t in range(T):
        detail = run["details"][str(t)]
        for s in ("h", "c"):
            info = detail["nodes"][tensor_key(detail, f"{s}_t{t}")]
            assert info["g"] == pytest.approx(trace.grad_norm(s)[t], rel=1e-5)
            assert info["s"] == "(2, 5)" and info["t"] == t
        # The step's table: ||dL/dh_t|| there is the same number.
        assert run["values"]["h_t"][t][3] == pytest.approx(trace.grad_norm("h")[t], rel=1e-5)
    # Every cell box of the unrolled graph is one step, each step once.
    cells = sorted(info["t"] for info in run["cellGraph"]["nodes"].values() if info["k"] == "cell")
    assert cells == list(range(T))


def test_gate_values_and_gradients_match_a_forward_pass_by_hand(lstm_page):
    """f_t's statistics from NumPy's LSTM equations; ||dL/df_t|| = ||dL/dc_t * c_{t-1}|| from the
    tracer's dL/dc_t (c_t = f_t * c_{t-1} + i_t * g_t)."""
    _, data, x = lstm_page
    run = data["runs"][0]
    cell = make("lstm", forget_bias=1.0)
    trace = trace_gradients(cell, x)
    W_ih, W_hh = cell.weight_ih.numpy().astype(np.float64), cell.weight_hh.numpy().astype(np.float64)
    b = (cell.bias_ih.numpy() + cell.bias_hh.numpy()).astype(np.float64)
    sigmoid = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    h = c = np.zeros((2, H))
    for t in range(T):
        a = x[t] @ W_ih.T + h @ W_hh.T + b
        i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        grad_f = np.linalg.norm(trace.dL_dc[t] * c)
        c = f * c + i * g
        h = o * np.tanh(c)
        v_min, v_mean, v_max, v_grad = run["values"]["f_t"][t]
        np.testing.assert_allclose([v_min, v_mean, v_max], [f.min(), f.mean(), f.max()], rtol=1e-4)
        assert v_grad == pytest.approx(grad_f, rel=1e-4, abs=1e-12)
        np.testing.assert_allclose(run["values"]["c_t"][t][:3], [c.min(), c.mean(), c.max()], rtol=1e-4, atol=1e-6)
    assert run["names"] == ["i_t", "f_t", "g_t", "o_t", "fc_t", "ig_t", "h_t", "c_t"]  # as declared
    assert data["runs"][1]["names"][-1] == "h_t" and "z_t" in data["runs"][1]["names"]


def test_every_tagged_element_is_described_and_browser_tooltips_are_gone(lstm_page):
    _, data, _ = lstm_page
    for run in data["runs"]:
        for drawing in [run["cellGraph"]] + list(run["details"].values()):
            svg = drawing["svg"]
            assert svg.startswith("<svg") and "<title>" not in svg and "xlink:title" not in svg
            nodes = re.findall(r'<g class="node" data-key="([^"]+)">', svg)
            edges = re.findall(r'<g class="edge[^"]*" data-key="([^"]+)">', svg)
            assert nodes and edges
            described = [k for k in nodes if k in drawing["nodes"]]
            assert all(k.startswith("stub_") for k in set(nodes) - set(described))
            assert sorted(edges) == sorted(drawing["edges"])  # each edge once, by its own id
    lstm = data["runs"][0]
    # The carried cell state is drawn on the carousel path (class cec): c_0 into the first cell, then
    # from each cell to the next.
    assert lstm["cellGraph"]["svg"].count('class="edge cec"') == T
    # h_t and c_t both run from one cell box to the next: two edges, two descriptions.
    between = [e["n"] for e in lstm["cellGraph"]["edges"].values() if e["n"] in ("h_t2", "c_t2")]
    assert sorted(between) == ["c_t2", "h_t2"]


def test_op_level_drawing_of_one_step_holds_only_that_steps_ops():
    x = sequence()
    trace = trace_gradients(make("lstm"), x, jacobians=False, keep_graph=True)
    g = viz.draw_graph(trace.graph, steps=[2], legend=False)
    ops = [item for item in g.drawn.values() if hasattr(item, "inputs")]
    assert ops and {fn.step for fn in ops} == {2}
    names = {getattr(item, "name", None) for item in g.drawn.values()}
    assert {"h_t", "c_t", "f_t"} <= names  # the step's own, and h_{t-1}, c_{t-1} drawn as inputs
    inputs = [t for t in g.drawn.values() if not hasattr(t, "inputs") and t.step == 1]
    assert sorted(t.name for t in inputs) == ["c_t", "h_t"]
    with pytest.raises(ValueError, match="level='op' only"):
        viz.draw_graph(trace.graph, level="cell", steps=[2])


def test_detail_steps_all_for_short_a_chosen_set_for_long_sequences():
    assert choose_detail_steps(40) == list(range(40))
    long = choose_detail_steps(1000)
    assert {0, 500, 999, 998, 997, 996, 994, 989, 979, 949, 899, 799, 499} == set(long)
    page = viz.explore(make("rnn"), sequence(steps=50), detail_steps=[3, 7])
    run = decode_data(page.html())["runs"][0]
    assert run["detailSteps"] == [3, 7] and sorted(run["details"]) == ["3", "7"]
    with pytest.raises(ValueError, match=r"detail_steps \[50\] lie outside the 50 steps"):
        viz.explore(make("rnn"), sequence(steps=50), detail_steps=[50])


def test_page_is_one_self_contained_file(tmp_path, lstm_page):
    page, _, _ = lstm_page
    path = page.save(tmp_path / "sub" / "explore.html")
    text = open(path, encoding="utf-8").read()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    # Nothing is fetched: no external script, style, image, font or link.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<link" not in text and "@import" not in text and "url(" not in text
    assert text.count("<script") == 2  # the data block and the page's own script
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=\"&lt;!DOCTYPE html&gt;")
    assert "LSTM" in repr(page) and "T=6" in repr(page)


def test_explore_takes_a_kept_trace_and_says_what_is_wrong():
    x = sequence()
    trace = trace_gradients(make("gru"), x, jacobians=False, keep_graph=True)
    run = decode_data(viz.explore(trace).html())["runs"][0]
    np.testing.assert_allclose(run["norm"]["h"], trace.grad_norm("h"), rtol=1e-5)
    with pytest.raises(ValueError, match="kept no graph"):
        viz.explore(trace_gradients(make("gru"), x))
    with pytest.raises(ValueError, match="keep_graph=True needs jacobians=False"):
        trace_gradients(make("gru"), x, keep_graph=True)
    with pytest.raises(ValueError, match="needs an input sequence x"):
        viz.explore(make("gru"))
    with pytest.raises(ValueError, match="pass x only with cells"):
        viz.explore(trace, x)


@pytest.mark.parametrize("kind", nn.CELL_KINDS)
def test_cli_explore_every_built_in_cell(tmp_path, kind):
    out = tmp_path / "e.html"
    assert cli.main(["explore", "--cell", kind, "--steps", "3", "--hidden", "3", "-o", str(out)]) == 0
    run = decode_data(out.read_text(encoding="utf-8"))["runs"][0]
    assert run["T"] == 3 and len(run["details"]) == 3 and run["cellGraph"]["svg"].startswith("<svg")


def test_cli_explore_two_forget_biases_and_bad_arguments(tmp_path, capsys):
    out = tmp_path / "e.html"
    assert cli.main(["explore", "--cell", "lstm,gru", "--forget-bias=-1,1", "--steps", "4", "--seed", "3",
                     "-o", str(out)]) == 0
    runs = decode_data(out.read_text(encoding="utf-8"))["runs"]
    assert [r["label"] for r in runs] == ["LSTM (forget bias -1)", "LSTM (forget bias 1)", "GRU"]
    assert runs[0]["values"]["f_t"][0][1] < runs[1]["values"]["f_t"][0][1]  # a bias of 1 opens the gate
    assert "e.html" in capsys.readouterr().out
    for argv, message in (
        (["--cell", "lstm-1997", "--forget-bias", "1"], "none of the cells lstm-1997 has that gate's bias"),
        (["--detail-steps", "9"], "--detail-steps 9 is not one of the 5 steps"),
        (["--cell", "lstn"], "unknown cell 'lstn'"),
    ):
        assert cli.main(["explore", "--steps", "5", "-o", str(out)] + argv) == 2
        assert message in capsys.readouterr().err
    assert cli.main(["explore", "-o", str(tmp_path / "e.svg")]) == 2
    assert "end the file name with one of .html .htm" in capsys.readouterr().err


def test_the_docs_example_page_is_made_by_todays_code():
    """docs/examples/explore_T30.html (linked from docs/tutorials/explorer.md) carries today's
    script and style; after changing page.js or page.css, rewrite it with the command in that page."""
    from pathlib import Path

    from tinygrad_rnn.viz.explorer.page import _asset

    text = (Path(__file__).resolve().parents[1] / "docs" / "examples" / "explore_T30.html").read_text(encoding="utf-8")
    rewrite = "rewrite it: see 'It was written by' in docs/tutorials/explorer.md"
    assert _asset("page.js") in text and _asset("page.css") in text, rewrite
    runs = decode_data(text)["runs"]
    assert [r["label"] for r in runs] == ["RNN (tanh)", "LSTM", "GRU", "LSTM 1997 (no forget gate)"]
    assert all(r["T"] == 30 for r in runs)
    for run in runs:  # the data as today's code writes it: edges keyed by their own ids
        assert all(re.fullmatch(r"e\d+", key) for key in run["cellGraph"]["edges"]), rewrite
        assert f'data-key="{next(iter(run["cellGraph"]["edges"]))}"' in run["cellGraph"]["svg"], rewrite


def test_a_declared_cell_of_the_users_is_explored_by_its_declaration():
    x = sequence()
    np.random.seed(0)
    page = viz.explore(DecayCell(I, H), x, label="Decay")
    run = decode_data(page.html())["runs"][0]
    np.random.seed(0)
    trace = trace_gradients(DecayCell(I, H), x)
    assert run["stateNames"] == ["y", "s"] and run["carouselState"] == "s"
    np.testing.assert_allclose(run["norm"]["h"], trace.grad_norm("y"), rtol=1e-5)
    np.testing.assert_allclose(run["norm"]["c"], trace.grad_norm("s"), rtol=1e-5)
    np.testing.assert_allclose(run["carousel"], trace.carousel_share(), rtol=1e-5, atol=1e-7)
    assert run["names"] == ["k_t", "w_t", "ks_t", "y_t", "s_t"]
    detail = run["details"]["2"]
    assert detail["nodes"][tensor_key(detail, "s_t2")]["g"] == pytest.approx(trace.grad_norm("s")[2], rel=1e-5)
    cells = [info for info in run["cellGraph"]["nodes"].values() if info["k"] == "cell"]
    assert {info["n"] for info in cells} == {"Decay cell"} and len(cells) == T
    assert run["cellGraph"]["svg"].count('class="edge cec"') == T  # s_0 in, then cell to cell


def test_cli_explore_a_cell_from_a_module(tmp_path, monkeypatch, capsys):
    # A module next to the user, holding a cell class (DecayCell above, under another name).
    (tmp_path / "mycells.py").write_text("from test_explore import DecayCell as Decay\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "mycells", raising=False)
    assert cli.main(["explore", "--cell", "mycells:Decay,lstm", "--steps", "4", "-o", "e.html"]) == 0
    runs = decode_data((tmp_path / "e.html").read_text(encoding="utf-8"))["runs"]
    assert [r["label"] for r in runs] == ["DecayCell", "LSTM"]
    assert runs[0]["stateNames"] == ["y", "s"] and runs[0]["carousel"] is not None
    assert runs[0]["cellGraph"]["svg"].count('class="edge cec"') == 4
    assert cli.main(["explore", "--cell", "mycells:Decay", "--forget-bias", "1", "-o", "e.html"]) == 2
    assert "none of the cells DecayCell has that gate's bias" in capsys.readouterr().err


def test_a_layer_and_another_loss_give_the_tracers_numbers_too():
    x = sequence()
    np.random.seed(0)
    layer = nn.LSTM(I, H)
    run = decode_data(viz.explore(layer, x, loss="all").html())["runs"][0]
    trace = trace_gradients(layer.cells[0], x, loss="all")
    for s in ("h", "c"):
        np.testing.assert_allclose(run["norm"][s], trace.grad_norm(s), rtol=1e-5)
    assert run["loss"] == pytest.approx(trace.loss, rel=1e-5)
    assert run["norm"]["h"][0] != pytest.approx(trace_gradients(layer.cells[0], x).grad_norm("h")[0], rel=1e-2)


def test_cli_explore_without_graphviz_says_how_to_install_it(tmp_path):
    from test_cli import no_dot_env, run_module

    result = run_module("explore", "--cell", "rnn", "--steps", "3", "-o", str(tmp_path / "e.html"),
                        env=no_dot_env(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "tinygrad-rnn explore: error:" in result.stderr and "apt-get install graphviz" in result.stderr
    assert not (tmp_path / "e.html").exists()

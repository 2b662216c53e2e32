"""Replayed steps (tinygrad_rnn/replay.py): a layer replays its cell's recorded step from step 3 on,
and builds the very graph the cell's code builds: the same values and gradients bit for bit, the
same DOT drawing, the same released intermediates. Cells that do not opt in, or whose recorded
steps disagree, run their own code at every step."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, viz
from tinygrad_rnn.autograd import ReleasedArray
from tinygrad_rnn.nn.declaration import CellDeclaration
from tinygrad_rnn.replay import StepReplay

CELL_CLASSES = (nn.RNNCell, nn.LSTMCell, nn.GRUCell, nn.PrototypeLSTMCell, nn.NormalizedPrototypeLSTMCell,
                nn.PseudoLSTMCell)


@pytest.fixture
def replays(monkeypatch):
    """Counts StepReplay.run calls while the test runs."""
    calls = []
    run = StepReplay.run

    def counted(self, *args):
        calls.append(args[2])
        return run(self, *args)

    monkeypatch.setattr(StepReplay, "run", counted)
    return calls


def _without_replay(monkeypatch):
    for cls in CELL_CLASSES:
        monkeypatch.setattr(cls, "replayable", False)


def _run_layer(layer, seed=0, T=9, N=2):
    rng = np.random.default_rng(seed)
    for _, p in layer.named_parameters():
        p.data[...] = rng.uniform(-0.6, 0.6, p.shape)
    x = tg.Tensor(rng.standard_normal((T, N, layer.input_size)), dtype=np.float64, requires_grad=True)
    out, _ = layer(x)
    out.backward(rng.standard_normal(out.shape))
    return out, x


def _results(layer, out, x):
    got = {name: p.grad.numpy() for name, p in layer.named_parameters()}
    got["x.grad"], got["out"] = x.grad.numpy(), out.numpy()
    return got


def _graph_signature(out):
    """Every node reachable from `out` in walk order: op, time step, its inputs (by the order
    they were first met), its outputs' names and shapes, and which were released."""
    seen, order, lines, stack = {}, [], [], [out]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen[id(t)] = len(seen)
        order.append(t)
        if t._ctx is not None:
            stack.extend(reversed(t._ctx.inputs))
    for t in order:
        fn = t._ctx
        lines.append((
            t.name, tuple(t.shape), str(t.dtype), type(t.data) is ReleasedArray, t.requires_grad, t._index,
            None if fn is None else (fn.name, None if fn.step is None else int(fn.step), fn.needs_input_grad,
                                     tuple(seen[id(u)] for u in fn.inputs)),
        ))
    return lines


@pytest.mark.parametrize("kind", nn.CELL_KINDS)
def test_replayed_layer_is_bit_for_bit_the_cells_own(kind, monkeypatch, replays):
    layer = nn.make_layer(kind, 3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    out, x = _run_layer(layer)
    replayed, signature, dot = _results(layer, out, x), _graph_signature(out), viz.draw_graph(out).source
    assert len(replays) == 4 * (9 - 3)  # 4 cells, each replaying steps 3..8
    replays.clear()

    _without_replay(monkeypatch)
    layer.zero_grad()
    out, x = _run_layer(layer)
    assert not replays
    own = _results(layer, out, x)
    assert sorted(own) == sorted(replayed)
    for key in own:
        np.testing.assert_array_equal(replayed[key], own[key], err_msg=key)
    assert _graph_signature(out) == signature
    assert viz.draw_graph(out).source == dot


def test_replayed_steps_release_what_the_cells_steps_release(monkeypatch, replays):
    layer = nn.LSTM(3, 4, dtype=np.float64)
    out, _ = _run_layer(layer, T=6)
    released = [line[3] for line in _graph_signature(out)]
    assert replays and any(released)  # the gate pre-activations of every step, for one
    with tg.keep_values():
        out, _ = _run_layer(layer, T=6)
    assert not any(line[3] for line in _graph_signature(out))


def test_replay_records_the_time_steps_and_the_cell(replays):
    layer = nn.GRU(3, 4)
    out, _ = layer(tg.Tensor(np.ones((6, 1, 3), dtype=np.float32)))
    h_5 = out.grad_fn.inputs[5]
    assert h_5.name == "h_t" and h_5.step == 5 and h_5.grad_fn.step.declaration is layer.cells[0].declaration
    assert [int(s) for s in replays] == [3, 4, 5]


class _OwnCell(nn.RecurrentCell):
    """h_t = tanh(x_proj + h W^T), a user's cell that has not opted in."""

    declaration = CellDeclaration(states=("h_t",), name="own cell")

    def __init__(self, input_size, hidden_size, **kwargs):
        super().__init__(input_size, hidden_size, True, 1, **kwargs)

    def step(self, x_proj, h, weights):
        return nn.named((x_proj + h @ weights.hh).tanh(), "h_t")


class _NoisyCell(_OwnCell):
    """Opts in, but draws a new mask at every step: its recorded steps disagree."""

    replayable = True

    def step(self, x_proj, h, weights):
        mask = tg.Tensor((np.random.default_rng(int(h.step or 0)).random(h.shape) > 0.5).astype(h.dtype))
        return nn.named(((x_proj + h @ weights.hh) * mask).tanh(), "h_t")


class _OwnReplayableCell(_OwnCell):
    """A user's cell that opts in: it gets what the built-in cells get."""

    replayable = True


class _InheritingCell(nn.LSTMCell):
    """Inherits replayable = True from LSTMCell; a subclass must say so itself."""


def test_a_cell_that_does_not_opt_in_runs_its_own_code(replays):
    for cell in (_OwnCell, _InheritingCell):
        layer = nn.Recurrent(cell, 3, 4)
        layer(tg.Tensor(np.ones((8, 1, 3), dtype=np.float32)))
    assert not replays


def test_steps_that_disagree_are_not_replayed(replays):
    layer = nn.Recurrent(_NoisyCell, 3, 4, dtype=np.float64)
    out, x = _run_layer(layer, T=8)
    assert not replays
    # Each step kept its own mask: the same as calling the cell step by step.
    cell = layer.cells[0]
    h = cell.initial_state(None, (2,))
    rng = np.random.default_rng(0)
    for _, p in layer.named_parameters():
        p.data[...] = rng.uniform(-0.6, 0.6, p.shape)
    inputs = rng.standard_normal((8, 2, 3))
    for t in range(8):
        with tg.time_step(t):
            h = cell.step(cell.project_input(tg.Tensor(inputs[t])), h, cell.recurrent_weights())
    np.testing.assert_array_equal(out.numpy()[-1], h.numpy())


@pytest.mark.parametrize("mode", ["no_grad", "anomaly"])
def test_no_replay_without_grad_or_in_anomaly_mode(mode, replays):
    layer = nn.LSTM(3, 4)
    x = tg.Tensor(np.ones((8, 1, 3), dtype=np.float32))
    with tg.no_grad() if mode == "no_grad" else tg.detect_anomaly():
        layer(x)
    assert not replays


def test_short_sequences_run_the_cells_code(replays):
    nn.LSTM(3, 4)(tg.Tensor(np.ones((3, 1, 3), dtype=np.float32)))
    assert not replays
    nn.LSTM(3, 4)(tg.Tensor(np.ones((4, 1, 3), dtype=np.float32)))
    assert len(replays) == 1


def test_a_users_cell_that_opts_in_is_replayed_bit_for_bit(replays, monkeypatch):
    layer = nn.Recurrent(_OwnReplayableCell, 3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    out, x = _run_layer(layer)
    replayed, signature = _results(layer, out, x), _graph_signature(out)
    assert len(replays) == 4 * (9 - 3)
    monkeypatch.setattr(_OwnReplayableCell, "replayable", False)
    layer.zero_grad()
    out, x = _run_layer(layer)
    own = _results(layer, out, x)
    for key in own:
        np.testing.assert_array_equal(replayed[key], own[key], err_msg=key)
    assert _graph_signature(out) == signature

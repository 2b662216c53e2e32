"""RNN, LSTM, GRU and Recurrent (any cell): multi-layer, optionally bidirectional layers that
unroll a cell over a sequence, with PyTorch's call signature, shapes and state_dict keys.

How a layer unrolls one direction of one layer (the speed comes from doing little per step):

    x_proj = cell.project_input(x)           # x W_ih^T + b for ALL time steps: one matmul
    w = cell.recurrent_weights()             # W_hh^T, transposed once
    for t in range(T):                       # (T-1 down to 0 for the reverse direction)
        with time_step(cell_step(t, ...)):   # every op of step t records step t (and the cell)
            state = cell.step(x_proj[t], state, w)

x_proj[t] are the pieces of one split op, so backward joins their gradients in one concatenate.
The per-step tensors are named as in the cells (h_t, c_t, f_t, ...) and carry their step.
"""

import gc

from ..autograd import recorded_in_step, release_scope, time_step
from ..errors import DTypeError, ShapeError
from ..functional import cat, stack
from ..replay import can_replay, record_replay
from ..tensor import Tensor
from .arguments import check_sizes, float_dtype
from .declaration import base_name, cell_step
from .dropout import dropout as apply_dropout
from .gru_cell import GRUCell, gru_variant
from .lstm_cell import LSTMCell, lstm_variant
from .module import Module
from .rnn_cell import NONLINEARITIES, RNNCell


# Whether layer calls hand their graph to the collector's oldest generation (_cyclic_gc_paused);
# examples/benchmark_rnn.py --without gc switches it off to measure what it gives.
HAND_GRAPH_TO_OLD_GENERATION = True


class _cyclic_gc_paused:
    """Unrolling allocates tens of thousands of small objects (ops, tensors) that all stay alive
    until backward. Python's cyclic garbage collector, triggered by allocation counts, would scan
    them again and again (about 40% of the forward time at T=1000), yet the tape holds no cycles
    to find: each op points only to its inputs. So the collector waits while the graph is built.

    As the call ends, the graph is handed to the collector's oldest generation, where it would
    be after surviving two collections, without those scans: the first young collection after the
    call would otherwise scan the whole graph once more (10-20 us per time step at T=1000, B=8,
    H=64). gc.freeze() then gc.unfreeze() moves every tracked object there without looking at
    it; a young collection as the call starts (a few thousand objects at most) first puts what
    existed before the call where the collector itself would, so only what the call made skips
    the young scans. Cycles made during the call are found by the next full collection. If the
    program keeps objects frozen itself (gc.freeze before fork), nothing is moved."""

    def __enter__(self):
        self.was_enabled = gc.isenabled()
        self.hand_over = HAND_GRAPH_TO_OLD_GENERATION and self.was_enabled and gc.get_freeze_count() == 0
        if self.hand_over:
            gc.collect(1)
        gc.disable()

    def __exit__(self, *exc_info):
        if self.hand_over and gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if self.was_enabled:
            gc.enable()
        return False


def _layer_steps(cell, T):
    """The CellSteps 0 .. T-1 of `cell` in a layer, made once and kept on the cell: each step
    object is a new object the garbage collector would scan again and again during backward
    (about 15% of a small RNN's training step at T=1000), so a layer reuses them from one
    forward to the next. (Two passes through one layer in one graph stay two calls for the
    graph tools: they also need the ops of a call to be joined by tensors.)"""
    declaration = cell.declaration
    name = declaration.name or type(cell).__name__
    steps = cell.__dict__.get("_layer_steps")
    if steps is None or len(steps) < T or steps[0].declaration is not declaration or steps[0].name != name:
        steps = [cell_step(t, declaration, None, name) for t in range(T)]
        object.__setattr__(cell, "_layer_steps", steps)  # not a parameter or module: no registration
    return steps


class RNNBase(Module):
    """What RNN, LSTM and GRU share. Parameters live on the layer under PyTorch's names
    (`weight_ih_l0`, `bias_hh_l1_reverse`, ...; extra variant parameters likewise, e.g.
    `peephole_i_l0`); `self.cells[layer * num_directions + direction]` is the cell object that
    steps that layer and direction, built around those same Parameter objects.

    `make_cell(layer_input_size)` returns the cell of one layer and direction (called once per
    cell, layer 0 first); `Recurrent` builds it from a cell class for you."""

    state_names = ("h_0",)  # the states a call takes and returns, the first ones the cells declare
    # Set `layer.record_states = True` to keep, after each forward, `layer.recorded_states[k][t]`:
    # the state (h_t, or (h_t, c_t) for an LSTM) of cell k = layer * D + direction after step t,
    # in time order for both directions (tracers read dL/dh_t from these with retain_grad).
    record_states = False
    recorded_states = None

    def __init__(self, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, make_cell):
        super().__init__()
        name = type(self).__name__
        check_sizes(name, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must lie in [0, 1], got {dropout}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if bidirectional else 1
        self.cells = []  # a plain list: the parameters are registered on the layer itself
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                cell = make_cell(layer_input)
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                for param_name, p in cell.named_parameters():
                    p.name = param_name + suffix
                    setattr(self, param_name + suffix, p)
                self.cells.append(cell)
        declaration = self.cells[0].declaration
        self._output_index = declaration.index(declaration.output)

    # ------------------------------------------------------------------------------------------

    def forward(self, input, hx=None):
        x, unbatched = self._check_input(input)  # x is (T, N, I) from here on
        states = self._initial_states(hx, x.shape[1], unbatched)
        # The input projection of all steps and its pieces are made outside the steps: the
        # release scope drops their values as the call ends, as each step does for its own.
        with _cyclic_gc_paused(), release_scope():
            return self._forward(x, states, unbatched)

    def _forward(self, x, states, unbatched):
        T, N = x.shape[0], x.shape[1]
        D = self.num_directions
        finals = []
        self.recorded_states = [] if self.record_states else None
        layer_input = x
        out = self._output_index
        for layer in range(self.num_layers):
            flat = layer_input.reshape(T * N, layer_input.shape[-1])
            outputs = []
            for direction in range(D):
                cell = self.cells[layer * D + direction]
                per_step = self._unroll(cell, flat, [N] * T, states[layer * D + direction], reverse=direction == 1)
                outputs.append(stack([s[out] if type(s) is tuple else s for s in per_step], axis=0))
                finals.append(per_step[-1 if direction == 0 else 0])
                if self.record_states:
                    self.recorded_states.append(per_step)
            layer_input = outputs[0] if D == 1 else cat(outputs, axis=-1)  # [forward | reverse]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = apply_dropout(layer_input, self.dropout)  # between layers only
        return self._package(layer_input, finals, unbatched)

    def _unroll(self, cell, flat_input, step_sizes, state, reverse):
        """Run `cell` over the sequence; return the state after each step, in time order.
        `step_sizes` is [N] * T: given as a list, so that an empty batch (N = 0) still makes T steps."""
        x_proj = cell.project_input(flat_input).split(step_sizes, axis=0)  # T pieces of (N, G*H)
        weights = cell.recurrent_weights()
        T = len(x_proj)
        per_step = [None] * T
        steps = _layer_steps(cell, T)
        first = T - 1 if reverse else 0
        # Steps 1 and 2 run the cell's code and are recorded; from step 3 on, a cell that allows
        # it has its step replayed (replay.py): the same graph, without the Python in between.
        recorded = [] if T > 3 and can_replay(cell) else None
        replay = None
        for t in range(T - 1, -1, -1) if reverse else range(T):
            if replay is not None:
                state = replay.run(x_proj[t], state, steps[t])
                per_step[t] = state
                continue
            # The true position, also for the reverse direction; the ops also learn their cell.
            # The first step records the state it was given (the graph tools find h_0 there).
            step = steps[t] if t != first else cell_step(t, steps[t].declaration, state, steps[t].name)
            state_in = state
            with time_step(step):
                state = cell.step(x_proj[t], state, weights)
                made = recorded_in_step()
            per_step[t] = state
            if recorded is not None and t != first:
                recorded.append((made, x_proj[t], state_in, state))
                if len(recorded) == 2:
                    replay = record_replay(*recorded)
                    recorded = None
        return per_step

    def _package(self, output, finals, unbatched):
        """(output, h_n), or (output, (h_n, c_n, ...)): the final value of each state in
        state_names, stacked over the cells."""
        if self.batch_first and not unbatched:
            output = output.swapaxes(0, 1)
        if unbatched:
            output = output.reshape(output.shape[0], output.shape[2])
        last = []
        for k in range(len(self.state_names)):
            s_n = stack([s[k] if type(s) is tuple else s for s in finals], axis=0)
            last.append(s_n.reshape(s_n.shape[0], s_n.shape[2]) if unbatched else s_n)
        return output, (last[0] if len(last) == 1 else tuple(last))

    # ------------------------------------------------------------------------------------------
    # Checks

    def _describe(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}, num_layers={self.num_layers})"

    def _param_dtype(self):
        return self.cells[0].weight_ih.dtype

    def _check_input(self, x):
        if not isinstance(x, Tensor):
            if hasattr(x, "shape") and hasattr(x, "dtype"):
                x = Tensor(x)
            else:
                raise TypeError(f"{self._describe()}: input must be a Tensor, got {type(x).__name__}")
        layout = "(N, T, I)" if self.batch_first else "(T, N, I)"
        input_shape = x.shape
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{self._describe()}: input has shape {x.shape}, expected {layout} or unbatched (T, I) "
                f"with I = input_size = {self.input_size}"
            )
        if x.dtype != self._param_dtype():
            raise DTypeError(
                f"{self._describe()}: input is {x.dtype} but the parameters are {self._param_dtype()}; "
                f"convert the input (.double(), .float()) or the layer (layer.double(), layer.float())"
            )
        unbatched = x.ndim == 2
        if unbatched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.swapaxes(0, 1)
        if x.shape[0] == 0:
            raise ShapeError(f"{self._describe()}: input of shape {tuple(input_shape)} holds an empty sequence (T = 0)")
        return x, unbatched

    def _initial_states(self, hx, N, unbatched):
        """One starting state per cell, in the cell's own format (a tensor, or a tuple (h, c))."""
        names = self.state_names
        count = self.num_layers * self.num_directions
        if hx is None:
            given = [None] * len(names)
        elif len(names) == 1:
            if isinstance(hx, (tuple, list)):
                raise TypeError(
                    f"{self._describe()}: h_0 must be one tensor, got a {type(hx).__name__} of {len(hx)} items"
                )
            given = [hx]
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != len(names):
                what = type(hx).__name__ + (f" of shape {tuple(hx.shape)}" if hasattr(hx, "shape") else "")
                if isinstance(hx, (tuple, list)):  # say how many, and what each should be
                    what += f" of {len(hx)} items; expected {len(names)} tensors, each {self._state_shape(N, unbatched)}"
                expected = "(" + ", ".join(names) + ")"
                raise TypeError(f"{self._describe()}: the initial state must be a tuple {expected}, got a {what}")
            given = list(hx)
        expected = (count, self.hidden_size) if unbatched else (count, N, self.hidden_size)
        meaning = "(num_layers * num_directions, hidden_size)" if unbatched else (
            "(num_layers * num_directions, batch, hidden_size)"
        )
        per_cell = []
        for label, s in zip(names, given):
            if s is None:
                per_cell.append([None] * count)
                continue
            if not isinstance(s, Tensor):
                s = Tensor(s) if hasattr(s, "shape") else s
            if not isinstance(s, Tensor):
                raise TypeError(f"{self._describe()}: {label} must be a Tensor, got {type(s).__name__}")
            if s.shape != expected:
                raise ShapeError(f"{self._describe()}: {label} has shape {s.shape}, expected {expected} {meaning}")
            if s.dtype != self._param_dtype():
                raise DTypeError(
                    f"{self._describe()}: {label} is {s.dtype} but the parameters are {self._param_dtype()}"
                )
            if unbatched:
                s = s.reshape(count, 1, self.hidden_size)
            per_cell.append([s[k] for k in range(count)])
        states = []
        for k, cell in enumerate(self.cells):
            parts = [column[k] for column in per_cell]
            state = parts[0] if len(parts) == 1 else tuple(parts)
            if len(parts) > 1 and all(p is None for p in parts):
                state = None
            states.append(cell.initial_state(state, (N,)))
        return states

    def _state_shape(self, N, unbatched):
        """'(L*D, N, H) = (2, 8, 16)': the shape of each initial state, in words and numbers."""
        count = self.num_layers * self.num_directions
        if unbatched:
            return f"(num_layers * num_directions, hidden_size) = {(count, self.hidden_size)}"
        return f"(num_layers * num_directions, batch, hidden_size) = {(count, N, self.hidden_size)}"

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for key, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)}"
        return text


class RNN(RNNBase):
    """RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, dtype=None, backend=None)

    A stack of RNNCells (h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)) unrolled over time.
    `output, h_n = rnn(x, h_0)`: x (T, N, I) ((N, T, I) with batch_first) or unbatched (T, I);
    output (T, N, D*H), [forward | reverse] on the last axis; h_0 and h_n (num_layers*D, N, H),
    index layer*D + direction (D = 2 if bidirectional else 1). h_0 defaults to zeros.
    """

    def __init__(
        self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, dtype=None, backend=None,
    ):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        dtype = float_dtype("RNN", dtype)

        def make_cell(layer_input):
            return RNNCell(layer_input, hidden_size, bias, nonlinearity, dtype=dtype, backend=backend)

        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, make_cell)
        self.nonlinearity = nonlinearity

    def extra_repr(self):
        text = super().extra_repr()
        return text + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class LSTM(RNNBase):
    """LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, variant='pytorch', forget_bias=None, input_bias=None, dtype=None, backend=None)

    A stack of LSTMCells unrolled over time; `variant` picks any LSTMCell variant ('pytorch',
    '1997', 'peephole', 'NIG', 'NFG', 'NOG', 'NIAF', 'NOAF', 'NP', 'CIFG', 'FGR'; see LSTMCell),
    so `LSTM(8, 16, num_layers=2, bidirectional=True, variant='CIFG')` is a 2-layer bidirectional
    CIFG-LSTM. `output, (h_n, c_n) = lstm(x, (h_0, c_0))` with the shapes of RNN; c_0 and c_n as
    h_0 and h_n. (FGR's previous-gate state starts at zero in each call and is not returned.)
    forget_bias and input_bias start those gates' biases in every cell (see LSTMCell).
    """

    state_names = ("h_0", "c_0")

    def __init__(
        self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
        bidirectional=False, variant="pytorch", forget_bias=None, input_bias=None, dtype=None, backend=None,
    ):
        variant = lstm_variant(variant)
        dtype = float_dtype("LSTM", dtype)

        def make_cell(layer_input):
            return LSTMCell(layer_input, hidden_size, bias, variant, forget_bias, input_bias, dtype=dtype,
                            backend=backend)

        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, make_cell)
        self.variant = variant

    def extra_repr(self):
        return super().extra_repr() + (f", variant={self.variant!r}" if self.variant != "pytorch" else "")


class GRU(RNNBase):
    """GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, variant='pytorch', dtype=None, backend=None)

    A stack of GRUCells unrolled over time; `variant` is 'pytorch' (reset after the matmul, the
    default), 'cho' (reset before, Cho et al. 2014) or 'mgu' (minimal gated unit); see GRUCell.
    `output, h_n = gru(x, h_0)` with the shapes of RNN.
    """

    def __init__(
        self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
        bidirectional=False, variant="pytorch", dtype=None, backend=None,
    ):
        variant = gru_variant(variant)
        dtype = float_dtype("GRU", dtype)

        def make_cell(layer_input):
            return GRUCell(layer_input, hidden_size, bias, variant, dtype=dtype, backend=backend)

        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, make_cell)
        self.variant = variant

    def extra_repr(self):
        return super().extra_repr() + (f", variant={self.variant!r}" if self.variant != "pytorch" else "")


class Recurrent(RNNBase):
    """Recurrent(cell, input_size, hidden_size, num_layers=1, batch_first=False, dropout=0.0,
    bidirectional=False, **cell_kwargs)

    Any cell class (a RecurrentCell subclass with a declaration, yours or a built-in one) as a
    multi-layer, optionally bidirectional layer: cell k = layer * D + direction is
    `cell(layer_input_size, hidden_size, **cell_kwargs)`, and the layer unrolls it as RNN, LSTM
    and GRU do, with the same shapes and PyTorch's state_dict names (`weight_ih_l0`,
    `bias_hh_l1_reverse`, and the cell's own parameters likewise).

        layer = nn.Recurrent(MyCell, 8, 16, num_layers=2, bidirectional=True, batch_first=True)
        output, h_n = layer(x)                 # a cell of one declared state
        output, (h_n, s_n) = layer(x, (h_0, s_0))   # a cell declaring states ("h_t", "s_t")

    output stacks the declared output state over time ([forward | reverse] on the last axis);
    each state's initial and final values are (num_layers * D, N, H), named after the declared
    states (h_t -> h_0 and h_n). `nn.Recurrent(nn.LSTMCell, 8, 16)` computes what nn.LSTM(8, 16)
    does.
    """

    def __init__(self, cell, input_size, hidden_size, num_layers=1, batch_first=False, dropout=0.0,
                 bidirectional=False, **cell_kwargs):
        if not (isinstance(cell, type) and hasattr(cell, "step")):
            raise TypeError(
                f"Recurrent: cell must be a cell class (a RecurrentCell subclass, e.g. nn.LSTMCell), "
                f"got {cell!r}"
            )

        def make_cell(layer_input):
            return cell(layer_input, hidden_size, **cell_kwargs)

        bias = cell_kwargs.get("bias", True)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, make_cell)
        self.cell_class = cell
        self.cell_kwargs = dict(cell_kwargs)
        self.state_names = tuple(base_name(s) + "_0" for s in self.cells[0].declaration.states)

    def _describe(self):
        return (f"Recurrent({self.cell_class.__name__}, {self.input_size}, {self.hidden_size}, "
                f"num_layers={self.num_layers})")

    def extra_repr(self):
        text = f"{self.cell_class.__name__}, " + super().extra_repr()
        extras = "".join(f", {k}={v!r}" for k, v in self.cell_kwargs.items() if k != "bias")
        return text + extras

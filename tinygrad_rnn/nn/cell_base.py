"""What every recurrent cell shares: PyTorch's parameter layout and initialisation, the hoisted
input projection, and the checks that turn a wrong shape into a clear error.

A cell with G gates stacks their rows, as PyTorch does:

    weight_ih (G*H, I)   weight_hh (G*H, H)   bias_ih (G*H,)   bias_hh (G*H,)

and computes x_t W_ih^T + h_{t-1} W_hh^T + b. A cell is used in two ways:

    h_t = cell(x_t, h_prev)                      # one step, checked, reads like the paper

    w = cell.recurrent_weights()                 # the fast path that layers use: W_hh^T once,
    x_proj = cell.project_input(x)               # x W_ih^T + b for all time steps in one matmul,
    state = cell.step(x_proj[t], state, w)       # then only the recurrent part per step

A cell also declares what its named tensors mean (`declaration`, see declaration.py): the tools
(graphs, the tracer, the plots, the layers) read that and nothing else. A call `cell(x_t, state)`
records its ops at a time step: the surrounding `time_step(t)`, or else one more than the
latest step of the state it is given (0 for a fresh state), so a plain loop of calls is
numbered t = 0, 1, 2, ... by itself.
"""

import math
from types import SimpleNamespace

import numpy as np

from ..backend import get_array_module
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from .arguments import check_sizes, float_dtype
from .declaration import CellDeclaration, base_name, cell_time_step
from .module import Module
from .parameter import Parameter


def named(tensor, name):
    """Give an op's result the name a reader of the paper knows (`f_t`, `c_t`) and return it."""
    tensor.name = name
    return tensor


class RecurrentCell(Module):
    """The base of RNNCell, LSTMCell, GRUCell and of your own cells (docs: "Write your own cell").

    A subclass calls `super().__init__(input_size, hidden_size, bias, n_gates)` (which makes
    weight_ih (n_gates*H, I), weight_hh (n_gates*H, H) and the biases), writes `step`, and
    declares its state with `declaration = CellDeclaration(...)`; `project_input`,
    `recurrent_weights` and `initial_state` have defaults it may override."""

    declaration = CellDeclaration(states=("h_t",))  # one state h_t, no additive path
    # True in a cell class whose `step` is ops on (x_proj, state, weights) and nothing else: no
    # random draws, no branches on values. Layers then replay its recorded step (replay.py).
    # Read from the class itself, not inherited: a subclass that changes the step opts in anew.
    replayable = False

    @property
    def state_size(self):
        """How many tensors the state holds: h, or (h, c); from the declaration."""
        return len(self.declaration.states)

    def __init__(self, input_size, hidden_size, bias, n_gates, dtype=None, backend=None):
        super().__init__()
        check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bool(bias)
        self._dtype = float_dtype(type(self).__name__, dtype)
        self._backend = backend
        rows = n_gates * self.hidden_size
        self.weight_ih = self.new_parameter((rows, self.input_size))
        self.weight_hh = self.new_parameter((rows, self.hidden_size))
        if self.bias:
            self.bias_ih = self.new_parameter((rows,))
            self.bias_hh = self.new_parameter((rows,))
        else:
            self.bias_ih = None
            self.bias_hh = None

    def new_parameter(self, shape):
        """A parameter ~ U(-1/sqrt(H), 1/sqrt(H)), PyTorch's initialisation for every RNN weight.
        Draws come from NumPy's global generator: `np.random.seed(s)` makes them repeatable."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        values = np.random.uniform(-bound, bound, size=shape).astype(self._dtype)
        return Parameter(values, backend=self._backend)

    def init_gate_bias(self, gate, value):
        """Start the bias of `gate` (one of `self.gate_names`, e.g. 'f') at `value`; returns the cell.

        Only the sum b_ih + b_hh of a gate's rows enters the gate, so that gate's rows of bias_ih
        get `value` and those of bias_hh 0 (how LSTMCell's forget_bias and input_bias are set)."""
        names = tuple(getattr(self, "gate_names", ()))
        if gate not in names:
            raise ValueError(f"{self._describe()}: no gate {gate!r} to bias; its gates are {names}")
        if not self.bias:
            raise ValueError(f"{self._describe()}: a gate bias needs bias=True")
        H = self.hidden_size
        rows = slice(names.index(gate) * H, (names.index(gate) + 1) * H)
        self.bias_ih.data[rows] = value
        self.bias_hh.data[rows] = 0
        self.bias_ih._written_in_place()
        self.bias_hh._written_in_place()
        return self

    # ------------------------------------------------------------------------------------------
    # The fast path (layers use it; `forward` too, so both run the same code)

    def project_input(self, x):
        """x W_ih^T + b_ih + b_hh, for any number of leading axes (all time steps at once).

        b_ih and b_hh only ever enter as their sum, so both are added here, once per sequence.
        (GRUCell's PyTorch form overrides this: its b_hn must stay inside r * (.).)"""
        projection = x @ self.weight_ih.T
        if self.bias:
            projection = projection + (self.bias_ih + self.bias_hh)
        return projection

    def recurrent_weights(self):
        """The recurrent matrices, transposed once per sequence instead of once per step."""
        return SimpleNamespace(hh=self.weight_hh.T)

    def step(self, x_proj, state, weights):
        """One time step from the projected input x_proj = project_input(x_t); returns the new state."""
        raise NotImplementedError

    def forward(self, x, state=None):
        """One checked step: `state_t = cell(x_t, state)`; its ops record one CellStep (see above)."""
        x = self.check_input(x)
        state = self.initial_state(state, x.shape[:-1])
        with cell_time_step(self, state):
            new_state = self.step(self.project_input(x), state, self.recurrent_weights())
        self.declaration.check_returned(new_state, self._describe())
        return new_state

    # ------------------------------------------------------------------------------------------
    # States and checks

    def zeros(self, batch_shape, size=None):
        """A zero state of shape batch_shape + (size or hidden_size,), on the cell's dtype and backend."""
        xp = get_array_module(self.weight_hh.data)
        shape = tuple(batch_shape) + (self.hidden_size if size is None else size,)
        return Tensor(xp.zeros(shape, dtype=self.weight_hh.dtype))

    def initial_state(self, state, batch_shape):
        """The state to start from: zeros where `state` is None, else `state` after checking it.

        `batch_shape` is () for an unbatched input (I,) and (N,) for a batch (N, I). A cell of one
        declared state takes one tensor; a cell of several takes a tuple, each (..., hidden_size)."""
        names = tuple(base_name(s) for s in self.declaration.states)
        shape = tuple(batch_shape) + (self.hidden_size,)
        if len(names) == 1:
            if state is None:
                return self.zeros(batch_shape)
            if isinstance(state, (tuple, list)):
                raise TypeError(
                    f"{self._describe()}: the state is one tensor {names[0]} of shape {shape}, got a "
                    f"{type(state).__name__} of {len(state)} items (only a cell that declares several "
                    f"states takes a tuple, as LSTMCell takes (h, c))"
                )
            return self.check_state_tensor(state, batch_shape, names[0])
        expected = "(" + ", ".join(names) + ")"
        if state is None:
            state = (None,) * len(names)
        if not isinstance(state, (tuple, list)) or len(state) != len(names):
            what = f"{len(state)} items" if isinstance(state, (tuple, list)) else f"a single {type(state).__name__}"
            raise TypeError(
                f"{self._describe()}: the state must be a tuple {expected} of tensors of shape {shape}, got {what}"
            )
        return tuple(self.zeros(batch_shape) if s is None else self.check_state_tensor(s, batch_shape, label)
                     for label, s in zip(names, state))

    def check_state_tensor(self, h, batch_shape, label):
        h = self._as_tensor(h, label)
        expected = tuple(batch_shape) + (self.hidden_size,)
        if h.shape != expected:
            raise ShapeError(
                f"{self._describe()}: {label} has shape {h.shape}, expected {expected} = "
                f"{'(batch, hidden_size)' if batch_shape else '(hidden_size,) for an unbatched input'}"
            )
        self._check_dtype(h, label)
        return h

    def check_input(self, x):
        """x must be (N, input_size) or, unbatched, (input_size,), in the parameters' dtype."""
        x = self._as_tensor(x, "input")
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{self._describe()}: input has shape {x.shape}, expected (N, {self.input_size}) "
                f"or ({self.input_size},) (input_size={self.input_size})"
            )
        self._check_dtype(x, "input")
        return x

    def _as_tensor(self, value, label):
        if isinstance(value, Tensor):
            return value
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            return Tensor(value)  # a NumPy/CuPy array keeps its dtype
        raise TypeError(f"{self._describe()}: {label} must be a Tensor, got {type(value).__name__}")

    def _check_dtype(self, t, label):
        if t.dtype != self.weight_ih.dtype:
            raise DTypeError(
                f"{self._describe()}: {label} is {t.dtype} but the parameters are {self.weight_ih.dtype}; "
                f"convert the input (.double(), .float()) or the cell (cell.double(), cell.float())"
            )

    def _describe(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"

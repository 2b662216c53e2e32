"""LSTMCell: the long short-term memory cell, its 1997 original and Greff et al.'s variants."""

from ..errors import ShapeError
from ..functional import cat
from .cell_base import RecurrentCell, named
from .declaration import CellDeclaration

# Each variant as the parts it keeps. 'pytorch' is Gers et al. (2000): forget gate, no peepholes.
# Greff et al. (2015) start from 'peephole' (their "vanilla" LSTM) and change one part each.
_PYTORCH = dict(
    input_gate=True,  # False: i_t = 1 (NIG)
    forget_gate="learned",  # 'none': f_t = 1, the 1997 carousel (NFG, 1997); 'coupled': f_t = 1 - i_t (CIFG)
    output_gate=True,  # False: o_t = 1 (NOG)
    peepholes=False,  # True: the gates also see the cell state (Gers & Schmidhuber 2000)
    input_activation="tanh",  # 'identity': g_t is the pre-activation itself (NIAF)
    output_activation="tanh",  # 'identity': h_t = o_t * c_t (NOAF)
    gate_recurrence=False,  # True: the gates also see all gates' previous activations (FGR)
)
_VANILLA = dict(_PYTORCH, peepholes=True)

VARIANTS = {
    "pytorch": _PYTORCH,
    "1997": dict(_PYTORCH, forget_gate="none"),
    "peephole": _VANILLA,
    "NIG": dict(_VANILLA, input_gate=False),
    "NFG": dict(_VANILLA, forget_gate="none"),
    "NOG": dict(_VANILLA, output_gate=False),
    "NIAF": dict(_VANILLA, input_activation="identity"),
    "NOAF": dict(_VANILLA, output_activation="identity"),
    "NP": dict(_VANILLA, peepholes=False),
    "CIFG": dict(_VANILLA, forget_gate="coupled"),
    "FGR": dict(_VANILLA, gate_recurrence=True),
}


def lstm_variant(name):
    """The canonical spelling of an LSTM variant name (case does not matter)."""
    by_lower = {v.lower(): v for v in VARIANTS}
    if isinstance(name, str) and name.lower() in by_lower:
        return by_lower[name.lower()]
    if isinstance(name, str) and name.lower() == "vanilla":
        raise ValueError(
            "LSTMCell: variant 'vanilla' is ambiguous: Greff et al.'s vanilla LSTM (with peepholes) "
            "is variant='peephole'; PyTorch's LSTM (forget gate, no peepholes) is variant='pytorch'"
        )
    raise ValueError(f"LSTMCell: unknown variant {name!r}; choose one of {', '.join(VARIANTS)}")


class LSTMCell(RecurrentCell):
    """LSTMCell(input_size, hidden_size, bias=True, variant='pytorch', forget_bias=None, input_bias=None,
    dtype=None, backend=None)

    variant='pytorch' (the default) is PyTorch's nn.LSTMCell, with its parameters and gate order:

        i_t = sigmoid(x_t W_ii^T + b_ii + h_{t-1} W_hi^T + b_hi)     input gate
        f_t = sigmoid(x_t W_if^T + b_if + h_{t-1} W_hf^T + b_hf)     forget gate (Gers et al. 2000)
        g_t = tanh(x_t W_ig^T + b_ig + h_{t-1} W_hg^T + b_hg)        cell input
        o_t = sigmoid(x_t W_io^T + b_io + h_{t-1} W_ho^T + b_ho)     output gate
        c_t = f_t * c_{t-1} + i_t * g_t                              (fc_t + ig_t)
        h_t = o_t * tanh(c_t)

    weight_ih (G*H, I), weight_hh (G*H, H), bias_ih, bias_hh (G*H,): the rows of the gates the
    variant has, in the order i, f, g, o (`cell.gate_names`). Call: `h_t, c_t = cell(x_t, (h, c))`.

    The other variants:
      '1997'      Hochreiter & Schmidhuber: no forget gate. c_t = c_{t-1} + i_t * g_t, the constant
                  error carousel: c_{t-1} reaches c_t with weight 1, so dL/dc flows back unchanged.
      'peephole'  Greff et al.'s "vanilla" LSTM: peepholes p_i, p_f, p_o (vectors, elementwise):
                  i_t = sigmoid(... + p_i * c_{t-1}),  f_t = sigmoid(... + p_f * c_{t-1}),
                  o_t = sigmoid(... + p_o * c_t)  (the output gate's peephole sees the NEW c_t).
      Greff et al.'s eight, each one change to 'peephole':
      'NIG'  no input gate, i_t = 1          'NFG'  no forget gate, f_t = 1
      'NOG'  no output gate, o_t = 1         'NIAF' no input activation, g_t = its pre-activation
      'NOAF' no output activation, h_t = o_t * c_t      'NP' no peepholes (same model as 'pytorch')
      'CIFG' coupled gates, f_t = 1 - i_t    'FGR'  full gate recurrence (below)
    A gate that is constant has no rows and no peephole. Extra parameters: `peephole_i`,
    `peephole_f`, `peephole_o` (H,), and for FGR `weight_gate_recurrent` (3H, 3H), which feeds
    a_{t-1} = [i_{t-1} | f_{t-1} | o_{t-1}] into the pre-activations of i, f, o (rows i, f, o).
    FGR's state is therefore (h, c, a): `h_t, c_t, a_t = cell(x_t, (h, c, a))`; (h, c) alone
    starts a from zeros. Every parameter starts ~ U(-1/sqrt(H), 1/sqrt(H)).

    forget_bias: when given, the forget-gate bias starts at this value (Jozefowicz et al. 2015
    recommend 1.0): the f-rows of bias_ih are set to it and those of bias_hh to 0, since only
    their sum enters f_t.

    input_bias: when given, the input-gate bias starts at this value, set the same way.
    Hochreiter & Schmidhuber (1997, section 4) start it negative (their experiments use -1 to -6)
    against internal state drift: a cell that writes little at first does not drive c_t, and with
    it tanh(c_t), into saturation before it has learned what to store.
    """

    replayable = True  # see RecurrentCell.replayable

    def __init__(
        self, input_size, hidden_size, bias=True, variant="pytorch", forget_bias=None, input_bias=None,
        dtype=None, backend=None,
    ):
        variant = lstm_variant(variant)
        parts = VARIANTS[variant]
        gates = [name for name, kept in self._gate_parts(parts) if kept]
        super().__init__(input_size, hidden_size, bias, n_gates=len(gates), dtype=dtype, backend=backend)
        self.variant = variant
        self.gate_names = tuple(gates)
        for key, value in parts.items():
            setattr(self, key, value)
        # The gates that are sigmoids of a pre-activation (those peepholes and FGR reach).
        self.sigmoid_gates = tuple(g for g in self.gate_names if g != "g")
        self.declaration = self._declare()
        for gate in ("i", "f", "o"):
            has_peephole = self.peepholes and gate in self.sigmoid_gates
            setattr(self, f"peephole_{gate}", self.new_parameter((hidden_size,)) if has_peephole else None)
        if self.gate_recurrence:
            width = len(self.sigmoid_gates) * hidden_size
            self.weight_gate_recurrent = self.new_parameter((width, width))
        if forget_bias is not None:
            self._set_gate_bias("f", forget_bias, "forget_bias", "learned forget gate")
        if input_bias is not None:
            self._set_gate_bias("i", input_bias, "input_bias", "input gate")
        self._pytorch_form = parts == _PYTORCH

    def _declare(self):
        """c_t is carried along the carousel c_t = f_t * c_{t-1} + i_t * g_t (fc_t + ig_t); without
        a learned or coupled forget gate (1997, NFG) c_{t-1} enters the sum itself, factor 1."""
        has_f = self.forget_gate != "none"
        gates = [f"{g}_t" for g in self.gate_names]
        if self.forget_gate == "coupled":
            gates.insert(1, "f_t")  # CIFG: f_t = 1 - i_t, computed, not a row of the weights
        gates += (["fc_t"] if has_f else []) + (["ig_t"] if self.input_gate else [])
        return CellDeclaration(
            states=("h_t", "c_t", "a_t") if self.gate_recurrence else ("h_t", "c_t"),
            output="h_t",
            carried="c_t",
            carousel_term="fc_t" if has_f else None,
            carousel_factor="f_t" if has_f else None,
            gates=gates,
            name="LSTM cell",
        )

    @staticmethod
    def _gate_parts(parts):
        return (
            ("i", parts["input_gate"]),
            ("f", parts["forget_gate"] == "learned"),
            ("g", True),
            ("o", parts["output_gate"]),
        )

    def _set_gate_bias(self, gate, value, option, what):
        if gate not in self.gate_names:
            raise ValueError(f"LSTMCell: {option} given, but variant {self.variant!r} has no {what}")
        if not self.bias:
            raise ValueError(f"LSTMCell: {option} needs bias=True")
        self.init_gate_bias(gate, value)

    # ------------------------------------------------------------------------------------------

    def recurrent_weights(self):
        weights = super().recurrent_weights()
        if self.gate_recurrence:
            weights.gates = self.weight_gate_recurrent.T
        return weights

    def step(self, x_proj, state, weights):
        """One step from x_proj = x_t W_ih^T + b_ih + b_hh and the state (h, c); returns (h_t, c_t)."""
        if self._pytorch_form:
            return self._step_pytorch(x_proj, state, weights)
        return self._step_variant(x_proj, state, weights)

    def _step_pytorch(self, x_proj, state, weights):
        h, c = state
        # One matmul for all four gates, one split into them.
        a_i, a_f, a_g, a_o = (x_proj + h @ weights.hh).split(self.hidden_size, axis=-1)
        i_t = named(a_i.sigmoid(), "i_t")
        f_t = named(a_f.sigmoid(), "f_t")
        g_t = named(a_g.tanh(), "g_t")
        o_t = named(a_o.sigmoid(), "o_t")
        fc_t = named(f_t * c, "fc_t")  # what the cell keeps of c_{t-1}
        ig_t = named(i_t * g_t, "ig_t")  # what it writes
        c_t = named(fc_t + ig_t, "c_t")
        h_t = named(o_t * c_t.tanh(), "h_t")
        return h_t, c_t

    def _step_variant(self, x_proj, state, weights):
        """One step of the 1997 cell or one of Greff et al.'s: the equations of the class docstring,
        one per line. A gate the variant does not have is None: it is fixed at 1."""
        h, c = state[0], state[1]
        a = dict(zip(self.gate_names, (x_proj + h @ weights.hh).split(self.hidden_size, axis=-1)))
        if self.gate_recurrence:
            # FGR: every gate also sees a_{t-1} = [i_{t-1} | f_{t-1} | o_{t-1}].
            recurrent = (state[2] @ weights.gates).split(self.hidden_size, axis=-1)
            for gate, r in zip(self.sigmoid_gates, recurrent):
                a[gate] = a[gate] + r

        i_t = self._gate("i", a, c)  # None for NIG
        if self.forget_gate == "coupled":
            f_t = named(1 - i_t, "f_t")  # CIFG: the cell forgets exactly as much as it writes
        else:
            f_t = self._gate("f", a, c)  # None for 1997 and NFG
        g_t = named(a["g"].tanh() if self.input_activation == "tanh" else a["g"], "g_t")
        ig_t = g_t if i_t is None else named(i_t * g_t, "ig_t")
        if f_t is None:
            c_t = named(c + ig_t, "c_t")  # the constant error carousel: self-weight 1
        else:
            fc_t = named(f_t * c, "fc_t")
            c_t = named(fc_t + ig_t, "c_t")
        squashed = c_t.tanh() if self.output_activation == "tanh" else c_t
        o_t = self._gate("o", a, c_t)  # None for NOG; its peephole sees the NEW c_t
        h_t = named(squashed if o_t is None else o_t * squashed, "h_t")

        if self.gate_recurrence:
            gates_t = {"i": i_t, "f": f_t, "o": o_t}
            a_t = named(cat([gates_t[g] for g in self.sigmoid_gates], axis=-1), "a_t")
            return h_t, c_t, a_t
        return h_t, c_t

    def _gate(self, gate, a, c):
        """gate_t = sigmoid(a_gate + p_gate * c), the peephole term only in variants with peepholes;
        None when the variant has no such gate."""
        if gate not in self.gate_names:
            return None
        peephole = getattr(self, f"peephole_{gate}")
        pre_activation = a[gate] if peephole is None else a[gate] + peephole * c
        return named(pre_activation.sigmoid(), f"{gate}_t")

    # ------------------------------------------------------------------------------------------

    def initial_state(self, state, batch_shape):
        """(h, c) (and FGR's a) to start from: zeros where missing, else checked."""
        size = self.state_size
        if state is None:
            state = (None,) * size
        elif not isinstance(state, (tuple, list)):
            shape = getattr(state, "shape", None)
            raise TypeError(
                f"{self._describe()}: the state must be a tuple (h, c) of two tensors of shape "
                f"{tuple(batch_shape) + (self.hidden_size,)}, got a single {type(state).__name__}"
                f"{'' if shape is None else ' of shape ' + str(tuple(shape))}"
            )
        elif len(state) == 2 and size == 3:
            state = (state[0], state[1], None)
        if len(state) != size:
            expected = "(h, c, a)" if size == 3 else "(h, c)"
            raise TypeError(
                f"{self._describe()}: the state must be a tuple {expected} of tensors of shape "
                f"{tuple(batch_shape) + (self.hidden_size,)}, got {len(state)} items"
            )
        checked = []
        for label, s in zip(("h", "c", "a"), state):
            width = len(self.sigmoid_gates) * self.hidden_size if label == "a" else self.hidden_size
            if s is None:
                checked.append(self.zeros(batch_shape, width))
            elif label == "a":
                checked.append(self._check_gate_state(s, batch_shape, width))
            else:
                checked.append(self.check_state_tensor(s, batch_shape, label))
        return tuple(checked)

    def _check_gate_state(self, a, batch_shape, width):
        a = self._as_tensor(a, "a")
        expected = tuple(batch_shape) + (width,)
        if a.shape != expected:
            raise ShapeError(f"{self._describe()}: a (FGR's previous gates) has shape {a.shape}, expected {expected}")
        self._check_dtype(a, "a")
        return a

    def _describe(self):
        if self.__dict__.get("variant", "pytorch") == "pytorch":
            return super()._describe()
        return f"LSTMCell({self.input_size}, {self.hidden_size}, variant={self.variant!r})"

    def extra_repr(self):
        return super().extra_repr() + f", variant={self.variant!r}"

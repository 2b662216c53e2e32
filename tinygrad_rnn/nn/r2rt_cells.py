"""R2RT's derivation of the LSTM (2016): the prototype, its normalized fix and the pseudo LSTM.

R2RT, "Written Memories: Understanding, Deriving and Extending the LSTM", builds a cell from three
gates that decide what to write (i), what to read (o) and what to forget (f), finds that its state
drifts without bound, and bounds it in three ways: normalize the state, the GRU, or read the state
only through a squashing function (the pseudo LSTM). The notation maps to ours as

    R2RT:  i_t = sigma(W_i s_{t-1} + U_i x_t + b_i)        (column vectors, one matrix per gate)
    ours:  i_t = sigmoid(x_t W_ii^T + s_{t-1} W_hi^T + b_ii + b_hi)   (rows, PyTorch's layout)

so U_i is the i-rows of weight_ih and W_i the i-rows of weight_hh. The rows of the stacked
parameters are the gates i, f, o and then the write s~ (`cell.gate_names`):

    weight_ih (4H, I)   weight_hh (4H, H)   bias_ih, bias_hh (4H,)   all ~ U(-1/sqrt(H), 1/sqrt(H))

The write's matmul takes the *read* state o_t * s_{t-1}, not s_{t-1}, so its columns of weight_hh
are used on their own (as in Cho's GRU, whose reset gate also comes before the matmul).
`forget_bias` and `input_bias` start those gates' biases at a value, as in LSTMCell.
"""

import numpy as np

from .cell_base import RecurrentCell, named
from .declaration import CellDeclaration

GATE_NAMES = ("i", "f", "o", "s~")
# The gates, the write and the gated terms of a step, as the graphs colour them.
_GATED = ("i_t", "f_t", "o_t", "s~_t", "os_t", "fs_t", "is_t")


class PrototypeLSTMCell(RecurrentCell):
    """PrototypeLSTMCell(input_size, hidden_size, bias=True, forget_bias=None, input_bias=None, dtype=None,
    backend=None)

    R2RT's prototype LSTM: the gates read the raw state s_{t-1}, and the state is the output.

        i_t = sigmoid(x_t W_ii^T + s_{t-1} W_hi^T + b_i)           write gate
        f_t = sigmoid(x_t W_if^T + s_{t-1} W_hf^T + b_f)           forget gate
        o_t = sigmoid(x_t W_io^T + s_{t-1} W_ho^T + b_o)           read gate
        s~_t = tanh(x_t W_is^T + (o_t * s_{t-1}) W_hs^T + b_s)     the write (os_t = o_t * s_{t-1})
        s_t = f_t * s_{t-1} + i_t * s~_t                           (fs_t + is_t)

    with b = b_ih + b_hh. Nothing bounds s_t: on a long stream whose writes lean to one sign it
    grows by up to i_t each step (the drift of Hochreiter & Schmidhuber 1997, section 4), and the
    gates, which read it unsquashed, saturate. Call: `s_t = cell(x_t, s_prev)`; s_prev defaults
    to zeros.
    """

    replayable = True  # see RecurrentCell.replayable

    gate_names = GATE_NAMES
    # s_t = f_t * s_{t-1} + i_t * s~_t: s is carried along the additive path, kept through fs_t.
    declaration = CellDeclaration(states=("s_t",), carried="s_t", carousel_term="fs_t", carousel_factor="f_t",
                                  gates=_GATED, name="prototype LSTM cell")

    def __init__(self, input_size, hidden_size, bias=True, forget_bias=None, input_bias=None, dtype=None,
                 backend=None):
        super().__init__(input_size, hidden_size, bias, n_gates=len(GATE_NAMES), dtype=dtype, backend=backend)
        for gate, value in (("f", forget_bias), ("i", input_bias)):
            if value is not None:
                self.init_gate_bias(gate, value)

    def recurrent_weights(self):
        weights = super().recurrent_weights()
        # W_hh^T is (H, 4H): columns of the three gates, then those of the write.
        weights.hh_gates, weights.hh_write = weights.hh.split([3 * self.hidden_size, self.hidden_size], axis=1)
        return weights

    def step(self, x_proj, s, weights):
        """s_t from x_proj = project_input(x_t) and s_{t-1}."""
        fs_t, is_t = self.keep_and_write(x_proj, s, s, weights)
        return named(fs_t + is_t, "s_t")

    def keep_and_write(self, x_proj, s, s_read, weights):
        """(f_t * s_{t-1}, i_t * s~_t): what the cell keeps of its state and what it writes, when
        the gates and the write see `s_read` (the prototype: s_{t-1}; the pseudo LSTM: tanh(s_{t-1}))."""
        H = self.hidden_size
        x_gates, x_write = x_proj.split([3 * H, H], axis=-1)
        a_i, a_f, a_o = (x_gates + s_read @ weights.hh_gates).split(H, axis=-1)
        i_t = named(a_i.sigmoid(), "i_t")
        f_t = named(a_f.sigmoid(), "f_t")
        o_t = named(a_o.sigmoid(), "o_t")
        os_t = named(o_t * s_read, "os_t")  # what the cell reads of its state
        write_t = named((x_write + os_t @ weights.hh_write).tanh(), "s~_t")
        fs_t = named(f_t * s, "fs_t")  # what it keeps
        is_t = named(i_t * write_t, "is_t")  # what it writes
        return fs_t, is_t


class NormalizedPrototypeLSTMCell(PrototypeLSTMCell):
    """NormalizedPrototypeLSTMCell(input_size, hidden_size, bias=True, forget_bias=None, input_bias=None, dtype=None,
    backend=None)

    R2RT's first bounded fix: the prototype's new state, divided by its spread.

        s'_t = f_t * s_{t-1} + i_t * s~_t                  (the prototype's s_t; gates as there)
        n_t  = sqrt(Var(s'_t) + 1)
        s_t  = s'_t / n_t

    Var is the population variance (divided by H) across the H units of each example, so an
    example's state never depends on the others in its batch, and a batch of one or an unbatched
    input (H,) computes the same s_t. (R2RT does not say which axis; one reimplementation uses the
    batch axis, which would make a sequence's result change with its batch-mates.) No mean is
    subtracted, no gain is learned, and +1 stands where layer norm has a tiny epsilon: dividing
    only shrinks a state whose units spread more than about 1, a soft bound rather than a
    standardisation. Call: `s_t = cell(x_t, s_prev)`.
    """

    replayable = True  # see RecurrentCell.replayable

    # On the path s_{t-1} -> fs_t -> s'_t -> s_t the kept term is also divided by n_t.
    declaration = CellDeclaration(states=("s_t",), carried="s_t", carousel_term="fs_t", carousel_factor="f_t / n_t",
                                  gates=_GATED + ("s'_t",), name="normalized prototype cell")

    def step(self, x_proj, s, weights):
        fs_t, is_t = self.keep_and_write(x_proj, s, s, weights)
        s_prime = named(fs_t + is_t, "s'_t")
        n_t = named((s_prime.var(axis=-1, keepdims=True, correction=0) + 1).sqrt(), "n_t")
        return named(s_prime / n_t, "s_t")


class PseudoLSTMCell(PrototypeLSTMCell):
    """PseudoLSTMCell(input_size, hidden_size, bias=True, forget_bias=None, input_bias=None, dtype=None,
    backend=None)

    R2RT's pseudo LSTM: the state is read only through tanh; only the additive write sees it raw.

        h_{t-1} = tanh(s_{t-1})                                    what every read sees
        i_t = sigmoid(x_t W_ii^T + h_{t-1} W_hi^T + b_i)           (f_t, o_t alike)
        s~_t = tanh(x_t W_is^T + (o_t * h_{t-1}) W_hs^T + b_s)
        s_t = f_t * s_{t-1} + i_t * s~_t
        h_t = tanh(s_t)                                            the output

    Gates as in PrototypeLSTMCell. The state may grow, but what the gates and the next write see
    is bounded in (-1, 1). R2RT writes the LSTM as "write, then read" (c_t = f*c + i*g, then
    h_t = o_t * tanh(c_t)); the pseudo LSTM reads (o_t * tanh(s_{t-1})) before it writes, and its
    output carries no read gate.

    The state is the pair (h, s), h = tanh(s) kept alongside so that a step reads it once:
    `h_t, s_t = cell(x_t, (h, s))`, the output first as in LSTMCell. Start it from None (zeros),
    from s alone, or from (None, s); a given h must equal tanh(s).
    """

    replayable = True  # see RecurrentCell.replayable

    declaration = CellDeclaration(states=("h_t", "s_t"), output="h_t", carried="s_t", carousel_term="fs_t",
                                  carousel_factor="f_t", gates=_GATED, name="pseudo LSTM cell")

    def step(self, x_proj, state, weights):
        """(h_t, s_t) from x_proj = project_input(x_t) and (h_{t-1}, s_{t-1}), h_{t-1} = tanh(s_{t-1})."""
        h, s = state
        fs_t, is_t = self.keep_and_write(x_proj, s, h, weights)
        s_t = named(fs_t + is_t, "s_t")
        h_t = named(s_t.tanh(), "h_t")
        return h_t, s_t

    def initial_state(self, state, batch_shape):
        """(h, s) to start from: zeros when None; s alone or (None, s) gives h = tanh(s)."""
        if isinstance(state, (tuple, list)):
            if len(state) != 2:
                raise TypeError(f"{self._describe()}: the state must be a tuple (h, s), got {len(state)} items")
            h, s = state
        else:
            h, s = None, state
        if s is None:
            if h is not None:
                raise TypeError(f"{self._describe()}: h was given without s; give s (h = tanh(s) follows from it)")
            return self.zeros(batch_shape), self.zeros(batch_shape)
        s = self.check_state_tensor(s, batch_shape, "s")
        if h is None:
            return named(s.tanh(), "h_0"), s
        h = self.check_state_tensor(h, batch_shape, "h")
        if not np.allclose(h.numpy(), np.tanh(s.numpy()), rtol=1e-5, atol=1e-6):
            raise ValueError(
                f"{self._describe()}: h must equal tanh(s), the state as the gates read it; "
                f"pass (None, s) or s alone and the cell computes h"
            )
        return h, s

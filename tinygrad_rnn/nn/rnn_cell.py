"""RNNCell: the simple (Elman) recurrent cell, the one whose gradients vanish or explode."""

from .cell_base import RecurrentCell, named
from .declaration import CellDeclaration

NONLINEARITIES = ("tanh", "relu")


class RNNCell(RecurrentCell):
    """RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh', dtype=None, backend=None)

        h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)

    (`nonlinearity='relu'` swaps tanh for relu.) Parameters as PyTorch's nn.RNNCell: weight_ih
    (H, I), weight_hh (H, H), bias_ih and bias_hh (H,), all ~ U(-1/sqrt(H), 1/sqrt(H)).
    Call: `h_t = cell(x_t, h_prev)`; x_t is (N, I) or (I,); h_prev defaults to zeros.
    Pascanu et al. (2013): dh_t/dh_k is a product of t - k factors W_hh^T diag(tanh'), so its norm
    shrinks or grows geometrically with the lag.
    """

    replayable = True  # see RecurrentCell.replayable

    # h_t is the only state and it only passes through the nonlinearity: no additive path.
    declaration = CellDeclaration(states=("h_t",), name="RNN cell")

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None, backend=None):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, n_gates=1, dtype=dtype, backend=backend)
        self.nonlinearity = nonlinearity

    def step(self, x_proj, h, weights):
        """h_t from x_proj = x_t W_ih^T + b_ih + b_hh and h_{t-1}."""
        a_t = x_proj + h @ weights.hh
        if self.nonlinearity == "tanh":
            return named(a_t.tanh(), "h_t")
        return named(a_t.relu(), "h_t")

    def extra_repr(self):
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"

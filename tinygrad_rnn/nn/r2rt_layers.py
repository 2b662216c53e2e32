"""PrototypeLSTM, NormalizedPrototypeLSTM, PseudoLSTM: R2RT's cells (r2rt_cells.py) as layers.

Multi-layer, bidirectional, batch-first, with PyTorch's call signature and state_dict names
(`weight_ih_l0`, ...), exactly as nn.LSTM unrolls LSTMCells (see recurrent.py).
"""

from ..functional import stack
from .r2rt_cells import NormalizedPrototypeLSTMCell, PrototypeLSTMCell, PseudoLSTMCell
from .recurrent import RNNBase


class _R2RTLayer(RNNBase):
    cell_class = None

    def __init__(
        self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
        bidirectional=False, forget_bias=None, input_bias=None, dtype=None, backend=None,
    ):
        def make_cell(layer_input):
            return self.cell_class(layer_input, hidden_size, bias, forget_bias, input_bias, dtype=dtype,
                                   backend=backend)

        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, make_cell)


class PrototypeLSTM(_R2RTLayer):
    """PrototypeLSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, forget_bias=None, input_bias=None, dtype=None, backend=None)

    A stack of PrototypeLSTMCells. `output, s_n = layer(x, s_0)`, shapes as nn.RNN's (the state s
    is the output)."""

    cell_class = PrototypeLSTMCell
    state_names = ("s_0",)


class NormalizedPrototypeLSTM(PrototypeLSTM):
    """NormalizedPrototypeLSTM(...): a stack of NormalizedPrototypeLSTMCells; as PrototypeLSTM."""

    cell_class = NormalizedPrototypeLSTMCell


class PseudoLSTM(_R2RTLayer):
    """PseudoLSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, forget_bias=None, input_bias=None, dtype=None, backend=None)

    A stack of PseudoLSTMCells. `output, (h_n, s_n) = layer(x, (h_0, s_0))` with the shapes of
    nn.LSTM; output holds h_t = tanh(s_t). h_0 may be None (then h_0 = tanh(s_0))."""

    cell_class = PseudoLSTMCell
    state_names = ("h_0", "s_0")

    def _package(self, output, finals, unbatched):
        output, h_n = super()._package(output, finals, unbatched)
        s_n = stack([s[1] for s in finals], axis=0)
        if unbatched:
            s_n = s_n.reshape(s_n.shape[0], s_n.shape[2])
        return output, (h_n, s_n)

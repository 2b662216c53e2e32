"""make_cell / make_layer: every cell variant by one short name, for examples, CLIs and sweeps.

    cell = nn.make_cell("lstm-cifg", 3, 4)          # LSTMCell(3, 4, variant='CIFG')
    lstm = nn.make_layer("lstm-1997", 8, 16, num_layers=2)
"""

from functools import partial

from .gru_cell import GRUCell
from .lstm_cell import LSTMCell
from .r2rt_cells import NormalizedPrototypeLSTMCell, PrototypeLSTMCell, PseudoLSTMCell
from .recurrent import GRU, LSTM, RNN, Recurrent
from .rnn_cell import RNNCell

# kind -> (cell class, layer class, the constructor arguments that pick the variant)
_KINDS = {
    "rnn": (RNNCell, RNN, {"nonlinearity": "tanh"}),
    "rnn-relu": (RNNCell, RNN, {"nonlinearity": "relu"}),
    "lstm": (LSTMCell, LSTM, {"variant": "pytorch"}),
    "lstm-1997": (LSTMCell, LSTM, {"variant": "1997"}),
    "lstm-peephole": (LSTMCell, LSTM, {"variant": "peephole"}),
    "lstm-nig": (LSTMCell, LSTM, {"variant": "NIG"}),
    "lstm-nfg": (LSTMCell, LSTM, {"variant": "NFG"}),
    "lstm-nog": (LSTMCell, LSTM, {"variant": "NOG"}),
    "lstm-niaf": (LSTMCell, LSTM, {"variant": "NIAF"}),
    "lstm-noaf": (LSTMCell, LSTM, {"variant": "NOAF"}),
    "lstm-np": (LSTMCell, LSTM, {"variant": "NP"}),
    "lstm-cifg": (LSTMCell, LSTM, {"variant": "CIFG"}),
    "lstm-fgr": (LSTMCell, LSTM, {"variant": "FGR"}),
    "gru": (GRUCell, GRU, {"variant": "pytorch"}),
    "gru-cho": (GRUCell, GRU, {"variant": "cho"}),
    "mgu": (GRUCell, GRU, {"variant": "mgu"}),
    # R2RT (2016)'s derivation: the prototype LSTM and two of its bounded fixes
    "prototype": (PrototypeLSTMCell, partial(Recurrent, PrototypeLSTMCell), {}),
    "prototype-norm": (NormalizedPrototypeLSTMCell, partial(Recurrent, NormalizedPrototypeLSTMCell), {}),
    "pseudo-lstm": (PseudoLSTMCell, partial(Recurrent, PseudoLSTMCell), {}),
}

CELL_KINDS = tuple(_KINDS)


def _lookup(kind, what):
    key = kind.lower() if isinstance(kind, str) else kind
    if key not in _KINDS:
        raise ValueError(f"{what}: unknown kind {kind!r}; choose one of {', '.join(CELL_KINDS)}")
    return _KINDS[key]


def make_cell(kind, input_size, hidden_size, **kwargs):
    """The cell of `kind` (one of CELL_KINDS); other keyword arguments (bias, forget_bias,
    input_bias, dtype, backend) go to its constructor."""
    cell_class, _, variant = _lookup(kind, "make_cell")
    return cell_class(input_size, hidden_size, **variant, **kwargs)


def make_layer(kind, input_size, hidden_size, **kwargs):
    """The layer (RNN, LSTM, GRU, or Recurrent(cell class)) that unrolls cells of `kind`; other keyword arguments
    (num_layers, bidirectional, batch_first, dropout, bias, ...) go to its constructor."""
    _, layer_class, variant = _lookup(kind, "make_layer")
    return layer_class(input_size, hidden_size, **variant, **kwargs)

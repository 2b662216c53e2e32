"""Neural-network building blocks: Module, Parameter, and (as they land) layers, cells and utils."""

from .module import Module
from .parameter import Parameter
from . import utils
from .linear import Linear
from .serialization import SerializationError, load, save
from .tbptt import detach_state, train_tbptt
from .rnn_cell import RNNCell
from .lstm_cell import LSTMCell
from .gru_cell import GRUCell
from .recurrent import RNN, LSTM, GRU, RNNBase
from .cell_base import RecurrentCell
from .dropout import Dropout
from .r2rt_cells import NormalizedPrototypeLSTMCell, PrototypeLSTMCell, PseudoLSTMCell
from .r2rt_layers import NormalizedPrototypeLSTM, PrototypeLSTM, PseudoLSTM
from .factory import CELL_KINDS, make_cell, make_layer

__all__ = ["Module", "Parameter"]
__all__ += ["Linear", "utils", "save", "load", "SerializationError", "detach_state", "train_tbptt"]
__all__ += ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "Dropout", "CELL_KINDS", "make_cell", "make_layer",
            "RNNBase", "RecurrentCell"]
__all__ += ["PrototypeLSTMCell", "NormalizedPrototypeLSTMCell", "PseudoLSTMCell",
            "PrototypeLSTM", "NormalizedPrototypeLSTM", "PseudoLSTM"]

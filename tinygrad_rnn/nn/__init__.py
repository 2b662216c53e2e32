"""Neural-network building blocks: Module, Parameter, layers, cells and utils.

Your own cell: subclass RecurrentCell, write `step`, declare its state with CellDeclaration,
name its tensors with `named`, and run it as a layer with `Recurrent(YourCell, ...)`."""

from .module import Module
from .parameter import Parameter
from . import utils
from .linear import Linear
from .serialization import SerializationError, load, save
from .tbptt import detach_state, train_tbptt
from .rnn_cell import RNNCell
from .lstm_cell import LSTMCell
from .gru_cell import GRUCell
from .recurrent import RNN, LSTM, GRU, RNNBase, Recurrent
from .cell_base import RecurrentCell, named
from .declaration import CellDeclaration, CellStep
from .dropout import Dropout
from .factory import CELL_KINDS, make_cell, make_layer

__all__ = ["Module", "Parameter"]
__all__ += ["Linear", "utils", "save", "load", "SerializationError", "detach_state", "train_tbptt"]
__all__ += ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "Dropout", "CELL_KINDS", "make_cell", "make_layer",
            "RNNBase", "RecurrentCell", "Recurrent", "CellDeclaration", "CellStep", "named"]

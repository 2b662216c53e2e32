"""Optimizers with PyTorch's update rules and argument names:

    from tinygrad_rnn import optim
    opt = optim.Adam(model.parameters(), lr=1e-3)
    opt.zero_grad(); loss.backward(); opt.step()
"""

from .adagrad import Adagrad
from .adam import Adam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "Adagrad", "RMSprop"]

"""Optimizer: the base of SGD, Adam, Adagrad and RMSprop.

An optimizer holds a list of parameters and, for each, a small dict of state (momentum buffers,
running averages, a step count). `step()` reads every parameter's `.grad` and changes `p.data` in
place, with the array module of the parameter's own backend, so the same code runs on NumPy and
CuPy. Parameters whose `.grad` is None (unused in this forward pass) are skipped, as in PyTorch.
"""

import numpy as np

from ..backend import backend_of, get_array_module, to_backend
from ..tensor import Tensor
from .hyperparameters import check_hyperparameters


class Optimizer:
    """Optimizer(params, defaults): `params` is any iterable of Tensors (e.g. `model.parameters()`);
    `defaults` maps each hyperparameter name to its value. Hyperparameters are plain attributes
    (`opt.lr = 1e-4` changes the learning rate from the next step on, checked as the constructor
    checks it)."""

    ranges = {}  # hyperparameter name -> (test, its words): what check_hyperparameters enforces

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors (e.g. model.parameters()), "
                f"got a single Tensor of shape {params.shape}; wrap it in a list"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(
                    f"{type(self).__name__}: parameter {i} (shape {p.shape}) is not a leaf tensor; "
                    f"an optimizer can only update leaves (made by the user, not by an op)"
                )
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: parameter {i} (shape {p.shape}) appears twice")
            seen.add(id(p))
        self.params = params
        for name, value in defaults.items():  # checked by the subclass already: set before self.defaults
            setattr(self, name, value)
        self.defaults = dict(defaults)
        self.state = [{} for _ in params]  # one dict per parameter, filled on its first step

    def __setattr__(self, name, value):
        # A hyperparameter set after construction (a schedule's `opt.lr = ...`) gets the checks
        # the constructor ran: a NaN rate would turn every weight into NaN at the next step.
        if name in self.ranges and "defaults" in self.__dict__:
            check_hyperparameters(type(self).__name__, {**self.hyperparameters(), name: value}, self.ranges)
        super().__setattr__(name, value)

    def zero_grad(self):
        """Forget every parameter's gradient (set it to None, PyTorch's default), so the next
        backward starts from nothing instead of adding to the last one."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient, in place."""
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            xp = get_array_module(p.data)
            self.update(p.data, p.grad.data, state, xp)
            p._written_in_place()  # a graph that saved the old values must not backward through the new

    def update(self, param, grad, state, xp):
        """Change the array `param` in place, given its gradient array and its state dict."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------
    # State, to save and resume training

    def hyperparameters(self):
        return {name: getattr(self, name) for name in self.defaults}

    def state_dict(self):
        """{'state': {index: {name: value}}, 'hyperparameters': {...}}: copies, as NumPy arrays."""
        state = {}
        for i, s in enumerate(self.state):
            if s:
                state[i] = {k: _to_numpy_copy(v) for k, v in s.items()}
        return {"state": state, "hyperparameters": self.hyperparameters()}

    def load_state_dict(self, state_dict):
        """Restore what `state_dict()` gave, onto each parameter's current backend."""
        hyper = state_dict["hyperparameters"]
        unknown = sorted(set(hyper) - set(self.defaults))
        if unknown:
            raise KeyError(f"{type(self).__name__}.load_state_dict: unknown hyperparameters {unknown}")
        for index in state_dict["state"]:
            if not 0 <= int(index) < len(self.params):
                raise KeyError(
                    f"{type(self).__name__}.load_state_dict: state for parameter {index}, "
                    f"but this optimizer has {len(self.params)} parameters"
                )
        check_hyperparameters(type(self).__name__, {**self.hyperparameters(), **hyper}, self.ranges)
        for name, value in hyper.items():
            setattr(self, name, value)
        self.state = [{} for _ in self.params]
        for index, s in state_dict["state"].items():
            p = self.params[int(index)]
            target = backend_of(p.data).name
            self.state[int(index)] = {
                k: to_backend(np.array(v), target) if isinstance(v, np.ndarray) else v for k, v in s.items()
            }

    def __repr__(self):
        hyper = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"


def _to_numpy_copy(value):
    if hasattr(value, "shape"):  # a state array, on any backend
        return np.array(backend_of(value).to_numpy(value), copy=True)
    return value

"""Module: the base of layers and cells, with PyTorch's conventions for parameters and state."""

from collections import OrderedDict

import numpy as np

from ..backend import backend_of, to_backend
from ..errors import ShapeError
from ..tensor import Tensor
from .parameter import Parameter


def _as_array(name, value):
    """A state_dict value as an array: Tensors give their data, PyTorch tensors their NumPy copy.
    Anything that is not numbers (a string, None, a ragged list) raises a TypeError naming the key."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor, without importing torch
        return value.detach().cpu().numpy()
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        array = value
    else:
        try:
            array = np.asarray(value)
        except ValueError:  # a ragged nested list
            array = None
    if array is None or np.dtype(array.dtype).kind not in "biuf":
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        if hasattr(value, "dtype"):
            shown = f"of dtype {value.dtype}"
        raise TypeError(f"load_state_dict: '{name}' must be an array of numbers, got {type(value).__name__} {shown}")
    return array


class Module:
    """Attributes that are Parameters or Modules register themselves, in assignment order, so
    `named_parameters()` yields dotted names ('cell.weight_ih') as PyTorch does."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            if value.name is None:
                value.name = name
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif value is None and name in self.__dict__ and isinstance(self.__dict__[name], Parameter):
            self._parameters[name] = None
        object.__setattr__(self, name, value)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------
    # Parameters and submodules

    def named_modules(self, prefix=""):
        stack = [(prefix, self)]
        while stack:  # iterative, like every walk in this project
            name, module = stack.pop(0)
            yield name, module
            for child_name, child in module._modules.items():
                stack.append((f"{name}.{child_name}" if name else child_name, child))

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_parameters(self):
        seen = set()
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    # ------------------------------------------------------------------------------------------
    # Modes, dtypes, backends

    def train(self, mode=True):
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def _convert(self, convert):
        for p in self.parameters():
            p.data = convert(p.data)
            p.grad = None
        return self

    def double(self):
        return self._convert(lambda a: a.astype(np.float64))

    def float(self):
        return self._convert(lambda a: a.astype(np.float32))

    def to(self, backend):
        return self._convert(lambda a: to_backend(a, backend))

    # ------------------------------------------------------------------------------------------
    # State

    def state_dict(self):
        """Parameter name -> array (the parameter's own array, as PyTorch returns its tensors)."""
        return OrderedDict((name, p.data) for name, p in self.named_parameters())

    def load_state_dict(self, state, strict=True):
        """Copy arrays into the parameters, in place (as PyTorch does), keeping each one's dtype
        and backend. Values may be NumPy or CuPy arrays, Tensors, nested lists, or PyTorch tensors
        (anything with .detach().cpu().numpy()). With strict, missing or unexpected keys raise; a
        wrong shape always raises. Everything is checked before anything is written."""
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(
                f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}"
            )
        arrays = {}
        for name, value in state.items():
            if name not in own:
                continue
            array = _as_array(name, value)
            if tuple(array.shape) != own[name].shape:
                raise ShapeError(
                    f"load_state_dict: '{name}' has shape {tuple(array.shape)} in the state, "
                    f"{own[name].shape} in the module"
                )
            arrays[name] = array
        for name, array in arrays.items():
            p = own[name]
            p.data[...] = to_backend(array, backend_of(p.data).name).astype(p.dtype, copy=False)
            p._written_in_place()  # a graph that saved the old values must not backward through the new
        return missing, unexpected

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self._modules.items():
            child_lines = repr(child).split("\n")
            lines.append(f"  ({name}): " + "\n  ".join(child_lines))
        return "\n".join(lines) + ")" if len(lines) > 1 else lines[0] + ")"

"""Parameter: a leaf Tensor that a Module owns and an optimizer updates."""

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor with requires_grad=True that Module.parameters() finds."""

    def __init__(self, data, requires_grad=True, dtype=None, backend=None, name=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, backend=backend, name=name)

    def __repr__(self):
        return "Parameter" + super().__repr__()[len("Tensor"):]

"""Ops that move elements without changing them: reshape, transpose, indexing, cat/stack/split,
and the crossings between dtypes and backends."""

import numpy as np

from ..autograd import Function
from ..backend import backend_of, get_array_module, scatter_add, to_backend
from ..errors import IndexingError, ShapeError


def normalize_axis(op, axis, shape, ndim=None, name="axis"):
    """`axis` as an index in [0, ndim) (ndim defaults to len(shape)); a negative axis counts from
    the end. Anything else is an error naming the op, the argument and the shape: NumPy's
    `axis % ndim` would quietly turn axis 3 of a 2-D tensor into axis 1."""
    ndim = len(shape) if ndim is None else ndim
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an integer, got {type(axis).__name__} {axis!r}")
    if not -ndim <= axis < ndim:
        valid = f"from {-ndim} to {ndim - 1}" if ndim else "none: it has no axes"
        shown = f"axis {axis}" if name == "axis" else f"{name}={axis}"
        raise IndexingError(f"{op}: {shown} is out of range for shape {tuple(shape)} (valid: {valid})")
    return int(axis) % ndim


class Reshape(Function):
    """y = x with a new shape;  dL/dx = dL/dy reshaped back."""

    name = "reshape"
    shape = ()  # the new shape (may hold one -1)

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, grad):
        return (grad.reshape(self.in_shape),)


class Transpose(Function):
    """y = x with axes permuted;  dL/dx = dL/dy with the inverse permutation."""

    name = "transpose"
    axes = ()  # the permutation: output axis i is input axis axes[i]

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, grad):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return (grad.transpose(inverse),)


def _is_basic_index(index):
    """True for ints, slices, None and Ellipsis: each element of x is picked at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, slice)) or p is None or p is Ellipsis for p in parts)


class GetItem(Function):
    """y = x[index];  dL/dx = zeros with dL/dy added at the picked positions (repeats add up)."""

    name = "getitem"
    index = ()  # what goes between the brackets: ints, slices, None, ..., integer arrays

    def forward(self, x):
        self.in_shape = x.shape
        self.dtype = x.dtype
        try:
            return x[self.index]
        except IndexError as exc:  # free when nothing is wrong: the check is NumPy's own
            raise IndexingError(f"getitem: index {_show_index(self.index)} does not fit shape {tuple(x.shape)}: {exc}") from exc

    def backward(self, grad):
        xp = get_array_module(grad)
        grad_x = xp.zeros(self.in_shape, dtype=self.dtype)
        if _is_basic_index(self.index):
            grad_x[self.index] = grad
        else:
            scatter_add(grad_x, self.index, grad)
        return (grad_x,)


def _show_index(index):
    """An index as the user wrote it, roughly: x[1, 2:5] shows as (1, slice(2, 5, None))."""
    text = repr(index)
    return text if len(text) <= 80 else text[:77] + "..."


class Cat(Function):
    """y = [a | b | ...] along `axis`;  each input gets its slice of dL/dy."""

    name = "cat"
    same_dtype = True
    axis = 0  # the existing axis the inputs are joined along

    def forward(self, *arrays):
        axis = normalize_axis("cat", self.axis, arrays[0].shape)
        ndim = arrays[0].ndim
        for a in arrays[1:]:
            other = [n for i, n in enumerate(a.shape) if i != axis]
            first = [n for i, n in enumerate(arrays[0].shape) if i != axis]
            if a.ndim != ndim or other != first:
                shapes = ", ".join(str(tuple(x.shape)) for x in arrays)
                raise ShapeError(f"cat: shapes {shapes} differ outside axis {self.axis}")
        self.sizes = [a.shape[axis] for a in arrays]
        return get_array_module(arrays[0]).concatenate(arrays, axis=axis)

    def backward(self, grad):
        return _split_at(grad, self.sizes, self.axis)


class Stack(Function):
    """y = inputs stacked along a new `axis`;  input k gets dL/dy taken at index k of that axis."""

    name = "stack"
    same_dtype = True
    axis = 0  # where the new axis goes

    def forward(self, *arrays):
        shapes = {tuple(a.shape) for a in arrays}
        if len(shapes) > 1:
            raise ShapeError(f"stack: all inputs need one shape, got {', '.join(str(s) for s in shapes)}")
        normalize_axis("stack", self.axis, arrays[0].shape, ndim=arrays[0].ndim + 1)  # a new axis may go last
        self.count = len(arrays)
        return get_array_module(arrays[0]).stack(arrays, axis=self.axis)

    def backward(self, grad):
        # Views of dL/dy, one per input (take() would copy each slice).
        axis = self.axis % grad.ndim
        leading = (slice(None),) * axis
        return tuple(grad[leading + (k,)] for k in range(self.count))


class Split(Function):
    """[y_1, y_2, ...] = x cut along `axis` into pieces of `sizes`;  dL/dx = [dL/dy_1 | dL/dy_2 | ...].

    One node with several outputs (not one slice op per piece), so the LSTM's four gates cost one
    concatenation in backward instead of four full-size scatters.
    """

    name = "split"
    sizes = ()  # the length of each piece along `axis`
    axis = 0  # the axis cut, as an index in [0, ndim)
    n_outputs = None  # one per piece: set by forward (a plain attribute, read for every edge of the walk)

    def forward(self, x):
        axis = self.axis
        if sum(self.sizes) != x.shape[axis] or min(self.sizes, default=0) < 0:
            raise ShapeError(
                f"split: sizes {list(self.sizes)} must be >= 0 and add up to {x.shape[axis]}, the length of "
                f"axis {axis} of shape {tuple(x.shape)}"
            )
        self.n_outputs = len(self.sizes)
        return _split_at(x, self.sizes, axis)

    def backward(self, *grads):
        # The walk calls backward when at least one piece got a gradient: the others take its
        # shape and dtype, but for their own length along the axis.
        given = next(g for g in grads if g is not None)
        xp = get_array_module(given)
        pieces = []
        for g, size in zip(grads, self.sizes):
            if g is None:  # an output nobody used: its gradient is zero
                shape = list(given.shape)
                shape[self.axis] = size
                g = xp.zeros(shape, dtype=given.dtype)
            pieces.append(g)
        return (xp.concatenate(pieces, axis=self.axis),)


def _split_at(array, sizes, axis):
    index = [slice(None)] * array.ndim
    pieces, start = [], 0
    for size in sizes:
        index[axis] = slice(start, start + size)
        pieces.append(array[tuple(index)])
        start += size
    return tuple(pieces)


class Cast(Function):
    """y = x converted to `dtype`;  dL/dx = dL/dy converted back."""

    name = "cast"
    dtype = None  # the dtype converted to (a numpy.dtype)

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, grad):
        return (grad.astype(self.in_dtype),)


class ToBackend(Function):
    """y = x copied to another backend;  dL/dx = dL/dy copied back."""

    name = "to"
    backend = "numpy"  # the name of the backend copied to

    def forward(self, x):
        self.source = backend_of(x).name
        return to_backend(x, self.backend)

    def backward(self, grad):
        return (to_backend(grad, self.source),)

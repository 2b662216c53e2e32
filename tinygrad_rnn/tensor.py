"""Tensor: an array (NumPy or CuPy) plus what reverse mode needs: `requires_grad`, `grad`, and the
op that made it (`grad_fn`). Every method that computes something is an op from `ops/`."""

import numpy as np

from . import autograd
from .autograd import _NO_GRAPH_COPIES, _describe, _wrap, check_backward_args, check_leaf_dtype, next_write_stamp, run_backward
from .backend import backend_of, default_backend, get_array_module, get_backend, to_backend
from .errors import DTypeError, GraphError, ShapeError
from .ops.activation import Abs, Exp, LeakyReLU, Log, ReLU, Sigmoid, Sqrt, Tanh
from .ops.arithmetic import Add, Div, Mul, Neg, Pow, PowTensor, Sub
from .ops.matmul import MatMul
from .ops.reduce import Max, Mean, Sum, Var
from .ops.select import Clip, Maximum, Minimum
from .ops.shape import Cast, GetItem, Reshape, Split, ToBackend, Transpose, normalize_axis
from .ops.softmax import LogSoftmax, Softmax


class Tensor:
    """Tensor(data, requires_grad=False, dtype=None, backend=None, name=None)

    `data`: a Python number or (nested) list, a NumPy or CuPy array, or a Tensor.
    Python floats become float32 (as in PyTorch); arrays keep their dtype; integers stay integers.
    `backend`: 'numpy' or 'cupy'; None means the default (see `set_backend`), except that a CuPy
    array stays on the GPU. `name` labels the tensor in graphs and traces (`c_t3`, `f_t3`).
    """

    # Read by NumPy: `np_array * tensor` then calls Tensor.__rmul__ instead of looping elementwise.
    __array_ufunc__ = None

    # Class-level defaults: a tensor only stores what differs (an op result: data, _ctx,
    # requires_grad), which keeps the tape's per-op bookkeeping small. Tensors are built in two
    # places, both this way: Tensor(...) for the user's data, autograd._wrap for everything else.
    requires_grad = False
    grad = None
    name = None
    _ctx = None
    _index = 0  # which output of _ctx this is
    _uses = 0  # how many recorded ops take this tensor as an input (see autograd.release_unreferenced)
    _hooks = None
    _retain = False
    # In-place writes (see _written_in_place): how many, and the write clock's stamp of the last.
    _version = 0
    _written_at = 0
    _base = None  # for a view of a leaf (W.T, W[0], W.detach()): that leaf, whose writes it sees

    def __init__(self, data, requires_grad=False, dtype=None, backend=None, name=None):
        if isinstance(data, Tensor):
            data = data.data
        if backend is None:
            backend = default_backend()
            if hasattr(data, "shape") and type(data) is not np.ndarray and not isinstance(data, np.generic):
                backend = backend_of(data).name  # a GPU array stays where it is
        target = get_backend(backend)
        if dtype is not None:
            dtype = np.dtype(dtype)
        if not hasattr(data, "dtype") or isinstance(data, np.generic):
            array = _array_from_python(data, dtype)
            if dtype is None and array.dtype == np.float64 and not isinstance(data, np.generic):
                array = array.astype(np.float32)  # Python floats default to float32
        else:
            _check_numbers(data.dtype)  # before astype: strings would be parsed into numbers
            # A copy (as torch.tensor makes): an optimizer step must not change the caller's array.
            array = data.astype(dtype if dtype is not None else data.dtype, copy=True)
        if type(array) is not target.array_type:  # exact type: a registered backend may subclass ndarray
            array = to_backend(array, backend)
        _check_numbers(array.dtype)
        check_leaf_dtype(array.dtype, requires_grad)
        self.data = array
        if requires_grad:
            self.requires_grad = True
        if name is not None:
            self.name = name

    # ------------------------------------------------------------------------------------------
    # What a tensor is

    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return int(self.data.size)

    @property
    def backend(self):
        return backend_of(self.data).name

    @property
    def grad_fn(self):
        """The op node that made this tensor (None for a leaf)."""
        return self._ctx

    @property
    def step(self):
        """The time step of the op that made this tensor (see `time_step`), or None."""
        return None if self._ctx is None else self._ctx.step

    @property
    def is_leaf(self):
        return self._ctx is None

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        """Slices along the first axis: `for x_t in seq:` steps through time."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.data.shape[0]):
            yield self[i]

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() on .numpy()"
            )
        return bool(self.item())

    def __array__(self, dtype=None, copy=None):
        """np.asarray(tensor) gives the data as a NumPy array."""
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __repr__(self):
        # prefix: rows after the first line up under the first, as in PyTorch's tensor repr
        body = np.array2string(self.numpy(), separator=", ", precision=4, threshold=20, edgeitems=2,
                               prefix=f"{type(self).__name__}(")
        extras = [f"dtype={self.dtype}"]
        if self.backend != "numpy":
            extras.append(f"backend='{self.backend}'")
        if self.name:
            extras.append(f"name={self.name!r}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"Tensor({body}, {', '.join(extras)})"

    def numpy(self):
        """The data as a NumPy array (copied from the GPU for CuPy tensors)."""
        return backend_of(self.data).to_numpy(self.data)

    def item(self):
        if self.data.size != 1:
            raise ShapeError(f"item: only a tensor with one element converts to a number, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.numpy().tolist()

    # ------------------------------------------------------------------------------------------
    # Gradients

    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf), weighted by `grad` (dL/dself), into every leaf's `.grad`."""
        run_backward([self], [check_backward_args(self, grad)], retain_graph=retain_graph)

    def zero_grad(self):
        self.grad = None

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor after backward (leaves keep it anyway)."""
        if self._ctx is None:
            return
        self._retain = True
        self._watch()

    def register_hook(self, fn):
        """Call `fn(grad)` each time this tensor's gradient is computed; a Tensor that fn returns
        replaces the gradient. Returns a handle whose `remove()` unregisters it."""
        if not self.requires_grad:
            raise GraphError("register_hook: the tensor does not require grad, so no gradient will reach it")
        if self._hooks is None:
            self._hooks = {}
        handle = HookHandle(self._hooks)
        self._hooks[handle.id] = fn
        if self._ctx is not None:
            self._watch()
        return handle

    def _watch(self):
        ctx = self._ctx
        if ctx.watched is None:
            ctx.watched = {}
        ctx.watched[self._index] = self

    def detach(self):
        """The same data, cut from the graph: gradients stop here (truncated BPTT relies on it)."""
        return self._view_of_self(_wrap(self.data, name=self.name))

    def _view_of_self(self, out):
        """Mark `out`, whose array is a view of this tensor's, as seeing this tensor's in-place
        writes (so backward notices a write to W through the W.T a matmul saved). Only leaves are
        written in place, so only views of leaves need the mark."""
        base = self if self._ctx is None else self._base
        if base is not None:
            out._base = base
        return out

    def _written_in_place(self):
        """Writers that change `self.data` in place (optimizer steps, load_state_dict) call this,
        so a backward through ops that saved the old values raises instead of using the new ones."""
        self._version += 1
        self._written_at = next_write_stamp()

    def __reduce_ex__(self, protocol):
        # Pickling and copy.deepcopy come here. A leaf is copied as data plus its flags; a
        # tensor made by an op would drag its whole graph along, which is refused.
        if self._ctx is not None:
            raise GraphError(
                f"cannot pickle or copy {_describe(self)}, made by op '{self._ctx.name}': "
                f"{_NO_GRAPH_COPIES}"
            )
        return super().__reduce_ex__(protocol)

    def requires_grad_(self, requires_grad=True):
        check_leaf_dtype(self.dtype, requires_grad)
        self.requires_grad = requires_grad
        return self

    # ------------------------------------------------------------------------------------------
    # Conversions

    def to(self, backend):
        """This tensor on `backend` ('numpy' or 'cupy'); differentiable: gradients flow back."""
        backend = get_backend(backend).name
        if backend == self.backend:
            return self
        return ToBackend.apply(self, backend=backend)

    def astype(self, dtype):
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        return Cast.apply(self, dtype=dtype)

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    # ------------------------------------------------------------------------------------------
    # Arithmetic. A Python number on either side takes this tensor's dtype and backend.

    def _lift(self, other):
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float, bool, np.number, np.bool_)):
            xp = get_array_module(self.data)
            dtype = self.data.dtype
            if isinstance(other, (float, np.floating)) and dtype.kind != "f":
                dtype = np.float32  # 0.5 must not truncate to 0: the op then refuses int with float
            return _constant(xp.asarray(other, dtype=dtype))
        if isinstance(other, np.ndarray) or hasattr(other, "__cuda_array_interface__"):
            return Tensor(other, backend=self.backend)
        raise TypeError(f"cannot combine a Tensor with {type(other).__name__}")

    def __add__(self, other):
        return Add.apply(self, self._lift(other))

    def __radd__(self, other):
        return Add.apply(self._lift(other), self)

    def __sub__(self, other):
        return Sub.apply(self, self._lift(other))

    def __rsub__(self, other):
        return Sub.apply(self._lift(other), self)

    def __mul__(self, other):
        return Mul.apply(self, self._lift(other))

    def __rmul__(self, other):
        return Mul.apply(self._lift(other), self)

    def __truediv__(self, other):
        return Div.apply(self, self._lift(other))

    def __rtruediv__(self, other):
        return Div.apply(self._lift(other), self)

    def __matmul__(self, other):
        return MatMul.apply(self, self._lift(other))

    def __rmatmul__(self, other):
        return MatMul.apply(self._lift(other), self)

    def __neg__(self):
        return Neg.apply(self)

    def __pow__(self, exponent):
        if isinstance(exponent, np.generic):
            exponent = exponent.item()  # a NumPy float64 scalar would promote float32 data
        if isinstance(exponent, (int, float)):
            return Pow.apply(self, exponent=exponent)
        return PowTensor.apply(self, self._lift(exponent))  # an exponent per element

    def __rpow__(self, base):
        return PowTensor.apply(self._lift(base), self)

    def __getitem__(self, index):
        return self._view_of_self(GetItem.apply(self, index=_index_arrays(index)))

    def __setitem__(self, index, value):
        # Writing into a tensor would change arrays the tape saved for backward, and the
        # gradients would silently be wrong; PyTorch tracks this with version counters.
        raise TypeError(
            f"Tensor of shape {self.shape} does not support item assignment (t[...] = v): the tape "
            f"cannot differentiate in-place writes. Build a new tensor instead, e.g. with tg.cat or "
            f"tg.stack, or change the array itself outside the graph: t.data[...] = v"
        )

    # ------------------------------------------------------------------------------------------
    # Elementwise functions, reductions, shapes

    def sigmoid(self):
        return Sigmoid.apply(self)

    def tanh(self):
        return Tanh.apply(self)

    def relu(self):
        return ReLU.apply(self)

    def exp(self):
        return Exp.apply(self)

    def log(self):
        return Log.apply(self)

    def sum(self, axis=None, keepdims=False):
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return Max.apply(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis=-1):
        return Softmax.apply(self, axis=axis)

    def log_softmax(self, axis=-1):
        return LogSoftmax.apply(self, axis=axis)

    def sqrt(self):
        return Sqrt.apply(self)

    def var(self, axis=None, keepdims=False, *, correction=1):
        """sum((x - mean(x))^2) / (n - correction) over `axis`. correction=1 (PyTorch's default)
        is the unbiased sample variance; correction=0 the population variance (NumPy's default)."""
        correction = _number("var", "correction", correction)
        if not correction >= 0:
            raise ValueError(f"var: correction must be >= 0, got {correction}")
        return Var.apply(self, axis=axis, keepdims=keepdims, correction=correction)

    def abs(self):
        return Abs.apply(self)

    __abs__ = abs

    def leaky_relu(self, negative_slope=0.01):
        return LeakyReLU.apply(self, negative_slope=_number("leaky_relu", "negative_slope", negative_slope))

    def clip(self, min=None, max=None):  # noqa: A002 - torch.clamp's names
        """Each element limited to [min, max]; either bound may be None (no limit), not both."""
        if min is None and max is None:
            raise TypeError("clip: give at least one of min and max")
        low = None if min is None else _number("clip", "min", min)
        high = None if max is None else _number("clip", "max", max)
        return Clip.apply(self, low=low, high=high)

    clamp = clip

    def maximum(self, other):
        """Elementwise max(self, other), with broadcasting; a tie splits the gradient in half."""
        return Maximum.apply(self, self._lift(other))

    def minimum(self, other):
        """Elementwise min(self, other), with broadcasting; a tie splits the gradient in half."""
        return Minimum.apply(self, self._lift(other))

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        _check_reshape(self.shape, shape)
        return self._view_of_self(Reshape.apply(self, shape=shape))

    def transpose(self, *axes):
        """Permute axes as NumPy does: no argument reverses them; otherwise give all of them.
        (PyTorch's two-axis swap is `swapaxes(a, b)`.)"""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        normalized = tuple(normalize_axis("transpose", a, self.shape) for a in axes)
        if sorted(normalized) != list(range(self.ndim)):
            raise ShapeError(
                f"transpose: axes {axes} are not a permutation of the {self.ndim} axes of shape "
                f"{self.shape}; to swap two axes use swapaxes(a, b)"
            )
        return self._view_of_self(Transpose.apply(self, axes=normalized))

    permute = transpose

    def swapaxes(self, axis1, axis2):
        axis1 = normalize_axis("swapaxes", axis1, self.shape, name="axis1")
        axis2 = normalize_axis("swapaxes", axis2, self.shape, name="axis2")
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return self.transpose(*axes)

    @property
    def T(self):
        return self.transpose()

    def split(self, sections, axis=0):
        """Cut along `axis` as PyTorch's split does: an int is the size of each piece (the last
        may be smaller); a list gives every piece's size."""
        axis = normalize_axis("split", axis, self.shape)
        length = self.shape[axis]
        if isinstance(sections, int):
            if sections <= 0:
                raise ShapeError(f"split: piece size must be positive, got {sections} for shape {self.shape}")
            sizes = [min(sections, length - start) for start in range(0, length, sections)]
        else:
            sizes = [int(s) for s in sections]
        pieces = Split.apply(self, sizes=tuple(sizes), axis=axis)
        if self._ctx is None or self._base is not None:
            for piece in pieces:
                self._view_of_self(piece)
        return pieces

    def chunk(self, n, axis=0):
        """`n` pieces of (nearly) equal size along `axis`, as torch.chunk."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"chunk: the number of pieces must be an integer, got {type(n).__name__} {n!r}")
        if n <= 0:
            raise ShapeError(f"chunk: the number of pieces must be positive, got {n} for shape {self.shape}")
        length = self.shape[normalize_axis("chunk", axis, self.shape)]
        return self.split(-(-length // int(n)), axis=axis)


class HookHandle:
    """What `register_hook` returns; `remove()` takes the hook off again."""

    _next_id = [0]

    def __init__(self, hooks):
        self.hooks = hooks
        HookHandle._next_id[0] += 1
        self.id = HookHandle._next_id[0]

    def remove(self):
        self.hooks.pop(self.id, None)


def _number(op, name, value):
    """A Python number from an op's numeric argument (a NumPy float64 scalar would promote float32)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__} {value!r}")
    return value


def _constant(array):
    return _wrap(array)


_KIND_NAMES = {"U": "strings", "S": "bytes", "O": "Python objects", "V": "records", "M": "dates", "m": "time spans"}


def _check_numbers(dtype):
    if dtype.kind not in "biufc":
        raise DTypeError(
            f"Tensor: data of dtype {dtype} ({_KIND_NAMES.get(dtype.kind, 'not numbers')}) "
            f"cannot make a tensor; give numbers (int, float or bool)"
        )


def _array_from_python(data, dtype):
    """A NumPy array of a number or (nested) list; ragged lists and strings are refused, not made
    objects or parsed."""
    try:
        array = np.asarray(data)
    except ValueError:
        where = _ragged_at(data) if isinstance(data, (list, tuple)) else None
        if where is None:
            raise
        raise ShapeError(f"Tensor: nested lists of different lengths (ragged) cannot make a tensor: {where}") from None
    if array.dtype.kind == "O" and dtype is not None and all(type(v) is int for v in array.flat):
        # Integers too large for int64 come as Python objects; the dtype asked for may hold them.
        # (Other objects, None among them, are refused: NumPy would make None a NaN.)
        array = np.asarray(data, dtype=dtype)
    _check_numbers(array.dtype)
    return array if dtype is None else array.astype(dtype, copy=False)


def _ragged_at(data):
    """Where nested lists stop being a grid, e.g. '[1] is a list of 1 where [0] is a list of 2';
    None if they are one. Walks one depth at a time (no recursion: lists may nest deeply)."""
    level = [((), data)]
    while level:
        first_path, first = level[0]
        expected = _length(first)
        for path, item in level:
            if _length(item) != expected:
                return f"{_index(path)} is {_describe_item(item)} where {_index(first_path)} is {_describe_item(first)}"
        if expected is None:  # numbers all through this depth: the grid ends here
            return None
        level = [(path + (k,), child) for path, item in level for k, child in enumerate(item)]
    return None


def _length(item):
    if isinstance(item, (list, tuple)) or (isinstance(item, np.ndarray) and item.ndim > 0):
        return len(item)
    return None


def _describe_item(item):
    length = _length(item)
    return "a number" if length is None else f"a list of {length}"


def _index(path):
    return "".join(f"[{k}]" for k in path)


def _check_reshape(shape, new_shape):
    """Refuse a new shape that does not hold exactly the elements of `shape` (as NumPy would,
    but naming the op and both shapes)."""
    size = int(np.prod(shape))
    known = [s for s in new_shape if s != -1]
    fits = len(new_shape) - len(known) <= 1 and all(isinstance(s, (int, np.integer)) and s >= 0 for s in known)
    if fits:
        product = int(np.prod(known))
        fits = product == size if len(known) == len(new_shape) else (product > 0 and size % product == 0) or size == 0 == product
    if not fits:
        raise ShapeError(
            f"reshape: cannot reshape a tensor of shape {tuple(shape)} ({size} elements) into shape {tuple(new_shape)}"
        )


def _index_arrays(index):
    """Tensors used as indices become their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


autograd.Tensor = Tensor

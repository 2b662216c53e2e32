"""The tape: op nodes (`Function`) and the reverse-mode walk that runs their backwards.

Every op result remembers the `Function` that made it (`tensor._ctx`); the node remembers its
input tensors and whatever its backward needs. `backward` walks these nodes from the output back
to the leaves in reverse topological order, so the walk is iterative and linear in the graph's
size (plus one sort): a 10,000-step BPTT graph is no harder than a 10-step one.

The order comes from a sequence number each node gets when it is recorded. A node's inputs were
made before it, so they carry smaller numbers: visiting the reachable nodes from the highest
number down reaches every node after all the nodes that consume its outputs.
"""

import itertools
from operator import attrgetter

import numpy as np

from .backend import backend_of, get_array_module
from .errors import BackendError, DTypeError, GraphError, ShapeError, fmt_shapes

_grad_enabled = [True]
_time_step = [None]
_sequence = itertools.count(1)  # numbers the recorded nodes in the order they were made


class _Released:
    """What `saved` holds once a backward has freed a node's arrays. There is one instance, and
    it stays the same object through pickling, so a released graph is recognised after a copy."""

    def __reduce__(self):
        return "_RELEASED"

    def __repr__(self):
        return "<released>"


_RELEASED = _Released()
Tensor = None  # tensor.py puts its class here; the hot path avoids a per-call import


def is_grad_enabled():
    return _grad_enabled[0]


class no_grad:
    """`with no_grad():` runs ops without recording them (inference, optimizer steps).
    Also a decorator: `@no_grad()` on a function runs all of it that way."""

    def __call__(self, function):
        import functools

        @functools.wraps(function)
        def without_grad(*args, **kwargs):
            with no_grad():
                return function(*args, **kwargs)

        return without_grad

    def __enter__(self):
        self.previous = _grad_enabled[0]
        _grad_enabled[0] = False
        return self

    def __exit__(self, *exc_info):
        _grad_enabled[0] = self.previous
        return False


class time_step:
    """`with time_step(t):` tags every op recorded inside with `step = t`, so graph renderers can
    draw one cluster per time step and tracers can find step t's states. Layers do this as they
    unroll; a hand-written loop over a cell can do it too."""

    def __init__(self, t):
        self.t = t

    def __enter__(self):
        self.previous = _time_step[0]
        _time_step[0] = self.t
        return self

    def __exit__(self, *exc_info):
        _time_step[0] = self.previous
        return False


def current_time_step():
    return _time_step[0]


class Function:
    """One op on the tape.

    A subclass sets `name`, and writes `forward(*arrays)` (arrays in, array or tuple of arrays
    out, saving on `self` what backward needs) and `backward(*grad_outputs)` (one gradient array
    per output in, one gradient per input out; None where an input needs none).
    `self.needs_input_grad[i]` tells backward which input gradients are wanted.
    """

    name = "op"
    n_outputs = 1  # split has more; the walk hands backward one gradient per output
    same_dtype = False  # binary ops set this: they refuse to mix float32 and float64

    # Set by `apply` when the result is recorded:
    inputs = ()
    # Ops of several inputs get one flag per input; a one-input op is recorded only when its
    # input wants a gradient, so the default says just that.
    needs_input_grad = (True,)
    saved = None  # what backward needs; _RELEASED once a backward has freed it
    seq = 0  # the order of recording (see the module docstring)
    step = None  # the time step the op ran in (see time_step)
    watched = None  # non-leaf outputs with hooks or retain_grad, by output index

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors and, when gradients are wanted, record it on the tape."""
        fn = cls.__new__(cls)
        if params:
            fn.__dict__.update(params)
        try:
            if len(inputs) == 1:  # the common case, without building lists
                out = fn.forward(inputs[0].data)
                wanted = inputs[0].requires_grad
                needs = None
            else:
                arrays = [t.data for t in inputs]
                _check_inputs(cls, inputs, arrays[0])
                out = fn.forward(*arrays)
                needs = tuple([t.requires_grad for t in inputs])
                wanted = True in needs
        except (ShapeError, DTypeError):
            raise
        except (ValueError, IndexError, TypeError) as exc:
            # The array library's own message, prefixed with the op and the shapes involved.
            raise ShapeError(
                f"{cls.name}: cannot apply to input shapes {fmt_shapes(*(t.data for t in inputs))}: {exc}"
            ) from exc
        if not (wanted and _grad_enabled[0]):
            fn = None
        else:
            fn.inputs = inputs
            fn.seq = next(_sequence)
            if needs is not None:
                fn.needs_input_grad = needs
            if _time_step[0] is not None:
                fn.step = _time_step[0]
        if cls.n_outputs == 1:
            return _wrap(out, fn, 0)
        return tuple([_wrap(o, fn, i) for i, o in enumerate(out)])

    def __setstate__(self, state):
        # A node loaded from a pickle keeps its number; nodes recorded from now on must get
        # larger ones, since they may consume it.
        global _sequence
        self.__dict__.update(state)
        _sequence = itertools.count(max(next(_sequence), self.seq + 1))

    def __repr__(self):
        return f"<{self.name}>"


def _check_inputs(cls, inputs, first):
    array_type = type(first)
    for t in inputs[1:]:
        if type(t.data) is not array_type:
            names = ", ".join(f"{backend_of(x.data).name} {tuple(x.shape)}" for x in inputs)
            raise BackendError(
                f"{cls.name}: inputs live on different backends ({names}); "
                f"move them to one with .to('numpy') or .to('cupy')"
            )
    if cls.same_dtype:
        dtype = first.dtype
        for t in inputs[1:]:
            if t.data.dtype != dtype:
                dtypes = " and ".join(f"{x.data.dtype} {tuple(x.shape)}" for x in inputs)
                raise DTypeError(
                    f"{cls.name}: inputs have different dtypes ({dtypes}); "
                    f"convert one with .float() or .double()"
                )


def _wrap(array, ctx, index):
    """The Tensor for one op result; grad, name, hooks keep their class-level defaults."""
    if type(array) is not np.ndarray:
        array = _as_array(array)
    out = Tensor.__new__(Tensor)
    out.data = array
    if ctx is not None:
        out._ctx = ctx
        out.requires_grad = True
        if index:
            out._index = index
    return out


# ----------------------------------------------------------------------------------------------
# The backward walk


def run_backward(roots, root_grads, retain_graph=False):
    """Backpropagate `root_grads` (arrays) from the tensors `roots` to every leaf that requires grad.

    Leaves accumulate into `.grad`; hooks run once per tensor with its complete gradient;
    the nodes' saved arrays are released afterwards unless `retain_graph`.
    """
    nodes = _nodes_latest_first(roots)
    pending = _PendingGrads()  # node -> the gradient of its output(s)
    leaf_grads = _PendingGrads()  # id(leaf) -> its gradient (tensors compare elementwise: ids are the keys)
    leaves = {}  # id(leaf) -> leaf
    for root, grad in zip(roots, root_grads):
        if root._ctx is None:
            leaves[id(root)] = root
            leaf_grads.add_to(id(root), grad)
        else:
            pending.add(root._ctx, root._index, grad)

    for fn in nodes:
        if fn.saved is _RELEASED:
            raise GraphError(
                f"backward through the graph a second time: the saved arrays of '{fn.name}' were "
                f"released by the first backward; pass retain_graph=True to the first call"
            )
        grads_out = pending.pop(fn, None)
        if grads_out is None:  # nothing flowed into this node (every consumer gave None)
            continue
        if fn.n_outputs == 1:
            if fn.watched is not None:
                grads_out = _run_tensor_hooks(fn, [grads_out])[0]
            grads_in = fn.backward(grads_out)
        else:
            if fn.watched is not None:
                grads_out = _run_tensor_hooks(fn, grads_out)
            grads_in = fn.backward(*grads_out)
        if not retain_graph:
            fn.saved = _RELEASED
        for t, g in zip(fn.inputs, grads_in):
            if g is None or not t.requires_grad:
                continue
            parent = t._ctx
            if parent is None:
                leaves[id(t)] = t
                leaf_grads.add_to(id(t), g)
            elif parent.n_outputs == 1 and parent not in pending:
                pending[parent] = g  # the first gradient into a one-output node (most edges)
            else:
                pending.add(parent, t._index, g)

    if pending:
        # Every node that received a gradient was walked after it did, unless the sequence numbers
        # are out of order: nodes made in another process (a graph loaded with pickle) carry
        # numbers from that process's count. Their gradients would be lost without a word.
        names = ", ".join(sorted({fn.name for fn in pending}))
        raise GraphError(
            f"backward: the graph's nodes are out of recording order ({names} received gradients "
            f"after they were walked); was part of it made in another process, e.g. loaded with "
            f"pickle? Rebuild the graph in this process"
        )

    for key, g in leaf_grads.items():
        _store_leaf_grad(leaves[key], g)


_by_sequence = attrgetter("seq")


def _nodes_latest_first(roots):
    """The nodes reachable from `roots`, each after every node that consumes its outputs."""
    stack = [r._ctx for r in roots if r._ctx is not None]
    seen = set(stack)
    while stack:
        for t in stack.pop().inputs:
            parent = t._ctx
            if parent is not None and parent not in seen and t.requires_grad:
                seen.add(parent)
                stack.append(parent)
    return sorted(seen, key=_by_sequence, reverse=True)


class _PendingGrads(dict):
    """The gradients gathered during one walk: node -> the gradient of its output, or for a node
    of several outputs a list of one gradient (or None) per output; or, for leaves, id -> gradient.

    The first gradient of an output is kept as given: it may be shared (add hands one array to
    both of its inputs) or a read-only broadcast view, so it is never written to. From the second
    on, the sum is an array the walk allocated itself (`owned` lists those outputs) and further
    gradients are added into it in place: a weight used at every time step then costs one
    allocation per backward instead of one per step.
    """

    def __init__(self):
        super().__init__()
        self.owned = set()  # the keys, or (node, output index) for nodes of several outputs

    def add(self, fn, index, grad):
        """Gather one more gradient for output `index` of node `fn`."""
        if fn.n_outputs == 1:
            self.add_to(fn, grad)
            return
        grads = self.get(fn)
        if grads is None:
            grads = self[fn] = [None] * fn.n_outputs
        grads[index] = _gathered(grads[index], grad, self.owned, (fn, index))

    def add_to(self, key, grad):
        """Gather one more gradient for `key`: a one-output node, or a leaf's id."""
        self[key] = _gathered(self.get(key), grad, self.owned, key)


def _gathered(current, grad, owned, key):
    """`current` (None at first) with `grad` added, following _PendingGrads's rule: the first
    gradient as given, the second into a new array the walk then owns (key goes into `owned`),
    later ones added into that array in place."""
    if current is None:
        return grad
    if key in owned:
        current += grad
        return current
    owned.add(key)
    return _new_sum(current, grad)


def _new_sum(a, b):
    """a + b in a new array that later gradients can be added into in place."""
    return _as_array(a + b)


def _as_array(value):
    """`value` as an array: NumPy turns results on 0-d arrays into NumPy scalars, which a Tensor
    must not hold and which `+=` cannot update in place (it would only rebind a local name)."""
    return np.asarray(value) if isinstance(value, np.generic) else value


def _run_tensor_hooks(fn, grads_out):
    grads_out = list(grads_out)
    for index, t in fn.watched.items():
        if grads_out[index] is None:
            continue
        grads_out[index] = _apply_hooks(t, grads_out[index])
        if t._retain:
            # A copy: the walk's array may be shared with other inputs or be a read-only view.
            # Like a leaf's, a retained gradient accumulates over backward calls.
            if t.grad is None:
                t.grad = _as_grad_tensor(t, grads_out[index].copy())
            else:
                t.grad.data = _new_sum(t.grad.data, grads_out[index])
    return grads_out


def _apply_hooks(t, grad):
    if not t._hooks:
        return grad
    for hook in list(t._hooks.values()):
        # The hook gets its own copy: writing into it must not change another input's gradient.
        result = hook(_as_grad_tensor(t, grad.copy()))
        if result is not None:
            new = result.data if isinstance(result, Tensor) else result
            if tuple(new.shape) != tuple(grad.shape):
                raise ShapeError(
                    f"hook on tensor {t.name or ''}: returned a gradient of shape {tuple(new.shape)}, "
                    f"expected {tuple(grad.shape)}"
                )
            grad = new
    return grad


def _store_leaf_grad(t, grad):
    grad = _apply_hooks(t, grad)
    if t.grad is None:
        # A copy: op backwards may hand the same array to several inputs, and .grad is the
        # user's to modify in place (clip_grad_norm_ does).
        grad = get_array_module(t.data).array(grad, dtype=t.data.dtype, copy=True)
        t.grad = _as_grad_tensor(t, grad)
    else:
        t.grad.data = _new_sum(t.grad.data, grad)


def _as_grad_tensor(t, grad):
    g = Tensor.__new__(Tensor)
    g.data = _as_array(grad)
    g.grad = None
    g.name = f"grad_{t.name}" if t.name else None
    g._ctx = None
    g._index = 0
    g._hooks = None
    g._retain = False
    g.requires_grad = False
    return g


def check_backward_args(t, grad):
    """Validate `t.backward(grad)`: a scalar needs no grad; anything else needs one of t's shape."""
    if not t.requires_grad:
        raise GraphError(
            f"backward: tensor {(t.name + ' ') if t.name else ''}of shape {tuple(t.shape)} does not require grad and has no grad_fn; "
            f"create the inputs with requires_grad=True"
        )
    if grad is None:
        if t.data.size != 1:
            raise GraphError(
                f"backward: tensor of shape {tuple(t.shape)} is not a scalar; pass a gradient of "
                f"shape {tuple(t.shape)}, e.g. y.backward(np.ones({tuple(t.shape)}))"
            )
        return get_array_module(t.data).ones(t.data.shape, dtype=t.data.dtype)
    data = grad.data if isinstance(grad, Tensor) else grad
    xp = get_array_module(t.data)
    if type(data) is not type(t.data):
        if isinstance(grad, Tensor):
            raise BackendError(
                f"backward: gradient on backend {grad.backend!r} for a tensor on {t.backend!r}"
            )
        data = xp.asarray(data, dtype=t.data.dtype)
    if tuple(data.shape) != tuple(t.shape):
        raise ShapeError(
            f"backward: gradient shape {tuple(data.shape)} does not match tensor shape {tuple(t.shape)}"
        )
    if data.dtype != t.data.dtype:
        data = data.astype(t.data.dtype)
    return data


def check_leaf_dtype(dtype, requires_grad):
    if requires_grad and dtype.kind != "f":
        raise DTypeError(f"Tensor: only floating-point tensors can require grad, got dtype {dtype}")

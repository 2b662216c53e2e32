"""The tape: op nodes (`Function`) and the reverse-mode walk that runs their backwards.

Every op result remembers the `Function` that made it (`tensor._ctx`); the node remembers its
input tensors and whatever its backward needs. `backward` walks these nodes from the output back
to the leaves in a loop, not by recursion: a 10,000-step BPTT graph is no harder than a 10-step
one.

The order comes from the graph itself (DeZero's generations): a node's generation is one more
than the largest among the nodes that made its inputs, so every consumer of a node has a larger
generation than the node. The walk visits the nodes that gradients reach by decreasing
generation: each one after all the nodes that hand it gradients.

Grad mode (`no_grad`), the time step (`time_step`) and anomaly mode (`detect_anomaly`) belong to
the thread that sets them, as PyTorch's grad mode does: another thread's ops are unaffected.
"""

import functools
import linecache
import os
import sys
import threading
import types

import numpy as np

from .backend import backend_of, get_array_module
from .deferred import DeferredProduct, materialized
from .errors import AnomalyError, BackendError, DTypeError, GraphError, ShapeError, fmt_shapes

Tensor = None  # tensor.py puts its class here; the hot path avoids a per-call import


class _Modes:
    """One thread's modes. Ops read them through one thread-local lookup (`_local.modes`) and
    then plain attributes: a thread-local attribute read costs several times a plain one."""

    __slots__ = ("grad_enabled", "step", "anomaly", "keep_values", "made")

    def __init__(self):
        self.grad_enabled = True
        self.step = None  # the time step ops are tagged with (see time_step)
        self.anomaly = False  # see detect_anomaly
        self.keep_values = False  # see keep_values: no intermediate's array is released
        self.made = None  # inside a time step: the tensors its recorded ops made (see release_unreferenced)


class _PerThread(threading.local):
    def __init__(self):
        self.modes = _Modes()  # runs once in every thread that reads it


_local = _PerThread()


class _Released:
    """What `saved` holds once a backward has freed a node's arrays."""

    def __repr__(self):
        return "<released>"


_RELEASED = _Released()

# In-place writes (optimizer steps, load_state_dict) get increasing stamps from this clock;
# each node keeps the clock's value when it was recorded, so backward tells whether an array the
# node saved was overwritten after it was saved. Only the writers advance it, never the ops.
_write_clock = [0]
_clock_lock = threading.Lock()


def next_write_stamp():
    with _clock_lock:
        _write_clock[0] += 1
        return _write_clock[0]


# ----------------------------------------------------------------------------------------------
# Modes: grad, time step, anomaly (all per thread)


def is_grad_enabled():
    return _local.modes.grad_enabled


class no_grad:
    """`with no_grad():` runs ops without recording them (inference, optimizer steps) in this
    thread. Also a decorator: `@no_grad()` on a function runs all of it that way."""

    def __call__(self, function):
        @functools.wraps(function)
        def without_grad(*args, **kwargs):
            with no_grad():
                return function(*args, **kwargs)

        return without_grad

    def __enter__(self):
        modes = _local.modes
        self.previous = modes.grad_enabled
        modes.grad_enabled = False
        return self

    def __exit__(self, *exc_info):
        _local.modes.grad_enabled = self.previous
        return False


class release_scope:
    """`with release_scope():` releases, as it ends, the values of the intermediates recorded
    directly inside it (not inside a nested scope, which does its own) that only the graph
    refers to and no op saved (see release_unreferenced). Every time step is one; the layers
    also run under one, for their input projection of all steps."""

    def __enter__(self):
        modes = _local.modes
        self.previous_made = modes.made
        modes.made = []
        return self

    def __exit__(self, *exc_info):
        modes = _local.modes
        made = modes.made
        modes.made = self.previous_made
        if not (modes.anomaly or modes.keep_values):  # anomaly mode describes op inputs by their values
            release_unreferenced(made)
        return False


class time_step(release_scope):
    """`with time_step(t):` tags every op this thread records inside with `step = t`, so graph
    renderers can draw one cluster per time step and tracers can find step t's states. Layers do
    this as they unroll; a hand-written loop over a cell can do it too. As it ends, it releases
    what its ops made and nothing needs (see release_scope)."""

    def __init__(self, t):
        self.t = t

    def __enter__(self):
        modes = _local.modes
        self.previous_step = modes.step
        modes.step = self.t
        return super().__enter__()

    def __exit__(self, *exc_info):
        _local.modes.step = self.previous_step
        return super().__exit__(*exc_info)


def current_time_step():
    return _local.modes.step


def recorded_in_step():
    """The tensors that ops have made so far in this thread's current `time_step`, in recording
    order (the list release_unreferenced goes through as the step ends); None outside a step."""
    return _local.modes.made


class keep_values:
    """`with keep_values():` keeps the values of every intermediate tensor recorded (and walked
    by backward) inside, in this thread. By default the tape drops the arrays of intermediates
    that nothing but the graph refers to and no backward needs (see release_unreferenced), which
    keeps BPTT's memory to what backward needs; a tool that shows the values of every op in a
    graph (the gradient explorer) runs under this instead."""

    def __enter__(self):
        self.previous = _local.modes.keep_values
        _local.modes.keep_values = True
        return self

    def __exit__(self, *exc_info):
        _local.modes.keep_values = self.previous
        return False


def set_detect_anomaly(mode):
    """Turn anomaly mode on or off in this thread (see `detect_anomaly`)."""
    _local.modes.anomaly = bool(mode)


def is_anomaly_enabled():
    return _local.modes.anomaly


class detect_anomaly:
    """`with detect_anomaly():` checks every op for NaN and Inf, as torch.autograd.detect_anomaly.

    Forward: the first op whose output holds NaN or Inf raises an AnomalyError naming the op,
    its inputs (names, shapes), the time step and the line of your code that called it.
    Backward: the first op whose backward produces NaN or Inf raises the same, plus the line
    that created the op in forward (recorded only while anomaly mode is on). It makes every op
    slower (a check of each result and a look at the call stack); off, it costs nothing.
    """

    def __enter__(self):
        self.previous = _local.modes.anomaly
        set_detect_anomaly(True)
        return self

    def __exit__(self, *exc_info):
        set_detect_anomaly(self.previous)
        return False


# ----------------------------------------------------------------------------------------------
# Ops


_NOT_PARAMETERS = (types.FunctionType, classmethod, staticmethod, property)  # what a class body defines besides data


class Function:
    """One op on the tape.

    A subclass sets `name`, and writes `forward(*arrays)` (arrays in, an array or a tuple of arrays
    out) and `backward(*grad_outputs)` (one gradient array per output in, one gradient per input
    out; None where an input needs none). `self.needs_input_grad[i]` tells backward which input
    gradients are wanted.

    Where an op keeps what it knows:
    - arrays that backward needs go in `self.saved` (a tuple) and nowhere else: the walk frees
      them after use, and checks them against in-place writes (an optimizer step between forward
      and backward);
    - parameters (`axis`, `exponent`, ...) are passed to `apply` as keywords and are declared in
      the class with a default (`axis = None`), where a reader finds them; `apply` refuses a
      keyword the class does not declare;
    - small metadata that forward works out itself (an input shape for backward's reshape) is
      set on `self` in forward, beside the line that computes it.
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
    recorded_at = 0  # the write clock when the op was recorded (see next_write_stamp)
    step = None  # the time step the op ran in (see time_step)
    generation = 0  # 1 + the largest generation among the ops that made its inputs
    watched = None  # non-leaf outputs with hooks or retain_grad, by output index
    created_at = None  # the user's line that made the op; recorded in anomaly mode only

    parameters = frozenset()  # the keywords apply accepts: set from the class's declarations

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declared = set()
        for klass in cls.__mro__:
            if klass is Function:
                break
            declared.update(
                key
                for key, value in vars(klass).items()
                if not key.startswith("_") and not isinstance(value, _NOT_PARAMETERS)
            )
        cls.parameters = frozenset(declared - set(vars(Function)))

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors and, when gradients are wanted, record it on the tape."""
        fn = cls.__new__(cls)
        if params:
            if not params.keys() <= cls.parameters:
                _refuse_parameters(cls, params)
            for key, value in params.items():  # setattr, not __dict__.update: no dict object per node
                setattr(fn, key, value)
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
        except (ShapeError, DTypeError, BackendError):
            raise
        except Exception as exc:
            raise _explained(cls, inputs, exc)
        modes = _local.modes
        if modes.anomaly:
            _check_forward(cls, inputs, out, modes.step)
        if not (wanted and modes.grad_enabled):
            fn = None
        else:
            if needs is None:  # link_inputs for one input, without the call or the loop
                fn.inputs = inputs
                t = inputs[0]
                t._uses += 1
                fn.generation = 1 if t._ctx is None else t._ctx.generation + 1
            else:
                link_inputs(fn, inputs)
                fn.needs_input_grad = needs
            fn.recorded_at = _write_clock[0]
            if modes.step is not None:
                fn.step = modes.step
            if modes.anomaly:
                fn.created_at = _user_line()
        if cls.n_outputs == 1:
            result = _wrap(out, fn)
            if fn is not None and modes.made is not None:
                modes.made.append(result)
            return result
        results = tuple([_wrap(o, fn, i) for i, o in enumerate(out)])
        if fn is not None and modes.made is not None:
            modes.made.extend(results)
        return results

    def __reduce_ex__(self, protocol):
        raise GraphError(f"cannot pickle or copy the op node <{self.name}>: {_NO_GRAPH_COPIES}")

    def __repr__(self):
        return f"<{self.name}>"


# Why graphs are not pickled or deep-copied (docs/concepts/tape.md says the same).
_NO_GRAPH_COPIES = (
    "a graph holds every array saved for backward (a whole unrolled sequence's activations), "
    "and a copy could not share leaves with the original; detach() the tensor to copy its data, "
    "or copy the leaves and run the forward pass again"
)


def link_inputs(fn, inputs):
    """Record `inputs` on the node `fn`: each input gets one more graph edge (t._uses, see
    release_unreferenced), and fn's generation is one more than that of any node it consumes
    (see run_backward)."""
    fn.inputs = inputs
    generation = 0
    for t in inputs:
        t._uses += 1
        producer = t._ctx
        if producer is not None and producer.generation > generation:
            generation = producer.generation
    fn.generation = generation + 1


def _refuse_parameters(cls, params):
    unknown = sorted(set(params) - cls.parameters)
    declared = ", ".join(sorted(cls.parameters)) or "none"
    raise TypeError(
        f"{cls.name}: unexpected op parameter(s) {', '.join(unknown)}; the op declares: {declared} "
        f"(declare parameters as class attributes of {cls.__name__})"
    )


def _explained(cls, inputs, exc):
    """The error to raise for `exc` from an op's forward. Ops check their own arguments (axes,
    indices, sizes) and raise ShapeErrors; here, only operands whose shapes differ and that the
    array library refused to combine (broadcasting, cat, stack) become one. Anything else is
    raised as it is, with a note naming the op, since it may be a bug in the op itself."""
    shapes = fmt_shapes(*(t.data for t in inputs))
    if isinstance(exc, ValueError) and len({tuple(t.data.shape) for t in inputs}) > 1:
        error = ShapeError(f"{cls.name}: cannot apply to input shapes {shapes}: {exc}")
        error.__cause__ = exc
        return error
    exc.add_note(f"raised in the forward of op '{cls.name}' on input shapes {shapes}")
    return exc


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


def _wrap(array, ctx=None, index=0, name=None):
    """A new Tensor holding `array`: every tensor that is not made by `Tensor(...)` is built here
    (op results, gradients, detached tensors, constants). Fields left out keep their class-level
    defaults (see Tensor), which keeps the tape's per-op bookkeeping small."""
    if type(array) is not np.ndarray:
        array = _as_array(array)
    out = Tensor.__new__(Tensor)
    out.data = array
    if ctx is not None:
        out._ctx = ctx
        out.requires_grad = True
        if index:
            out._index = index
    if name is not None:
        out.name = name
    return out


# ----------------------------------------------------------------------------------------------
# Releasing the arrays of intermediates that only the graph refers to


class ReleasedArray:
    """What an intermediate tensor's `data` becomes once its values are released (see
    release_unreferenced): its shape and dtype, which graphs and traces draw, and no values."""

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape, dtype, name):
        self.shape, self.dtype, self.name = shape, dtype, name

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape))

    def error(self):
        name = f"'{self.name}' " if self.name else ""
        return GraphError(
            f"the values of the intermediate tensor {name}of shape {self.shape} {self.dtype} were released "
            f"(as the time step or the layer call that made it ended): only the graph referred to it and no op "
            f"saved it for backward. Keep a reference to the tensor (or call retain_grad() on it) to keep its values"
        )

    def __repr__(self):
        return f"<released array of shape {self.shape} {self.dtype}>"

    def __getattr__(self, attribute):
        raise self.error()


@functools.lru_cache(maxsize=1024)
def _released(shape, dtype, name):
    """One ReleasedArray for every (shape, dtype, name): every step of a layer releases the same
    few, and a new object per release would make Python's cycle collector run more often, over
    the whole graph."""
    return ReleasedArray(shape, dtype, name)


def release_unreferenced(made):
    """Drop the arrays of the tensors in `made` (op results, each once) that nothing refers to
    but the graph, and whose array nothing else holds (no op saved it).

    Such a tensor stays in the graph, with its name, shape, dtype and step, so pictures and walks
    are unchanged; only its values go, since no backward reads them. This is what keeps BPTT's
    memory to what backward needs: the sum of the gate pre-activations, the recurrent matmul's
    output or a product that is only added on are not kept for every time step. Time steps call
    it as they end, for the tensors made in them; release_scope does the same for the ops made
    inside it outside any step (the layers' input projection for all steps). Reference counts
    say who refers to what: a tensor's count is one per recorded op that takes it as input
    (`t._uses`, counted by apply) plus the references made here; anything more is user code.
    """
    getrefcount = sys.getrefcount
    shared = []  # unreferenced tensors whose array a view still held: a second look at the end
    # Consumers before producers: releasing the views (split pieces) first lets their base go too.
    for t in reversed(made):
        # 3 = the list, the loop variable, getrefcount's argument.
        if getrefcount(t) == t._uses + 3 and type(t.data) is not ReleasedArray:
            if getrefcount(t.data) == _ONLY_THE_TENSOR:
                t.data = _released(t.data.shape, t.data.dtype, t.name)
            else:
                shared.append(t)
    for t in shared:
        if getrefcount(t.data) == _ONLY_THE_TENSOR:
            t.data = _released(t.data.shape, t.data.dtype, t.name)


def _array_refs():
    """getrefcount(t.data) for an array that only the tensor t holds."""
    t = types.SimpleNamespace(data=np.zeros(1))
    return sys.getrefcount(t.data)


_ONLY_THE_TENSOR = _array_refs()


# ----------------------------------------------------------------------------------------------
# The backward walk


def run_backward(roots, root_grads, retain_graph=False):
    """Backpropagate `root_grads` (arrays) from the tensors `roots` to every leaf that requires grad.

    Leaves accumulate into `.grad`; hooks run once per tensor with its complete gradient;
    the nodes' saved arrays are released afterwards unless `retain_graph`.
    """
    pending = _PendingGrads()  # node -> the gradient of its output(s)
    leaf_grads = _PendingGrads()  # id(leaf) -> its gradient (tensors compare elementwise: ids are the keys)
    leaves = {}  # id(leaf) -> leaf
    # Every consumer of a node has a larger generation, so walked by decreasing generation a
    # node comes after all the nodes that hand it gradients. A node is queued under its
    # generation when its first gradient arrives: the walk meets only the nodes gradients reach.
    queued = {}  # generation -> the nodes of that generation with a gradient pending
    for root, grad in zip(roots, root_grads):
        if root._ctx is None:
            leaves[id(root)] = root
            leaf_grads.add_to(id(root), grad)
        else:
            if root._ctx not in pending:
                queued.setdefault(root._ctx.generation, []).append(root._ctx)
            pending.add(root._ctx, root._index, grad)
    clock = _write_clock[0]
    anomaly = _local.modes.anomaly

    released = _RELEASED  # locals: this loop runs once per node of the graph
    pop_pending, get_pending, owned = pending.pop, pending.get, pending.owned
    pop_queued = queued.pop
    for generation in range(max(queued, default=0), -1, -1):
        for fn in pop_queued(generation, ()):
            if fn.saved is released:
                raise GraphError(
                    f"backward through the graph a second time: the saved arrays of '{fn.name}' were "
                    f"released by the first backward; pass retain_graph=True to the first call"
                )
            grads_out = pop_pending(fn)
            # Gradients gathered as matmul factors (deferred.py) are multiplied out now.
            if type(grads_out) is DeferredProduct:
                grads_out = grads_out.value()
            elif type(grads_out) is list:
                grads_out = [materialized(g) for g in grads_out]
            if fn.recorded_at != clock:  # something was written in place since fn was recorded
                _check_saved_arrays_unchanged(fn)
            if fn.n_outputs == 1:
                if fn.watched is not None:
                    grads_out = _run_tensor_hooks(fn, [grads_out])[0]
                grads_in = fn.backward(grads_out)
            else:
                if fn.watched is not None:
                    grads_out = _run_tensor_hooks(fn, grads_out)
                grads_in = fn.backward(*grads_out)
            if anomaly:
                grads_in = [materialized(g) for g in grads_in]
                _check_backward(fn, grads_in)
            if not retain_graph:
                fn.saved = released
            for t, g in zip(fn.inputs, grads_in):
                if g is None or not t.requires_grad:
                    continue
                parent = t._ctx
                if parent is None:
                    leaves[id(t)] = t
                    leaf_grads.add_to(id(t), g)
                    continue
                current = get_pending(parent)
                if current is None:  # the first gradient for parent: queue it
                    queued_at = queued.get(parent.generation)
                    if queued_at is None:
                        queued[parent.generation] = [parent]
                    else:
                        queued_at.append(parent)
                if parent.n_outputs != 1:
                    pending.add(parent, t._index, g)
                elif current is None:  # a one-output node (most edges): _PendingGrads.add_to, written out
                    pending[parent] = g  # the first gradient, kept as given
                elif type(current) is DeferredProduct:
                    current.merge(g)
                elif type(g) is DeferredProduct:
                    pending[parent] = g.merge(current)
                elif parent in owned:
                    current += g
                else:
                    owned.add(parent)
                    pending[parent] = _new_sum(current, g)

    for key, g in leaf_grads.items():
        _store_leaf_grad(leaves[key], materialized(g))


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
    if type(current) is DeferredProduct:
        return current.merge(grad)
    if type(grad) is DeferredProduct:
        return grad.merge(current)  # made by the backward that just ran: the walk's to add into
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
    return _wrap(grad, name=f"grad_{t.name}" if t.name else None)


# ----------------------------------------------------------------------------------------------
# In-place writes and anomaly mode: slow paths, taken only when something is wrong or asked for


def _check_saved_arrays_unchanged(fn):
    """Raise if an input of `fn` was written in place after fn was recorded, and fn saved its
    array (or a view of it) for backward; PyTorch's version counters catch the same."""
    for position, t in enumerate(fn.inputs):
        written = t if t._base is None else t._base  # W.T is a view: the write went to W
        if written._written_at <= fn.recorded_at:
            continue
        may_share = get_array_module(written.data).may_share_memory
        if any(_is_array(a) and may_share(a, written.data) for a in _flatten(fn.saved)):
            raise GraphError(
                f"backward: {_describe(written)}, which op '{fn.name}' saved for backward (as input "
                f"{position}{'' if written is t else ', through a view'}), has been modified by an inplace operation (an optimizer step, "
                f"load_state_dict) after the forward pass; the gradient would be wrong. Call "
                f"backward() before opt.step(), or run the forward pass again"
            )


def _flatten(saved):
    stack = [saved]
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(item)
        else:
            yield item


def _is_array(value):
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic)


def _describe(t):
    """'tensor 'weight' of shape (4, 3) float32': how errors name a tensor."""
    name = f"'{t.name}' " if t.name else ""
    if not name and t._base is not None and t._base.name:
        name = f"(a view of '{t._base.name}') "
    return f"tensor {name}of shape {tuple(t.shape)} {t.dtype}"


def _nonfinite(array):
    """How many NaN and Inf `array` holds, in words; None when it holds neither."""
    if not _is_array(array) or array.dtype.kind not in "fc":
        return None
    xp = get_array_module(array)
    if bool(xp.isfinite(array).all()):
        return None
    n_nan, n_inf = int(xp.isnan(array).sum()), int(xp.isinf(array).sum())
    return f"{n_nan} NaN and {n_inf} Inf among its {array.size} values"


def _describe_inputs(inputs):
    parts = []
    for t in inputs:
        text = _describe(t)
        if t.data.size and t.data.dtype.kind in "fiu":
            text += f" (min {float(t.data.min()):.4g}, max {float(t.data.max()):.4g})"
        parts.append(text)
    return "; ".join(parts)


def _step_text(step):
    return "" if step is None else f" at time step {step}"


def _check_forward(cls, inputs, out, step):
    outputs = out if cls.n_outputs != 1 else (out,)
    for index, array in enumerate(outputs):
        found = _nonfinite(array)
        if found is not None:
            which = "its output" if cls.n_outputs == 1 else f"its output {index}"
            raise AnomalyError(
                f"anomaly in forward: op '{cls.name}'{_step_text(step)} produced {found} in {which} "
                f"of shape {tuple(array.shape)}; inputs: {_describe_inputs(inputs)}; "
                f"called from {_user_line()}"
            )


def _check_backward(fn, grads_in):
    for index, g in enumerate(grads_in):
        found = _nonfinite(g)
        if found is not None:
            created = fn.created_at or "unknown (anomaly mode was off when it was recorded)"
            raise AnomalyError(
                f"anomaly in backward: the backward of op '{fn.name}'{_step_text(fn.step)} produced "
                f"{found} in the gradient for input {index}; inputs: {_describe_inputs(fn.inputs)}; "
                f"the op was created at {created}; backward called from {_user_line()}"
            )


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_line():
    """'File "train.py", line 12, in step: y = x.log()': the innermost caller outside this package."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    filename, lineno = frame.f_code.co_filename, frame.f_lineno
    code = linecache.getline(filename, lineno).strip()
    return f'File "{filename}", line {lineno}, in {frame.f_code.co_name}' + (f": {code}" if code else "")


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

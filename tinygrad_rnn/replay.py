"""Replaying a recorded time step: how a layer unrolls a cell without running its Python code at
every step.

Every step of a layer runs the same ops, in the same order, on arrays of the same shapes; only
the arrays differ. So once two steps have run the cell's `step` as usual, the layer replays
the ops the second one recorded: for each op a new node of the same class with the same
parameters, its `forward` on this step's arrays, its result tensors with the same names, and at
the end the same intermediates released (see autograd.release_unreferenced). That is the very
graph the cell's code would have built (the same nodes, tensors, names, steps and values; the
tests compare them), without the Tensor methods, argument checks and per-op bookkeeping between
the arithmetic. tinygrad's TinyJit and CUDA graphs do the same for kernels.

A step can be replayed when its ops depend on nothing but the step's input, its state and fixed
tensors (weights), so the two recorded steps must agree: the same op classes and parameters,
the same wiring, the same names, the same tensors from outside the step, constants of equal value
(the 1 in `1 - z_t`). Anything else (a value drawn at random inside the step, a branch on the
data that changes the ops) makes them disagree, and the layer runs the cell's code at every step.
A cell class opts in with `replayable = True` (RNNCell, LSTMCell, GRUCell and the R2RT cells
do); a cell whose step draws random numbers or branches on values must not.
"""

from operator import itemgetter

from .autograd import ReleasedArray, _local, _wrap, _write_clock, link_inputs

# What a result tensor may hold for its step to be replayed: what apply and `named` set.
_RESULT_FIELDS = frozenset({"data", "_ctx", "requires_grad", "_index", "_uses", "name"})


class StepReplay:
    """The ops of one recorded step, ready to run again on another step's input and state.

    `sources` are positions in one list of tensors per replayed step: [x_t, *state, *fixed,
    *constants, then each op's results as they are made]."""

    def __init__(self, state_is_tuple, fixed, constants, nodes, returned, released):
        self.state_is_tuple = state_is_tuple  # (h, c), or one tensor h
        self.fixed = fixed  # tensors from outside the step (weights), the same at every step
        self.constants = constants  # arrays of constant leaves made anew in every step
        # (op class, parameters, getter of its inputs, needs_input_grad (None for one input),
        #  one output?, the name of its output or the names of its outputs)
        self.nodes = nodes
        self.returned = returned  # positions of the state tensors the step returns
        self.released = released  # (position, ReleasedArray) of each result whose values the step releases

    def run(self, x, state, step):
        """The state after one step from `x` (x_proj[t]) and `state`, recording its ops at `step`."""
        values = [x]
        if self.state_is_tuple:
            values.extend(state)
        else:
            values.append(state)
        values.extend(self.fixed)
        values.extend([_wrap(array) for array in self.constants])
        clock = _write_clock[0]
        for cls, parameters, get_inputs, needs, one_output, names in self.nodes:
            inputs = get_inputs(values)
            fn = cls.__new__(cls)
            for key, value in parameters:  # setattr, not __dict__.update: no dict object per node
                setattr(fn, key, value)
            if needs is None:  # one input: apply's default needs_input_grad, (True,)
                out = fn.forward(inputs.data)
                inputs = (inputs,)
            else:
                if len(inputs) == 2:  # most ops: without building a list
                    out = fn.forward(inputs[0].data, inputs[1].data)
                else:
                    out = fn.forward(*[t.data for t in inputs])
                fn.needs_input_grad = needs  # as recorded: x_t, the state and the weights keep theirs
            link_inputs(fn, inputs)
            fn.recorded_at = clock
            fn.step = step
            if one_output:
                values.append(_wrap(out, fn, 0, names))
            else:
                values.extend([_wrap(o, fn, i, name) for i, (o, name) in enumerate(zip(out, names))])
        if self.released and not _local.modes.keep_values:
            for position, released in self.released:
                values[position].data = released
        if self.state_is_tuple:
            return tuple([values[p] for p in self.returned])
        return values[self.returned[0]]


def can_replay(cell):
    """Whether a layer may replay the steps of `cell` now: its class itself says
    `replayable = True` (a subclass that inherits it has not said so), grad mode is on (a replay
    records) and anomaly mode off (it checks every op as apply runs it)."""
    modes = _local.modes
    return vars(type(cell)).get("replayable") is True and modes.grad_enabled and not modes.anomaly


def record_replay(first, second):
    """A StepReplay of the step `second` if it agrees with `first` (see the module docstring);
    else None. Each is (made, x, state_in, state_out): the tensors the step's ops made (in
    recording order, time_step's list), its input x_t, the state it was given and returned."""
    made, x, state_in, state_out = second
    made_0, x_0, state_in_0, state_out_0 = first
    nodes, nodes_0 = _nodes(made), _nodes(made_0)
    state_in, state_in_0 = _as_tuple(state_in), _as_tuple(state_in_0)
    state_out, state_out_0 = _as_tuple(state_out), _as_tuple(state_out_0)
    if not nodes or len(nodes) != len(nodes_0) or len(state_in) != len(state_in_0) or len(state_out) != len(state_out_0):
        return None
    for fn, fn_0 in zip(nodes, nodes_0):
        if type(fn) is not type(fn_0) or len(fn.inputs) != len(fn_0.inputs) or fn.watched is not None:
            return None

    # Positions in a replay's list of tensors: x_t, the state, the fixed tensors, the
    # constants, then the results; the same numbering for both steps.
    position, position_0 = {id(x): 0}, {id(x_0): 0}
    for k, (s, s_0) in enumerate(zip(state_in, state_in_0)):
        position.setdefault(id(s), 1 + k)
        position_0.setdefault(id(s_0), 1 + k)
    in_step = {id(fn) for fn in nodes}
    fixed, constants = [], []
    for kind in ("fixed", "constant"):
        for fn, fn_0 in zip(nodes, nodes_0):
            for t, t_0 in zip(fn.inputs, fn_0.inputs):
                if id(t) in position or id(t._ctx) in in_step:
                    continue
                if t is t_0:
                    found = kind == "fixed"
                elif _is_constant(t) and _is_constant(t_0) and _equal_arrays(t.data, t_0.data):
                    found = kind == "constant"
                else:
                    return None  # a tensor from outside the step that differs between the steps
                if found:
                    position[id(t)] = position_0[id(t_0)] = 1 + len(state_in) + len(fixed) + len(constants)
                    (fixed.append(t) if kind == "fixed" else constants.append(t.data))

    compiled = []
    next_position = 1 + len(state_in) + len(fixed) + len(constants)
    for fn, fn_0 in zip(nodes, nodes_0):
        parameters = _parameters(fn)
        if not _same_parameters(parameters, _parameters(fn_0)):
            return None
        sources = [position.get(id(t)) for t in fn.inputs]
        if None in sources or sources != [position_0.get(id(t_0)) for t_0 in fn_0.inputs]:
            return None  # wired differently in the two steps
        outputs, outputs_0 = _outputs(fn, made), _outputs(fn_0, made_0)
        if outputs is None or outputs_0 is None:
            return None
        names = tuple(t.name for t in outputs)
        if names != tuple(t.name for t in outputs_0):
            return None
        for t, t_0 in zip(outputs, outputs_0):
            if not (t.__dict__.keys() <= _RESULT_FIELDS and t_0.__dict__.keys() <= _RESULT_FIELDS):
                return None  # a view of a leaf, a hook, a retained gradient: not a plain result
            position[id(t)] = position_0[id(t_0)] = next_position
            next_position += 1
        needs = None if len(sources) == 1 else fn.needs_input_grad
        one_output = fn.n_outputs == 1
        compiled.append((type(fn), tuple(parameters.items()), itemgetter(*sources), needs, one_output, names[0] if one_output else names))
    returned = [position.get(id(s)) for s in state_out]
    if None in returned or returned != [position_0.get(id(s)) for s in state_out_0]:
        return None
    if _released_positions(made, position) != _released_positions(made_0, position_0):
        return None
    # Every replayed step releases tensors of the same shape, dtype and name: the same objects
    # (autograd._released) stand for their values.
    released = tuple(sorted((position[id(t)], t.data) for t in made if type(t.data) is ReleasedArray))
    return StepReplay(isinstance(second[2], (tuple, list)), fixed, constants, compiled, returned, released)


def _nodes(made):
    """The distinct op nodes that made the tensors in `made`, in recording order."""
    nodes = []
    for t in made:
        if t._index == 0:
            nodes.append(t._ctx)
    return nodes


def _outputs(fn, made):
    """fn's result tensors in output order, or None if one is missing from `made`."""
    outputs = [t for t in made if t._ctx is fn]
    if len(outputs) != fn.n_outputs or [t._index for t in outputs] != list(range(fn.n_outputs)):
        return None
    return outputs


def _as_tuple(state):
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def _is_constant(t):
    """A leaf that wants no gradient and is nothing but an array (a lifted number)."""
    return t._ctx is None and not t.requires_grad and t.__dict__.keys() <= {"data", "name", "_uses"}


def _equal_arrays(a, b):
    return type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype and bool((a == b).all())


def _parameters(fn):
    return {key: fn.__dict__[key] for key in type(fn).parameters if key in fn.__dict__}


def _same_parameters(p, q):
    if p.keys() != q.keys():
        return False
    for key in p:
        a, b = p[key], q[key]
        if a is b:
            continue
        if hasattr(a, "shape") or hasattr(b, "shape") or type(a) is not type(b):
            return False  # arrays (an index) and mixed types: not known to be the same
        if a != b:
            return False
    return True


def _released_positions(made, position):
    return tuple(sorted(position[id(t)] for t in made if type(t.data) is ReleasedArray))


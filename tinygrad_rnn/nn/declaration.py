"""The cell contract: what a recurrent cell declares about its state, for the tools that read it.

A cell names the tensors it computes (`named(f_t * c, "fc_t")`) and declares, once, what those
names mean. The LSTM's declaration reads

    CellDeclaration(states=("h_t", "c_t"), output="h_t", carried="c_t",
                    carousel_term="fc_t", carousel_factor="f_t",
                    gates=("i_t", "f_t", "g_t", "o_t", "fc_t", "ig_t"), name="LSTM cell")

states           the names of the state tensors, in the order `step` takes and returns them
output           the state the cell outputs (what a layer stacks over time); default states[0]
carried          the state with an additive path from step to step, s_t = a_t * s_{t-1} + (...):
                 the LSTM's c_t, the GRU's h_t; None for a cell without one (the Elman RNN)
carousel_term    the name of the product a_t * s_{t-1} on that path (the LSTM's fc_t); None
                 when s_{t-1} enters the sum itself, with factor 1 (the 1997 LSTM)
carousel_factor  how a_t reads in the equations, for labels: 'f_t', 'z_t', '1 - f_t'
gates            the gates, candidates and gated terms, drawn in the gate colour
name             the display name ('LSTM cell'); None: the cell's class name

The graph renderer, the cell-level view, the gradient tracer and the plots read only this.
Every op recorded during one call of a cell records, as its time step, a `CellStep`: the step
number t (an int) that also knows the declaration and the state the call was given.
"""

from ..autograd import current_time_step, time_step
from ..tensor import Tensor


class CellDeclaration:
    """What a cell's named tensors mean (see the module docstring). Put it on the cell class,
    `declaration = CellDeclaration(...)`, or on the instance in __init__ when a variant changes it."""

    def __init__(self, states=("h_t",), output=None, carried=None, carousel_term=None, carousel_factor=None,
                 gates=(), name=None):
        states = (states,) if isinstance(states, str) else tuple(states)
        if not states or not all(isinstance(s, str) and s for s in states) or len(set(states)) != len(states):
            raise ValueError(f"CellDeclaration: states must be distinct non-empty names, got {states!r}")
        output = states[0] if output is None else output
        for label, value in (("output", output), ("carried", carried)):
            if value is not None and value not in states:
                raise ValueError(f"CellDeclaration: {label}={value!r} is not one of the states {states}")
        if carried is None and (carousel_term is not None or carousel_factor is not None):
            raise ValueError(
                "CellDeclaration: carousel_term and carousel_factor describe the additive path of the "
                "carried state; declare carried= too (or neither, for a cell without such a path)"
            )
        if carousel_term is not None and carousel_factor is None:
            raise ValueError(
                f"CellDeclaration: carousel_term={carousel_term!r} needs carousel_factor, the gate that "
                f"scales {carried}'s previous value on the path as it reads in the equations (e.g. 'f_t')"
            )
        self.states = states
        self.output = output
        self.carried = carried
        self.carousel_term = carousel_term
        self.carousel_factor = "1" if carried is not None and carousel_term is None else carousel_factor
        self.gates = (gates,) if isinstance(gates, str) else tuple(gates)
        self.name = name

    def index(self, state):
        """The position of a declared state in the state tuple."""
        return self.states.index(state)

    def check_returned(self, state, who):
        """Raise when the tensors a step returned do not carry the declared names (the tools find
        the states by these names)."""
        parts = state if isinstance(state, tuple) else (state,)
        names = tuple(getattr(t, "name", None) for t in parts)
        if names != self.states:
            raise ValueError(
                f"{who}: step returned a state named {names}, but the cell declares states {self.states}; "
                f"name each returned tensor with nn.named(tensor, name), in the declared order"
            )

    def __repr__(self):
        fields = [f"states={self.states!r}"]
        for key in ("output", "carried", "carousel_term", "carousel_factor", "gates", "name"):
            value = getattr(self, key)
            if value not in (None, ()) and not (key == "output" and value == self.states[0]):
                fields.append(f"{key}={value!r}")
        return "CellDeclaration(" + ", ".join(fields) + ")"


def base_name(name):
    """'h' from 'h_t': how a state is called outside one step (h_0, h_n, dL/dh)."""
    return name[:-2] if name.endswith("_t") and len(name) > 2 else name


class CellStep(int):
    """A time step t that also says which cell call recorded the op: `declaration`, `name` (the
    display name) and `state` (the state tensors the call was given, a tuple; None if unknown).
    It is an int, so everything that reads a time step reads t; one is made per call, so two
    ops belong to the same call when their steps are the same object.

        with tg.time_step(nn.CellStep(t, declaration, state=c)):   # a function loop, declared
    """

    declaration = None
    state = None
    name = "cell"

    def __new__(cls, t, declaration=None, state=None, name=None):
        return cell_step(t, declaration, state, name)

    def __repr__(self):
        return int.__repr__(self)


def cell_step(t, declaration, state=None, name=None):
    """CellStep(t, declaration, state, name), made without a Python-level __new__: layers make one
    per step of every cell, so this is the hot path (about half a microsecond)."""
    step = int.__new__(CellStep, t)
    step.declaration = declaration
    step.state = state if state is None or type(state) is tuple else tuple(state) if isinstance(state, list) else (state,)
    step.name = name or (declaration.name if declaration is not None else None) or "cell"
    return step


def infer_step(state):
    """The step of a cell call given `state`: the surrounding `time_step(t)` if there is one, else
    one more than the latest step among the state tensors (0 for a fresh state). None when the
    surrounding step is not an integer (then the call is not numbered)."""
    t = current_time_step()
    if t is None:
        parts = state if isinstance(state, (tuple, list)) else (state,)
        steps = [p.step for p in parts if isinstance(p, Tensor) and p.step is not None]
        return max(steps) + 1 if steps else 0
    if isinstance(t, bool) or not hasattr(t, "__index__"):
        return None
    return int(t)


def cell_time_step(cell, state):
    """The `time_step` context for one call of `cell` on `state`: its ops record a CellStep."""
    t = infer_step(state)
    if t is None:
        return time_step(current_time_step())
    declaration = cell.declaration
    return time_step(cell_step(t, declaration, state, declaration.name or type(cell).__name__))


def call_of(tensor):
    """The CellStep of the cell call that made `tensor`, or None."""
    step = tensor.step
    return step if isinstance(step, CellStep) and step.declaration is not None else None


def carousel_parts(s_t):
    """For the carried state s_t of a declared cell call: (s_prev, term, factor), where term =
    factor * s_prev is the declared carousel term (term and factor are None when s_prev enters
    the op that makes s_t itself, with factor 1). Raises ValueError when the graph does not
    have the declared form."""
    call = call_of(s_t)
    declaration = call.declaration
    where = f"{call.name} (step {int(call)})"
    previous = None
    if call.state is not None and len(call.state) == len(declaration.states):
        previous = call.state[declaration.index(declaration.carried)]
    if declaration.carousel_term is None:
        fn = s_t._ctx
        s_prev = _previous_among(fn.inputs, previous, call)
        if fn.name != "add" or s_prev is None:
            raise ValueError(
                f"{where}: declares that {declaration.carried}'s previous value enters the sum that makes "
                f"it with factor 1 (carousel_term=None), but {declaration.carried} is made by "
                f"'{fn.name}' of {[u.name for u in fn.inputs]}; declare carousel_term, or carried=None"
            )
        return s_prev, None, None
    term = _made_in_call(s_t, declaration.carousel_term, call)
    product = None if term is None else term._ctx
    s_prev = None if product is None else _previous_among(product.inputs, previous, call)
    if term is None or product.name != "mul" or len(product.inputs) != 2 or s_prev is None:
        found = "no tensor of that name on the way to it" if term is None else f"'{product.name}'"
        raise ValueError(
            f"{where}: declares carousel_term={declaration.carousel_term!r}, a product "
            f"{declaration.carousel_factor} * (previous {declaration.carried}) that flows into "
            f"{declaration.carried}, but found {found}; name that product with nn.named(...)"
        )
    factor = product.inputs[1] if product.inputs[0] is s_prev else product.inputs[0]
    return s_prev, term, factor


def _previous_among(inputs, previous, call):
    """Which of `inputs` is the previous carried state: the one the call was given, or, when the
    call did not record its state, the one input not made in this call."""
    if previous is not None:
        return next((u for u in inputs if u is previous), None)
    outside = [u for u in inputs if u._ctx is None or u._ctx.step is not call]
    outside = [u for u in outside if u.name is not None or u.requires_grad]
    return outside[0] if len(outside) == 1 else None


def _made_in_call(s_t, name, call):
    """The tensor called `name` among those the call made on the way to s_t (an iterative walk
    back over the call's own ops)."""
    stack, seen = [s_t], {id(s_t)}
    while stack:
        t = stack.pop()
        if t.name == name and t is not s_t:
            return t
        fn = t._ctx
        if fn is None or fn.step is not call:
            continue
        for u in fn.inputs:
            if id(u) not in seen:
                seen.add(id(u))
                stack.append(u)
    return None

"""What the cells' declarations say about a drawn graph: each tensor's role, the cell calls, and the
carried-state path (the constant error carousel, CEC).

Every op recorded inside a cell call has a `CellStep` as its time step, which knows the cell's
declaration (tinygrad_rnn/nn/declaration.py). Nothing here knows a cell by its class or by a
fixed list of names: a state is a tensor a call made under a declared state name (or a leaf
given to a call as its state), a gate one made under a declared gate name, a parameter a
Parameter or any other leaf that requires grad.
"""

import warnings

from ..nn.declaration import CellStep, call_of, carousel_parts
from ..nn.parameter import Parameter


class Declared:
    """The declared meaning of the tensors and ops of a TapeView.

    calls:         id(first op) -> the ops of one cell call, in forward order: ops of the same
                   CellStep object joined by the tensors between them (a layer reuses its
                   CellStep objects from one forward to the next, so two passes through one
                   layer in one graph stay two calls)
    call_of_op:    id(op) -> id(first op of its call)
    state_leaves:  ids of the leaves that are a call's state (given directly, or through
                   reshapes and indexing, as a layer's h_0 is)
    cec:           (input_edges, output_tensors, carried) of the carried-state path, see find_cec
    """

    def __init__(self, view, highlight=True):
        self.view = view
        self.call_of_op = _calls(view)
        self.calls = {}
        for fn in view.ops:
            if id(fn) in self.call_of_op:
                self.calls.setdefault(self.call_of_op[id(fn)], []).append(fn)
        self.state_leaves = self._state_leaves()
        self.cec = self._find_cec() if highlight else (set(), set(), set())

    # ------------------------------------------------------------------------------------------
    # Roles

    def is_parameter(self, t):
        """A Parameter, or any other leaf that requires grad and is not a cell's state (a user's
        `Tensor(w, requires_grad=True)` weight)."""
        if t._ctx is not None:
            return False
        return isinstance(t, Parameter) or (t.requires_grad and id(t) not in self.state_leaves)

    def role_of(self, t):
        """'output', 'parameter', 'state', 'gate', 'input' or 'intermediate': picks the colour."""
        if id(t) in self.view.outputs:
            return "output"
        if t._ctx is None:
            if id(t) in self.state_leaves:
                return "state"
            if self.is_parameter(t):
                return "parameter"
            # A leaf a call uses under one of its declared names (a gate computed without grad).
            calls = [fn.step for fn, _ in self.view.uses(t) if isinstance(fn.step, CellStep)]
            return next((r for r in map(lambda c: _declared_role(t, c), calls) if r), "input")
        return _declared_role(t, call_of(t)) or "intermediate"

    def declared_names(self):
        """(states, gates, carried): the names the drawn calls declare, each in first-seen order
        (gates without the states), for the legend."""
        states, gates, carried = {}, {}, {}
        for ops in self.calls.values():
            declaration = ops[0].step.declaration
            states.update(dict.fromkeys(declaration.states))
            gates.update(dict.fromkeys(declaration.gates))
            if declaration.carried is not None:
                carried[declaration.carried] = None
        return list(states), [g for g in gates if g not in states], list(carried)

    def states_of(self, ops):
        """The declared states that the ops of one call made, in declared order."""
        call = ops[0].step
        made = {t.name: t for fn in ops for t in self.view.produced[id(fn)]}
        return [made[name] for name in call.declaration.states if name in made]

    def _state_leaves(self):
        leaves = set()
        for ops in self.calls.values():
            for s in ops[0].step.state or ():
                # A state made outside the calls by reshapes and indexing (a layer's h_0[k]).
                while s._ctx is not None and len(s._ctx.inputs) == 1 and call_of(s) is None:
                    s = s._ctx.inputs[0]
                if s._ctx is None:
                    leaves.add(id(s))
        return leaves

    # ------------------------------------------------------------------------------------------
    # The carried-state path

    def _find_cec(self):
        """The path s_{t-1} -> a_t * s_{t-1} -> ... -> s_t of each call's declared carried state.

        Returns (input_edges, output_tensors, carried):
          input_edges:    {(id(op), input index)} for the edges into ops on the path
          output_tensors: {id(tensor)} for the tensors on the path, whose edges from their ops are on it
          carried:        {id(s_{t-1})} for every state that the path carries into a call
        """
        input_edges, output_tensors, carried = set(), set(), set()
        for ops in self.calls.values():
            declaration = ops[0].step.declaration
            if declaration.carried is None:
                continue
            s_t = next((t for fn in ops for t in self.view.produced[id(fn)] if t.name == declaration.carried), None)
            if s_t is None:
                continue  # the graph drawn does not reach this call's carried state
            try:
                s_prev, term, _ = carousel_parts(s_t)
            except ValueError as exc:
                warnings.warn(f"draw_graph: no carried-state path drawn for this call: {exc}", stacklevel=4)
                continue
            carried.add(id(s_prev))
            start = s_prev if term is None else term
            if term is not None:
                product = term._ctx
                input_edges.add((id(product), next(k for k, u in enumerate(product.inputs) if u is s_prev)))
                output_tensors.add(id(term))
            self._mark_path(ops, start, s_t, term is None, input_edges, output_tensors)
        return input_edges, output_tensors, carried

    def _mark_path(self, ops, start, s_t, direct, input_edges, output_tensors):
        """Mark the edges from `start` to s_t through the call's ops: those of the op making s_t
        only when s_{t-1} enters it itself (`direct`), else every op between term and s_t."""
        output_tensors.add(id(s_t))
        if direct:
            fn = s_t._ctx
            input_edges.update((id(fn), k) for k, u in enumerate(fn.inputs) if u is start)
            return
        reaches_s_t = {id(s_t)}  # tensors of the call from which s_t is reached
        stack = [s_t]
        while stack:
            t = stack.pop()
            fn = t._ctx
            if fn is None or fn.step is not s_t.step:
                continue
            for u in fn.inputs:
                if id(u) not in reaches_s_t:
                    reaches_s_t.add(id(u))
                    stack.append(u)
        on_path = {id(start)}
        for fn in ops:  # forward order
            for k, u in enumerate(fn.inputs):
                if id(u) not in on_path:
                    continue
                for t in self.view.produced[id(fn)]:
                    if id(t) in reaches_s_t:
                        input_edges.add((id(fn), k))
                        output_tensors.add(id(t))
                        on_path.add(id(t))


def _calls(view):
    """id(op) -> id(the first op of its call), for ops recorded in a declared cell call:
    union-find over ops with the same CellStep object, joined by a tensor."""
    parent = {id(fn): fn for fn in view.ops if isinstance(fn.step, CellStep) and fn.step.declaration is not None}

    def root(fn):
        while parent[id(fn)] is not fn:
            parent[id(fn)] = parent[id(parent[id(fn)])]
            fn = parent[id(fn)]
        return fn

    order = view.op_number.__getitem__
    for fn in view.ops:
        if id(fn) not in parent:
            continue
        for t in fn.inputs:
            maker = t._ctx
            if maker is not None and maker.step is fn.step and id(maker) in parent:
                a, b = root(maker), root(fn)
                if a is not b:
                    first, last = (a, b) if order(id(a)) < order(id(b)) else (b, a)
                    parent[id(last)] = first
    return {key: id(root(fn)) for key, fn in list(parent.items())}


def _declared_role(t, call):
    """'state' or 'gate' when the call declares t's name so; else None."""
    if call is None or call.declaration is None or t.name is None:
        return None
    if t.name in call.declaration.states:
        return "state"
    if t.name in call.declaration.gates:
        return "gate"
    return None

"""trace_gradients: how backpropagation through time spreads a loss's gradient over the time steps.

    trace = trace_gradients(nn.LSTMCell(3, 16), x)        # x: (T, N, 3) or (T, 3)
    trace.grad_norm("h")            # ||dL/dh_t|| for t = 0 .. T-1, time first
    trace.jacobian_norm("c")        # ||dc_{T-1}/dc_t||
    trace.carousel_share()          # how much of dL/dc_{t-1} comes through the carousel

The tracer runs the cell itself, step by step (t = 0 .. T-1, each step inside time_step(t)), from
an initial state h_init (and c_init) of its own that requires grad, keeps every state h_t (c_t)
with retain_grad(), and backpropagates. It works for any cell that declares its state
(`cell.declaration`, see tinygrad_rnn/nn/declaration.py), built-in or your own, and for a layer
with one layer and one direction (nn.RNN/LSTM/GRU/Recurrent(num_layers=1)): the layer's cell is
run the same way; for a deeper or bidirectional layer, pass one of its `layer.cells[k]`.

What "h" and "c" are comes from the declaration: h is the declared output state, c the carried
state when it is not the output (the LSTM's c_t; R2RT's s_t), else the first other declared
state, if any. `trace.state_names` says what they are called ("h", "c").

Time indices: h_t is the state after reading x_t (the tensor the graphs label h_t<t>), so index
t = 0 is the first step and T-1 the last; the initial state (PyTorch's h_0) is kept apart as
`*_init`. The time lag of step t is T-1-t.

Quantities (arrays, time first, NumPy):
  dL_dh[t], dL_dc[t]        (T, N, H)  dL/dh_t and dL/dc_t: the full gradient of the loss at that
                                       state, through every later step (truncated with bptt=k)
  jacobian_h[t]             (T, H, H)  dh_{T-1}/dh_t for one batch element (batch_index): row i
                                       is the gradient of h_{T-1}[i]. For the LSTM, c_t is held
                                       fixed. jacobian_c[t] = dc_{T-1}/dc_t, where h_t = o_t *
                                       tanh(c_t) moves with c_t (o_t fixed): the derivative that
                                       backpropagation carries from c_{T-1} to c_t. Computed
                                       exactly: one backward pass per unit i, with a one-hot
                                       upstream gradient on h_{T-1}[i] (c_{T-1}[i]), reading the
                                       gradient that arrives at h_t (c_t).
  carousel[t], rest[t]      (T, N, H)  the split of dL/ds_{t-1}, s the declared carried state (the
                                       gradient at step t's incoming carried state), into the
                                       carousel term a_t * dL/d(a_t * s_{t-1}), what the declared
                                       path s_{t-1} -> a_t * s_{t-1} -> s_t carries (LSTM: f_t *
                                       dL/dc_t; in the 1997 LSTM, with factor 1, dL/dc_t itself),
                                       and the rest, which flows back through the other states and
                                       the gates. For t = 0, s_{t-1} is its initial value. GRU: the
                                       direct path h_t = ... + z_t * h_{t-1} (MGU: (1 - f_t) *
                                       h_{t-1}). A cell declaring no carried state has no such path
                                       (None).

Norms are Frobenius norms (square root of the sum of squares) unless `ord=2` asks for the spectral
norm (the largest singular value) of a Jacobian.
"""

import contextlib

import numpy as np

from ..autograd import keep_values, time_step
from ..errors import ShapeError
from ..nn.declaration import base_name, carousel_parts
from ..tensor import Tensor

LOSSES = ("last", "last_c", "all")


class GradientTrace:
    """What trace_gradients recorded; see the module docstring for each array's meaning."""

    def __init__(self, **fields):
        self.declaration = fields["declaration"]  # the cell's CellDeclaration
        self.cell = fields["cell"]  # a description of the cell, e.g. "LSTMCell(3, 16)"
        self.state_names = fields["state_names"]  # what "h" and "c" are called: ("h", "c"), ("h", None)
        self.loss = fields["loss"]  # the loss's value
        self.bptt = fields["bptt"]  # the truncation length k, or None for full BPTT
        self.batch_index = fields["batch_index"]  # the batch element the Jacobians are for
        self.dL_dh = fields["dL_dh"]
        self.dL_dh_init = fields["dL_dh_init"]
        self.dL_dc = fields["dL_dc"]
        self.dL_dc_init = fields["dL_dc_init"]
        self.carousel_state = fields["carousel_state"]  # 'c' (LSTM), 'h' (GRU), None (no carried state)
        self.carousel_factor = fields["carousel_factor"]  # 'f_t', 'z_t', '1', ... as declared
        self.carousel = fields["carousel"]
        self.rest = fields["rest"]
        self.jacobian_h = fields["jacobian_h"]
        self.jacobian_h_init = fields["jacobian_h_init"]
        self.jacobian_c = fields["jacobian_c"]
        self.jacobian_c_init = fields["jacobian_c_init"]
        self.graph = fields.get("graph")  # the loss tensor, with keep_graph=True

    @property
    def steps(self):
        """The time steps 0 .. T-1."""
        return np.arange(self.dL_dh.shape[0])

    @property
    def lags(self):
        """The time lag T-1-t of each step: how far back from the last step it lies."""
        return self.steps[::-1].copy()

    def gradients(self, state="h"):
        """dL/dh_t (or dL/dc_t) for every step: the array dL_dh (dL_dc), shape (T, N, H)."""
        return self._state_array(state, self.dL_dh, self.dL_dc)

    def grad_norm(self, state="h"):
        """||dL/dh_t|| (or ||dL/dc_t||) over the whole batch, for each step t; shape (T,)."""
        return _norms(self.gradients(state))

    def jacobian_norm(self, state="h", ord="fro"):
        """||dh_{T-1}/dh_t|| (or of c) for each step t; ord='fro' (Frobenius) or 2 (spectral)."""
        jacobians = self._state_array(state, self.jacobian_h, self.jacobian_c)
        if jacobians is None:
            raise ValueError("jacobian_norm: this trace has no Jacobians; trace with jacobians=True")
        if ord == "fro":
            return _norms(jacobians)
        if ord == 2:
            return np.array([np.linalg.norm(j, 2) for j in jacobians])
        raise ValueError(f"jacobian_norm: ord must be 'fro' or 2, got {ord!r}")

    def carousel_norm(self):
        """||carousel[t]||: the size of the gradient the carousel carries into step t-1; (T,)."""
        return _norms(self._require_carousel("carousel_norm").carousel)

    def rest_norm(self):
        """||rest[t]||: the size of the rest of dL/dc_{t-1} (through h_{t-1} and the gates); (T,)."""
        return _norms(self._require_carousel("rest_norm").rest)

    def carousel_share(self):
        """||carousel[t]|| / (||carousel[t]|| + ||rest[t]||), in [0, 1] (0 where both are 0); (T,)."""
        a, b = self.carousel_norm(), self.rest_norm()
        total = a + b
        return np.divide(a, total, out=np.zeros_like(total), where=total > 0)

    def __repr__(self):
        rows = self.summary()
        width = max(len(label) for label, _ in rows)
        lines = [self._headline()]
        for label, values in rows:
            lines.append(f"  {label:<{width}}  " + "  ".join(f"{v:>9}" for v in values))
        return "\n".join(lines)

    def _repr_html_(self):
        import html

        rows = self.summary()
        head = "".join(f"<th>{html.escape(v)}</th>" for v in rows[0][1])
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>"
            for label, values in rows[1:]
        )
        return (f"<table><caption style='text-align:left'><code>{html.escape(self._headline())}</code></caption>"
                f"<tr><th style='text-align:left'>{html.escape(rows[0][0])}</th>{head}</tr>{body}</table>")

    def _headline(self):
        T, N, H = self.dL_dh.shape
        cut = "full BPTT" if self.bptt is None else f"truncated BPTT every {self.bptt} steps"
        return f"GradientTrace({self.cell}, T={T}, N={N}, H={H}, {cut}, loss={self.loss:.4g})"

    def summary(self, lags=(0, 1, 10, 100, 1000)):
        """A few rows for a glance: the lag, ||dL/dh_t|| (and ||dL/dc_t||, by the declared names) and the carousel's
        share at each of `lags` that fits in the sequence, and at the first step (lag T-1).
        Returns [(label, [text, ...]), ...], the first row being the lags."""
        T = self.dL_dh.shape[0]
        shown = sorted({lag for lag in lags if lag < T} | {T - 1})
        steps = [T - 1 - lag for lag in shown]
        rows = [("lag T-1-t", [str(lag) for lag in shown])]
        h, c = self.state_names  # as the cell declares them: h, c; s; ...
        rows.append((f"||dL/d{h}_t||", [f"{v:.3g}" for v in self.grad_norm("h")[steps]]))
        if self.dL_dc is not None:
            rows.append((f"||dL/d{c}_t||", [f"{v:.3g}" for v in self.grad_norm("c")[steps]]))
        if self.carousel is not None:
            rows.append(("carousel share", [f"{v:.2f}" for v in self.carousel_share()[steps]]))
        return rows

    def state_name(self, state):
        """The declared name ('h', 'c', 's', ...) that `state` ('h', 'c' or that name) stands for."""
        return self.state_names[self._state_slot(state)]

    def _state_slot(self, state):
        h, c = self.state_names
        if state in ("h", h, f"{h}_t"):
            return 0
        if state == "c" or (c is not None and state in (c, f"{c}_t")):
            if c is None:
                raise ValueError(
                    f"{self.cell} declares one state ({h}) and no other; there is no c; use state='h'"
                )
            return 1
        names = "'h' or 'c'" if c is None or (h, c) == ("h", "c") else f"'h' or 'c' (or {h!r}, {c!r})"
        raise ValueError(f"state must be {names}, got {state!r}")

    def _state_array(self, state, h_value, c_value):
        return (h_value, c_value)[self._state_slot(state)]

    def _require_carousel(self, caller):
        if self.carousel is None:
            raise ValueError(
                f"{caller}: {self.cell} has no carousel path: its declaration names no carried state "
                f"with an additive path (carried=None), so its state reaches back only through its ops"
            )
        return self


def _norms(arrays):
    """The Frobenius norm of each slice along the first axis."""
    flat = arrays.reshape(arrays.shape[0], -1).astype(np.float64)
    return np.sqrt(np.sum(flat * flat, axis=1))


def trace_gradients(model, x, state=None, loss="last", bptt=None, batch_index=0, jacobians=True, keep_graph=False):
    """Run `model` (a cell, or a one-layer one-direction RNN/LSTM/GRU) over `x` and trace BPTT.

    x:           (T, N, input_size), or unbatched (T, input_size); a Tensor or an array. For a
                 layer with batch_first=True, (N, T, input_size).
    state:       the initial state (h, or (h, c) for an LSTM) as arrays or Tensors; None: zeros.
    loss:        'last':   L = sum of the entries of h_{T-1} (a readout of the last state)
                 'last_c': L = sum of the entries of c_{T-1} (LSTM; the carousel's own loss)
                 'all':    L = sum over t of the entries of h_t
                 or a function loss(hs, cs) -> scalar Tensor, given the lists of h_t and c_t
                 (cs is None for cells without c).
    bptt:        None for full BPTT; k cuts the graph (detaches the state) every k steps, so
                 gradients reach back at most to the start of their chunk.
    batch_index: the batch element whose Jacobians are computed.
    jacobians:   compute jacobian_h (and jacobian_c); costs one backward pass per hidden unit
                 (two per unit for an LSTM). Set False for long sequences when not needed.
    keep_graph:  keep the unrolled graph for drawing: `trace.graph` is the loss tensor, every op
                 behind it with its gradient norms recorded (viz.record_gradients), so the
                 drawings show the same numbers as the trace. Needs jacobians=False (their extra
                 backward passes would overwrite those gradients).

    The parameters' .grad are left as they were. Returns a GradientTrace.
    """
    if keep_graph and jacobians:
        raise ValueError("trace_gradients: keep_graph=True needs jacobians=False: the Jacobians' extra "
                         "backward passes would overwrite the gradients the kept graph shows")
    cell, x = _cell_and_input(model, x)
    N = x.shape[1]
    if bptt is not None and (isinstance(bptt, bool) or not isinstance(bptt, int) or bptt < 1):
        raise ValueError(f"trace_gradients: bptt must be None or a positive int (the chunk length), got {bptt!r}")
    if not 0 <= batch_index < N:
        raise ValueError(f"trace_gradients: batch_index {batch_index} is outside the batch of {N}")
    slots = _slots(cell.declaration)
    has_c = slots["c"] is not None
    if loss == "last_c" and not has_c:
        raise ValueError(f"trace_gradients: loss='last_c' needs a cell state c; {_describe(cell)} has none")
    initial = _initial_state(cell, state, N, x)
    h_init = initial[slots["h"]]
    c_init = initial[slots["c"]] if has_c else None

    parameters = list(cell.parameters()) if hasattr(cell, "parameters") else []
    saved_grads = [p.grad for p in parameters]
    for p in parameters:
        p.grad = None  # backward would add into the caller's .grad tensors in place
    try:
        # A kept graph is drawn with every op's values: none may be released (autograd.keep_values).
        with keep_values() if keep_graph else contextlib.nullcontext():
            run = _unroll(cell, x, initial, slots, bptt)
            L = _loss(loss, run["hs"], run["cs"])
            if keep_graph:
                from ..viz.record import record_gradients  # viz imports the tracer, not the other way round

                L.name = L.name or "L"
                record_gradients(L)
            L.backward(retain_graph=jacobians)
        fields = _gradients(run, h_init, c_init, has_c, slots)
        declaration = cell.declaration
        state_names = tuple(None if k is None else base_name(declaration.states[k]) for k in (slots["h"], slots["c"]))
        if fields["carousel_state"] is not None:  # the declared name of the carried state
            fields["carousel_state"] = state_names[0 if fields["carousel_state"] == "h" else 1]
        fields.update(
            declaration=declaration,
            state_names=state_names,
            carousel_factor=declaration.carousel_factor,
            cell=_describe(cell),
            loss=float(L.item()),
            bptt=bptt,
            batch_index=batch_index,
            graph=L if keep_graph else None,
        )
        fields.update(_jacobians(run, h_init, c_init, has_c, batch_index) if jacobians else _no_jacobians())
    finally:
        for p, g in zip(parameters, saved_grads):
            p.grad = g
    return GradientTrace(**fields)


# ----------------------------------------------------------------------------------------------
# Setting up


def _cell_and_input(model, x):
    if hasattr(model, "cells") and hasattr(model, "num_layers"):
        layers, directions = model.num_layers, getattr(model, "num_directions", 1)
        if layers != 1 or directions != 1:
            raise ValueError(
                f"trace_gradients: traces one layer in one direction; this layer has num_layers={layers}, "
                f"bidirectional={directions == 2}; pass one cell, layer.cells[layer * num_directions + direction]"
            )
        cell = model.cells[0]
        batch_first = getattr(model, "batch_first", False)
    else:
        cell, batch_first = model, False
    if not callable(cell) or not hasattr(cell, "hidden_size"):
        raise TypeError(f"trace_gradients: expected a recurrent cell or layer, got {type(model).__name__}")
    if not hasattr(cell, "declaration"):
        raise TypeError(
            f"trace_gradients: {type(cell).__name__} declares no state (no `declaration`); build it on "
            f"nn.RecurrentCell and declare `declaration = nn.CellDeclaration(...)`"
        )
    data = x.data if isinstance(x, Tensor) else x
    if not hasattr(data, "shape"):
        data = np.asarray(data)
    if data.ndim == 2:
        data = data.reshape(data.shape[0], 1, data.shape[1])
    elif data.ndim == 3 and batch_first:
        data = data.swapaxes(0, 1)
    elif data.ndim != 3:
        raise ShapeError(
            f"trace_gradients: x has shape {tuple(data.shape)}; expected (T, N, input_size) or (T, input_size)"
        )
    if data.shape[0] == 0:
        raise ShapeError(f"trace_gradients: x of shape {tuple(data.shape)} has no time steps")
    return cell, Tensor(data, name="x")  # a fresh leaf: the tracer never touches the caller's x


def _slots(declaration):
    """Where "h" and "c" sit in the state tuple: h is the declared output, c the carried state when
    it is not the output, else the first other state (None when there is none); `carried` is
    where the additive path runs (None without one)."""
    states = declaration.states
    h = declaration.index(declaration.output)
    if declaration.carried is not None and declaration.carried != declaration.output:
        c = declaration.index(declaration.carried)
    else:
        c = next((k for k in range(len(states)) if k != h), None)
    carried = None if declaration.carried is None else declaration.index(declaration.carried)
    return {"h": h, "c": c, "carried": carried, "count": len(states)}


def _initial_state(cell, state, N, x):
    """One leaf per declared state that requires grad (h_0, c_0, ...), so dL/dh_init (and
    dL/dc_init) are recorded; zeros where `state` gives none."""
    names = [base_name(s) + "_0" for s in cell.declaration.states]
    zeros = cell.initial_state(None, (N,))
    zeros = zeros if isinstance(zeros, tuple) else (zeros,)
    if state is None:
        given = ()
    elif len(names) > 1:
        if not isinstance(state, (tuple, list)) or len(state) > len(names):
            raise TypeError(
                f"trace_gradients: the state of {_describe(cell)} is a tuple ({', '.join(names)}), "
                f"got {type(state).__name__}"
            )
        given = tuple(state)
    else:
        given = (state,)
    leaves = []
    for k, (label, zero) in enumerate(zip(names, zeros)):
        s = given[k] if k < len(given) else None
        data = zero.data if s is None else (s.data if isinstance(s, Tensor) else np.asarray(s))
        expected = tuple(zero.shape)
        if tuple(data.shape) == expected[1:] and N == 1:
            data = data.reshape(expected)
        if tuple(data.shape) != expected:
            raise ShapeError(f"trace_gradients: initial {label} has shape {tuple(data.shape)}, expected {expected}")
        leaves.append(Tensor(data, dtype=zero.dtype, backend=x.backend, requires_grad=True, name=label))
    return tuple(leaves)


def _unroll(cell, x, initial, slots, bptt):
    """Run the cell; keep h_t, c_t (retain_grad) and, per step, the carousel factor."""
    hs, cs, factors, cut = [], [], [], []
    state = initial if len(initial) > 1 else initial[0]
    for t in range(x.shape[0]):
        cut_here = bptt is not None and t > 0 and t % bptt == 0
        if cut_here:
            state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        parts = state if isinstance(state, tuple) else (state,)
        carried_in = None if slots["carried"] is None else parts[slots["carried"]]
        with time_step(t):
            x_t = x[t]
            x_t.name = "x_t"
            state = cell(x_t, state)
        parts = state if isinstance(state, tuple) else (state,)
        h_t = parts[slots["h"]]
        h_t.retain_grad()
        hs.append(h_t)
        if slots["c"] is not None:
            parts[slots["c"]].retain_grad()
            cs.append(parts[slots["c"]])
        if carried_in is not None:
            factors.append(_carousel_factor(parts[slots["carried"]], carried_in))
        cut.append(cut_here)
    return {"hs": hs, "cs": cs if slots["c"] is not None else None, "factors": factors or None, "cut": cut}


def _carousel_factor(s_t, s_prev):
    """(a_t, term): the factor a_t of the declared carousel term a_t * s_{t-1} and the term's
    tensor, kept with retain_grad (the path carries a_t * dL/dterm back to s_{t-1}); (1.0, s_t)
    when s_{t-1} enters the sum that makes s_t itself (the 1997 carousel). The term may reach s_t
    through more ops than the sum (a normalized cell divides the sum): dL/dterm then already holds
    what they do to the gradient."""
    found_prev, term, factor = carousel_parts(s_t)
    if found_prev is not s_prev:
        raise ValueError("trace_gradients: the declared carousel term does not read the state the step was given")
    if term is None:
        return 1.0, s_t
    term.retain_grad()
    return factor.numpy(), term


def _loss(loss, hs, cs):
    if callable(loss):
        L = loss(hs, cs)
        if not isinstance(L, Tensor) or L.size != 1:
            raise TypeError("trace_gradients: the loss function must return a scalar Tensor")
        return L
    if loss == "last":
        return hs[-1].sum()
    if loss == "last_c":
        return cs[-1].sum()
    if loss == "all":
        total = hs[0].sum()
        for h in hs[1:]:
            total = total + h.sum()
        return total
    raise ValueError(f"trace_gradients: loss must be one of {', '.join(map(repr, LOSSES))} or a function, got {loss!r}")


# ----------------------------------------------------------------------------------------------
# Reading the gradients


def _grad(t):
    """t's gradient as a NumPy array; zeros where no gradient reached t."""
    if t.grad is None:
        return np.zeros(t.shape, dtype=t.dtype)
    return t.grad.numpy()


def _gradients(run, h_init, c_init, has_c, slots):
    dL_dh = np.stack([_grad(h) for h in run["hs"]])
    dL_dc = np.stack([_grad(c) for c in run["cs"]]) if has_c else None
    on_h = slots["carried"] == slots["h"]
    carried = dL_dh if on_h else dL_dc
    carried_init = _grad(h_init) if on_h else _grad(c_init) if has_c else None
    carousel = rest = None
    if run["factors"] is not None:
        carousel = np.zeros_like(carried)
        rest = np.zeros_like(carried)
        for t, (factor, term) in enumerate(run["factors"]):
            before = carried[t - 1] if t > 0 else carried_init
            if not run["cut"][t]:  # a detached state passes nothing back
                carousel[t] = factor * _grad(term)
            rest[t] = before - carousel[t]
    return {
        "dL_dh": dL_dh,
        "dL_dh_init": _grad(h_init),
        "dL_dc": dL_dc,
        "dL_dc_init": _grad(c_init) if has_c else None,
        "carousel_state": None if carousel is None else ("h" if on_h else "c"),
        "carousel": carousel,
        "rest": rest,
    }


def _jacobians(run, h_init, c_init, has_c, b):
    """d s_{T-1} / d s_t for s = h (and c): one backward pass per unit i of s_{T-1}, seeded with
    a one-hot gradient on s_{T-1}[b, i]; the gradient that reaches s_t[b] is row i."""
    fields = {}
    for label, states, init in (("h", run["hs"], h_init), ("c", run["cs"], c_init)):
        if states is None:
            fields[f"jacobian_{label}"] = fields[f"jacobian_{label}_init"] = None
            continue
        target = states[-1]
        H = target.shape[-1]
        rows, rows_init = [], []
        for i in range(H):
            for s in run["hs"] + (run["cs"] or []):
                s.grad = None
            for s in (h_init, c_init):
                if s is not None:
                    s.grad = None
            seed = np.zeros(target.shape, dtype=target.dtype)
            seed[b, i] = 1
            target.backward(seed, retain_graph=True)
            rows.append(np.stack([_grad(s)[b] for s in states]))
            rows_init.append(_grad(init)[b])
        fields[f"jacobian_{label}"] = np.stack(rows, axis=1)  # (T, H_rows, H_cols)
        fields[f"jacobian_{label}_init"] = np.stack(rows_init)
    return fields


def _no_jacobians():
    return {"jacobian_h": None, "jacobian_h_init": None, "jacobian_c": None, "jacobian_c_init": None}


def _describe(cell):
    describe = getattr(cell, "_describe", None)
    return describe() if callable(describe) else type(cell).__name__

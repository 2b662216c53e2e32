"""trace_gradients: how backpropagation through time spreads a loss's gradient over the time steps.

    trace = trace_gradients(nn.LSTMCell(3, 16), x)        # x: (T, N, 3) or (T, 3)
    trace.grad_norm("h")            # ||dL/dh_t|| for t = 0 .. T-1, time first
    trace.jacobian_norm("c")        # ||dc_{T-1}/dc_t||
    trace.carousel_share()          # how much of dL/dc_{t-1} comes through the carousel

The tracer runs the cell itself, step by step (t = 0 .. T-1, each step inside time_step(t)), from
an initial state h_init (and c_init) of its own that requires grad, keeps every state h_t (c_t)
with retain_grad(), and backpropagates. It works for one cell or a recurrent layer with one
layer and one direction (nn.RNN/LSTM/GRU(num_layers=1)): the layer's cell is run the same way;
for a deeper or bidirectional layer, pass one of its `layer.cells[k]`.

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
  carousel[t], rest[t]      (T, N, H)  the split of dL/dc_{t-1} (the gradient at step t's incoming
                                       cell state) into the carousel term f_t * dL/dc_t, what the
                                       path c_{t-1} -> f_t * c_{t-1} -> c_t carries (in the 1997
                                       LSTM, with no forget gate, dL/dc_t itself), and the rest,
                                       which flows back through h_{t-1} and the gates. For t = 0,
                                       c_{t-1} is c_init. GRU cells get the same split of dL/dh_{t-1}
                                       along their direct path h_t = ... + z_t * h_{t-1} (MGU:
                                       (1 - f_t) * h_{t-1}); the plain RNN has no such path (None).

Norms are Frobenius norms (square root of the sum of squares) unless `ord=2` asks for the spectral
norm (the largest singular value) of a Jacobian.
"""

import numpy as np

from ..autograd import time_step
from ..errors import ShapeError
from ..tensor import Tensor

LOSSES = ("last", "last_c", "all")


class GradientTrace:
    """What trace_gradients recorded; see the module docstring for each array's meaning."""

    def __init__(self, **fields):
        self.kind = fields["kind"]  # 'rnn', 'lstm' or 'gru'
        self.cell = fields["cell"]  # a description of the cell, e.g. "LSTMCell(3, 16)"
        self.loss = fields["loss"]  # the loss's value
        self.bptt = fields["bptt"]  # the truncation length k, or None for full BPTT
        self.batch_index = fields["batch_index"]  # the batch element the Jacobians are for
        self.dL_dh = fields["dL_dh"]
        self.dL_dh_init = fields["dL_dh_init"]
        self.dL_dc = fields["dL_dc"]
        self.dL_dc_init = fields["dL_dc_init"]
        self.carousel_state = fields["carousel_state"]  # 'c' (LSTM), 'h' (GRU), None (RNN)
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
        T, N, H = self.dL_dh.shape
        cut = "full BPTT" if self.bptt is None else f"truncated BPTT every {self.bptt} steps"
        return f"GradientTrace({self.cell}, T={T}, N={N}, H={H}, {cut}, loss={self.loss:.4g})"

    def _state_array(self, state, h_value, c_value):
        if state == "h":
            return h_value
        if state == "c":
            if self.dL_dc is None:
                raise ValueError(f"{self.cell} has no cell state c (only LSTMs do); use state='h'")
            return c_value
        raise ValueError(f"state must be 'h' or 'c', got {state!r}")

    def _require_carousel(self, caller):
        if self.carousel is None:
            raise ValueError(
                f"{caller}: {self.cell} has no carousel path (a plain RNN's state only passes through tanh)"
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
    has_c = getattr(cell, "state_size", 1) >= 2
    if loss == "last_c" and not has_c:
        raise ValueError(f"trace_gradients: loss='last_c' needs a cell state c; {_describe(cell)} has none")
    h_init, c_init = _initial_state(cell, state, N, has_c, x)

    parameters = list(cell.parameters()) if hasattr(cell, "parameters") else []
    saved_grads = [p.grad for p in parameters]
    for p in parameters:
        p.grad = None  # backward would add into the caller's .grad tensors in place
    try:
        run = _unroll(cell, x, h_init, c_init, has_c, bptt)
        L = _loss(loss, run["hs"], run["cs"])
        if keep_graph:
            from ..viz.record import record_gradients  # viz imports the tracer, not the other way round

            L.name = L.name or "L"
            record_gradients(L)
        L.backward(retain_graph=jacobians)
        fields = _gradients(run, h_init, c_init, has_c)
        fields.update(
            kind=_kind(cell, has_c),
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


def _initial_state(cell, state, N, has_c, x):
    """Leaves that require grad, so dL/dh_init (and dL/dc_init) are recorded."""
    H = cell.hidden_size
    dtype = cell.weight_hh.dtype if hasattr(cell, "weight_hh") else x.dtype
    if state is None:
        given = (None, None)
    elif has_c:
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise TypeError(f"trace_gradients: an LSTM's state is a tuple (h, c), got {type(state).__name__}")
        given = tuple(state)
    else:
        given = (state, None)
    leaves = []
    for label, s in zip(("h_0", "c_0"), given):
        if label == "c_0" and not has_c:
            leaves.append(None)
            continue
        data = np.zeros((N, H), dtype=dtype) if s is None else (s.data if isinstance(s, Tensor) else np.asarray(s))
        if tuple(data.shape) == (H,) and N == 1:
            data = data.reshape(1, H)
        if tuple(data.shape) != (N, H):
            raise ShapeError(f"trace_gradients: initial {label} has shape {tuple(data.shape)}, expected {(N, H)}")
        leaves.append(Tensor(data, dtype=dtype, backend=x.backend, requires_grad=True, name=label))
    return leaves[0], leaves[1]


def _unroll(cell, x, h_init, c_init, has_c, bptt):
    """Run the cell; keep h_t, c_t (retain_grad) and, per step, the carousel factor."""
    hs, cs, factors, cut = [], [], [], []
    state = (h_init, c_init) if has_c else h_init
    for t in range(x.shape[0]):
        cut_here = bptt is not None and t > 0 and t % bptt == 0
        if cut_here:
            state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        carried_in = state[1] if has_c else state
        with time_step(t):
            x_t = x[t]
            x_t.name = "x_t"
            state = cell(x_t, state)
        h_t = state[0] if isinstance(state, tuple) else state
        h_t.retain_grad()
        hs.append(h_t)
        if has_c:
            state[1].retain_grad()
            cs.append(state[1])
        carried_out = state[1] if has_c else h_t
        factors.append(_carousel_factor(carried_out, carried_in))
        cut.append(cut_here)
    return {"hs": hs, "cs": cs if has_c else None, "factors": factors, "cut": cut}


def _carousel_factor(s_t, s_prev):
    """The factor a in s_t = a * s_{t-1} + (...), read from the graph: 1.0 when s_{t-1} enters the
    add itself (the 1997 carousel), the other operand's array when it enters through a product
    (f_t * c_{t-1}; a GRU's z_t * h_{t-1}), None when s_t is not made that way (a plain RNN)."""
    fn = s_t._ctx
    if fn is None or fn.name != "add":
        return None
    for u in fn.inputs:
        if u is s_prev:
            return 1.0
        maker = u._ctx
        if maker is not None and maker.name == "mul":
            a, b = maker.inputs
            if b is s_prev:
                return a.numpy()
            if a is s_prev:
                return b.numpy()
    return None


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


def _gradients(run, h_init, c_init, has_c):
    dL_dh = np.stack([_grad(h) for h in run["hs"]])
    dL_dc = np.stack([_grad(c) for c in run["cs"]]) if has_c else None
    carried = dL_dc if has_c else dL_dh
    carried_init = _grad(c_init) if has_c else _grad(h_init)
    carousel = rest = None
    if all(f is not None for f in run["factors"]):
        carousel = np.zeros_like(carried)
        rest = np.zeros_like(carried)
        for t, factor in enumerate(run["factors"]):
            before = carried[t - 1] if t > 0 else carried_init
            if not run["cut"][t]:  # a detached state passes nothing back
                carousel[t] = factor * carried[t]
            rest[t] = before - carousel[t]
    return {
        "dL_dh": dL_dh,
        "dL_dh_init": _grad(h_init),
        "dL_dc": dL_dc,
        "dL_dc_init": _grad(c_init) if has_c else None,
        "carousel_state": None if carousel is None else ("c" if has_c else "h"),
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


def _kind(cell, has_c):
    if has_c:
        return "lstm"
    name = type(cell).__name__.lower()
    return "gru" if "gru" in name else "rnn"


def _describe(cell):
    describe = getattr(cell, "_describe", None)
    return describe() if callable(describe) else type(cell).__name__

"""One run on the explorer page: a cell unrolled over a sequence, traced by trace_gradients (with
its graph kept), and turned into what the page embeds: the tracer's numbers per step, the graph at
cell level and, for chosen steps, each step's ops, as tagged SVG with a description of every node
and edge (name, shape, value statistics, gradient norm).

The numbers on the page are the tracer's own: ||dL/dh_t|| is trace.grad_norm('h')[t], the heatmap
is |trace.dL_dh[t, b, unit]|, and the graph's tensors are the very tensors the tracer ran (their
gradient norms recorded during its backward pass).
"""

import base64
import math

import numpy as np

from ...gradients.trace import GradientTrace, trace_gradients
from ...nn.declaration import CellStep
from ..elements import display_name, format_shape, tensor_grad_norm
from ..graph import draw_view
from ..walk import TapeView
from .svg import render_svgs

DETAIL_ALL_UP_TO = 40  # up to this many steps, every step gets its op-level drawing
DETAIL_LAGS = (0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500)  # beyond: these lags, the first step and the middle


def choose_detail_steps(T):
    """The steps whose op-level subgraph is drawn when the caller names none: all of them for a
    short sequence; for a long one the first, the middle, and the steps at lags 0, 1, 2, 3, 5, 10,
    20, 50, ... from the last (where the loss is)."""
    if T <= DETAIL_ALL_UP_TO:
        return list(range(T))
    steps = {0, T // 2} | {T - 1 - lag for lag in DETAIL_LAGS if lag < T}
    return sorted(steps)


def trace_for_page(model, x, loss="last", batch_index=0):
    """trace_gradients with the graph kept (and no Jacobians): what make_run draws."""
    return trace_gradients(model, x, loss=loss, batch_index=batch_index, jacobians=False, keep_graph=True)


def make_run(trace, label, detail_steps=None):
    """The page's data for one traced run (a GradientTrace made with keep_graph=True)."""
    if not isinstance(trace, GradientTrace):
        raise TypeError(f"explore: expected a GradientTrace, got {type(trace).__name__}")
    if trace.graph is None:
        raise ValueError(
            "explore: this GradientTrace kept no graph to draw; trace with "
            "trace_gradients(..., jacobians=False, keep_graph=True), or pass the cell and its input to explore()"
        )
    T, N, H = trace.dL_dh.shape
    steps = choose_detail_steps(T) if detail_steps is None else _checked_steps(detail_steps, T)
    view = TapeView([trace.graph])
    b = trace.batch_index

    graphs = [draw_view(view, level="cell", cluster_by_time=False, legend=False, edge_ids=True)]
    graphs[0].attr("graph", label="")  # the list of shared weights: the page says it above the drawing
    graphs += [draw_view(view, level="op", steps=[t], cluster_by_time=False, legend=False, edge_ids=True)
               for t in steps]
    svgs = render_svgs(graphs)
    cell_graph = {"svg": svgs[0], **_describe_drawn(graphs[0], view)}
    details = {str(t): {"svg": svg, **_describe_drawn(g, view)} for t, g, svg in zip(steps, graphs[1:], svgs[1:])}

    states = ["h"] + (["c"] if trace.dL_dc is not None else [])
    names, values = _step_values(view, T, trace.declaration)
    return {
        "label": label,
        "cell": trace.cell,
        "T": T,
        "N": N,
        "H": H,
        "batch": b,
        "loss": _num(trace.loss),
        "bptt": trace.bptt,
        "states": states,
        "stateNames": [trace.state_name(s) for s in states],  # as the cell declares them: h, c, s, ...
        "norm": {s: [_num(v) for v in trace.grad_norm(s)] for s in states},
        "heat": {s: _float32_base64(np.abs(trace.gradients(s)[:, b, :])) for s in states},
        "carousel": None if trace.carousel is None else [_num(v) for v in trace.carousel_share()],
        "carouselState": trace.carousel_state,
        "names": names,
        "values": values,
        "cellGraph": cell_graph,
        "detailSteps": steps,
        "details": details,
    }


def _checked_steps(steps, T):
    steps = sorted({int(t) for t in steps})
    bad = [t for t in steps if not 0 <= t < T]
    if bad:
        raise ValueError(f"explore: detail_steps {bad} lie outside the {T} steps 0 .. {T - 1}")
    return steps


# ----------------------------------------------------------------------------------------------
# The numbers of each step: gates and states


def _step_values(view, T, declaration):
    """The declared gates and states of every step: (their names, gates first, in declared order;
    {name: [[min, mean, max, ||dL/dname||] or None for each step]})."""
    names = [n for n in declaration.gates if n not in declaration.states] + list(declaration.states)
    values = {name: [None] * T for name in names}
    for fn in view.ops:
        step = fn.step
        if not isinstance(step, CellStep) or step.declaration is not declaration or not 0 <= step < T:
            continue
        for t in view.produced[id(fn)]:
            if t.name in values:
                stats = _stats(t.data) or [None] * 4
                values[t.name][int(step)] = stats[:3] + [_num(tensor_grad_norm(t))]
    names = [n for n in names if any(v is not None for v in values[n])]  # a gate the variant lacks
    return names, {n: values[n] for n in names}


# ----------------------------------------------------------------------------------------------
# What each node and edge of a drawing stands for


def _describe_drawn(graph, view):
    """{'nodes': {DOT id: info}, 'edges': {edge id: info}} for a Digraph from draw_view(..., edge_ids=True)."""
    nodes = {}
    for node, item in graph.drawn.items():
        if isinstance(item, list):  # a cell step (or ops outside the steps) at cell level
            step = item[0].step
            if step is None:
                nodes[node] = {"k": "ops", "n": ", ".join(dict.fromkeys(fn.name for fn in item))}
            else:
                nodes[node] = {"k": "cell", "t": int(step), "n": getattr(step, "name", "step")}
        elif hasattr(item, "inputs"):  # an op
            nodes[node] = _op_info(item, view.produced.get(id(item)))
        else:
            nodes[node] = _tensor_info(item)
    edges = {}
    for key, (_, _, tensor, g) in graph.drawn_edges.items():
        edges[key] = {"n": display_name(tensor) or "(unnamed)", "s": format_shape(tensor.shape), "g": _num(g)}
    return {"nodes": nodes, "edges": edges}


def _tensor_info(t):
    return {"k": "tensor", "n": display_name(t) or "(unnamed)", "s": format_shape(t.shape), "d": str(t.dtype),
            "v": _stats(t.data), "g": _num(tensor_grad_norm(t)), "t": None if t.step is None else int(t.step)}


def _op_info(fn, made):
    """An op: its name, and its (first) result's shape, statistics and gradient norm."""
    info = {"k": "op", "n": fn.name, "t": None if fn.step is None else int(fn.step)}
    out_norms = getattr(fn, "out_grad_norms", None)
    info["g"] = _num(out_norms[0]) if out_norms else None
    if made:
        info.update(s=format_shape(made[0].shape), v=_stats(made[0].data))
    return info


def _stats(data):
    data = _host(data).astype(np.float64)
    if data.size == 0:
        return None
    return [_num(data.min()), _num(data.mean()), _num(data.max()), _num(data.std())]


def _host(data):
    return data.get() if hasattr(data, "get") else np.asarray(data)  # CuPy arrays come to the host


def _num(value):
    """A number for JSON: 6 significant digits; 'inf', '-inf' and 'nan' as strings; None stays."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return float(f"{value:.6g}")


def _float32_base64(array):
    """A (T, H) array as base64 of little-endian float32, time-major: the page decodes it with atob."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")

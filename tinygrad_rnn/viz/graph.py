"""draw_graph: the tape behind some tensors as a Graphviz picture.

    for t in range(T):
        h, c = cell(x[t], (h, c))      # each call numbers itself: t = 0, 1, 2, ...
    loss = h.sum()
    viz.record_gradients(loss)         # optional: gradient sizes on every edge, not only leaves
    loss.backward()
    g = viz.draw_graph(loss)           # a graphviz.Digraph
    g.pipe("svg"); g.render("lstm", format="png"); g.source   # or show it in Jupyter

Tensor nodes show the name and time step (c_t3 is the tensor named 'c_t' made at step 3), the
shape, the dtype and, after backward, ||dL/dtensor|| (leaves always; intermediate tensors when
they called retain_grad() or record_gradients ran). Op nodes show the op. Edges point forward
(inputs -> op -> output); the gradient flows against them, and after backward each edge's width
grows with the log of the gradient norm along it, so a vanishing gradient is a thinning line.
"""

import warnings

from ..autograd import Function
from . import style
from .cells import draw_cells
from .elements import (EdgeWidths, add_edge, add_legend, display_name, format_shape,
                       is_scalar_constant, leaf_step, place_nodes, split_hubs, tensor_grad_norm, tensor_label)
from .record import as_tensor_list
from .render import digraph, import_graphviz
from .declared import Declared
from .walk import TapeView

LEVELS = ("op", "cell")
HIGHLIGHTS = (None, "cec")
RANKDIRS = ("LR", "RL", "TB", "BT")


def draw_graph(*outputs, level="op", show_grad=True, cluster_by_time=True, highlight="cec", rankdir="LR",
               show_unnamed=False, legend=True, title=None, steps=None):
    """Draw the graph behind `outputs` (Tensors); returns a graphviz.Digraph.

    level:           'op' draws every op; 'cell' draws each cell call as one node labelled with
                     the cell's declared name or class name (a 1,000-step sequence stays
                     readable), leaving out the shared parameters.
    show_grad:       show gradient norms on tensors and as edge widths (after backward).
    cluster_by_time: one box (subgraph cluster_t0, cluster_t1, ...) per time step. Every cell
                     call has a step: inside `with tinygrad_rnn.time_step(t):` it is t (layers
                     do this, and it wins); otherwise one more than the latest step of the state
                     it is given, 0 for a fresh state. So a plain loop
                         for t in range(T): h, c = cell(x[t], (h, c))
                     draws steps 0 .. T-1 and names c_t0, c_t1, ... A loop of your own ops
                     (no cell) has steps only inside time_step(t).
    highlight:       'cec' draws the carried-state path that each cell declares (the LSTM's
                     c_{t-1} -> f_t * c_{t-1} -> + -> c_t; the 1997 LSTM's c_{t-1} -> + -> c_t; the
                     GRU's h_{t-1} -> z_t * h_{t-1} -> + -> h_t) bold, with the DOT attribute
                     class="cec"; None draws no highlight. Colours come from the declarations
                     too: states, gates, and parameters (any leaf that requires grad and is no
                     cell's state).
    rankdir:         'LR' (time runs left to right), 'TB', 'RL' or 'BT'.
    show_unnamed:    also draw unnamed intermediate tensors as nodes (by default an edge from
                     op to op stands for them, so the named gates and states stand out).
    legend:          add a legend of the colours.
    title:           a line of text above the graph.
    steps:           level='op' only: draw just the ops of these time steps (an int or a
                     collection), the tensors they read from elsewhere drawn as inputs: one
                     step of a long unrolled graph.

    The Digraph also says what it drew: `g.drawn` maps each node id to its tensor, op, or (a cell
    step) list of ops, and `g.drawn_edges` maps 'e<k>' (the k-th edge) to (tail id, head id,
    tensor, gradient norm).
    """
    view = TapeView(as_tensor_list(outputs, "draw_graph"))
    return draw_view(view, level=level, show_grad=show_grad, cluster_by_time=cluster_by_time, highlight=highlight,
                     rankdir=rankdir, show_unnamed=show_unnamed, legend=legend, title=title, steps=steps)


def draw_view(view, level="op", show_grad=True, cluster_by_time=True, highlight="cec", rankdir="LR",
              show_unnamed=False, legend=True, title=None, steps=None, edge_ids=False):
    """draw_graph for a walk already made (a TapeView): drawing many steps of one graph one by one
    walks the tape once. edge_ids=True gives every edge its key in g.drawn_edges as DOT id."""
    _check_choice("level", level, LEVELS)
    _check_choice("highlight", highlight, HIGHLIGHTS)
    _check_choice("rankdir", rankdir, RANKDIRS)
    if steps is not None and level != "op":
        raise ValueError("draw_graph: steps= picks time steps at level='op' only; level='cell' draws them all")
    graphviz = import_graphviz()
    if level == "cell" and view.ops and all(fn.step is None for fn in view.ops):
        warnings.warn(
            "draw_graph(level='cell'): no op of this graph recorded a time step, so there are no "
            "per-step cells; a cell call (cell(x_t, state)) numbers its steps itself, a loop of your "
            "own ops needs `with tinygrad_rnn.time_step(t):` around each step",
            stacklevel=2,
        )
    declared = Declared(view, highlight=highlight == "cec")
    cec = declared.cec
    dot = digraph(graphviz, rankdir)
    dot.drawn, dot.drawn_edges, dot.edge_ids = {}, {}, edge_ids
    if level == "op":
        _draw_ops(dot, view, declared, show_grad, cluster_by_time, show_unnamed, _step_filter(steps))
        note = None
    else:
        note = draw_cells(dot, view, declared, show_grad, cluster_by_time)
    if legend:
        add_legend(dot, level, with_cec=bool(cec[0] or cec[2]), names=declared.declared_names())
    label = "\n".join(line for line in (title, note) if line)
    if label:
        dot.attr("graph", label=label, labelloc="t", fontsize="12")
    return dot


def _step_filter(steps):
    """A test `keep(op)` for the ops to draw; None keeps all."""
    if steps is None:
        return None
    wanted = {steps} if isinstance(steps, int) else set(steps)
    return lambda fn: fn.step in wanted


def _check_choice(label, value, choices):
    if value not in choices:
        raise ValueError(f"draw_graph: {label} must be one of {', '.join(map(repr, choices))}; got {value!r}")


# ----------------------------------------------------------------------------------------------
# level='op': every op and every named tensor


def _draw_ops(dot, view, declared, show_grad, cluster_by_time, show_unnamed, keep=None):
    cec_inputs, cec_outputs, _ = declared.cec
    kept = {id(fn) for fn in view.ops if keep is None or keep(fn)}
    # With a step filter, a tensor made by an op left out but read by one drawn is drawn as an input.
    read = set() if keep is None else {id(t) for fn in view.ops if id(fn) in kept for t in fn.inputs}

    def made_here(t):
        return t._ctx is not None and id(t._ctx) in kept

    def shown(t):
        return not made_here(t) or t.name is not None or id(t) in view.outputs or show_unnamed

    def node_id(t):
        if shown(t):
            return f"t{view.tensor_number[id(t)]}"
        return f"op{view.op_number[id(t._ctx)]}"  # an unnamed intermediate: its op stands for it

    # Nodes: each op and each shown tensor, with its time step (None outside the steps).
    nodes, node_step, items = [], {}, {}
    for kind, item in view.order:
        if kind == "op":
            if id(item) not in kept:
                continue
            node, step = f"op{view.op_number[id(item)]}", item.step
            nodes.append((node, item.name, style.op_node_attrs()))
        else:
            if not shown(item) or (keep is not None and not made_here(item) and id(item) not in read):
                continue
            node = node_id(item)
            step = item.step if made_here(item) else leaf_step(view, item) if item._ctx is None else None
            if is_scalar_constant(item):
                value = item.data.reshape(-1)[0].item()
                nodes.append((node, f"{value:g}", style.constant_node_attrs()))
            else:
                role = declared.role_of(item)
                nodes.append((node, tensor_label(item, show_grad, step), style.tensor_node_attrs(role)))
        node_step[node], items[node] = step, item

    # Edges, forward: input -> op for every input, op -> tensor for every shown op result.
    edges = []
    for kind, item in view.order:
        if kind == "op":
            if id(item) not in kept:
                continue
            for k, t in enumerate(item.inputs):
                g = _input_edge_norm(view, item, k, t) if show_grad else None
                edges.append((node_id(t), f"op{view.op_number[id(item)]}", g, (id(item), k) in cec_inputs, t))
        elif made_here(item) and shown(item):
            g = tensor_grad_norm(item) if show_grad else None
            edges.append((f"op{view.op_number[id(item._ctx)]}", node_id(item), g, id(item) in cec_outputs, item))
    edges, stubs = split_hubs(edges, node_step, lambda node: _hub_label(items[node]))

    for stub, step, text, served in stubs:
        node_step[stub] = step
        nodes.append((stub, text, style.constant_node_attrs()))
    beside = [(stub, served) for stub, _, _, served in stubs]
    steps = place_nodes(dot, nodes, node_step, beside, cluster_by_time)
    if cluster_by_time:
        _order_steps(dot, view, nodes, node_step, steps)

    widths = EdgeWidths([e[2] for e in edges])
    for tail, head, g, on_cec, t in edges:
        add_edge(dot, tail, head, t, g, widths.edge_attrs(g, on_cec, t.shape))
    dot.drawn.update(items)


def _hub_label(item):
    """What a stub says for a node shared by many steps: a tensor's name or shape, or an op and
    the named leaves it is computed from ('transpose of weight_hh_l0')."""
    if not isinstance(item, Function):
        return display_name(item) or format_shape(item.shape)
    names, stack, seen = [], [item], {id(item)}
    while stack and len(seen) < 100:
        fn = stack.pop()
        for t in fn.inputs:
            if t._ctx is None:
                if t.name and t.name not in names:
                    names.append(t.name)
            elif t._ctx.step is None and id(t._ctx) not in seen:
                seen.add(id(t._ctx))
                stack.append(t._ctx)
    if not names:
        return item.name
    return f"{item.name} of {', '.join(names[:3])}" + (", ..." if len(names) > 3 else "")


def _input_edge_norm(view, fn, k, tensor):
    """The gradient that fn's backward sent to its input k (recorded), else, when fn is the only
    consumer of the tensor, the tensor's own gradient (then it is the same thing). None for an
    input that takes no gradient (data, constants): backward may compute one, but none is used."""
    if not tensor.requires_grad:
        return None
    recorded = getattr(fn, "in_grad_norms", None)
    if recorded is not None:
        return recorded[k]
    if len(view.uses(tensor)) == 1:
        return tensor_grad_norm(tensor)
    return None


def _order_steps(dot, view, nodes, node_step, cluster_order):
    """Keep the time steps left to right: invisible edges from the last node of step t-1 to the
    ops of step t that need nothing from it (those computed from inputs and weights only), which
    Graphviz would otherwise pull to the far left."""
    last = {}
    for node, _, _ in nodes:  # forward order
        if node_step[node] is not None and not node.startswith("stub"):
            last[node_step[node]] = node
    sources = {}
    for fn in view.ops:
        if fn.step in last and all(t._ctx is None or t._ctx.step != fn.step for t in fn.inputs):
            sources.setdefault(fn.step, []).append(fn)
    for before, step in zip(cluster_order, cluster_order[1:]):
        for fn in sources.get(step, []):
            dot.edge(last[before], f"op{view.op_number[id(fn)]}", style="invis")

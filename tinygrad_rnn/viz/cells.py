"""draw_graph(..., level='cell'): one node per cell per time step, so long sequences stay readable.

Which ops make up one cell step: the ops recorded in the same time step (fn.step) that are joined
by the tensors flowing between them. The one tensor that leaves a cell step is its output h_t, so
a tensor named 'h_t' does not join its maker and its users: with two layers, layer 0's h_t feeds
layer 1 in the same step, and the two stay two nodes. (c_t stays inside: h_t = o_t * tanh(c_t).)
Ops recorded outside any time step (the input projection for all steps at once, the loss) are
grouped the same way, by the tensors joining them.

Parameters are shared by every step; drawing an edge from each to every step would bury the
picture, so they are listed in the graph's title line instead.
"""

from . import style
from .elements import (EdgeWidths, display_name, format_norm, format_shape, is_scalar_constant,
                       leaf_step, place_nodes, split_hubs, tensor_grad_norm, tensor_label)
from ..nn.parameter import Parameter


def draw_cells(dot, view, carried, show_grad, cluster_by_time):
    """Draw `view` at cell level into `dot`; returns a line naming the parameters left out."""
    derived = _parameter_ops(view)
    groups = _group_ops(view, derived)  # id(op) -> group number, for ops not in `derived`
    members = {}
    for fn in view.ops:
        if id(fn) not in derived:
            members.setdefault(groups[id(fn)], []).append(fn)

    # Nodes: one per group (a cell step, or ops outside the steps), leaves (not parameters), outputs.
    nodes, node_step, labels, parameters = [], {}, {}, []
    single_use = {}  # a leaf used in one step only -> the cell it feeds (drawn beside it)
    for number in sorted(members):
        ops = members[number]
        node, step = f"cell{number}", ops[0].step
        node_step[node] = step
        dot.drawn[node] = ops
        if step is None:
            names = _unique([fn.name for fn in ops])
            labels[node] = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
            nodes.append((node, labels[node], style.op_node_attrs()))
        else:
            nodes.append((node, _cell_label(view, ops, step, show_grad), style.cell_node_attrs()))
    for t in view.tensors:
        node = f"t{view.tensor_number[id(t)]}"
        if isinstance(t, Parameter):
            parameters.append(t)
        elif t._ctx is None and not is_scalar_constant(t):
            step = leaf_step(view, t)
            labels[node] = display_name(t, step) or format_shape(t.shape)
            role = style.role_of(t, view.outputs)
            nodes.append((node, tensor_label(t, show_grad, step), style.tensor_node_attrs(role)))
            dot.drawn[node] = t
            if step is not None:
                node_step[node] = step
                single_use[node] = f"cell{groups[id(view.uses(t)[0][0])]}"
        elif id(t) in view.outputs:
            nodes.append((node, tensor_label(t, show_grad), style.tensor_node_attrs("output")))
            dot.drawn[node] = t

    edges = []
    for tail, head, t, consumers in _edges(view, derived, groups):
        g = _edge_grad_norm(t, consumers) if show_grad and t.requires_grad else None
        name = display_name(t, node_step.get(tail) if t._ctx is None else None)
        edges.append((tail, head, g, id(t) in carried and head.startswith("cell"), t, name))
    edges, stubs = split_hubs(edges, node_step, labels.__getitem__)

    for stub, step, text, _ in stubs:
        node_step[stub] = step
        nodes.append((stub, text, style.constant_node_attrs()))
    # Stubs and single-step leaves sit level with their cell (beside it across the time axis),
    # so each step's box spans one rank and the boxes line up along time, not in a staircase.
    beside = [(stub, cell) for stub, _, _, cell in stubs] + list(single_use.items())
    place_nodes(dot, nodes, node_step, beside, cluster_by_time)

    widths = EdgeWidths([e[2] for e in edges])
    for tail, head, g, on_cec, t, name in edges:
        label = None
        if name and not (tail.startswith("stub_") or head.startswith("stub_")):  # a stub says it
            label = dict(label=name, fontname=style.FONT, fontsize="8", fontcolor="#666666")
        dot.edge(tail, head, **widths.edge_attrs(g, on_cec, t.shape, label))
        dot.drawn_edges[(tail, head)] = (t, g)

    if not parameters:
        return None
    listed = ", ".join(f"{p.name or 'parameter'} {format_shape(p.shape)}" for p in parameters[:6])
    more = f" and {len(parameters) - 6} more" if len(parameters) > 6 else ""
    return f"parameters shared by every step (not drawn): {listed}{more}"


def _edges(view, derived, groups):
    """(tail, head, tensor, consumers) for each tensor made in one group (or a leaf) and used in
    another, once per using group (consumers: the (op, input index) pairs of that group that use
    it), then each output from its group. Ends are node ids: 'cell<group>'
    for groups, 't<number>' for leaves and outputs."""
    edges, done = [], {}
    for fn in view.ops:
        if id(fn) in derived:
            continue
        head = f"cell{groups[id(fn)]}"
        for k, t in enumerate(fn.inputs):
            if t._ctx is not None:
                if id(t._ctx) in derived:
                    continue  # made from parameters only (W_hh^T, b_ih + b_hh): left out like them
                tail = f"cell{groups[id(t._ctx)]}"
                if tail == head:
                    continue
            elif isinstance(t, Parameter) or is_scalar_constant(t):
                continue
            else:
                tail = f"t{view.tensor_number[id(t)]}"
            if (id(t), head) not in done:
                done[(id(t), head)] = consumers = []
                edges.append((tail, head, t, consumers))
            done[(id(t), head)].append((fn, k))
    for t in view.tensors:
        if id(t) in view.outputs and t._ctx is not None and id(t._ctx) not in derived:
            edges.append((f"cell{groups[id(t._ctx)]}", f"t{view.tensor_number[id(t)]}", t, []))
    return edges


def _edge_grad_norm(t, consumers):
    """The gradient along the edge from `t` into one cell: what that cell's op sent back to `t`,
    when record_gradients recorded it and a single op of the cell uses `t`. (Norms of several
    consumers do not add up, so then, as without a record, it is t's whole gradient.)"""
    if len(consumers) == 1:
        fn, k = consumers[0]
        recorded = getattr(fn, "in_grad_norms", None)
        if recorded is not None:
            return recorded[k]
    return tensor_grad_norm(t)


def _parameter_ops(view):
    """The ids of ops computed from parameters and constants only (a transposed weight, a
    summed bias): at cell level they count as parameters."""
    derived = set()
    for fn in view.ops:  # forward order: an op's inputs are decided before it
        if all(_is_parameter_like(t, derived) for t in fn.inputs):
            derived.add(id(fn))
    return derived


def _is_parameter_like(t, derived):
    if t._ctx is not None:
        return id(t._ctx) in derived
    return isinstance(t, Parameter) or is_scalar_constant(t)


def _group_ops(view, derived):
    """Union-find over ops: same time step and joined by a tensor other than h_t."""
    parent = {id(fn): id(fn) for fn in view.ops if id(fn) not in derived}

    def root(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    order = view.op_number.__getitem__
    for fn in view.ops:
        if id(fn) in derived:
            continue
        for t in fn.inputs:
            maker = t._ctx
            if maker is None or id(maker) not in parent or maker.step != fn.step:
                continue
            if t.name == "h_t" and fn.step is not None:
                continue
            a, b = root(id(maker)), root(id(fn))
            if a != b:
                parent[max(a, b, key=order)] = min(a, b, key=order)
    # Number the groups in forward order of their first op.
    numbers, groups = {}, {}
    for fn in view.ops:
        if id(fn) in derived:
            continue
        r = root(id(fn))
        if r not in numbers:
            numbers[r] = len(numbers)
        groups[id(fn)] = numbers[r]
    return groups


def _cell_label(view, ops, step, show_grad):
    """'LSTM cell, t=3' and the gradient norm of each state the step makes (h_t3, c_t3)."""
    names = set()
    states = []
    for fn in ops:
        for t in view.produced[id(fn)]:
            names.add(t.name)
            if t.name in ("h_t", "c_t"):
                states.append(t)
    lines = [f"{_kind(names)}, t={step}"]
    if show_grad:
        for t in sorted(states, key=lambda t: t.name, reverse=True):  # h_t, then c_t
            g = tensor_grad_norm(t)
            if g is not None:
                lines.append(f"{display_name(t)} |grad| {format_norm(g)}")
    return "\n".join(lines)


def _kind(names):
    if "c_t" in names:
        return "LSTM cell"
    if "z_t" in names or "r_t" in names:
        return "GRU cell"
    if "f_t" in names:
        return "MGU cell"
    if "h_t" in names:
        return "RNN cell"
    return "step"


def _unique(items):
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out

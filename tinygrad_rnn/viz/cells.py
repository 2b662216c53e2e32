"""draw_graph(..., level='cell'): one node per cell call, so long sequences stay readable.

Which ops make up one node: the ops of one cell call (they share one CellStep, see
tinygrad_rnn/nn/declaration.py), so with two layers, layer 0's call and layer 1's call at the
same step stay two nodes. Other ops are grouped by the tensors joining them within one time
step (ops of your own in `time_step(t)`), or outside any step (the input projection for all
steps at once, the loss).

Parameters are shared by every step; drawing an edge from each to every step would bury the
picture, so they are listed in the graph's title line instead.
"""

from . import style
from .elements import (EdgeWidths, add_edge, display_name, format_norm, format_shape, is_scalar_constant,
                       leaf_step, place_nodes, split_hubs, tensor_grad_norm, tensor_label)
from ..nn.declaration import CellStep


def draw_cells(dot, view, declared, show_grad, cluster_by_time):
    """Draw `view` at cell level into `dot`; returns a line naming the parameters left out."""
    carried = declared.cec[2]
    derived = _parameter_ops(view, declared)
    groups = _group_ops(view, derived, declared)  # id(op) -> group number, for ops not in `derived`
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
            nodes.append((node, _cell_label(declared, ops, step, show_grad), style.cell_node_attrs()))
    for t in view.tensors:
        node = f"t{view.tensor_number[id(t)]}"
        if declared.is_parameter(t):
            parameters.append(t)
        elif t._ctx is None and not is_scalar_constant(t):
            step = leaf_step(view, t)
            labels[node] = display_name(t, step) or format_shape(t.shape)
            role = declared.role_of(t)
            nodes.append((node, tensor_label(t, show_grad, step), style.tensor_node_attrs(role)))
            dot.drawn[node] = t
            if step is not None:
                node_step[node] = step
                single_use[node] = f"cell{groups[id(view.uses(t)[0][0])]}"
        elif id(t) in view.outputs:
            nodes.append((node, tensor_label(t, show_grad), style.tensor_node_attrs("output")))
            dot.drawn[node] = t

    edges = []
    for tail, head, t, consumers in _edges(view, declared, derived, groups):
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
        add_edge(dot, tail, head, t, g, widths.edge_attrs(g, on_cec, t.shape, label))

    if not parameters:
        return None
    listed = ", ".join(f"{p.name or 'parameter'} {format_shape(p.shape)}" for p in parameters[:6])
    more = f" and {len(parameters) - 6} more" if len(parameters) > 6 else ""
    return f"parameters shared by every step (not drawn): {listed}{more}"


def _edges(view, declared, derived, groups):
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
            elif declared.is_parameter(t) or is_scalar_constant(t):
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


def _parameter_ops(view, declared):
    """The ids of ops computed from parameters and constants only (a transposed weight, a
    summed bias): at cell level they count as parameters."""
    derived = set()
    for fn in view.ops:  # forward order: an op's inputs are decided before it
        if all(_is_parameter_like(t, derived, declared) for t in fn.inputs):
            derived.add(id(fn))
    return derived


def _is_parameter_like(t, derived, declared):
    if t._ctx is not None:
        return id(t._ctx) in derived
    return declared.is_parameter(t) or is_scalar_constant(t)


def _group_ops(view, derived, declared):
    """Union-find over ops: the ops of one cell call (declared.calls); other ops when in the same
    time step (or both outside the steps) and joined by a tensor."""
    parent = {id(fn): id(fn) for fn in view.ops if id(fn) not in derived}

    def root(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    order = view.op_number.__getitem__

    def join(a, b):
        a, b = root(a), root(b)
        if a != b:
            parent[max(a, b, key=order)] = min(a, b, key=order)

    representative = {}  # a call -> its first op that is not derived
    for fn in view.ops:
        if id(fn) in derived:
            continue
        if id(fn) in declared.call_of_op:
            join(representative.setdefault(declared.call_of_op[id(fn)], id(fn)), id(fn))
            continue
        for t in fn.inputs:
            maker = t._ctx
            if maker is None or id(maker) not in parent or id(maker) in declared.call_of_op:
                continue
            if maker.step == fn.step:
                join(id(maker), id(fn))
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


def _cell_label(declared, ops, step, show_grad):
    """'LSTM cell, t=3' (the cell's declared or class name) and the gradient norm of each state
    the call makes, in declared order (h_t3, c_t3); 'step, t=3' for ops of no cell call."""
    if not isinstance(step, CellStep) or step.declaration is None:
        return f"step, t={step}"
    lines = [f"{step.name}, t={step}"]
    if show_grad:
        for t in declared.states_of(ops):
            g = tensor_grad_norm(t)
            if g is not None:
                lines.append(f"{display_name(t)} |grad| {format_norm(g)}")
    return "\n".join(lines)


def _unique(items):
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out

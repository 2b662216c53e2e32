"""What both levels of draw_graph draw with: labels, gradient norms, edge widths, time-step
clusters, the legend."""

import math

from ..nn.parameter import Parameter
from . import style
from .record import norm



def display_name(tensor, step=None):
    """'c_t' made at step 3 reads 'c_t3'; another name at a step reads 'name (t=3)'. `step`
    stands in for a leaf's (an input x_t used in one step only is drawn as that step's)."""
    name = tensor.name
    step = tensor.step if step is None else step
    if name is None or step is None:
        return name
    if name.endswith("_t"):
        return f"{name}{step}"
    if tensor._ctx is None:
        return name  # a leaf named otherwise (h_(t-1), weight_ih) keeps its own name
    return f"{name} (t={step})"


def leaf_step(view, leaf):
    """The step a leaf belongs to when it is used in one time step only (an input x_t, a
    starting state); None for one used in several or none, and always for parameters."""
    if isinstance(leaf, Parameter):
        return None
    steps = {fn.step for fn, _ in view.uses(leaf)}
    return steps.pop() if len(steps) == 1 else None


def format_shape(shape):
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def format_norm(value):
    return f"{value:.2e}"


def tensor_grad_norm(tensor):
    """||dL/dtensor||: from .grad, or from what record_gradients saw on the op that made it."""
    if tensor.grad is not None:
        return norm(tensor.grad.data)
    fn = tensor._ctx
    if fn is not None and getattr(fn, "out_grad_norms", None) is not None:
        return fn.out_grad_norms[tensor._index]
    return None


def is_scalar_constant(tensor):
    return tensor._ctx is None and tensor.name is None and not tensor.requires_grad and tensor.size == 1


def tensor_label(tensor, show_grad, step=None):
    lines = []
    name = display_name(tensor, step)
    if name:
        lines.append(name)
    lines.append(f"{format_shape(tensor.shape)} {tensor.dtype}")
    if show_grad:
        g = tensor_grad_norm(tensor)
        if g is not None:
            lines.append(f"|grad| {format_norm(g)}")
    return "\n".join(lines)


class EdgeWidths:
    """Edge width from the gradient norm along the edge, on a log scale.

    The largest gradient in the graph gets width 6, the smallest (or, if smaller, one 10^-12 of
    the largest) gets 0.6, in between linearly in log10. A zero gradient is a thin dashed edge;
    an edge that carried no recorded gradient keeps the default width 1.
    """

    MIN_WIDTH, MAX_WIDTH, DECADES = 0.6, 6.0, 12.0

    def __init__(self, norms):
        positive = [g for g in norms if g is not None and g > 0 and math.isfinite(g)]
        self.high = math.log10(max(positive)) if positive else 0.0
        self.low = max(math.log10(min(positive)), self.high - self.DECADES) if positive else 0.0

    def edge_attrs(self, g, on_cec, shape, label=None):
        """Every DOT attribute of one edge: the width from its gradient norm `g`, a tooltip with
        the norm and the tensor's shape, the CEC style when it lies on the cell-state path, and
        `label` (a dict of label attributes) if given."""
        attrs = {"color": style.EDGE_COLOR, "arrowsize": "0.6"}
        if label:
            attrs.update(label)
        attrs.update(self.attrs(g))
        if g is not None:
            attrs["tooltip"] = f"|grad| {format_norm(g)} {format_shape(shape)}"
        return cec_attrs(attrs) if on_cec else attrs

    def attrs(self, g):
        if g is None:
            return {}
        if g == 0:
            return {"penwidth": f"{self.MIN_WIDTH:.2f}", "style": "dashed", "color": style.ZERO_GRAD_COLOR}
        if not math.isfinite(g):
            return {"penwidth": f"{self.MAX_WIDTH:.2f}", "color": "#cc0000"}
        if self.high == self.low:
            width = 2.0
        else:
            share = (math.log10(g) - self.low) / (self.high - self.low)
            width = self.MIN_WIDTH + (self.MAX_WIDTH - self.MIN_WIDTH) * min(max(share, 0.0), 1.0)
        return {"penwidth": f"{width:.2f}"}


def add_edge(dot, tail, head, tensor, g, attrs):
    """Draw one edge and note it in `dot.drawn_edges` as 'e<k>' (the k-th edge drawn) -> (tail,
    head, tensor, gradient norm); with `dot.edge_ids` the DOT id is that key too, and SVG output
    keeps it, so two edges between the same nodes (h_t and c_t into the next cell) stay apart."""
    key = f"e{len(dot.drawn_edges)}"
    if dot.edge_ids:
        attrs = dict(attrs, id=key)
    dot.edge(tail, head, **attrs)
    dot.drawn_edges[key] = (tail, head, tensor, g)


def cec_attrs(attrs):
    """The cell-state path: class="cec" (for SVG styling and tests), bold, one colour."""
    attrs = dict(attrs)
    attrs["class"] = "cec"
    attrs["color"] = style.CEC_COLOR
    attrs["style"] = "bold"
    attrs.setdefault("penwidth", "2.5")
    return attrs


def place_nodes(dot, nodes, node_step, beside, cluster_by_time):
    """Write `nodes` ((id, label, attrs), in forward order), each inside the box of its time step
    (subgraph cluster_t<step>; node_step[id] None: outside any box) when cluster_by_time.
    `beside` lists (node, the node it serves) pairs drawn level with each other (rank=same), so
    that a stub or an input takes no place of its own along the time axis. Returns the steps in
    the order they first appear."""
    clusters, order, root = {}, [], []
    for node, label, attrs in nodes:
        step = node_step.get(node) if cluster_by_time else None
        if step is None:
            root.append((node, label, attrs))
            continue
        if step not in clusters:
            clusters[step] = []
            order.append(step)
        clusters[step].append((node, label, attrs))
    lines = {}  # step -> served node -> the nodes on its rank
    for node, served in beside:
        step = node_step.get(served) if cluster_by_time else None
        lines.setdefault(step, {}).setdefault(served, [served]).append(node)
    for step in order:
        with dot.subgraph(name=f"cluster_t{step}") as sub:
            sub.attr(label=f"t = {step}", style="rounded,dashed", color="#aaaaaa", fontname=style.FONT,
                     fontsize="10", fontcolor="#777777")
            for node, label, attrs in clusters[step]:
                sub.node(node, label, **attrs)
            _same_rank(sub, lines.get(step, {}).values())
    for node, label, attrs in root:
        dot.node(node, label, **attrs)
    _same_rank(dot, lines.get(None, {}).values())
    return order


def _same_rank(dot, lines):
    for ids in lines:
        with dot.subgraph() as line:
            line.attr(rank="same")
            for node in ids:
                line.node(node)


def add_legend(dot, level, with_cec=True, names=((), (), ())):
    """One compact node: a colour swatch per role, the op and cell shapes, the CEC colour (when
    the graph has a carried-state path) and what an edge's width means. `names` (states, gates,
    carried) are those the drawn cells declare: the legend says what this graph's colours stand
    for, a user's cell's names as much as the LSTM's."""
    states, gates, carried = names
    labels = dict(style.ROLE_LABELS)
    if states:
        labels["state"] = f"state ({', '.join(states)})"
    if gates:
        labels["gate"] = f"gate / candidate ({', '.join(gates)})"
    roles = style.ROLES if level == "op" else ("input", "state", "output")
    rows = [f'<TR><TD BGCOLOR="{style.FILL[role]}" STYLE="rounded">{_html(labels[role])}</TD></TR>'
            for role in roles]
    if level == "op":
        rows.append(f'<TR><TD BGCOLOR="{style.OP_FILL}" STYLE="rounded">op (ellipse)</TD></TR>')
    else:
        rows.append(f'<TR><TD BGCOLOR="{style.CELL_FILL}" STYLE="rounded">one cell at one time step</TD></TR>')
    if with_cec:
        path = "carried-state path" + (f" of {', '.join(carried)}" if carried else "")
        cec = f'<FONT COLOR="{style.CEC_COLOR}"><B>&#8212;&#8212; {_html(path)} (CEC)</B></FONT>'
        rows.append(f'<TR><TD BORDER="0">{cec}</TD></TR>')
    rows.append('<TR><TD BORDER="0">edge width ~ log |gradient|<BR/>thin = vanishing<BR/>dashed grey = zero</TD></TR>')
    table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="3" CELLPADDING="3">' + "".join(rows) + "</TABLE>"
    dot.node("legend", f"<{table}>", shape="box", style="rounded", color="#cccccc", fontname=style.FONT,
             fontsize="9")


def _html(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


HUB_STEPS = 3  # a node outside the time steps joined to more steps than this becomes stubs


def split_hubs(edges, node_step, hub_label):
    """Replace hub edges by stubs.

    A hub is a node outside the time steps (node_step None: a weight, the input projection for
    all steps, a loss over all outputs) joined to more than HUB_STEPS steps. Drawn as one node
    with an edge to every step, it makes Graphviz's layout take minutes for a few dozen steps;
    instead a small stub ("from transpose of weight_hh") stands for it next to each node it feeds
    (or "to ..." next to each node feeding it).

    edges: [(tail id, head id, ...)]; node_step: node id -> step or None; hub_label: node id ->
    text. Returns (edges with hub ends replaced, [(stub id, step, text, the node it serves)]).
    """
    touched = {}
    for edge in edges:
        tail, head = edge[0], edge[1]
        for end, other in ((tail, head), (head, tail)):
            if node_step.get(end) is None and node_step.get(other) is not None:
                touched.setdefault(end, set()).add(node_step[other])
    hubs = {end for end, steps in touched.items() if len(steps) > HUB_STEPS}
    stubs, new_edges = {}, []
    for edge in edges:
        tail, head = edge[0], edge[1]
        if tail in hubs and node_step.get(head) is not None:
            tail = _stub(stubs, tail, head, node_step[head], "from " + hub_label(tail))
        elif head in hubs and node_step.get(tail) is not None:
            head = _stub(stubs, head, tail, node_step[tail], "to " + hub_label(head))
        new_edges.append((tail, head) + tuple(edge[2:]))
    return new_edges, list(stubs.values())


def _stub(stubs, hub, other, step, text):
    key = (hub, other)
    if key not in stubs:
        stubs[key] = (f"stub_{hub}_{other}", step, text, other)
    return stubs[key][0]

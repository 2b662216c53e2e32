"""How graph nodes look: the role of each tensor (parameter, input, state, gate, output) and its colours.

Colours come from the Okabe-Ito palette (readable for colour-blind readers), lightened for fills.
The cell-state path of an LSTM (the constant error carousel, CEC) is drawn in one strong colour.
"""

from ..nn.parameter import Parameter

# Names the cells give their tensors (see tinygrad_rnn/nn): the states they carry from step to
# step, and the gates and candidates computed inside a step.
STATE_NAMES = frozenset({"h_t", "c_t", "h", "c", "h_0", "c_0", "hx", "cx", "h_n", "c_n"})
GATE_NAMES = frozenset({"i_t", "f_t", "g_t", "o_t", "r_t", "z_t", "n_t", "fc_t", "ig_t"})

ROLES = ("parameter", "input", "state", "gate", "output", "intermediate")

ROLE_LABELS = {
    "parameter": "parameter (weight, bias)",
    "input": "input or constant",
    "state": "state (h_t, c_t)",
    "gate": "gate / candidate (i f g o, r z n)",
    "output": "output / loss",
    "intermediate": "other tensor",
}

FILL = {
    "parameter": "#cfe3f5",  # light blue
    "input": "#d4efdf",  # light green
    "state": "#fde4bf",  # light orange
    "gate": "#eadcf2",  # light purple
    "output": "#f8d0d0",  # light red
    "intermediate": "#ffffff",
}

OP_FILL = "#e6e6e6"
CELL_FILL = "#fff6e6"
EDGE_COLOR = "#555555"
CEC_COLOR = "#d55e00"  # vermilion: the cell-state path
ZERO_GRAD_COLOR = "#bbbbbb"

FONT = "Helvetica"


def role_of(tensor, outputs):
    """The role that picks a tensor's colour. `outputs` holds the ids of the tensors drawn from."""
    if id(tensor) in outputs:
        return "output"
    if isinstance(tensor, Parameter):
        return "parameter"
    if tensor.name in STATE_NAMES or _looks_like_state(tensor.name):
        return "state"
    if tensor.name in GATE_NAMES:
        return "gate"
    if tensor._ctx is None:
        return "input"
    return "intermediate"


def tensor_node_attrs(role):
    return {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": FILL[role],
        "fontname": FONT,
        "fontsize": "10",
    }


def constant_node_attrs():
    return {"shape": "plaintext", "fontname": FONT, "fontsize": "9"}


def op_node_attrs():
    return {
        "shape": "ellipse",
        "style": "filled",
        "fillcolor": OP_FILL,
        "color": "#999999",
        "fontname": FONT,
        "fontsize": "9",
        "height": "0.3",
    }


def cell_node_attrs():
    return {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": CELL_FILL,
        "color": "#b07a2a",
        "fontname": FONT,
        "fontsize": "10",
    }


def _looks_like_state(name):
    """h_0, c_(t-1), h_prev: a name of the hidden or cell state."""
    return name is not None and len(name) > 2 and name[0] in "hc" and name[1] == "_"

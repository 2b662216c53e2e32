"""How graph nodes look: the colour of each tensor's role (parameter, input, state, gate, output).

Colours come from the Okabe-Ito palette (readable for colour-blind readers), lightened for fills.
The carried-state path of a cell (the LSTM's constant error carousel, CEC) is drawn in one strong
colour. Which role a tensor has comes from the cells' declarations (declared.py).
"""

ROLES = ("parameter", "input", "state", "gate", "output", "intermediate")

# Where a graph's cells declare their names, the legend lists those instead (elements.add_legend).
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
CEC_COLOR = "#d55e00"  # vermilion: the carried-state path
ZERO_GRAD_COLOR = "#bbbbbb"

FONT = "Helvetica"


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

"""Seeing gradients: computation graphs (Graphviz) and gradient-flow plots (matplotlib).

    from tinygrad_rnn import viz
    viz.record_gradients(loss); loss.backward()
    viz.draw_graph(loss, level='op')              # a graphviz.Digraph
    viz.save_graph(g, 'lstm.svg')                 # .svg .png .pdf .dot
    viz.plot_gradient_flow({'RNN': trace_rnn, 'LSTM': trace_lstm})   # a matplotlib Figure
    viz.explore({'LSTM': lstm_cell, 'GRU': gru_cell}, x).save('explore.html')   # an interactive page

Importing this module needs neither graphviz nor matplotlib; drawing needs the `graphviz`
package (and the `dot` program to render), plotting needs matplotlib:
pip install 'tinygrad_rnn[viz]'.
"""

from . import demo
from .explorer import ExplorerPage, explore
from .graph import draw_graph
from .plots import plot_carousel_share, plot_gradient_flow, plot_gradient_heatmap, save_figure
from .record import record_gradients
from .render import GraphvizError, save_graph

__all__ = [
    "demo",
    "draw_graph",
    "record_gradients",
    "save_graph",
    "GraphvizError",
    "plot_gradient_flow",
    "plot_gradient_heatmap",
    "plot_carousel_share",
    "save_figure",
    "explore",
    "ExplorerPage",
]

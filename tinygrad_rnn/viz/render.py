"""Graphviz as an optional dependency: importing it, rendering, saving, and the errors that say
how to install what is missing.

`import tinygrad_rnn.viz` works without the graphviz package and without the `dot` program;
only drawing needs the package, and only rendering (SVG, PNG, PDF) needs `dot`. The DOT text
(`graph.source`, or `save_graph(graph, 'name.dot')`) never needs `dot`.
"""

import os

PACKAGE_HINT = (
    "the 'graphviz' Python package is needed to draw graphs: pip install 'tinygrad_rnn[viz]' "
    "(or pip install graphviz)"
)
DOT_HINT = (
    "the Graphviz program 'dot' was not found on PATH, so the graph cannot be rendered to "
    "{format}. Install Graphviz: sudo apt-get install graphviz (Debian/Ubuntu), brew install "
    "graphviz (macOS), conda install graphviz, or https://graphviz.org/download/ (Windows). "
    "The DOT text needs no install: graph.source, or save_graph(graph, 'graph.dot')"
)
FORMATS = ("svg", "png", "pdf", "dot")


class GraphvizError(RuntimeError):
    """Graphviz (the Python package or the `dot` program) is missing; the message says how to install it."""


def import_graphviz():
    try:
        import graphviz
    except ImportError as exc:
        raise GraphvizError(PACKAGE_HINT) from exc
    return graphviz


_digraph_class = []


def digraph(graphviz, rankdir):
    """An empty graphviz.Digraph whose rendering errors say how to install Graphviz."""
    if not _digraph_class:
        _digraph_class.append(_make_class(graphviz))
    dot = _digraph_class[0](name="tinygrad_rnn", format="svg")
    dot.attr("graph", rankdir=rankdir, fontname="Helvetica", newrank="true", nodesep="0.15", ranksep="0.3")
    return dot


def _make_class(graphviz):
    class Graph(graphviz.Digraph):
        """A graphviz.Digraph (pipe, render, Jupyter display all work) that, when `dot` is
        missing, raises GraphvizError with install instructions."""

        def pipe(self, format=None, *args, **kwargs):
            try:
                return super().pipe(format, *args, **kwargs)
            except graphviz.ExecutableNotFound as exc:
                raise GraphvizError(DOT_HINT.format(format=format or self.format)) from exc

        def render(self, *args, **kwargs):
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as exc:
                raise GraphvizError(DOT_HINT.format(format=kwargs.get("format") or self.format)) from exc

    return Graph


def format_of(path):
    """'svg', 'png', 'pdf' or 'dot' from the file name's extension ('.gv' counts as DOT)."""
    ext = os.path.splitext(str(path))[1].lower().lstrip(".")
    if ext == "gv":
        ext = "dot"
    if ext not in FORMATS:
        raise ValueError(
            f"cannot tell the format of {str(path)!r} from its extension: use one of "
            f"{', '.join('.' + f for f in FORMATS)}"
        )
    return ext


def save_graph(graph, path):
    """Write `graph` to `path` in the format its extension names (.svg .png .pdf .dot).

    Where `dot` is missing, the DOT text goes to the same path with the extension .dot and a
    GraphvizError says so and how to install Graphviz. Returns the path written."""
    path = str(path)
    fmt = format_of(path)
    if fmt == "dot":
        _write(path, graph.source.encode("utf-8"))
        return path
    try:
        data = graph.pipe(format=fmt)
    except GraphvizError as exc:
        fallback = os.path.splitext(path)[0] + ".dot"
        _write(fallback, graph.source.encode("utf-8"))
        raise GraphvizError(f"{exc}. The DOT text was saved to {fallback}") from exc.__cause__
    _write(path, data)
    return path


def _write(path, data):
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)

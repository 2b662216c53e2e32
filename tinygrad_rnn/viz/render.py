"""Graphviz as an optional dependency: importing it, rendering, saving, and the errors that say
how to install what is missing.

`import tinygrad_rnn.viz` works without the graphviz package and without the `dot` program;
only drawing needs the package, and only rendering (SVG, PNG, PDF) needs `dot`. The DOT text
(`graph.source`, or `save_graph(graph, 'name.dot')`) never needs `dot`.
"""

import os
import re

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

        # Jupyter: IPython asks _repr_mimebundle_ first, then any _repr_<format>_ it did not
        # get; frontends show the richest type they can (HTML, then SVG, then PNG).

        def _repr_svg_(self):
            return self.pipe("svg", encoding="utf-8")

        def _repr_png_(self):
            return self.pipe("png")

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            svg = self._repr_svg_()
            bundle = {"image/svg+xml": svg}
            html = scrollable_svg(svg)
            if html is not None:
                bundle["text/html"] = html
            return {k: v for k, v in bundle.items()
                    if (not include or k in include) and not (exclude and k in exclude)}

        def __repr__(self):
            return "<tinygrad_rnn graph: shows itself in Jupyter; or .render(), .pipe('svg'), .source>"

    return Graph


# A notebook column is about this wide (CSS pixels); a wider graph shrunk to fit it is unreadable.
READABLE_WIDTH_PX = 900
_SVG_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)pt"[^>]*?\bheight="([\d.]+)pt"')


def scrollable_svg(svg):
    """For a graph wider than READABLE_WIDTH_PX: HTML that shows the SVG at its own size in a box
    that scrolls (frontends otherwise scale an image down to the column's width). None for a
    graph that fits."""
    match = _SVG_SIZE.search(svg)
    if match is None:
        return None
    width_px, height_px = (float(v) * 4 / 3 for v in match.groups())  # 1pt = 4/3 CSS px
    if width_px <= READABLE_WIDTH_PX:
        return None
    start = svg.index("<svg")
    body = svg[start:].replace("<svg", '<svg style="max-width:none;height:auto"', 1)
    return (f'<div style="overflow:auto;max-width:100%;max-height:640px">'
            f'<div style="width:{width_px:.0f}px;height:{height_px:.0f}px">{body}</div></div>')


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
    """Write `data` to `path`, making its folder; an OSError names the path and what is in its way."""
    folder = os.path.dirname(path)
    try:
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise type(exc)(exc.errno, f"save_graph: cannot write {path!r}: {_in_the_way(path, exc)}") from exc


def _in_the_way(path, exc):
    if os.path.isdir(path):
        return "it is a folder; give a file name ending in .svg, .png, .pdf or .dot"
    folder = os.path.dirname(path)
    while folder and not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if folder and not os.path.isdir(folder):
        return f"{folder!r} is a file, not a folder"
    return exc.strerror or str(exc)

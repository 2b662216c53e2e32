"""Graphviz drawings as SVG text for the explorer page, every node
and edge tagged with the id it has in the DOT source, so the page's script can find it.

Graphviz writes each node as `<g id="node7" class="node"><title>op12</title>...`; the title is
the DOT id (op12, t3, cell4). Here it becomes `data-key="op12"`; an edge's key is its DOT id (e5,
see draw_view's edge_ids). What a browser would show by itself on hover (titles, edge tooltips)
is taken out: the page shows its own tooltips.
"""

import os
import re
from concurrent.futures import ThreadPoolExecutor

from ..render import DOT_HINT, GraphvizError, import_graphviz

_ELEMENT = re.compile(r'<g id="([^"]*)" class="(node|edge|cluster)([^"]*)">\n<title>([^<]*)</title>')
_LINK = re.compile(r'<g id="a_[^"]+"><a xlink:title="[^"]*">\n(.*?)</a>\n</g>\n', re.S)
_COMMENT = re.compile(r"<!--.*?-->\n?", re.S)
_HEADER = re.compile(r"^.*?(?=<svg )", re.S)
_GRAPH_TITLE = re.compile(r'<g id="[^"]*" class="graph"([^>]*)>\n<title>[^<]*</title>\n')


def render_svgs(graphs):
    """The SVG text of each graphviz.Digraph in `graphs`: one `dot` process per graph (Graphviz
    2.43 can crash when one process lays out several graphs), a few at a time."""
    graphviz = import_graphviz()

    def render(graph):
        try:
            return tag_svg(graphviz.pipe("dot", "svg", graph.source.encode("utf-8")).decode("utf-8"))
        except graphviz.ExecutableNotFound as exc:
            raise GraphvizError(DOT_HINT.format(format="svg")) from exc

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(render, graphs))


def tag_svg(svg):
    """Graphviz's SVG with data-key attributes and without titles, comments and the XML header."""
    svg = _HEADER.sub("", svg)
    svg = _COMMENT.sub("", svg)
    svg = _GRAPH_TITLE.sub(r'<g class="graph"\1>\n', svg)
    svg = _LINK.sub(r"\1", svg)
    return _ELEMENT.sub(_tag, svg).strip()


def _tag(match):
    """A node or cluster is known by its DOT id (its title); an edge by the id draw_view(...,
    edge_ids=True) gave it, since two edges can join the same two nodes."""
    element_id, kind, more_classes, title = match.groups()
    key = element_id if kind == "edge" else title
    return f'<g class="{kind}{more_classes}" data-key="{key}">'

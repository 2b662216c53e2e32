"""Graphviz drawings as SVG text for the explorer page: many graphs in one `dot` run, every node
and edge tagged with the id it has in the DOT source, so the page's script can find it.

Graphviz writes each node as `<g id="node7" class="node"><title>op12</title>...`; the title is
the DOT id (op12, t3, cell4, or tail->head for an edge). Here it becomes `data-key="op12"`, and
what a browser would show by itself on hover (titles, edge tooltips) is taken out: the page
shows its own tooltips.
"""

import re

from ..render import DOT_HINT, GraphvizError, import_graphviz

_ELEMENT = re.compile(r'<g id="[^"]*" class="(node|edge|cluster)([^"]*)">\n<title>([^<]*)</title>')
_LINK = re.compile(r'<g id="a_[^"]+"><a xlink:title="[^"]*">\n(.*?)</a>\n</g>\n', re.S)
_COMMENT = re.compile(r"<!--.*?-->\n?", re.S)
_HEADER = re.compile(r"^.*?(?=<svg )", re.S)
_GRAPH_TITLE = re.compile(r'<g id="[^"]*" class="graph"([^>]*)>\n<title>[^<]*</title>\n')


def render_svgs(graphs):
    """The SVG text of each graphviz.Digraph in `graphs`, from one run of `dot`."""
    if not graphs:
        return []
    graphviz = import_graphviz()
    source = "\n".join(g.source for g in graphs).encode("utf-8")
    try:
        out = graphviz.pipe("dot", "svg", source).decode("utf-8")
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizError(DOT_HINT.format(format="svg")) from exc
    documents = [part for part in out.split("<?xml") if part.strip()]
    if len(documents) != len(graphs):
        raise RuntimeError(f"render_svgs: dot returned {len(documents)} drawings for {len(graphs)} graphs")
    return [tag_svg(doc) for doc in documents]


def tag_svg(svg):
    """Graphviz's SVG with data-key attributes and without titles, comments and the XML header."""
    svg = _HEADER.sub("", svg)
    svg = _COMMENT.sub("", svg)
    svg = _GRAPH_TITLE.sub(r'<g class="graph"\1>\n', svg)
    svg = _LINK.sub(r"\1", svg)
    return _ELEMENT.sub(r'<g class="\1\2" data-key="\3">', svg).strip()

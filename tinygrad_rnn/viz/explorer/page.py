"""explore(): the gradient explorer, one self-contained HTML page (inline SVG, CSS and JavaScript;
no network, no server) with linked views of one or more traced runs.

    page = viz.explore(nn.LSTMCell(4, 16), x)                      # x: (T, N, 4) or (T, 4)
    page = viz.explore({"LSTM": lstm, "GRU": gru}, x)               # several runs, a switch
    page = viz.explore(trace_gradients(cell, x, jacobians=False, keep_graph=True))
    page.save("explore.html")                                     # or show `page` in a notebook
"""

import base64
import gzip
import html
import json
import os
from importlib import resources

from ...gradients.trace import GradientTrace
from .. import style
from ..plots import COLORS
from .runs import make_run, trace_for_page

SELECTED_COLOR = "#000000"  # the chosen step, in every view: black, unlike any fill or line colour


class ExplorerPage:
    """The page: `.html()` its text, `.save(path)` writes it, and a notebook shows it inline."""

    def __init__(self, runs, title="Gradient explorer"):
        self.runs = runs  # one dict per run (see runs.make_run), the data the page embeds
        self.title = title

    def html(self):
        """The whole page as one string."""
        return _TEMPLATE.format(
            title=html.escape(self.title),
            css=_asset("page.css"),
            legend=_legend(),
            data=encode_data({"title": self.title, "colors": list(COLORS), "runs": self.runs}),
            js=_asset("page.js"),
        )

    def save(self, path):
        """Write the page to `path` (UTF-8); returns the path."""
        path = str(path)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html())
        return path

    def _repr_html_(self):
        # An iframe keeps the page's script and ids apart from the notebook's and from other pages.
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" title="{html.escape(self.title)}" '
                f'style="width: 100%; height: 960px; border: 1px solid #ccc"></iframe>')

    def __repr__(self):
        labels = ", ".join(run["label"] for run in self.runs)
        return f"ExplorerPage({labels}; T={self.runs[0]['T']})"


def explore(source, x=None, *, label=None, loss="last", batch_index=0, detail_steps=None,
            title="Gradient explorer"):
    """The explorer page for one run or several.

    source:       a cell, or a one-layer one-direction RNN/LSTM/GRU layer, run over `x`; or a
                  GradientTrace made with trace_gradients(..., jacobians=False, keep_graph=True);
                  or a dict {label: cell, layer or trace} (several runs, one switch; the cells
                  all read the same `x`), or a list of them.
    x:            the input sequence, (T, N, input_size) or (T, input_size); not for traces.
    label:        the run's name on the page (one run); default: the cell's description.
    loss:         as trace_gradients: 'last' (sum of h_{T-1}), 'all', 'last_c', or a function.
    detail_steps: the steps whose op-level subgraph is drawn; default all for T <= 40, else a
                  set (the first, the middle, lags 0, 1, 2, 3, 5, 10, 20, 50, ...), which the
                  page names.
    """
    if isinstance(source, dict):
        named = list(source.items())
    elif isinstance(source, (list, tuple)):
        named = [(None, item) for item in source]
    else:
        named = [(label, source)]
    if not named:
        raise ValueError("explore: give at least one cell, layer or trace")
    runs = []
    for name, item in named:
        if isinstance(item, GradientTrace):
            if x is not None:
                raise ValueError("explore: a GradientTrace already holds its run; pass x only with cells or layers")
            trace = item
        else:
            if x is None:
                raise ValueError(f"explore: {type(item).__name__} needs an input sequence x of shape (T, N, input_size)")
            trace = trace_for_page(item, x, loss=loss, batch_index=batch_index)
        runs.append(make_run(trace, name or trace.cell, detail_steps))
    return ExplorerPage(runs, title)


def encode_data(data):
    """The page's data as base64 of gzip-compressed JSON (its script unpacks it); decode_data undoes it."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


def decode_data(page_html):
    """The data embedded in a page's HTML text, as Python objects (for tests and curious readers)."""
    start = page_html.index('id="explorer-data">') + len('id="explorer-data">')
    end = page_html.index("</script>", start)
    return json.loads(gzip.decompress(base64.b64decode(page_html[start:end])))


def _asset(name):
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _legend():
    """The colours of the drawings (viz/style.py), as the static graphs' legend lists them."""
    items = [(style.FILL[role], style.ROLE_LABELS[role], "box") for role in style.ROLES if role != "intermediate"]
    items += [(style.OP_FILL, "op (ellipse)", "ellipse"), (style.CELL_FILL, "one cell at one time step", "box")]
    parts = [f'<li><span class="swatch {shape}" style="background:{fill}"></span>{html.escape(text)}</li>'
             for fill, text, shape in items]
    parts.append(f'<li><span class="line" style="border-color:{style.CEC_COLOR}"></span>'
                 'carried-state path, as each cell declares it (the LSTM\'s c_t: the CEC; the GRU\'s h_t)</li>')
    parts.append('<li><span class="line thin"></span>edge width ~ log |gradient|: thin = vanishing; '
                 'dashed grey = zero</li>')
    parts.append(f'<li><span class="swatch selected" style="border-color:{SELECTED_COLOR}"></span>the chosen step</li>')
    return "\n".join(parts)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
<header>
  <h1>{title}</h1>
  <div id="runs" role="group" aria-label="runs"></div>
  <p id="summary"></p>
</header>
<section id="controls" aria-label="time step">
  <button type="button" id="prev" aria-label="previous step">&#9664;</button>
  <input type="range" id="step" min="0" max="0" value="0" aria-label="time step">
  <button type="button" id="next" aria-label="next step">&#9654;</button>
  <output id="step-label" for="step"></output>
  <span class="hint">&#8592; &#8594; choose the step (Shift: 10), Home / End the first / last; 1-9 switch runs</span>
</section>
<section class="panel" id="cell-panel">
  <h2>The unrolled graph, one box per step <small>(click a step; the loss is on the right; the weights,
    shared by every step, are not drawn)</small>
    <button type="button" class="fit" data-target="cell-graph" aria-pressed="false">fit to width</button></h2>
  <div class="scroll" id="cell-graph"></div>
</section>
<div class="row">
  <section class="panel" id="heat-panel">
    <h2>Gradient reaching each unit <small>(log colour scale; click a column)</small></h2>
    <div id="heatmaps"></div>
  </section>
  <section class="panel" id="plot-panel">
    <h2>Gradient norm against time lag <small>(log scale; click a point)</small></h2>
    <div id="plot"></div>
  </section>
</div>
<section class="panel" id="step-panel">
  <h2><span id="step-title"></span>
    <button type="button" class="fit" data-target="step-graph" aria-pressed="false">fit to width</button></h2>
  <div class="row">
    <div class="scroll" id="step-graph"></div>
    <div id="step-side">
      <table id="gates"><caption>this step's gates and states</caption><thead></thead><tbody></tbody></table>
      <p id="detail-note"></p>
    </div>
  </div>
</section>
<section class="panel" id="legend-panel">
  <h2>Legend</h2>
  <ul id="legend">
{legend}
  </ul>
</section>
<div id="tooltip" role="tooltip" hidden></div>
<script type="application/octet-stream" id="explorer-data">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""

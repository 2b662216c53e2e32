"""The gradient explorer: one self-contained web page to move through time and between cells.

    page = viz.explore(nn.LSTMCell(4, 16), x)      # or {label: cell, ...}, or a kept trace
    page.save("explore.html")                      # open it in any browser, no network needed

See page.py (explore, ExplorerPage), runs.py (what one run embeds), svg.py (Graphviz to tagged
SVG), and page.js / page.css (the page's own script and style, inlined when it is saved).
"""

from .page import ExplorerPage, explore
from .runs import choose_detail_steps

__all__ = ["explore", "ExplorerPage", "choose_detail_steps"]

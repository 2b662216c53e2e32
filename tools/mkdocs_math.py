"""mkdocs hook: typeset the formulas as MathML at build time, so pages need no script and no network.

pymdownx.arithmatex (generic mode) leaves each formula as <span class="arithmatex">\\( ... \\)</span>
(inline) or <div class="arithmatex">\\[ ... \\]</div> (display). This hook turns each one into
MathML with latex2mathml; browsers lay MathML out themselves. A formula latex2mathml cannot read
fails the build, naming the page and the formula, rather than leaving raw LaTeX on the page.
"""

import html
import re

from latex2mathml.converter import convert

FORMULA = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">\s*(?:\\\((?P<inline>.*?)\\\)|\\\[(?P<display>.*?)\\\])\s*</(?P=tag)>',
    re.S,
)


ALIGNED = re.compile(r"^\\begin\{aligned\}(?P<body>.*)\\end\{aligned\}$", re.S)


# latex2mathml sizes \big( but not \big\lVert: such delimiters go in as the characters they stand for.
SIZED_DELIMITER = re.compile(r"(\\(?:big|Big|bigg|Bigg)[lr]?)\s*(\\(?:lVert|rVert|Vert|\||lvert|rvert|vert|langle|rangle))(?![A-Za-z])")
DELIMITER_CHARS = {"\\lVert": "\u2016", "\\rVert": "\u2016", "\\Vert": "\u2016", "\\|": "\u2016",
                   "\\lvert": "|", "\\rvert": "|", "\\vert": "|", "\\langle": "\u27e8", "\\rangle": "\u27e9"}


def to_mathml(tex, display):
    """MathML for one formula; display=True for a formula set on its own line."""
    tex = tex.strip()
    source = tex
    tex = SIZED_DELIMITER.sub(lambda m: m.group(1) + DELIMITER_CHARS[m.group(2)], tex)
    aligned = ALIGNED.match(tex)
    if aligned:
        mathml = aligned_to_mathml(aligned.group("body"))
    elif "\\begin{aligned}" in tex:
        raise ValueError("an aligned environment must be the whole formula")
    else:
        mathml = convert(tex, display="block" if display else "inline")
    unread = re.search(r">(\\[A-Za-z]+|&amp;|&)<", mathml)
    if unread:  # latex2mathml passes what it cannot read through as a symbol
        raise ValueError(f"latex2mathml left {unread.group(1)!r} unread")
    # The TeX source stays in the page for copying and for screen readers that prefer it.
    return mathml.replace("<math", f'<math alttext="{html.escape(source, quote=True)}"', 1)


def aligned_to_mathml(body):
    """\\begin{aligned} ... \\end{aligned} as a MathML table (latex2mathml reads '&' as a letter).

    Rows split at \\\\, cells at &; as in LaTeX, the cells of each pair align right then left, so
    'a &= b' lines up on '='; later pairs ('&& \\text{...}') stand apart by 2em. The alignment is
    CSS, which browsers apply to MathML tables (columnalign is not part of MathML Core)."""
    rows = [row for row in re.split(r"\\\\(?:\[[^\]]*\])?", body) if row.strip()]
    table = []
    for row in rows:
        cells = re.split(r"(?<!\\)&", row)
        tds = []
        for k, cell in enumerate(cells):
            # '{}' before a cell that starts with a relation keeps the relation's spacing
            inner = _inner(convert(("{}" if k % 2 else "") + cell.strip())) if cell.strip() else ""
            align = "left" if k % 2 else "right"
            gap = "padding-left:2em;" if k >= 2 and k % 2 == 0 else ""
            tds.append(f'<mtd style="text-align:{align};{gap}padding-top:0.2em;padding-bottom:0.2em">{inner}</mtd>')
        table.append("<mtr>" + "".join(tds) + "</mtr>")
    return ('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mtable>'
            + "".join(table) + "</mtable></math>")


def _inner(mathml):
    """The content of a <math> element."""
    return mathml[mathml.index(">") + 1:mathml.rindex("</math>")]


def typeset(page_html, where="a page"):
    def replace(match):
        display = match.group("display") is not None
        tex = html.unescape(match.group("display") if display else match.group("inline"))
        try:
            mathml = to_mathml(tex, display)
        except Exception as exc:  # latex2mathml raises several types; all mean "cannot read"
            raise ValueError(f"{where}: cannot typeset the formula {tex!r}: {exc}") from exc
        cls = "arithmatex arithmatex-display" if display else "arithmatex"
        return f'<{match.group("tag")} class="{cls}">{mathml}</{match.group("tag")}>'

    return FORMULA.sub(replace, page_html)


def on_page_content(html_text, page, config, files):
    return typeset(html_text, where=page.file.src_uri)

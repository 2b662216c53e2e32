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


def to_mathml(tex, display):
    """MathML for one formula; display=True for a formula set on its own line."""
    mathml = convert(tex.strip(), display="block" if display else "inline")
    # The TeX source stays in the page for copying and for screen readers that prefer it.
    return mathml.replace("<math", f'<math alttext="{html.escape(tex.strip(), quote=True)}"', 1)


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

"""The built docs site in a real browser with no network: formulas are typeset (MathML made at
build time, no script from a CDN), nothing is fetched from the network, and wide tables and long
code lines stay readable. A screenshot of each page checked goes to build/test-output/ (ignored by
git) for a person to look at.

Needs Chromium and chromedriver (`.ci/run` installs them with apt-get). Where they are missing the
test fails and says how to install them: it never skips."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "test-output"
CHROME_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,2000",
    # No network at all: every http(s) request goes to a proxy that does not exist.
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
]
INSTALL_HINT = "install them: apt-get install chromium chromium-driver (Debian/Ubuntu; .ci/run does this)"
PAGES = ["concepts/cec", "concepts/notation", "concepts/cells"]


def _browser_paths():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    chromedriver = shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", chromedriver)) if path is None]
    if missing:
        pytest.fail(f"the browser test needs {' and '.join(missing)} on PATH; {INSTALL_HINT}")
    return chromium, chromedriver


@pytest.fixture(scope="module")
def site(tmp_path_factory, executed_notebooks):  # the notebook pages use their runs
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return site_dir


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _resources(driver):
    return driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")


def test_no_page_links_a_network_resource(site):
    """Scripts, stylesheets, fonts and images all come from the site itself."""
    import re

    fetch = re.compile(r'<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)="(https?://[^"]+)"')
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for url in fetch.findall(text):
            # <link rel="..."> to a page (not a stylesheet, icon or font) fetches nothing.
            assert False, f"{page.relative_to(site)} fetches {url} from the network"
    for css in site.rglob("*.css"):
        urls = re.findall(r"url\(\s*['\"]?(https?://[^)'\"]+)", css.read_text(encoding="utf-8"))
        assert not urls, f"{css.relative_to(site)} fetches {urls[0]}"


@pytest.mark.parametrize("page", PAGES)
def test_formulas_are_typeset_offline(site, browser, page):
    browser.get((site / page / "index.html").as_uri())
    OUT.mkdir(parents=True, exist_ok=True)
    shot = OUT / f"docs_{page.replace('/', '_')}.png"
    browser.save_screenshot(str(shot))
    text = browser.find_element("tag name", "article").text
    assert "\\(" not in text and "\\[" not in text, f"{page}: formulas left as raw LaTeX ({shot})"
    sizes = browser.execute_script(
        "return Array.from(document.querySelectorAll('article math')).map(m => {"
        "  const r = m.getBoundingClientRect(); return [r.width, r.height]; })"
    )
    assert len(sizes) >= 10, f"{page}: expected its formulas as MathML, found {len(sizes)} <math> elements"
    # Laid out by the browser: each formula takes room on the page (a MathML-blind browser, or
    # markup it cannot read, leaves zero-sized or collapsed boxes).
    assert all(w > 3 and h > 5 for w, h in sizes), f"{page}: some formulas were not laid out: {sizes[:5]}"
    # An aligned block (\begin{aligned}) is a table whose rows line up on their relation signs.
    lefts = browser.execute_script(
        "return Array.from(document.querySelectorAll('article mtable')).map(t =>"
        "  Array.from(t.querySelectorAll(':scope > mtr')).filter(r => r.children.length > 1)"
        "    .map(r => r.children[1].getBoundingClientRect().left))"
    )
    assert lefts or page != "concepts/cells", "concepts/cells sets its equations in aligned blocks; none found"
    for column in lefts:
        assert len(column) >= 2 and max(column) - min(column) < 1, f"{page}: an aligned block is not aligned: {column}"
    remote = [url for url in _resources(browser) if url.startswith(("http:", "https:"))]
    assert not remote, f"{page} asked the network for {remote}"


@pytest.mark.parametrize("page", ["concepts/notation", "common-errors"])
def test_wide_tables_and_long_code_lines_stay_visible(site, browser, page):
    """Nothing is cut off at the column's edge: a wide table scrolls (its wrapper can scroll and
    shows a scrollbar), a long code line wraps inside its block."""
    browser.get((site / page / "index.html").as_uri())
    browser.save_screenshot(str(OUT / f"docs_{page.replace('/', '_')}_tables.png"))
    report = browser.execute_script(
        """
        const cut = [];
        for (const pre of document.querySelectorAll('article pre > code')) {
          if (pre.scrollWidth > pre.clientWidth + 1) cut.push('code: ' + pre.textContent.slice(0, 60));
        }
        for (const wrap of document.querySelectorAll('article .md-typeset__table')) {
          const table = wrap.querySelector('table');
          const hidden = getComputedStyle(wrap).overflowX === 'hidden' || getComputedStyle(table).overflowX === 'hidden';
          if (table.scrollWidth > wrap.parentElement.clientWidth + 1 && hidden) cut.push('table: ' + table.textContent.slice(0, 60));
        }
        return cut;
        """
    )
    assert not report, f"cut off at the column's edge: {report}"


def test_notebook_pages_show_their_outputs(site, browser):
    """The notebooks as pages: their formulas typeset, their figures and graphs loaded."""
    stems = [p.stem for p in sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))]
    assert stems, "no notebooks found in examples/notebooks"
    for stem in stems:
        browser.get((site / "notebooks" / stem / "index.html").as_uri())
        browser.save_screenshot(str(OUT / f"notebook_{stem}.png"))
        images = browser.execute_script(
            "return Array.from(document.querySelectorAll('article .nb-output img'))"
            ".map(i => [i.getAttribute('src'), i.complete && i.naturalWidth])"
        )
        assert len(images) >= 3 and all(width for _, width in images), f"{stem}: images not shown: {images}"
        prose = browser.execute_script(  # the page's text outside code blocks (code may hold '$')
            "const a = document.querySelector('article').cloneNode(true);"
            "a.querySelectorAll('pre, code, math').forEach(e => e.remove()); return a.textContent;"
        )
        assert "$" not in prose and "\\(" not in prose, f"{stem}: a formula left as LaTeX text"
        assert len(browser.find_elements("css selector", "article math")) >= 3

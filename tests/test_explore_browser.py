"""The explorer page in a real browser: headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium) opens the saved file with every host name unresolvable, and we check that the
page starts without console errors, that choosing a step (a click in each view, an arrow key)
moves the highlight in every view and shows that step's ops, and that a hover shows the tracer's
gradient norm. A screenshot is left in tests/_output/ for a person to look at.

.ci/run installs chromium and chromium-driver when they are missing; without them this test fails
(it never skips): install them with `apt-get install chromium chromium-driver`.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn import nn, viz
from tinygrad_rnn.gradients.trace import trace_gradients
from tinygrad_rnn.viz.explorer.page import decode_data
from test_explore import DecayCell  # a declared cell of the user's

OUTPUT = Path(__file__).resolve().parent / "_output"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
T, I, H = 8, 3, 6


def cell(kind):
    np.random.seed(0)
    return nn.make_cell(kind, I, H)


X = np.random.default_rng(2).standard_normal((T, 1, I)).astype(np.float32)


@pytest.fixture(scope="module")
def page_file():
    OUTPUT.mkdir(exist_ok=True)
    np.random.seed(0)
    page = viz.explore({"LSTM": cell("lstm"), "GRU": cell("gru"), "Decay": DecayCell(I, H)}, X)
    return page.save(OUTPUT / "explore_test.html"), decode_data(page.html())


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
    except ImportError:
        pytest.fail("the browser test needs selenium: pip install -e '.[dev]'")
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.exists(p) or shutil.which(os.path.basename(p)))]
    if missing:
        pytest.fail(f"the browser test needs {' and '.join(missing)}: apt-get install chromium chromium-driver "
                    f"(.ci/run does this)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    profile = tempfile.mkdtemp(prefix="explorer-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1500",
                 f"--user-data-dir={profile}",
                 "--host-resolver-rules=MAP * ~NOTFOUND"):  # no network: every host name fails to resolve
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else shutil.which("chromedriver")),
                              options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(driver, path):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(Path(path).as_uri())
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))


def selected_steps(driver):
    """The chosen step as each view shows it."""
    return driver.execute_script("""
        const cell = document.querySelector('#cell-graph g.node.selected');
        return {
            slider: Number(document.getElementById('step').value),
            cellKey: cell ? cell.dataset.key : null,
            cellGraph: Number(document.getElementById('cell-graph').dataset.selectedStep),
            heatmaps: [...document.querySelectorAll('#heatmaps canvas')].map(c => Number(c.dataset.selectedStep)),
            plot: Number(document.querySelector('#plot g[data-role=marker]').dataset.step),
            stepGraph: Number(document.getElementById('step-graph').dataset.step),
            title: document.getElementById('step-title').textContent,
        };""")


def assert_everywhere(driver, run, t):
    seen = selected_steps(driver)
    cell_keys = [k for k, info in run["cellGraph"]["nodes"].items() if info.get("k") == "cell" and info["t"] == t]
    assert seen["slider"] == seen["cellGraph"] == seen["plot"] == seen["stepGraph"] == t, seen
    assert seen["heatmaps"] == [t] * len(run["states"]), seen
    assert seen["cellKey"] == cell_keys[0], seen
    assert seen["title"].startswith(f"Step t = {t} ")
    # The step panel shows that step's own ops: its output state (h_t<t>, or as the cell names it) is there.
    keys = driver.execute_script(
        "return [...document.querySelectorAll('#step-graph g.node')].map(g => g.dataset.key)")
    output = f"{run['stateNames'][0]}_t{t}"
    wanted = [k for k, info in run["details"][str(t)]["nodes"].items() if info.get("n") == output]
    assert wanted and wanted[0] in keys


def test_page_in_chromium(browser, page_file):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    path, data = page_file
    lstm = data["runs"][0]
    open_page(browser, path)
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    # Nothing was fetched: the file is all there is.
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0

    # The views are there.
    for css in ("#cell-graph svg g.node", "#heatmaps canvas", "#plot svg path", "#step-graph svg g.node",
                "#gates tbody tr", "#runs button", "#legend li"):
        assert browser.find_elements(By.CSS_SELECTOR, css), css
    assert len(browser.find_elements(By.CSS_SELECTOR, "#heatmaps canvas")) == 2  # |dL/dh_t| and |dL/dc_t|
    assert_everywhere(browser, lstm, T - 1)  # it starts at the last step, where the loss is

    # A click on a cell box of the unrolled graph.
    key = next(k for k, info in lstm["cellGraph"]["nodes"].items() if info.get("k") == "cell" and info["t"] == 3)
    box = browser.find_element(By.CSS_SELECTOR, f'#cell-graph g.node[data-key="{key}"]')
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", box)
    assert_everywhere(browser, lstm, 3)

    # The arrow keys.
    ActionChains(browser).send_keys(Keys.ARROW_LEFT).perform()
    assert_everywhere(browser, lstm, 2)
    ActionChains(browser).send_keys(Keys.END).perform()
    assert_everywhere(browser, lstm, T - 1)
    # The slider, by keyboard: focused, its own arrow keys move it.
    browser.find_element(By.ID, "step").send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT)
    assert_everywhere(browser, lstm, T - 3)
    # A node of the step's drawing, focused (Tab reaches them), shows its tooltip.
    browser.execute_script("document.querySelector('#step-graph g.node[tabindex]').focus()")
    assert browser.find_element(By.ID, "tooltip").is_displayed()

    # A click in the heatmap (column of step 5) and in the plot (lag T-1-1, step 1).
    canvas = browser.find_element(By.CSS_SELECTOR, "#heatmaps canvas")
    width = canvas.rect["width"]
    ActionChains(browser).move_to_element_with_offset(canvas, int(width * (5.5 / T - 0.5)), 0).click().perform()
    assert_everywhere(browser, lstm, 5)
    plot = browser.find_element(By.CSS_SELECTOR, "#plot svg")
    x_of_lag = browser.execute_script("""
        const svg = document.querySelector('#plot svg'), p = svg.createSVGPoint();
        p.x = 62 + (560 - 62 - 14) * arguments[0] / arguments[1]; p.y = 100;
        const q = p.matrixTransform(svg.getScreenCTM()); return [q.x, q.y];""", T - 2, T - 1)
    ActionChains(browser).move_to_element_with_offset(plot, 0, 0).perform()
    centre = plot.rect
    ActionChains(browser).move_by_offset(int(x_of_lag[0] - (centre["x"] + centre["width"] / 2)),
                                         int(x_of_lag[1] - (centre["y"] + centre["height"] / 2))).click().perform()
    assert_everywhere(browser, lstm, 1)

    # Hover over h_t1 in the step's drawing: the tooltip says the tracer's ||dL/dh_1||.
    reference = trace_gradients(cell("lstm"), X).grad_norm("h")[1]
    key = next(k for k, info in lstm["details"]["1"]["nodes"].items() if info.get("n") == "h_t1")
    node = browser.find_element(By.CSS_SELECTOR, f'#step-graph g.node[data-key="{key}"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'})", node)
    ActionChains(browser).move_to_element(node).perform()
    tip = browser.find_element(By.ID, "tooltip")
    assert tip.is_displayed()
    assert tip.text.startswith("h_t1")
    shown = float(tip.find_element(By.CSS_SELECTOR, ".grad").text)
    assert shown == pytest.approx(reference, rel=1e-3)

    # The same in the unrolled graph's cell box of step 1 (tracer's number, both states).
    key = next(k for k, info in lstm["cellGraph"]["nodes"].items() if info.get("k") == "cell" and info["t"] == 1)
    box = browser.find_element(By.CSS_SELECTOR, f'#cell-graph g.node[data-key="{key}"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'})", box)
    ActionChains(browser).move_to_element(box).perform()
    grads = [float(e.text) for e in browser.find_elements(By.CSS_SELECTOR, "#tooltip .grad")]
    assert grads[0] == pytest.approx(reference, rel=1e-3)
    assert grads[1] == pytest.approx(trace_gradients(cell("lstm"), X).grad_norm("c")[1], rel=1e-3)

    # An edge: c_t1 into the cell of step 2 carries what that cell sends back to c_1 along the
    # carousel, f_2 * dL/dc_2: the tracer's carousel term at step 2.
    key = next(k for k, info in lstm["cellGraph"]["edges"].items() if info["n"] == "c_t1")
    edge = browser.find_element(By.CSS_SELECTOR, f'#cell-graph g.edge[data-key="{key}"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'})", edge)
    ActionChains(browser).move_to_element(edge.find_element(By.CSS_SELECTOR, "path.hit")).perform()
    assert tip.text.startswith("c_t1 (edge)")
    carousel = trace_gradients(cell("lstm"), X).carousel_norm()[2]
    assert float(tip.find_element(By.CSS_SELECTOR, ".grad").text) == pytest.approx(carousel, rel=1e-3)

    # The picture for a person to look at: the LSTM at step 1, the tooltip of its h_t1.
    ActionChains(browser).move_to_element(node).perform()
    browser.save_screenshot(str(OUTPUT / "explorer_step1.png"))

    # The switch to the second run: its own graph and numbers, the chosen step kept.
    browser.find_elements(By.CSS_SELECTOR, "#runs button")[1].click()
    gru = data["runs"][1]
    assert browser.find_element(By.ID, "summary").text.startswith("GRUCell")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#heatmaps canvas")) == 1
    assert_everywhere(browser, gru, 1)
    assert re.search(r"\bGRU\b", browser.find_element(By.ID, "step-title").text)

    # Key 3: the user's cell, with its own state names (y, s) in every label.
    ActionChains(browser).send_keys("3").perform()
    assert_everywhere(browser, data["runs"][2], 1)
    titles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".heat-title")]
    assert titles[0].startswith("|dL/dy_t|") and titles[1].startswith("|dL/ds_t|")
    assert browser.find_element(By.ID, "summary").text.startswith("DecayCell")
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors


def test_the_docs_example_page_opens_without_errors(browser):
    path = Path(__file__).resolve().parents[1] / "docs" / "examples" / "explore_T30.html"
    open_page(browser, path)
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    assert browser.execute_script("return document.querySelectorAll('#runs button').length") == 4

"""The notebooks under examples/notebooks/: stored clean (no outputs, no execution counts, so
diffs stay reviewable), and each runs top to bottom in a real Jupyter kernel (nbclient +
ipykernel) without a cell error, showing the figures and graphs its lesson is about."""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))

# How many figures and graphs (display outputs with an image/svg+xml or image/png) each notebook
# shows. A figure shown twice, or one that silently stopped showing, changes the count.
EXPECTED_IMAGES = {
    "01_tape_and_graph.ipynb": 4,
    "02_gradients_through_time.ipynb": 5,
    "03_derive_the_lstm.ipynb": 3,
    "04_your_own_cell.ipynb": 4,
}


def _images(nb):
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") in ("display_data", "execute_result") and \
                    {"image/svg+xml", "image/png"} & set(output.get("data", {})):
                count += 1
    return count


def test_every_notebook_has_its_expected_figures_listed():
    assert {p.name for p in NOTEBOOKS} == set(EXPECTED_IMAGES), \
        "list each notebook in examples/notebooks/ in EXPECTED_IMAGES (and only those)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}, cell {k}: committed outputs; clear them before committing"
            assert cell.execution_count is None, f"{path.name}, cell {k}: committed execution count"
    assert "widgets" not in nb.metadata, f"{path.name}: committed widget state"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), \
        f"{path.name}: the first cell is the lesson's title (# ...)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_its_figures(path, executed_notebooks):
    nb, error, seconds = executed_notebooks[path.name]
    if error is not None:
        pytest.fail(f"{path.name} failed in a Jupyter kernel after {seconds:.0f} s:\n{error}")
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"{path.name}: {output.get('ename')}: {output.get('evalue')}"
    assert _images(nb) == EXPECTED_IMAGES[path.name], \
        f"{path.name} showed {_images(nb)} figures/graphs, expected {EXPECTED_IMAGES[path.name]}"
    print(f"{path.name}: ran in {seconds:.1f} s")


def test_a_plot_shows_once_in_a_kernel_with_pyplot_loaded(tmp_path, notebook_tools):
    """The inline backend shows every pyplot figure at the end of a cell; ours are not pyplot
    figures, so returning one shows it exactly once, whether or not pyplot was imported."""
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[
        new_code_cell("import matplotlib.pyplot as plt\n%matplotlib inline\nimport numpy as np\n"
                      "from tinygrad_rnn import nn, viz\nfrom tinygrad_rnn.gradients.trace import trace_gradients\n"
                      "trace = trace_gradients(nn.RNNCell(2, 3), np.ones((4, 1, 2), 'float32'), jacobians=False)"),
        new_code_cell("viz.plot_gradient_flow(trace)"),
        new_code_cell("fig = viz.plot_gradient_heatmap(trace)\nfig"),
    ])
    path = tmp_path / "once.ipynb"
    nbformat.write(nb, str(path))
    ran = notebook_tools.execute(path)
    assert [_images(nbformat.v4.new_notebook(cells=[c])) for c in ran.cells] == [0, 1, 1]

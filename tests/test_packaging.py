"""Packaging: `import tinygrad_rnn` needs NumPy only; graphviz and matplotlib are optional extras.

Each check runs in a fresh interpreter, where `sys.modules[name] = None` makes `import name` raise
ImportError, as on a machine without the package.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_rnn

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ["graphviz", "matplotlib", "cupy", "torch", "hypothesis", "pytest"]


def run_python(code):
    blocker = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in OPTIONAL)
    result = subprocess.run(
        [sys.executable, "-c", blocker + code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("module", ["tinygrad_rnn", "tinygrad_rnn.nn", "tinygrad_rnn.functional"])
def test_imports_and_runs_without_optional_packages(module):
    out = run_python(
        f"import {module}\n"
        "import tinygrad_rnn as tg\n"
        "x = tg.Tensor([[0.5, -1.0]], requires_grad=True)\n"
        "(x.tanh() * 2.0).sum().backward()\n"
        "print(x.grad.numpy().tolist())\n"
    )
    (grad,) = json.loads(out)
    expected = [2 * (1 - math.tanh(0.5) ** 2), 2 * (1 - math.tanh(-1.0) ** 2)]
    assert grad == pytest.approx(expected, rel=1e-6)


def test_import_loads_no_optional_package():
    """Not just tolerated when missing: a plain import does not even try to load them."""
    code = (
        "import sys\n"
        "import tinygrad_rnn, tinygrad_rnn.nn, tinygrad_rnn.functional\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {OPTIONAL!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_public_names_exist():
    for name in tinygrad_rnn.__all__:
        assert hasattr(tinygrad_rnn, name), name
    for name in ["Tensor", "cat", "stack", "no_grad", "set_backend", "gradcheck", "time_step"]:
        assert name in tinygrad_rnn.__all__


def test_pyproject_declares_numpy_as_the_only_runtime_dependency():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert [d.split(">")[0].split("=")[0].strip() for d in project["dependencies"]] == ["numpy"]
    assert project["requires-python"] == ">=3.10"
    extras = project["optional-dependencies"]
    assert any(d.startswith("cupy") for d in extras["cuda"])
    assert {d.split(">")[0] for d in extras["viz"]} == {"graphviz", "matplotlib"}
    dev = " ".join(extras["dev"])
    for needed in ("pytest", "hypothesis", "torch", "graphviz", "matplotlib"):
        assert needed in dev
    assert project["version"] == tinygrad_rnn.__version__


def test_allocator_tuning_can_be_turned_off():
    """reuse_freed_memory steps aside when the user opts out or tuned malloc already."""
    import os
    import subprocess
    import sys

    code = "import tinygrad_rnn.allocator as a; print(a.reuse_freed_memory())"
    for env_extra, expected in (({"TINYGRAD_RNN_KEEP_MALLOC": "0"}, "False"),
                                ({"MALLOC_MMAP_THRESHOLD_": "131072"}, "False")):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "TINYGRAD_RNN_"))}
        env.update(env_extra)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        assert out.stdout.strip() == expected

"""Every example runs in its --quick form (seconds), passes its own checks and saves its figure.

Each script checks, in --quick, that its loss falls (or, for the gradient studies, that the
measured gradients obey the paper's claim) and exits non-zero when not.
"""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# script -> the figures it must write
SCRIPTS = {
    "vanishing_gradients.py": ["vanishing_gradients.png"],
    "cec.py": ["cec.png"],
    "adding_problem.py": ["adding_problem.png"],
    "copy_task.py": ["copy_task.png"],
    "char_lm.py": ["char_lm.png", "char_lm_samples.txt"],
    "lstm_variants.py": ["lstm_variants.png"],
    "exploding_gradients.py": ["exploding_gradients.png"],
    "sequence_tasks.py": ["sequence_tasks.png"],
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_example_quick(script, tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"{script} --quick failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "check passed" in result.stdout
    assert "CHECK FAILED" not in result.stderr
    assert "| " in result.stdout  # the results table
    for name in SCRIPTS[script]:
        path = tmp_path / name
        smallest = 1000 if name.endswith(".png") else 50
        assert path.exists() and path.stat().st_size > smallest, f"{script} did not write {name}"


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_example_help(script):
    result = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "--quick" in result.stdout and "--out" in result.stdout


def test_example_bad_argument_is_one_clear_line():
    result = subprocess.run([sys.executable, str(EXAMPLES / "adding_problem.py"), "--cells", "lstm,tcn"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "unknown ['tcn']" in result.stderr and "Traceback" not in result.stderr

"""Every example runs in its --quick form (seconds), passes its own checks and saves its figure.

Each script checks, in --quick, that its loss falls (or, for the gradient studies, that the
measured gradients obey the paper's claim) and exits non-zero when not.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg

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
    "derive_lstm.py": ["derive_lstm_drift.png", "derive_lstm_gradients.png", "derive_lstm_training.png",
                       "derive_lstm_prototype_graph.png", "derive_lstm_pseudo_graph.png"],
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
    result = subprocess.run([sys.executable, str(EXAMPLES / "adding_problem.py"), "--forget-bias", "1,high"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "--forget-bias must be numbers" in result.stderr and "Traceback" not in result.stderr


# The benchmark scripts print timings; these runs only check that they still run and print their
# tables (what they measure is read by people, never asserted: see the brief's rule on speed).

def _run_example(*args):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_benchmark_tape_runs_and_prints_its_table():
    result = _run_example(EXAMPLES / "benchmark_tape.py", "--repeats", "1", "--steps", "3")
    assert result.returncode == 0, result.stderr
    assert "tape/np" in result.stdout and "bare/np" in result.stdout and "64x1024" in result.stdout


def test_benchmark_rnn_runs_and_prints_its_table():
    result = _run_example(EXAMPLES / "benchmark_rnn.py", "--configs", "1", "--repeats", "1", "--warmup", "0",
                          "--processes", "1", "--impls", "tg LSTM,tg GRU,hand LSTM,hand GRU,torch loop")
    assert result.returncode == 0, result.stderr
    assert "T=50 B=32 I=32 H=128" in result.stdout and "LSTM/hand LSTM" in result.stdout
    assert "GRU/torch loop" in result.stdout and "KiB kept per time step" in result.stdout


def test_step_breakdown_times_the_ops_of_one_step_and_the_layer():
    result = _run_example(EXAMPLES / "step_breakdown.py", "--config", "8,2,3,4", "--repeats", "1", "--op-calls", "2")
    assert result.returncode == 0, result.stderr
    lstm, gru = result.stdout.split("\nLSTM\n")[1].split("\nGRU\n")
    # The ops of one LSTM step (12) and one GRU step (15), each counted once.
    for op in ("sigmoid (x3)", "matmul (x1)", "split (x1)", "tanh (x2)", "mul (x3)", "add (x2)"):
        assert f"| {op} " in lstm, op
    for op in ("sigmoid (x2)", "matmul (x1)", "split (x2)", "tanh (x1)", "mul (x3)", "add (x5)", "sub (x1)"):
        assert f"| {op} " in gru, op
    for table in (lstm, gru):
        assert "| layer, training step " in table and "| hand BPTT " in table and "layer / hand" in table
    assert "(12 per step)" in lstm and "(15 per step)" in gru
    result = _run_example(EXAMPLES / "step_breakdown.py", "--config", "2,2,2,2")
    assert result.returncode == 2 and "T must be at least 4" in result.stderr and "Traceback" not in result.stderr


def test_benchmark_rnn_switches_the_fast_paths_off_on_request():
    result = _run_example(EXAMPLES / "benchmark_rnn.py", "--configs", "1", "--repeats", "1", "--warmup", "0",
                          "--processes", "1", "--impls", "tg GRU", "--no-memory", "--without", "replay,defer,gc,layout")
    assert result.returncode == 0, result.stderr
    assert "without: replay, defer, gc, layout" in result.stdout and "T=50 B=32 I=32 H=128" in result.stdout
    result = _run_example(EXAMPLES / "benchmark_rnn.py", "--without", "jit")
    assert result.returncode == 2 and "--without takes replay, defer, gc, layout (comma-separated), got 'jit'" in result.stderr


def test_switching_the_fast_paths_off_leaves_the_gradients_as_they_are(monkeypatch):
    sys.path.insert(0, str(EXAMPLES))
    import benchmark_rnn
    from tinygrad_rnn import deferred, nn
    from tinygrad_rnn.nn import recurrent
    from tinygrad_rnn.ops import matmul

    for cell in (nn.RNNCell, nn.LSTMCell, nn.GRUCell):  # restored after the test
        monkeypatch.setattr(cell, "replayable", True)
    monkeypatch.setattr(deferred, "MIN_SIZE", deferred.MIN_SIZE)
    monkeypatch.setattr(recurrent, "HAND_GRAPH_TO_OLD_GENERATION", True)
    monkeypatch.setattr(matmul, "TRANSPOSED_WEIGHT_FIRST", True)
    np.random.seed(0)
    layer = nn.GRU(3, 256, dtype=np.float64)  # W_hh^T's gradient is large enough to be deferred
    x = tg.Tensor(np.random.default_rng(0).standard_normal((6, 2, 3)))
    G = np.random.default_rng(1).standard_normal((6, 2, 256))
    out, _ = layer(x)
    out.backward(G)
    fast = layer.weight_hh_l0.grad.numpy().copy()
    layer.zero_grad()
    benchmark_rnn.switch_off(["replay", "defer", "gc", "layout"])
    assert nn.GRUCell.replayable is False and deferred.MIN_SIZE == float("inf")
    assert recurrent.HAND_GRAPH_TO_OLD_GENERATION is False and matmul.TRANSPOSED_WEIGHT_FIRST is False
    out, _ = layer(x)
    out.backward(G)
    np.testing.assert_allclose(layer.weight_hh_l0.grad.numpy(), fast, rtol=1e-12, atol=1e-14)


def test_ab_versions_compares_this_checkout_with_another_in_one_process():
    # The checkout itself as the other one (--base-path): no git history needed.
    root = str(EXAMPLES.parent)
    result = _run_example(EXAMPLES / "ab_versions.py", "--base-path", root, "--repeats", "2", "--shape", "4x8")
    assert result.returncode == 0, result.stderr
    assert f"{root}:" in result.stdout and "this / base:" in result.stdout
    result = _run_example(EXAMPLES / "ab_versions.py", "--base-path", root, "--repeats", "2", "--layer", "GRU",
                          "--config", "5,2,3,4")
    assert result.returncode == 0, result.stderr
    assert "GRU training step" in result.stdout
    result = _run_example(EXAMPLES / "ab_versions.py", "--base-path", str(EXAMPLES))
    assert result.returncode == 1 and "holds no tinygrad_rnn package" in result.stderr
    result = _run_example(EXAMPLES / "ab_versions.py", "--base", "no-such-commit")
    assert result.returncode == 1 and "git archive" in result.stderr and "failed" in result.stderr


def test_benchmark_rnn_on_the_gpu_runs_there_or_says_what_is_missing():
    from conftest import CUPY_AVAILABLE

    result = _run_example(EXAMPLES / "benchmark_rnn.py", "--backend", "cupy", "--configs", "1", "--repeats", "1")
    if CUPY_AVAILABLE:
        assert result.returncode == 0, result.stderr
        assert "GPU:" in result.stdout
    else:
        assert result.returncode == 2
        assert "backend 'cupy' was requested" in result.stderr and "Traceback" not in result.stderr

"""The command line: `tinygrad-rnn demo | graph | gradflow | explore` and `python -m tinygrad_rnn`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_rnn.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_module(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_rnn", *args],
        cwd=cwd or ROOT, capture_output=True, text=True, timeout=120, env=env,
    )


def no_dot_env(tmp_path):
    """An environment whose PATH holds no `dot` (and nothing else): Graphviz 'not installed'."""
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PATH",)}
    env["PATH"] = str(empty)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ----------------------------------------------------------------------------------------------
# The demo


def test_demo_end_to_end(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    for stem in ("lstm_step", "lstm_unrolled_3"):
        for ext in ("dot", "svg", "png"):
            path = tmp_path / "out" / f"{stem}.{ext}"
            assert path.stat().st_size > 1000, path
            assert str(path) in out
    assert (tmp_path / "out" / "lstm_step.svg").read_text(encoding="utf-8").count("<svg") == 1
    assert (tmp_path / "out" / "lstm_unrolled_3.png").read_bytes()[:4] == b"\x89PNG"
    assert 'class="edge cec"' in (tmp_path / "out" / "lstm_unrolled_3.svg").read_text(encoding="utf-8")
    for name in ("gradient_flow_50.png", "gradient_flow_50.svg", "carousel_share_50.png"):
        assert (tmp_path / "out" / name).stat().st_size > 1000
    for label in ("RNN (tanh)", "LSTM", "GRU", "LSTM 1997 (no forget gate)"):
        assert label in out
    assert "at the initial state h_0" in out and "warning" not in out
    page = tmp_path / "out" / "explore.html"  # the gradient explorer (tests/test_explore*.py test it)
    assert str(page) in out and page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_demo_without_graphviz_still_writes_dot_and_plots(tmp_path):
    result = run_module("demo", "--out", str(tmp_path / "out"), env=no_dot_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stdout and "apt-get install graphviz" in result.stdout
    out = tmp_path / "out"
    assert (out / "lstm_step.dot").stat().st_size > 1000 and (out / "lstm_unrolled_3.dot").exists()
    assert not (out / "lstm_step.svg").exists()
    assert (out / "gradient_flow_50.png").stat().st_size > 1000
    assert not (out / "explore.html").exists() and "explorer page: not made, it needs Graphviz's dot" in result.stdout
    assert "Traceback" not in result.stderr


# ----------------------------------------------------------------------------------------------
# graph and gradflow


@pytest.mark.parametrize("ext, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF"), ("dot", b"digraph")])
def test_graph_format_from_extension(tmp_path, capsys, ext, magic):
    path = tmp_path / f"g.{ext}"
    assert main(["graph", "--cell", "lstm-1997", "--steps", "2", "--level", "op", "-o", str(path)]) == 0
    assert path.read_bytes().startswith(magic)
    assert str(path) in capsys.readouterr().out


def test_graph_cell_level(tmp_path):
    path = tmp_path / "long.dot"
    assert main(["graph", "--cell", "gru", "--steps", "40", "--level", "cell", "-o", str(path)]) == 0
    source = path.read_text(encoding="utf-8")
    assert source.count("GRU cell, t=") == 40


def test_graph_without_dot_program(tmp_path):
    result = run_module("graph", "-o", str(tmp_path / "g.svg"), env=no_dot_env(tmp_path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install graphviz" in lines[0]
    assert (tmp_path / "g.dot").exists()


def test_gradflow(tmp_path, capsys):
    path = tmp_path / "flow.png"
    assert main(["gradflow", "--cells", "rnn,lstm,gru", "--steps", "20", "-o", str(path)]) == 0
    assert path.read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out
    assert "RNN (tanh)" in out and "GRU" in out


# ----------------------------------------------------------------------------------------------
# Help and bad arguments


@pytest.mark.parametrize("command", [[], ["demo"], ["graph"], ["gradflow"], ["explore"]])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(command + ["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tinygrad-rnn")
    words = {(): "explore", ("demo",): "--out", ("graph",): "--level", ("gradflow",): "--cells",
             ("explore",): "--forget-bias"}
    assert words[tuple(command)] in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["graph", "--cell", "lstmx", "-o", "g.svg"], "unknown cell 'lstmx'; choose one of rnn, rnn-relu, lstm"),
        (["graph", "--steps", "0", "-o", "g.svg"], "--steps: expected a positive integer, got '0'"),
        (["graph", "--level", "gate", "-o", "g.svg"], "invalid choice: 'gate'"),
        (["graph", "-o", "g.jpg"], "end the file name with one of .svg .png .pdf .dot .gv"),
        (["graph"], "the following arguments are required: -o/--output"),
        (["gradflow", "--cells", "rnn,lsmt", "-o", "f.png"], "unknown cell 'lsmt'"),
        (["gradflow", "-o", "f.dot"], "end the file name with one of .png .svg .pdf"),
        (["graph", "--seed", "-1", "-o", "g.svg"], "--seed: expected an integer from 0 to 2**32 - 1"),
        (["gradflow", "--seed", "99999999999", "-o", "f.png"], "--seed: expected an integer from 0 to 2**32 - 1"),
        (["dream"], "invalid choice: 'dream'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_argument_is_one_line_and_exit_code_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert message in err
    assert err.startswith("tinygrad-rnn")


def test_python_dash_m(tmp_path):
    bad = run_module("graph", "--steps", "-3", "-o", "x.svg")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    good = run_module("graph", "--cell", "rnn", "--steps", "2", "-o", str(tmp_path / "g.dot"))
    assert good.returncode == 0, good.stderr
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph")


@pytest.mark.parametrize("argv", [
    ["graph", "--steps", "2", "-o", "{file}/graph.svg"],
    ["gradflow", "--steps", "3", "--hidden", "4", "-o", "{file}/deeper/flow.png"],
    ["demo", "--out", "{file}/demo"],
    ["demo", "--out", "{file}"],
], ids=["graph", "gradflow-deeper", "demo-under", "demo-is-a-file"])
def test_an_output_path_under_a_regular_file_is_a_bad_argument(tmp_path, argv):
    regular = tmp_path / "notes.txt"
    regular.write_text("keep me\n")
    argv = [a.format(file=regular) for a in argv]
    result = run_module(*argv)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert f"{str(regular)!r} is a file, not a folder" in result.stderr
    assert regular.read_text() == "keep me\n"

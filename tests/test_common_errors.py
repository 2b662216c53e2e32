"""The "Common errors" page (docs/common-errors.md) is a catalogue of inputs and the errors they
raise. Each table row is run here and its message compared with the page, so the page cannot go
stale; a row whose input no longer raises, or raises another message, fails."""

import contextlib
import io
import re
import shlex
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import cli, nn

PAGE = Path(__file__).resolve().parent.parent / "docs" / "common-errors.md"
ROW = re.compile(r"^\| `(?P<input>[^`]+)` \| `(?P<error>[^`]+)` \|$")


def rows():
    """(section, input, error) for every table row of the page."""
    found, section = [], None
    for line in PAGE.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:]
        match = ROW.match(line)
        if match:
            found.append((section, match["input"], match["error"]))
    return found


ROWS = rows()


def test_the_page_has_a_section_for_each_area_and_rows_in_them():
    sections = {section for section, _, _ in ROWS}
    assert sections == {"Tensors and ops", "The tape", "Layers and cells", "Cells you write yourself",
                        "Optimizers", "Checkpoints", "Command line"}
    assert len(ROWS) >= 60
    # A row the pattern misses (a stray backtick or `|` in it) would go untested: none may.
    assert len(ROWS) == sum(line.startswith("| `") for line in PAGE.read_text().splitlines())


@pytest.fixture
def files(tmp_path, monkeypatch):
    """The files the page's rows name, in a fresh current folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # `--cell module:Class` adds the current folder
    (tmp_path / "notes.txt").write_text("some notes\n")
    tg.save(nn.Linear(3, 4), "linear.npz")
    with zipfile.ZipFile("half.npz", "w") as archive:  # what an interrupted in-place save left
        with archive.open("weight.npy", "w") as entry:
            np.lib.format.write_array(entry, np.zeros((4, 3), np.float32))
        with archive.open("bias.npy", "w"):
            pass
    (tmp_path / "mycells.py").write_text('"""My own cells (none yet)."""\n')
    yield tmp_path
    sys.modules.pop("mycells", None)  # `--cell mycells:...` imported it from this folder


SETUP = re.search(r"^```python\n(.*?)^```", PAGE.read_text(), re.S | re.M)[1]


def names():
    """The names the page's rows use: its setup block, run as a reader would paste it."""
    namespace = {"__name__": "__common_errors__"}
    exec(compile(SETUP, "<setup>", "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


@pytest.mark.parametrize("section,source,expected", ROWS, ids=[source for _, source, _ in ROWS])
def test_each_row_raises_the_message_on_the_page(files, section, source, expected):
    if source.startswith("tinygrad-rnn "):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            code = cli.main(shlex.split(source)[1:])
        assert code != 0
        assert stderr.getvalue().strip() == expected
        return
    try:
        # A row may be a few statements (`a; b; c`), run in order until one raises. It is compiled
        # as the interactive prompt compiles a line, so "called from" (anomaly mode) reads as there.
        exec(compile(source, "<stdin>", "exec"), names())
    except Exception as exc:  # noqa: BLE001 - any error: its class and message are what we check
        assert f"{type(exc).__name__}: {exc}" == expected
    else:
        pytest.fail(f"{source} raised nothing; the page says {expected}")


def test_an_empty_batch_is_not_an_error():
    output, (h_n, c_n) = nn.LSTM(3, 4)(names()["x"][:, :0])  # as the page says under the table
    assert output.shape == (5, 0, 4) and h_n.shape == c_n.shape == (1, 0, 4)

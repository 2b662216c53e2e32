"""The "Common errors" page (docs/common-errors.md) is a catalogue of inputs and the errors they
raise. Each table row is run here and its message compared with the page, so the page cannot go
stale; a row whose input no longer raises, or raises another message, fails."""

import contextlib
import io
import re
import shlex
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import cli, nn, optim

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
    assert sections == {"Tensors and ops", "The tape", "Layers and cells", "Optimizers", "Checkpoints",
                        "Command line"}
    assert len(ROWS) >= 25


@pytest.fixture
def files(tmp_path, monkeypatch):
    """The files the page's rows name, in a fresh current folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("some notes\n")
    tg.save(nn.Linear(3, 4), "linear.npz")
    with zipfile.ZipFile("half.npz", "w") as archive:  # what an interrupted in-place save left
        with archive.open("weight.npy", "w") as entry:
            np.lib.format.write_array(entry, np.zeros((4, 3), np.float32))
        with archive.open("bias.npy", "w"):
            pass
    return tmp_path


def names():
    """The names the page's rows use (listed at the top of the page)."""
    return dict(
        np=np, tg=tg, nn=nn, optim=optim,
        a=tg.Tensor(np.ones((3, 4)), requires_grad=True),
        x=tg.Tensor(np.zeros((5, 2, 3), np.float32)),
        h=tg.Tensor(np.zeros((1, 2, 4), np.float32)),
        model=nn.Linear(3, 4),
        params=[tg.Tensor(np.zeros(3), requires_grad=True)],
    )


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
        exec(source, names())
    except Exception as exc:  # noqa: BLE001 - any error: its class and message are what we check
        assert f"{type(exc).__name__}: {exc}" == expected
    else:
        pytest.fail(f"{source} raised nothing; the page says {expected}")


def test_an_empty_batch_is_not_an_error():
    output, (h_n, c_n) = nn.LSTM(3, 4)(names()["x"][:, :0])  # as the page says under the table
    assert output.shape == (5, 0, 4) and h_n.shape == c_n.shape == (1, 0, 4)
